package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/miniotest"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

func svStatus(t *testing.T, c *resp.Conn) map[string]string {
	t.Helper()
	v, err := c.Do("SVBACKUP", "STATUS")
	if err != nil {
		t.Fatalf("SVBACKUP STATUS: %v", err)
	}
	f := map[string]string{}
	if v.IsError() {
		f["error"] = v.Str
		return f
	}
	for i := 0; i+1 < len(v.Elems); i += 2 {
		f[v.Elems[i].Str] = v.Elems[i+1].Str
	}
	return f
}

func svWait(t *testing.T, c *resp.Conn, what string, cond func(map[string]string) bool) {
	t.Helper()
	svWaitFor(t, c, what, 60*time.Second, cond)
}

// svWaitFor is svWait with its own deadline (large datasets on a loaded
// machine).
func svWaitFor(t *testing.T, c *resp.Conn, what string, timeout time.Duration, cond func(map[string]string) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f := svStatus(t, c)
		if f["error"] == "" && cond(f) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitShipped(t *testing.T, c *resp.Conn) {
	svWait(t, c, "log shipped", func(f map[string]string) bool {
		return f["backup_log_shipped_seq"] == f["backup_log_local_seq"]
	})
}

// dataset returns every key's DUMP payload and whether it has a TTL.
func svDataset(t *testing.T, c *resp.Conn) map[string]string {
	t.Helper()
	out := map[string]string{}
	cursor := "0"
	for {
		v, err := c.Do("SCAN", cursor, "COUNT", "1000")
		if err != nil || v.IsError() {
			t.Fatalf("SCAN: %v %v", v, err)
		}
		cursor = v.Elems[0].Str
		for _, k := range v.Elems[1].Elems {
			d, _ := c.Do("DUMP", k.Str)
			ttl, _ := c.Do("PEXPIRETIME", k.Str)
			out[k.Str] = d.Str + "|" + strconv.FormatBool(ttl.Int > 0)
		}
		if cursor == "0" {
			return out
		}
	}
}

func diffDatasets(t *testing.T, want, got map[string]string) {
	t.Helper()
	bad := 0
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			bad++
			if bad < 10 {
				t.Errorf("key %q: restored %q, want %q", k, g, v)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			bad++
			if bad < 10 {
				t.Errorf("key %q restored but did not exist at T", k)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d keys differ (want %d keys, got %d)", bad, len(want), len(got))
	}
}

func runSV(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t), args...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeWorkload(t *testing.T, c *resp.Conn, phase string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s:%d", phase, i)
		cmds := [][]string{
			{"SET", "str:" + k, "v-" + k},
			{"HSET", "hash:" + k, "f1", "a", "f2", strconv.Itoa(i)},
			{"RPUSH", "list:" + k, "x", "y", strconv.Itoa(i)},
			{"SADD", "set:" + k, "1", "2", strconv.Itoa(i * 7)},
			{"ZADD", "zset:" + k, "1.5", "a", strconv.Itoa(i), "b"},
			{"SET", "ttl:" + k, "t", "EX", "100000"},
			{"INCR", "counter"},
		}
		for _, cmd := range cmds {
			if v, err := c.Do(cmd...); err != nil || v.IsError() {
				t.Fatalf("%v: %v %v", cmd, v, err)
			}
		}
	}
}

// TestRestorePointInTimeMinIO: (a) restore to a noted time T equals the
// dataset at T key by key; (d) one deleted key comes back with --match;
// (f) a tampered object makes restore refuse before writing anything.
func TestRestorePointInTimeMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	st := srv.Store(t, "e2e", "")
	_ = st
	t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
	tgt := []string{"--target", "s3://e2e/pitr", "--s3-endpoint", srv.Endpoint}
	p := testutil.StartSlotvault(t, "--appendonly", "yes", "--backup-target", "s3://e2e/pitr",
		"--backup-s3-endpoint", srv.Endpoint, "--backup-schedule", "@every 1h", "--backup-log-ship-interval", "50ms")
	c := testutil.Dial(t, p.Addr())
	writeWorkload(t, c, "base", 200)
	svWait(t, c, "agent", func(map[string]string) bool { return true })
	if v, _ := c.Do("SVBACKUP", "NOW"); v.IsError() && !strings.Contains(v.Str, "progress") {
		t.Fatal(v.Str)
	}
	svWait(t, c, "backup", func(f map[string]string) bool { return f["backup_ok_count"] != "0" })
	writeWorkload(t, c, "after", 100)
	c.Do("DEL", "str:base:5", "hash:base:6")
	c.Do("HSET", "hash:base:7", "f3", "new")
	waitShipped(t, c)
	time.Sleep(5 * time.Millisecond)
	at := time.Now()
	want := svDataset(t, c)
	time.Sleep(5 * time.Millisecond)
	writeWorkload(t, c, "late", 50)
	c.Do("DEL", "str:base:42", "list:after:3", "zset:base:9")
	c.Do("SET", "str:base:1", "changed")
	c.Do("FLUSHDB")
	writeWorkload(t, c, "post", 10)
	waitShipped(t, c)

	out, err := runSV(t, append([]string{"restore", "list"}, tgt...)...)
	if err != nil || !strings.Contains(out, "restorable:") {
		t.Fatalf("restore list: %v\n%s", err, out)
	}
	t.Log(out)

	// (a) restore to T into a folder, start it, compare.
	outDir := filepath.Join(t.TempDir(), "restored")
	port := testutil.FreePort(t)
	atS := at.UTC().Format(time.RFC3339Nano)
	out, err = runSV(t, append([]string{"restore", "cluster", "--at", atS, "--out", outDir, "--ports", strconv.Itoa(port)}, tgt...)...)
	if err != nil {
		t.Fatalf("restore cluster: %v\n%s", err, out)
	}
	t.Log(out)
	ents, _ := os.ReadDir(outDir)
	if len(ents) != 1 {
		t.Fatalf("want one node folder, got %v", ents)
	}
	nodeDir := filepath.Join(outDir, ents[0].Name())
	rp := testutil.StartProcess(t, port, nodeDir, testutil.Binary(t), "server", filepath.Join(nodeDir, "redis.conf"))
	waitLoaded(t, rp.Addr())
	rc := testutil.Dial(t, rp.Addr())
	diffDatasets(t, want, svDataset(t, rc))
	rp.Stop()

	// A non-empty output folder is refused.
	out, err = runSV(t, append([]string{"restore", "cluster", "--at", atS, "--out", outDir}, tgt...)...)
	if err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("non-empty --out accepted: %v\n%s", err, out)
	}
	// --plan writes nothing.
	planDir := filepath.Join(t.TempDir(), "plan")
	out, err = runSV(t, append([]string{"restore", "cluster", "--at", atS, "--out", planDir, "--plan"}, tgt...)...)
	if err != nil || !strings.Contains(out, "plan only") {
		t.Fatalf("--plan: %v\n%s", err, out)
	}
	if _, err := os.Stat(planDir); err == nil {
		t.Fatal("--plan created the output folder")
	}
	// --new-ids: the node goes to a folder named by a fresh ID.
	out, err = runSV(t, append([]string{"restore", "cluster", "--at", atS, "--out", planDir, "--plan", "--new-ids"}, tgt...)...)
	if err != nil || strings.Contains(out, filepath.Join(planDir, ents[0].Name())) {
		t.Fatalf("--new-ids kept the node ID: %v\n%s", err, out)
	}

	// (d) one key restored online with --match into the live node.
	out, err = runSV(t, append([]string{"restore", "load", "--at", atS, "--into", p.Addr(), "--match", "hash:base:7"}, tgt...)...)
	if err != nil {
		t.Fatalf("restore load --match: %v\n%s", err, out)
	}
	got := svDataset(t, c)
	if got["hash:base:7"] != want["hash:base:7"] {
		t.Fatalf("hash:base:7 not restored: %q", got["hash:base:7"])
	}
	if _, ok := got["str:base:8"]; ok {
		t.Fatal("--match restored other keys")
	}
	// An existing key is refused without --replace, replaced with it.
	c.Do("SET", "str:base:1", "changed")
	out, err = runSV(t, append([]string{"restore", "load", "--at", atS, "--into", p.Addr(), "--match", "str:base:1*"}, tgt...)...)
	if err == nil || !strings.Contains(out, "already exist") {
		t.Fatalf("existing key not refused: %v\n%s", err, out)
	}
	if v, _ := c.Do("EXISTS", "str:base:10"); v.Int != 0 {
		t.Fatal("refused load wrote keys")
	}
	out, err = runSV(t, append([]string{"restore", "load", "--at", atS, "--into", p.Addr(), "--match", "str:base:1*", "--replace"}, tgt...)...)
	if err != nil {
		t.Fatalf("load --replace: %v\n%s", err, out)
	}
	if v, _ := c.Do("GET", "str:base:1"); v.Str != "v-base:1" {
		t.Fatalf("str:base:1 = %q", v.Str)
	}

	// (f) tamper with the newest log object: restoring to the latest time
	// is refused before anything is written, naming the latest reachable
	// time; T (before the damage) still restores.
	ctx := context.Background()
	objs, err := st.List(ctx, "pitr/nodes/")
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for _, o := range objs {
		if strings.HasSuffix(o.Key, ".svl") {
			last = o.Key
		}
	}
	if last == "" {
		t.Fatalf("no log objects: %v", objs)
	}
	rd, err := st.Get(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rd)
	rd.Close()
	b[len(b)/2] ^= 0xff
	if _, err := st.Put(ctx, last, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	badDir := filepath.Join(t.TempDir(), "bad")
	out, err = runSV(t, append([]string{"restore", "cluster", "--at", time.Now().UTC().Format(time.RFC3339Nano), "--out", badDir}, tgt...)...)
	if err == nil || !strings.Contains(out, "latest reachable time is") || !strings.Contains(out, "nothing was written") {
		t.Fatalf("tampered object not refused: %v\n%s", err, out)
	}
	if _, err := os.Stat(badDir); err == nil {
		t.Fatal("refused restore created the output folder")
	}
	t.Log(out)
}
