package node_test

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/rdb"
)

// The keyspace tests create string keys with RESTORE of payloads built by
// package rdb (byte-identical to Redis's DUMP of the same strings), so they
// do not depend on other command families.

func strPayload(v string) string {
	p, err := rdb.EncodePayload(&rdb.Object{Kind: rdb.KindString, Str: []byte(v)})
	if err != nil {
		panic(err)
	}
	return string(p)
}

func payload(body []byte, version uint16) string {
	b := append(append([]byte(nil), body...), byte(version), byte(version>>8))
	c := rdb.CRC64(0, b)
	for i := 0; i < 8; i++ {
		b = append(b, byte(c>>(8*i)))
	}
	return string(b)
}

// set creates string keys on both servers: key, value, key, value...
func set(d *testutil.Diff, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		d.Do("RESTORE", kv[i], "0", strPayload(kv[i+1]), "REPLACE")
	}
}

// svHas reports whether slotvault knows a command (other families may be
// absent on a branch).
func svHas(d *testutil.Diff, args ...string) bool {
	v, err := d.SV.Do(args...)
	return err == nil && !(v.Type == '-' && strings.HasPrefix(v.Str, "ERR unknown command"))
}

func TestDiffKeyspaceDelExistsType(t *testing.T) {
	d := testutil.NewDiff(t)
	set(d, "a", "1", "b", "hello", "c", strings.Repeat("x", 100))
	d.Run(`
EXISTS a
EXISTS a b c nokey
EXISTS a a a
EXISTS nokey
EXISTS
TYPE a
TYPE nokey
TYPE
TYPE a b
DEL nokey
DEL a a
EXISTS a
DEL b c nokey
DEL
EXISTS b c
UNLINK
UNLINK nokey
`)
	set(d, "a", "1", "b", "2")
	d.Run(`
UNLINK a b c
EXISTS a b
TOUCH
TOUCH nokey
`)
	set(d, "a", "1")
	d.Run(`
TOUCH a a nokey
`)
}

func TestDiffKeyspaceRename(t *testing.T) {
	d := testutil.NewDiff(t)
	set(d, "a", "va", "b", "vb")
	d.Run(`
RENAME nokey x
RENAMENX nokey x
RENAME a a
RENAMENX a a
RENAME a c
EXISTS a c
DUMP c
RENAMENX c b
RENAMENX c d
DUMP d
RENAME d b
DUMP b
EXISTS d
RENAME
RENAME a
RENAME a b c
RENAMENX a
`)
	// TTL moves with the key.
	set(d, "t", "v")
	d.Run(`
EXPIRE t 1000
RENAME t t2
TTL t2
TTL t
RENAMENX t2 t3
TTL t3
`)
}

func TestDiffKeyspaceCopyMove(t *testing.T) {
	d := testutil.NewDiff(t)
	set(d, "a", "va", "b", "vb")
	d.Run(`
COPY a b
COPY a b REPLACE
DUMP b
COPY a a
COPY nokey x
COPY a c
DUMP c
COPY a c replace
COPY a c DB
COPY a c DB x
COPY a c DB 99999999999
COPY a c DB -1
COPY a c DB 16
COPY a c DB 1
COPY a c DB 1
COPY a c DB 1 REPLACE
COPY a c db 0 replace
COPY a a DB 1 REPLACE
COPY a c foo
COPY a
COPY
MOVE a 1
EXISTS a
MOVE a 1
MOVE c 1
MOVE nokey 1
MOVE b 0
MOVE b 16
MOVE b -1
MOVE b x
MOVE b 99999999999
MOVE b
`)
	set(d, "e", "ve")
	d.Run(`
EXPIRE e 500
COPY e e2
TTL e2
MOVE e 2
TTL e
`)
	if svHas(d, "SELECT", "0") {
		d.Run(`
SELECT 1
DUMP a
DUMP c
EXISTS b
SELECT 2
TTL e
SELECT 0
`)
	}
}

func TestDiffKeyspaceExpire(t *testing.T) {
	d := testutil.NewDiff(t)
	set(d, "k", "v", "k2", "v2")
	d.Run(`
EXPIRE nokey 100
EXPIRE k
EXPIRE k abc
EXPIRE k 1.5
EXPIRE k 100 foo
EXPIRE k 100 NX XX
EXPIRE k 100 nx gt
EXPIRE k 100 NX LT
EXPIRE k 100 GT LT
EXPIRE k abc NX XX
EXPIRE k 100 XX
TTL k
EXPIRE k 100 GT
EXPIRE k 100 LT
TTL k
EXPIRE k 200 NX
TTL k
EXPIRE k 100 NX
EXPIRE k 300 GT
TTL k
EXPIRE k 400 LT
EXPIRE k 200 LT
TTL k
EXPIRE k 250 XX GT
EXPIRE k 240 xx gt
EXPIRE k 300 xx gt
TTL k
EXPIRE k 9223372036854775807
EXPIRE k 9223372036854776
EXPIRE k -9223372036854776
EXPIRE k 9223372036854775
PEXPIRE k 9223372036854775807
PEXPIREAT k 9223372036854775807
EXPIREAT k 9223372036854775
EXPIREAT k 9223372036854776
PEXPIRE k 100000
? PTTL k
TTL k
PEXPIREAT k 99999999999999
PEXPIRETIME k
EXPIRETIME k
TTL k
EXPIREAT k 99999999999
EXPIRETIME k
PEXPIRETIME k
PERSIST k
PERSIST k
TTL k
PTTL k
EXPIRETIME k
PEXPIRETIME k
PERSIST nokey
TTL nokey
PTTL nokey
EXPIRETIME nokey
PEXPIRETIME nokey
TTL
TTL a b
PERSIST
EXPIRE k -1
EXISTS k
EXPIRE k2 0 GT
EXPIRE k2 0 LT
EXISTS k2
`)
	set(d, "p", "1", "q", "1", "r", "1")
	d.Run(`
PEXPIRE p 0
EXISTS p
EXPIREAT q 1
EXISTS q
PEXPIREAT r 100 XX
EXISTS r
PEXPIREAT r 100 NX
EXISTS r
`)
	// A short TTL really expires, and expired keys are invisible to every
	// read path before active expiry removes them.
	set(d, "short", "v", "x1", "v", "x2", "v", "x3", "v")
	d.Run(`
PEXPIRE short 30
PEXPIRE x1 30
PEXPIRE x2 30
`)
	time.Sleep(60 * time.Millisecond)
	d.Run(`
~ KEYS x*
EXISTS short x1 x2 x3
TTL short
PTTL x1
TYPE x2
DUMP x1
OBJECT ENCODING x2
RENAME x1 y
COPY x2 y
TOUCH x1 x2 x3
PERSIST x1
EXPIRE x2 100
DEL x1 x2 x3
`)
	if r, s := scanAll(t, d.Redis, []string{"MATCH", "x*"}), scanAll(t, d.SV, []string{"MATCH", "x*"}); strings.Join(r, ",") != strings.Join(s, ",") {
		t.Errorf("SCAN after expiry: redis %v, slotvault %v", r, s)
	}
	d.Run(`
PEXPIRE
PEXPIRE k
EXPIREAT k
PEXPIREAT k
PTTL
EXPIRETIME
PEXPIRETIME a b
RESTORE "" 0 x
EXISTS ""
TTL ""
EXPIRE "" 10
RENAME "" x
`)
}

func TestDiffKeyspaceKeysScanRandom(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
RANDOMKEY
RANDOMKEY x
KEYS *
SCAN 0
SCAN 0 COUNT 100 MATCH * TYPE string
`)
	set(d, "only", "v")
	d.Run(`
RANDOMKEY
`)
	var kv []string
	for i := 0; i < 300; i++ {
		kv = append(kv, "key:"+strconv.Itoa(i), strconv.Itoa(i))
	}
	kv = append(kv, "a?b", "1", "a*b", "1", "h{tag}1", "x", "h{tag}2", "y", "Key:UPPER", "z")
	set(d, kv...)
	d.Run(`
~ KEYS *
~ KEYS key:1*
~ KEYS key:?
~ KEYS key:[12]?
~ KEYS key:[^0-8]
~ KEYS a\?b
~ KEYS a\*b
~ KEYS *{tag}*
~ KEYS KEY:*
~ KEYS nomatch*
KEYS
KEYS a b
? RANDOMKEY
SCAN
SCAN abc
SCAN " 1"
SCAN 1.5
SCAN 99999999999999999999999
SCAN 0 COUNT
SCAN 0 COUNT 0
SCAN 0 COUNT -1
SCAN 0 COUNT abc
SCAN 0 MATCH
SCAN 0 TYPE
SCAN 0 foo bar
SCAN 0 COUNT 10 foo
`)
	for _, opts := range [][]string{nil, {"COUNT", "1"}, {"COUNT", "7"}, {"COUNT", "1000"},
		{"MATCH", "key:1*"}, {"MATCH", "*"}, {"MATCH", "nomatch"}, {"TYPE", "string"}, {"TYPE", "STRING"},
		{"TYPE", "hash"}, {"TYPE", "nosuchtype"}, {"MATCH", "h*", "COUNT", "3", "TYPE", "string"}} {
		r, s := scanAll(t, d.Redis, opts), scanAll(t, d.SV, opts)
		if strings.Join(r, ",") != strings.Join(s, ",") {
			t.Errorf("SCAN %v: redis %d keys, slotvault %d keys\n%v\n%v", opts, len(r), len(s), r, s)
		}
	}
	// Cursors are masked to the slot range (Redis masks them to its table
	// size); "" and negative cursors parse.
	d.Run(`
? SCAN 4294967296 COUNT 5
? SCAN ""
? SCAN -1
? SCAN +0
`)
}

// scanAll iterates SCAN to the end and returns the sorted keys, checking
// that no key is returned twice.
func scanAll(t *testing.T, c *resp.Conn, opts []string) []string {
	t.Helper()
	seen := map[string]bool{}
	cursor := "0"
	for i := 0; ; i++ {
		v, err := c.Do(append([]string{"SCAN", cursor}, opts...)...)
		if err != nil || v.Type != '*' || len(v.Elems) != 2 {
			t.Fatalf("SCAN: %v %v", v, err)
		}
		for _, k := range v.Elems[1].Elems {
			if seen[k.Str] {
				t.Errorf("SCAN returned %q twice", k.Str)
			}
			seen[k.Str] = true
		}
		cursor = v.Elems[0].Str
		if cursor == "0" || i > 100000 {
			break
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SCAN's guarantee: a key present for the whole scan is returned, even
// while other keys are added and deleted between calls.
func TestKeyspaceScanGuarantee(t *testing.T) {
	s := testutil.StartInProc(t)
	c := testutil.Dial(t, s.Addr())
	stable := map[string]bool{}
	for i := 0; i < 2000; i++ {
		k := "stable:" + strconv.Itoa(i)
		stable[k] = true
		c.Do("RESTORE", k, "0", strPayload("v"))
	}
	cursor, churn := "0", 0
	for {
		v, err := c.Do("SCAN", cursor, "COUNT", "50")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range v.Elems[1].Elems {
			delete(stable, k.Str)
		}
		for j := 0; j < 20; j++ {
			churn++
			c.Do("RESTORE", "churn:"+strconv.Itoa(churn), "0", strPayload("v"))
			c.Do("DEL", "churn:"+strconv.Itoa(churn-10))
		}
		cursor = v.Elems[0].Str
		if cursor == "0" {
			break
		}
	}
	if len(stable) != 0 {
		t.Fatalf("%d stable keys not returned by SCAN", len(stable))
	}
}

func TestDiffKeyspaceObject(t *testing.T) {
	d := testutil.NewDiff(t)
	set(d, "int", "123", "bigint", "123456789012", "neg", "-5", "shared", "9999", "unshared", "10000",
		"emb", "hello", "emb44", strings.Repeat("e", 44), "raw", strings.Repeat("r", 45), "lead0", "0123")
	d.Run(`
OBJECT ENCODING int
OBJECT ENCODING bigint
OBJECT ENCODING neg
OBJECT ENCODING emb
OBJECT ENCODING emb44
OBJECT ENCODING raw
OBJECT ENCODING lead0
OBJECT ENCODING nokey
OBJECT REFCOUNT int
OBJECT REFCOUNT shared
OBJECT REFCOUNT unshared
OBJECT REFCOUNT neg
OBJECT REFCOUNT emb
OBJECT REFCOUNT nokey
? OBJECT IDLETIME int
OBJECT IDLETIME nokey
OBJECT FREQ int
OBJECT FREQ nokey
OBJECT HELP
OBJECT help
OBJECT HELP x
OBJECT
OBJECT ENCODING
OBJECT ENCODING a b
OBJECT FOO
OBJECT FOO bar
OBJECT REFCOUNT
`)
	d.Do("RESTORE", "idle", "0", strPayload("v"), "IDLETIME", "1000")
	d.Run(`
? OBJECT IDLETIME idle
RESTORE idle2 0 x IDLETIME
`)
}

func TestDiffKeyspaceObjectLFU(t *testing.T) {
	d := testutil.NewDiff(t, "maxmemory-policy allkeys-lfu")
	d.Do("RESTORE", "f", "0", strPayload("v"), "FREQ", "100")
	d.Do("RESTORE", "f0", "0", strPayload("v"), "FREQ", "0")
	d.Do("RESTORE", "f255", "0", strPayload("v"), "FREQ", "255")
	d.Do("RESTORE", "plain", "0", strPayload("v"))
	d.Run(`
OBJECT FREQ f
OBJECT FREQ f0
OBJECT FREQ f255
OBJECT FREQ plain
OBJECT IDLETIME f
OBJECT IDLETIME nokey
`)
}

func TestDiffKeyspaceDumpRestore(t *testing.T) {
	d := testutil.NewDiff(t)
	vals := []string{"", "0", "-1", "12345", "2147483648", "hello", strings.Repeat("ab", 40), strings.Repeat("x", 300), "007"}
	for i, v := range vals {
		set(d, "s"+strconv.Itoa(i), v)
		d.Do("DUMP", "s"+strconv.Itoa(i))
		d.Do("OBJECT", "ENCODING", "s"+strconv.Itoa(i))
	}
	good := strPayload("value")
	badCRC := []byte(good)
	badCRC[len(badCRC)-1] ^= 0xFF
	v12 := payload([]byte{0, 1, 'x'}, 12)
	corrupt := payload([]byte{0x63, 1, 2, 3}, 10)
	truncated := payload([]byte{0, 5, 'a'}, 10)
	emptySet := payload([]byte{2, 0}, 10)
	stream := payload([]byte{15, 0}, 10)
	module := payload([]byte{6, 0}, 10)
	for _, args := range [][]string{
		{"DUMP", "nokey"},
		{"DUMP"},
		{"RESTORE", "r", "0"},
		{"RESTORE", "r", "0", good},
		{"RESTORE", "r", "0", good},
		{"RESTORE", "r", "0", good, "REPLACE"},
		{"RESTORE", "r", "0", "garbage", "REPLACE"},
		{"RESTORE", "r", "0", "", "REPLACE"},
		{"RESTORE", "r", "0", string(badCRC), "REPLACE"},
		{"RESTORE", "r", "0", v12, "REPLACE"},
		{"RESTORE", "r", "0", corrupt, "REPLACE"},
		{"RESTORE", "r", "0", truncated, "REPLACE"},
		{"RESTORE", "r", "0", emptySet, "REPLACE"},
		{"RESTORE", "r", "0", stream, "REPLACE"},
		{"RESTORE", "r", "0", module, "REPLACE"},
		{"RESTORE", "r", "-1", good, "REPLACE"},
		{"RESTORE", "r", "abc", good, "REPLACE"},
		{"RESTORE", "r", "0", good, "FOO"},
		{"RESTORE", "r", "0", good, "REPLACE", "IDLETIME"},
		{"RESTORE", "r", "0", good, "REPLACE", "IDLETIME", "-1"},
		{"RESTORE", "r", "0", good, "REPLACE", "IDLETIME", "x"},
		{"RESTORE", "r", "0", good, "REPLACE", "FREQ", "256"},
		{"RESTORE", "r", "0", good, "REPLACE", "FREQ", "-1"},
		{"RESTORE", "r", "0", good, "REPLACE", "FREQ", "1", "IDLETIME", "1"},
		{"RESTORE", "r", "0", good, "REPLACE", "IDLETIME", "1", "FREQ", "1"},
		{"RESTORE", "r", "0", good, "REPLACE", "FREQ", "10"},
		{"RESTORE", "r", "0", good, "REPLACE", "IDLETIME", "10", "ABSTTL"},
		{"RESTORE", "busy", "0", "garbage"},
		{"RESTORE", "r", "-1", "garbage"},
		{"DUMP", "r"},
		{"RESTORE", "t", "100000", good},
		{"TTL", "t"},
		{"RESTORE", "t", "1", good, "REPLACE", "ABSTTL"},
		{"EXISTS", "t"},
		{"RESTORE", "t2", "1", good, "ABSTTL"},
		{"EXISTS", "t2"},
		{"RESTORE", "t3", "99999999999999", good, "ABSTTL"},
		{"PEXPIRETIME", "t3"},
		{"RESTORE", "t4", "9223372036854775807", good},
		{"EXISTS", "t4"},
		{"RESTORE", "t5", "0", good, "ABSTTL"},
		{"TTL", "t5"},
	} {
		if len(args) > 1 && args[1] == "busy" {
			set(d, "busy", "x")
		}
		d.Do(args...)
	}
	// Version 11 (Redis 7.2) payloads: Redis 7.0 refuses them, slotvault
	// accepts them to interoperate with 7.2.
	v11 := payload([]byte{0, 2, 'o', 'k'}, 11)
	if v, _ := d.SV.Do("RESTORE", "v11", "0", v11); v.Str != "OK" {
		t.Errorf("slotvault refused an RDB 11 payload: %v", v)
	}
	if v, _ := d.Redis.Do("RESTORE", "v11", "0", v11); v.Str != "ERR DUMP payload version or checksum are wrong" {
		t.Errorf("redis on RDB 11: %v", v)
	}
	// Payloads cross over: Redis's DUMP restores into slotvault and back.
	for i := range vals {
		k := "s" + strconv.Itoa(i)
		rp, _ := d.Redis.Do("DUMP", k)
		if v, _ := d.SV.Do("RESTORE", k+":x", "0", rp.Str); v.Str != "OK" {
			t.Errorf("slotvault RESTORE of Redis's DUMP of %s: %v", k, v)
		}
		sp, _ := d.SV.Do("DUMP", k)
		if v, _ := d.Redis.Do("RESTORE", k+":x", "0", sp.Str); v.Str != "OK" {
			t.Errorf("Redis RESTORE of slotvault's DUMP of %s: %v", k, v)
		}
		d.Do("DUMP", k+":x")
	}
}

// Aggregates: values created in Redis are dumped, restored into slotvault
// and dumped back. These run once the aggregate store types are
// registered in node's fromObject table (skipped before).
func TestDiffKeyspaceDumpRestoreAggregates(t *testing.T) {
	d := testutil.NewDiff(t)
	r := d.Redis
	big := func(prefix string, n int, f func(i int) []string) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, f(i)...)
		}
		return out
	}
	cmds := [][]string{
		{"HSET", "h:small", "a", "1", "b", "hello", "c", "-7"},
		append([]string{"HSET", "h:big"}, big("f", 200, func(i int) []string { return []string{"f" + strconv.Itoa(i), "v"} })...),
		{"SADD", "s:int", "1", "2", "3", "-100000"},
		{"SADD", "s:str", "a", "b", "c"},
		append([]string{"SADD", "s:bigint"}, big("", 600, func(i int) []string { return []string{strconv.Itoa(i)} })...),
		{"ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c"},
		append([]string{"ZADD", "z:big"}, big("", 200, func(i int) []string { return []string{strconv.Itoa(i), "m" + strconv.Itoa(i)} })...),
		{"RPUSH", "l:small", "a", "b", "1", "2"},
		append([]string{"RPUSH", "l:big"}, big("", 3000, func(i int) []string { return []string{"element-" + strconv.Itoa(i)} })...),
	}
	for _, c := range cmds {
		if v, err := r.Do(c...); err != nil || v.Type == '-' {
			t.Fatalf("%v: %v %v", c, v, err)
		}
	}
	for _, c := range cmds {
		key := c[1]
		p, _ := r.Do("DUMP", key)
		v, _ := d.SV.Do("RESTORE", key, "0", p.Str)
		if v.Str == "ERR Bad data format" {
			t.Fatalf("aggregate store type not registered for DUMP/RESTORE (%s)", key)
		}
		if v.Str != "OK" {
			t.Fatalf("RESTORE %s into slotvault: %v", key, v)
		}
		d.Do("TYPE", key)
		d.Do("OBJECT", "ENCODING", key)
		sp, _ := d.SV.Do("DUMP", key)
		if v, _ := r.Do("RESTORE", key+":back", "0", sp.Str); v.Str != "OK" {
			t.Errorf("Redis RESTORE of slotvault's DUMP of %s: %v", key, v)
		}
		switch key {
		case "h:small", "s:int", "z:small", "z:big", "l:small", "l:big":
			// Deterministic encodings: byte-identical payloads.
			d.Do("DUMP", key)
		}
		d.Do("COPY", key, key+":copy")
		d.Do("TYPE", key+":copy")
	}
}
