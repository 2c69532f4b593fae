package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// canonical renders a key's type, value and whether it has a TTL so two
// servers can be compared whatever encoding they chose.
func canonical(t *testing.T, c *resp.Conn, key string) string {
	t.Helper()
	typ, _ := c.Do("TYPE", key)
	var parts []string
	sorted := false
	var v resp.Value
	switch typ.Str {
	case "string":
		v, _ = c.Do("GET", key)
	case "list":
		v, _ = c.Do("LRANGE", key, "0", "-1")
	case "set":
		v, _ = c.Do("SMEMBERS", key)
		sorted = true
	case "zset":
		v, _ = c.Do("ZRANGE", key, "0", "-1", "WITHSCORES")
	case "hash":
		v, _ = c.Do("HGETALL", key)
		sorted = true
	default:
		t.Fatalf("key %q: type %q", key, typ.Str)
	}
	if len(v.Elems) == 0 {
		parts = []string{v.Str}
	}
	if typ.Str == "hash" {
		for i := 0; i+1 < len(v.Elems); i += 2 {
			parts = append(parts, v.Elems[i].Str+"="+v.Elems[i+1].Str)
		}
	} else {
		for _, e := range v.Elems {
			parts = append(parts, e.Str)
		}
	}
	if sorted {
		sort.Strings(parts)
	}
	ttl, _ := c.Do("PEXPIRETIME", key)
	return typ.Str + ":" + strings.Join(parts, ",") + "|ttl=" + strconv.FormatInt(ttl.Int, 10)
}

func keysOf(t *testing.T, c *resp.Conn) []string {
	t.Helper()
	v, err := c.Do("KEYS", "*")
	if err != nil || v.IsError() {
		t.Fatalf("KEYS: %v %v", v, err)
	}
	var out []string
	for _, e := range v.Elems {
		out = append(out, e.Str)
	}
	sort.Strings(out)
	return out
}

// TestRestoreLoadRedisRDB (e): a dump.rdb written by the real redis-server
// (every type and encoding it writes, TTLs) is imported with
// `restore load --rdb`.
func TestRestoreLoadRedisRDB(t *testing.T) {
	r := testutil.StartRedis(t)
	rc := testutil.Dial(t, r.Addr())
	big := strings.Repeat("abcdefgh", 200) // LZF-compressible
	cmds := [][]string{
		{"SET", "s:int", "12345"}, {"SET", "s:neg", "-9"}, {"SET", "s:raw", "hello world"}, {"SET", "s:big", big},
		{"SET", "s:empty", ""}, {"SET", "s:ttl", "x", "PX", "500000000"},
		{"RPUSH", "l:small", "a", "1", "b"}, {"RPUSH", "l:big", "first"},
		{"SADD", "set:int", "1", "2", "300000"}, {"SADD", "set:str", "a", "b", "c"},
		{"ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c"},
		{"HSET", "h:small", "f", "v", "n", "1"},
		{"SET", "{tag}a", "1"}, {"HSET", "h:ttl", "a", "b"}, {"PEXPIRE", "h:ttl", "900000000"},
	}
	for i := 0; i < 300; i++ {
		cmds = append(cmds,
			[]string{"RPUSH", "l:big", fmt.Sprint("item-", i, "-", big[:30])},
			[]string{"SADD", "set:big", fmt.Sprint("m", i)},
			[]string{"SADD", "set:bigint", strconv.Itoa(i * 1000)},
			[]string{"ZADD", "z:big", strconv.Itoa(i), fmt.Sprint("m", i)},
			[]string{"HSET", "h:big", fmt.Sprint("f", i), fmt.Sprint("v", i)})
	}
	cmds = append(cmds, []string{"HSET", "h:longval", "f", big}, []string{"ZADD", "z:longval", "1", big})
	for _, c := range cmds {
		if v, err := rc.Do(c...); err != nil || v.IsError() {
			t.Fatalf("%v: %v %v", c, v, err)
		}
	}
	if v, _ := rc.Do("SAVE"); v.IsError() {
		t.Fatal(v.Str)
	}
	rdbPath := filepath.Join(r.Dir, "dump.rdb")
	if _, err := os.Stat(rdbPath); err != nil {
		t.Fatal(err)
	}
	sv := testutil.StartSlotvault(t)
	sc := testutil.Dial(t, sv.Addr())
	out, err := runSV(t, "restore", "load", "--rdb", rdbPath, "--into", sv.Addr())
	if err != nil {
		t.Fatalf("restore load --rdb: %v\n%s", err, out)
	}
	t.Log(out)
	want, got := keysOf(t, rc), keysOf(t, sc)
	if strings.Join(want, " ") != strings.Join(got, " ") {
		t.Fatalf("keys differ:\nredis     %v\nslotvault %v", want, got)
	}
	for _, k := range want {
		if a, b := canonical(t, rc, k), canonical(t, sc, k); a != b {
			t.Errorf("key %q:\nredis     %.200s\nslotvault %.200s", k, a, b)
		}
	}
	// A second load without --replace is refused and changes nothing.
	out, err = runSV(t, "restore", "load", "--rdb", rdbPath, "--into", sv.Addr())
	if err == nil || !strings.Contains(out, "already exist") {
		t.Fatalf("second load not refused: %v\n%s", err, out)
	}
	// A damaged file is refused before anything is written.
	b, _ := os.ReadFile(rdbPath)
	b[len(b)/2] ^= 0x55
	bad := filepath.Join(t.TempDir(), "bad.rdb")
	os.WriteFile(bad, b, 0o644)
	sc.Do("FLUSHALL")
	out, err = runSV(t, "restore", "load", "--rdb", bad, "--into", sv.Addr())
	if err == nil || !strings.Contains(out, "checksum") {
		t.Fatalf("damaged RDB accepted: %v\n%s", err, out)
	}
	if k := keysOf(t, sc); len(k) != 0 {
		t.Fatalf("damaged RDB wrote %d keys", len(k))
	}
}
