package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// Replication end-to-end tests: real slotvault processes as master and
// replica, driven by go-redis and redis-cli.

// replArgs are the settings every replication test uses: a short
// repl-timeout so a stopped peer is noticed within seconds, and a PING
// period below it so an idle link stays up.
var replArgs = []string{"--appendonly", "yes", "--save", "", "--repl-timeout", "2", "--repl-ping-replica-period", "1"}

func startMaster(t *testing.T, extra ...string) *testutil.Proc {
	t.Helper()
	p := testutil.StartSlotvault(t, append(append([]string{}, replArgs...), extra...)...)
	waitLoaded(t, p.Addr())
	return p
}

func startReplicaIn(t *testing.T, dir string, port int, master *testutil.Proc, extra ...string) *testutil.Proc {
	t.Helper()
	args := append(append([]string{}, replArgs...), "--replicaof", "127.0.0.1 "+strconv.Itoa(master.Port))
	p := testutil.StartSlotvaultIn(t, dir, port, append(args, extra...)...)
	return p
}

func goClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIndentity: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func infoOf(t *testing.T, addr, section string) map[string]string {
	t.Helper()
	c, err := resp.Dial(addr)
	if err != nil {
		return map[string]string{}
	}
	defer c.Close()
	c.Timeout = 5 * time.Second
	v, err := c.Do("INFO", section)
	if err != nil || v.IsError() {
		return map[string]string{}
	}
	out := map[string]string{}
	for _, line := range strings.Split(v.Str, "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok {
			out[k] = val
		}
	}
	return out
}

// waitInSync waits until the replica's link is up and it has applied the
// master's whole stream.
func waitInSync(t *testing.T, master, replica *testutil.Proc) {
	t.Helper()
	waitFor(t, "replica in sync", 20*time.Second, func() bool {
		r := infoOf(t, replica.Addr(), "replication")
		m := infoOf(t, master.Addr(), "replication")
		return r["master_link_status"] == "up" && m["master_repl_offset"] != "" &&
			r["slave_repl_offset"] == m["master_repl_offset"]
	})
}

// keyState is what the dataset comparison looks at for one key.
type keyState struct {
	typ, dump string
	ttl       bool
}

// dataset reads every key of database 0 with its type, DUMP payload and
// whether it has a TTL, plus INFO keyspace's key and expire counts of
// every database.
func dataset(t *testing.T, addr string) (map[string]keyState, []string) {
	t.Helper()
	c := testutil.Dial(t, addr)
	out := map[string]keyState{}
	cursor := "0"
	for {
		v, err := c.Do("SCAN", cursor, "COUNT", "1000")
		if err != nil || v.IsError() {
			t.Fatalf("SCAN: %v %v", v, err)
		}
		cursor = v.Elems[0].Str
		for _, k := range v.Elems[1].Elems {
			typ, _ := c.Do("TYPE", k.Str)
			enc, _ := c.Do("OBJECT", "ENCODING", k.Str)
			ttl, _ := c.Do("PTTL", k.Str)
			if typ.Str == "none" {
				continue
			}
			// Hash-table encodings have no defined order: compare those
			// by content, the rest byte for byte.
			var content resp.Value
			switch {
			case typ.Str == "set":
				content, _ = c.Do("SMEMBERS", k.Str)
			case typ.Str == "hash" && enc.Str == "hashtable":
				content, _ = c.Do("HGETALL", k.Str)
			default:
				content, _ = c.Do("DUMP", k.Str)
			}
			out[k.Str] = keyState{typ: typ.Str + "/" + enc.Str, dump: content.Sorted().String(), ttl: ttl.Int >= 0}
		}
		if cursor == "0" {
			break
		}
	}
	var dbs []string
	for k, v := range infoOf(t, addr, "keyspace") {
		if strings.HasPrefix(k, "db") {
			f := strings.Split(v, ",")
			dbs = append(dbs, k+":"+f[0]+","+f[1])
		}
	}
	sort.Strings(dbs)
	return out, dbs
}

func requireSameData(t *testing.T, master, replica *testutil.Proc) {
	t.Helper()
	mk, mdbs := dataset(t, master.Addr())
	rk, rdbs := dataset(t, replica.Addr())
	if len(mk) != len(rk) {
		var only []string
		for k := range mk {
			if _, ok := rk[k]; !ok {
				only = append(only, "master:"+k)
			}
		}
		for k := range rk {
			if _, ok := mk[k]; !ok {
				only = append(only, "replica:"+k)
			}
		}
		t.Fatalf("master has %d keys, replica %d; only on one side: %v", len(mk), len(rk), only)
	}
	for k, m := range mk {
		r, ok := rk[k]
		if !ok {
			t.Fatalf("replica lacks key %q", k)
		}
		if m != r {
			t.Fatalf("key %q differs: master %+v replica %+v", k, m, r)
		}
	}
	if strings.Join(mdbs, " ") != strings.Join(rdbs, " ") {
		t.Fatalf("keyspace differs: master %v replica %v", mdbs, rdbs)
	}
}

// loadDataset writes keys of every type available, in several encodings,
// some with TTLs, some moved to other databases.
func loadDataset(t *testing.T, c *redis.Client, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	pipe := c.Pipeline()
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s:%d", prefix, i)
		pipe.HSet(ctx, k+":h", "f", i, "g", strings.Repeat("x", i%100))
		pipe.RPush(ctx, k+":l", i, "a", "b")
		pipe.SAdd(ctx, k+":si", i, i+1, i+2)              // intset
		pipe.SAdd(ctx, k+":ss", "m"+strconv.Itoa(i), "n") // listpack/hashtable
		pipe.ZAdd(ctx, k+":z", redis.Z{Score: float64(i) / 3, Member: "a"}, redis.Z{Score: 2, Member: "b"})
		if i%5 == 0 {
			pipe.PExpire(ctx, k+":h", time.Hour)
			pipe.Expire(ctx, k+":z", 2*time.Hour)
		}
	}
	// Big values: hashtable / quicklist / skiplist encodings.
	for i := 0; i < 300; i++ {
		pipe.HSet(ctx, prefix+":bighash", "field"+strconv.Itoa(i), strings.Repeat("v", i))
		pipe.RPush(ctx, prefix+":biglist", strings.Repeat("e", i))
		pipe.ZAdd(ctx, prefix+":bigz", redis.Z{Score: float64(i), Member: "m" + strconv.Itoa(i)})
		pipe.SAdd(ctx, prefix+":bigset", "s"+strconv.Itoa(i))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// Other databases (MOVE: SELECT may not be there yet).
	for i := 0; i < 5; i++ {
		k := fmt.Sprintf("%s:moved:%d", prefix, i)
		c.HSet(ctx, k, "f", "v")
		if err := c.Move(ctx, k, 1+i%3).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplicationFullSyncThenStream: a replica started against a master
// holding every type with TTLs in several databases gets an identical
// copy, then follows live writes (transactions, expiry, deletes); INFO and
// ROLE on both sides read as Redis prints them.
func TestReplicationFullSyncThenStream(t *testing.T) {
	m := startMaster(t)
	mc := goClient(t, m.Addr())
	ctx := context.Background()
	loadDataset(t, mc, "pre", 200)

	r := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), m)
	waitInSync(t, m, r)
	requireSameData(t, m, r)
	if !strings.Contains(r.Output(), "Full resync from master") || !strings.Contains(r.Output(), "MASTER <-> REPLICA sync: Finished with success") {
		t.Fatalf("replica log lacks the full sync lines:\n%s", r.Output())
	}

	// A key that expires after the sync: the replica must hide it when its
	// time has passed and drop it when the master's DEL arrives.
	mc.HSet(ctx, "short", "f", "v")
	mc.PExpire(ctx, "short", 300*time.Millisecond)
	// Live writes.
	loadDataset(t, mc, "live", 100)
	tx := mc.TxPipeline()
	tx.HSet(ctx, "tx", "a", 1)
	tx.HIncrBy(ctx, "tx", "a", 41)
	tx.Del(ctx, "pre:1:h")
	if _, err := tx.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	mc.Del(ctx, "pre:2:l")
	mc.ZIncrBy(ctx, "pre:3:z", 10, "a")
	mc.SPop(ctx, "pre:4:ss")
	mc.LPop(ctx, "pre:5:l")
	if n, err := mc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 5000 = %d, %v", n, err)
	}
	rc := goClient(t, r.Addr())
	if v, _ := rc.HGet(ctx, "tx", "a").Result(); v != "42" {
		t.Fatalf("replica tx:a = %q", v)
	}
	// Expiry: hidden on the replica once its time passed, gone with the
	// master's DEL.
	waitFor(t, "short to be hidden on the replica", 10*time.Second, func() bool {
		return rc.Exists(ctx, "short").Val() == 0
	})
	waitFor(t, "short to expire on the master", 10*time.Second, func() bool {
		return mc.Exists(ctx, "short").Val() == 0
	})
	waitInSync(t, m, r)
	requireSameData(t, m, r)

	// INFO fields, as Redis prints them.
	mi := infoOf(t, m.Addr(), "replication")
	ri := infoOf(t, r.Addr(), "replication")
	if mi["role"] != "master" || mi["connected_slaves"] != "1" || mi["repl_backlog_active"] != "1" ||
		!strings.HasPrefix(mi["slave0"], "ip=127.0.0.1,port="+strconv.Itoa(r.Port)+",state=online,offset=") {
		t.Fatalf("master INFO replication: %v", mi)
	}
	if ri["role"] != "slave" || ri["master_host"] != "127.0.0.1" || ri["master_port"] != strconv.Itoa(m.Port) ||
		ri["master_link_status"] != "up" || ri["master_sync_in_progress"] != "0" || ri["slave_read_only"] != "1" ||
		ri["master_replid"] != mi["master_replid"] || ri["slave_priority"] != "100" || ri["replica_announced"] != "1" {
		t.Fatalf("replica INFO replication: %v", ri)
	}
	for _, f := range []string{"master_last_io_seconds_ago", "slave_read_repl_offset", "slave_repl_offset", "master_replid2",
		"second_repl_offset", "repl_backlog_size", "repl_backlog_first_byte_offset", "repl_backlog_histlen", "master_failover_state"} {
		if _, ok := ri[f]; !ok {
			t.Fatalf("replica INFO lacks %s: %v", f, ri)
		}
	}
	role := redisCLI(t, r.Port, "", "ROLE")
	if want := "slave\n127.0.0.1\n" + strconv.Itoa(m.Port) + "\nconnected\n"; !strings.HasPrefix(role, want) {
		t.Fatalf("replica ROLE:\n%s", role)
	}
	role = redisCLI(t, m.Port, "", "ROLE")
	if !strings.HasPrefix(role, "master\n") || !strings.Contains(role, "127.0.0.1\n"+strconv.Itoa(r.Port)+"\n") {
		t.Fatalf("master ROLE:\n%s", role)
	}
}

// TestReplicaRefusesWrites: -READONLY with Redis's text (redis-cli shows
// it), reads are served, replica-read-only no allows local writes, WAIT is
// refused on a replica.
func TestReplicaRefusesWrites(t *testing.T) {
	m := startMaster(t)
	goClient(t, m.Addr()).HSet(context.Background(), "h", "f", "v")
	r := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), m)
	waitInSync(t, m, r)
	if out := strings.TrimSpace(redisCLI(t, r.Port, "", "HSET", "h", "g", "w")); out != "READONLY You can't write against a read only replica." {
		t.Fatalf("write on a replica: %q", out)
	}
	if out := strings.TrimSpace(redisCLI(t, r.Port, "", "HGET", "h", "f")); out != "v" {
		t.Fatalf("read on a replica: %q", out)
	}
	out := redisCLI(t, r.Port, "MULTI\nHSET h g w\nEXEC\n")
	if !strings.Contains(out, "READONLY You can't write against a read only replica.") || !strings.Contains(out, "EXECABORT") {
		t.Fatalf("MULTI write on a replica:\n%s", out)
	}
	if out := redisCLI(t, r.Port, "", "WAIT", "1", "0"); !strings.Contains(out, "ERR WAIT cannot be used with replica instances.") {
		t.Fatalf("WAIT on a replica: %q", out)
	}
	if out := strings.TrimSpace(redisCLI(t, r.Port, "", "REPLICAOF", "127.0.0.1", strconv.Itoa(m.Port))); out != "OK Already connected to specified master" {
		t.Fatalf("REPLICAOF same master: %q", out)
	}
	if out := strings.TrimSpace(redisCLI(t, r.Port, "", "REPLICAOF", "127.0.0.1", "99999")); out != "ERR Invalid master port" {
		t.Fatalf("REPLICAOF bad port: %q", out)
	}
	redisCLI(t, r.Port, "", "CONFIG", "SET", "replica-read-only", "no")
	if out := strings.TrimSpace(redisCLI(t, r.Port, "", "HSET", "local", "f", "v")); out != "1" {
		t.Fatalf("write on a writable replica: %q", out)
	}
	if ri := infoOf(t, r.Addr(), "replication"); ri["slave_read_only"] != "0" {
		t.Fatalf("slave_read_only: %v", ri)
	}
	// Local writes on a replica are not propagated (Redis 4+).
	if n := goClient(t, m.Addr()).Exists(context.Background(), "local").Val(); n != 0 {
		t.Fatal("a replica's local write reached the master")
	}
}

// TestWait: WAIT counts replicas that acknowledged the client's last
// write; it times out with the count when too few do.
func TestWait(t *testing.T) {
	m := startMaster(t)
	mc := goClient(t, m.Addr())
	ctx := context.Background()
	if out := strings.TrimSpace(redisCLI(t, m.Port, "", "WAIT", "0", "0")); out != "0" {
		t.Fatalf("WAIT without replicas: %q", out)
	}
	for _, tc := range [][2]string{
		{"WAIT 1 -1", "ERR timeout is negative"},
		{"WAIT 1 x", "ERR timeout is not an integer or out of range"},
		{"WAIT x 1", "ERR value is not an integer or out of range"},
	} {
		if out := strings.TrimSpace(redisCLI(t, m.Port, "", strings.Fields(tc[0])...)); out != tc[1] {
			t.Fatalf("%s: %q, want %q", tc[0], out, tc[1])
		}
	}
	r := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), m)
	waitInSync(t, m, r)
	mc.HSet(ctx, "k", "f", "v")
	if n := mc.Do(ctx, "WAIT", 1, 0).Val(); n != int64(1) {
		t.Fatalf("WAIT 1 0 = %v", n)
	}
	start := time.Now()
	if n := mc.Do(ctx, "WAIT", 2, 300).Val(); n != int64(1) {
		t.Fatalf("WAIT 2 300 = %v", n)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("WAIT 2 300 returned before its timeout")
	}
	// A stopped replica acknowledges nothing.
	r.Freeze(t)
	mc.HSet(ctx, "k", "g", "w")
	if n := mc.Do(ctx, "WAIT", 1, 300).Val(); n != int64(0) {
		t.Fatalf("WAIT 1 300 with the replica stopped = %v", n)
	}
	r.Signal(syscall.SIGCONT)
	if n := mc.Do(ctx, "WAIT", 1, 10000).Val(); n != int64(1) {
		t.Fatalf("WAIT 1 10000 after SIGCONT = %v", n)
	}
}

// TestPartialResyncAfterDisconnect: a replica stopped longer than
// repl-timeout loses its link; when it resumes it continues from the
// backlog (sync_partial_ok, "Successful partial resynchronization"), with
// no second full sync, and holds the writes made meanwhile.
func TestPartialResyncAfterDisconnect(t *testing.T) {
	m := startMaster(t)
	mc := goClient(t, m.Addr())
	loadDataset(t, mc, "a", 100)
	r := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), m)
	waitInSync(t, m, r)

	r.Freeze(t)
	loadDataset(t, mc, "b", 50)
	waitFor(t, "master to drop the stopped replica", 10*time.Second, func() bool {
		return infoOf(t, m.Addr(), "replication")["connected_slaves"] == "0"
	})
	loadDataset(t, mc, "c", 20)
	r.Signal(syscall.SIGCONT)
	waitInSync(t, m, r)
	requireSameData(t, m, r)
	st := infoOf(t, m.Addr(), "stats")
	if st["sync_full"] != "1" || st["sync_partial_ok"] != "1" {
		t.Fatalf("want one full and one partial sync, stats: full=%s partial_ok=%s", st["sync_full"], st["sync_partial_ok"])
	}
	if !strings.Contains(r.Output(), "Successful partial resynchronization with master.") {
		t.Fatalf("replica log:\n%s", r.Output())
	}
}

// TestReplicaRestart: a replica stopped cleanly and restarted in the same
// directory continues with a partial resync; one killed with SIGKILL comes
// back with the same data (full sync when its log and state disagree).
func TestReplicaRestart(t *testing.T) {
	m := startMaster(t)
	mc := goClient(t, m.Addr())
	ctx := context.Background()
	loadDataset(t, mc, "a", 100)
	dir, port := t.TempDir(), testutil.FreePort(t)
	r := startReplicaIn(t, dir, port, m)
	waitInSync(t, m, r)

	r.Stop()
	loadDataset(t, mc, "b", 50)
	r = startReplicaIn(t, dir, port, m)
	waitInSync(t, m, r)
	requireSameData(t, m, r)
	st := infoOf(t, m.Addr(), "stats")
	if st["sync_full"] != "1" || st["sync_partial_ok"] != "1" {
		t.Fatalf("restart after a clean stop: full=%s partial_ok=%s\nreplica log:\n%s", st["sync_full"], st["sync_partial_ok"], r.Output())
	}

	r.Kill()
	loadDataset(t, mc, "c", 50)
	r = startReplicaIn(t, dir, port, m)
	waitInSync(t, m, r)
	requireSameData(t, m, r)
	_ = ctx
}

// TestPromoteAndDemote: REPLICAOF NO ONE promotes a replica (new replid,
// the old one as replid2, writes accepted); the old master then follows it
// with a partial resync, as a failover does.
func TestPromoteAndDemote(t *testing.T) {
	m := startMaster(t)
	mc := goClient(t, m.Addr())
	ctx := context.Background()
	loadDataset(t, mc, "a", 50)
	r := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), m)
	waitInSync(t, m, r)
	old := infoOf(t, m.Addr(), "replication")

	if out := strings.TrimSpace(redisCLI(t, r.Port, "", "REPLICAOF", "NO", "ONE")); out != "OK" {
		t.Fatalf("REPLICAOF NO ONE: %q", out)
	}
	ri := infoOf(t, r.Addr(), "replication")
	off, _ := strconv.ParseInt(old["master_repl_offset"], 10, 64)
	if ri["role"] != "master" || ri["master_replid2"] != old["master_replid"] || ri["second_repl_offset"] != strconv.FormatInt(off+1, 10) ||
		ri["master_replid"] == old["master_replid"] {
		t.Fatalf("after promotion: %v (old master %v)", ri, old)
	}
	rc := goClient(t, r.Addr())
	if err := rc.HSet(ctx, "after", "f", "v").Err(); err != nil {
		t.Fatalf("write on the promoted node: %v", err)
	}
	// The old master follows the new one and continues its history.
	if out := strings.TrimSpace(redisCLI(t, m.Port, "", "REPLICAOF", "127.0.0.1", strconv.Itoa(r.Port))); out != "OK" {
		t.Fatalf("REPLICAOF: %q", out)
	}
	waitInSync(t, r, m)
	requireSameData(t, r, m)
	if st := infoOf(t, r.Addr(), "stats"); st["sync_partial_ok"] != "1" || st["sync_full"] != "0" {
		t.Fatalf("demoted master did not continue with a partial resync: %v\n%s", st, m.Output())
	}
	if v := goClient(t, m.Addr()).HGet(ctx, "after", "f").Val(); v != "v" {
		t.Fatalf("demoted master lacks the new master's write: %q", v)
	}
}

// TestReplicatedWriteThroughput is the benchmark figure for the report
// (not a timed assertion): redis-benchmark HSET throughput against a
// master with one replica attached, slotvault and redis-server in the same
// run. Run with SLOTVAULT_BENCH=1 -v.
func TestReplicatedWriteThroughput(t *testing.T) {
	if os.Getenv("SLOTVAULT_BENCH") == "" {
		t.Skip("set SLOTVAULT_BENCH=1 to run")
	}
	bench := testutil.RequireTool(t, "redis-benchmark")
	run := func(port int) float64 {
		out, err := exec.Command(bench, "-p", strconv.Itoa(port), "-c", "50", "-n", "300000", "-r", "100000", "-q",
			"hset", "key:__rand_int__", "f", "__rand_int__").CombinedOutput()
		if err != nil {
			t.Fatalf("redis-benchmark: %v\n%s", err, out)
		}
		// "hset key:__rand_int__ f __rand_int__: 123456.79 requests per second, p50=..."
		s := string(out)
		if i := strings.LastIndex(s, ": "); i >= 0 {
			f := strings.Fields(s[i+2:])
			v, _ := strconv.ParseFloat(f[0], 64)
			return v
		}
		t.Fatalf("redis-benchmark output: %s", out)
		return 0
	}
	m := startMaster(t, "--appendfsync", "everysec")
	r := startReplicaIn(t, t.TempDir(), testutil.FreePort(t), m, "--appendfsync", "everysec")
	waitInSync(t, m, r)
	sv := run(m.Port)
	waitInSync(t, m, r)

	rm := testutil.StartRedis(t, "--appendonly", "yes", "--appendfsync", "everysec")
	rr := testutil.StartRedis(t, "--appendonly", "yes", "--appendfsync", "everysec", "--replicaof", "127.0.0.1 "+strconv.Itoa(rm.Port))
	waitFor(t, "redis replica up", 20*time.Second, func() bool {
		return infoOf(t, rr.Addr(), "replication")["master_link_status"] == "up"
	})
	rd := run(rm.Port)
	t.Logf("HSET with one replica attached (50 clients, appendfsync everysec): slotvault %.0f req/s, redis-server %.0f req/s, ratio %.2f", sv, rd, sv/rd)
}
