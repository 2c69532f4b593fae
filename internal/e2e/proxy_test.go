package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/slots"
)

// startProxy runs `slotvault proxy` in front of seeds.
func startProxy(t *testing.T, seeds []string, extra ...string) *testutil.Proc {
	t.Helper()
	port := testutil.FreePort(t)
	args := append([]string{"proxy", "--port", strconv.Itoa(port), "--cluster", strings.Join(seeds, ",")}, extra...)
	return testutil.StartProcess(t, port, t.TempDir(), testutil.Binary(t), args...)
}

// keyPerSlot returns one key name for every hash slot.
func keyPerSlot() []string {
	keys := make([]string, slots.Count)
	left := slots.Count
	for i := 0; left > 0; i++ {
		k := "k" + strconv.Itoa(i)
		if s := slots.KeySlotString(k); keys[s] == "" {
			keys[s] = k
			left--
		}
	}
	return keys
}

func mustDo(t *testing.T, c *resp.Conn, want string, args ...string) resp.Value {
	t.Helper()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if want != "" && v.String() != want {
		t.Fatalf("%v = %s, want %s", args, v.String(), want)
	}
	return v
}

// TestProxyEverySlot: plain redis-cli (no -c) writes and reads a key in
// every slot of a 3-master cluster through the proxy; then the commands
// the proxy splits, fans out or refuses.
func TestProxyEverySlot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rc := startMasters(t, 3)
	px := startProxy(t, rc.addrs()[:1])
	keys := keyPerSlot()
	var script strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&script, "SET %s v-%s\n", k, k)
	}
	for _, k := range keys {
		fmt.Fprintf(&script, "GET %s\n", k)
	}
	cmd := exec.Command(testutil.RequireTool(t, "redis-cli"), "-p", strconv.Itoa(px.Port))
	cmd.Stdin = strings.NewReader(script.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli: %v\n%s", err, lastLines(string(out), 5))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2*len(keys) {
		t.Fatalf("redis-cli printed %d lines, want %d:\n%s", len(lines), 2*len(keys), lastLines(string(out), 5))
	}
	for i, k := range keys {
		if lines[i] != "OK" || lines[len(keys)+i] != "v-"+k {
			t.Fatalf("slot %d key %s: SET -> %q, GET -> %q", i, k, lines[i], lines[len(keys)+i])
		}
	}
	// Each key really lives on the node that serves its slot.
	for _, i := range []int{0, 5000, 9000, 16383} {
		owners := 0
		for _, n := range rc.nodes {
			if tryDo(n.addr(), "GET", keys[i]) == "v-"+keys[i] {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("slot %d: %d nodes answer GET %s directly, want 1", i, owners, keys[i])
		}
	}

	c := testutil.Dial(t, px.Addr())
	mustDo(t, c, "(integer) 16384", "DBSIZE")
	v := mustDo(t, c, "", "MGET", keys[0], "nosuchkey", keys[8000], keys[16383])
	if v.String() != `*["v-`+keys[0]+`", (nil), "v-`+keys[8000]+`", "v-`+keys[16383]+`"]` {
		t.Fatalf("MGET across slots = %s", v)
	}
	mustDo(t, c, "(integer) 3", "EXISTS", keys[1], keys[2], keys[1], "nosuchkey")
	mustDo(t, c, "+OK", "MSET", "a", "1", "b", "2", "c", "3")
	mustDo(t, c, `*["1", "2", "3"]`, "MGET", "a", "b", "c")
	mustDo(t, c, "(integer) 3", "DEL", "a", "b", "c", "nosuchkey")
	mustDo(t, c, "(integer) 0", "UNLINK", "a", "b")
	mustDo(t, c, "(integer) 2", "TOUCH", keys[3], keys[4])
	mustDo(t, c, "(error) CROSSSLOT Keys in request don't hash to the same slot", "SUNION", keys[0], keys[1])
	mustDo(t, c, "(error) CROSSSLOT Keys in request don't hash to the same slot", "MSETNX", "a", "1", "b", "2")
	mustDo(t, c, "(error) ERR wrong number of arguments for 'mget' command", "MGET")
	mustDo(t, c, "(error) ERR unknown command 'NOSUCH', with args beginning with: 'x' ", "NOSUCH", "x")
	if v := mustDo(t, c, "", "KEYS", "k1?"); len(v.Elems) != 10 {
		t.Fatalf("KEYS k1? = %s", v)
	}
	// SCAN walks every master with one cursor.
	seen := map[string]bool{}
	cursor := "0"
	for calls := 0; ; calls++ {
		v := mustDo(t, c, "", "SCAN", cursor, "COUNT", "1000")
		for _, e := range v.Elems[1].Elems {
			seen[e.Str] = true
		}
		cursor = v.Elems[0].Str
		if cursor == "0" {
			break
		}
		if calls > 100000 {
			t.Fatal("SCAN does not end")
		}
	}
	if len(seen) != len(keys) {
		t.Fatalf("SCAN saw %d keys, want %d", len(seen), len(keys))
	}
	if v := mustDo(t, c, "", "RANDOMKEY"); v.Null {
		t.Fatal("RANDOMKEY nil on a full cluster")
	}
	if v := mustDo(t, c, "", "INFO"); !strings.Contains(v.Str, "db0:keys=16384,") {
		t.Fatalf("INFO keyspace: %s", v.Str)
	}
	// Transactions within one slot; WATCH.
	mustDo(t, c, "+OK", "MULTI")
	mustDo(t, c, "+QUEUED", "SET", "{u}a", "1")
	mustDo(t, c, "+QUEUED", "INCR", "{u}b")
	mustDo(t, c, `*[+OK, (integer) 1]`, "EXEC")
	mustDo(t, c, "+OK", "WATCH", "{u}a")
	c2 := testutil.Dial(t, px.Addr())
	mustDo(t, c2, "+OK", "SET", "{u}a", "changed")
	mustDo(t, c, "+OK", "MULTI")
	mustDo(t, c, "+QUEUED", "GET", "{u}a")
	mustDo(t, c, "(nil array)", "EXEC")
	mustDo(t, c, "+OK", "MULTI")
	mustDo(t, c, "+QUEUED", "SET", "{u}a", "1")
	mustDo(t, c, "(error) CROSSSLOT Keys in request don't hash to the same slot", "SET", "{v}a", "1")
	mustDo(t, c, "(error) EXECABORT Transaction discarded because of previous errors.", "EXEC")
	// Pipelining: replies in order across nodes.
	var batch []byte
	for _, k := range keys[:2000] {
		batch = append(batch, resp.Encode("GET", k)...)
	}
	if err := c.WriteRaw(batch); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[:2000] {
		v, err := c.Read()
		if err != nil || v.Str != "v-"+k {
			t.Fatalf("pipelined GET %s = %v %v", k, v, err)
		}
	}
	// RESP3.
	mustDo(t, c, "", "HELLO", "3")
	mustDo(t, c, `%["f", "v"]`, "HGETALL", func() string { mustDo(t, c, "", "HSET", "h", "f", "v"); return "h" }())
	// Pub/sub through one node, shard channels through their node.
	sub := testutil.Dial(t, px.Addr())
	mustDo(t, sub, `*["subscribe", "ch", (integer) 1]`, "SUBSCRIBE", "ch")
	ssub := testutil.Dial(t, px.Addr())
	mustDo(t, ssub, `*["ssubscribe", "sch", (integer) 1]`, "SSUBSCRIBE", "sch")
	mustDo(t, c2, "", "PUBLISH", "ch", "hello")
	mustDo(t, c2, "(integer) 1", "SPUBLISH", "sch", "hi")
	if v, err := sub.Read(); err != nil || v.String() != `*["message", "ch", "hello"]` {
		t.Fatalf("message: %v %v", v, err)
	}
	if v, err := ssub.Read(); err != nil || v.String() != `*["smessage", "sch", "hi"]` {
		t.Fatalf("smessage: %v %v", v, err)
	}
	mustDo(t, c2, "+OK", "FLUSHALL")
	mustDo(t, c2, "(integer) 0", "DBSIZE")
}

// TestProxyRedisBenchmark runs redis-benchmark's default tests (no
// --cluster) through the proxy.
func TestProxyRedisBenchmark(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rc := startMasters(t, 3)
	px := startProxy(t, rc.addrs())
	cmd := exec.Command(testutil.RequireTool(t, "redis-benchmark"), "-p", strconv.Itoa(px.Port), "-q", "-n", "2000")
	out, err := runWithTimeout(cmd, 5*time.Minute)
	if err != nil {
		t.Fatalf("redis-benchmark: %v\n%s", err, out)
	}
	var results []string
	for _, l := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		l = strings.TrimSpace(l)
		if strings.Contains(strings.ToLower(l), "error") {
			t.Errorf("redis-benchmark: %s", l)
		}
		if strings.Contains(l, "requests per second") {
			results = append(results, l)
		}
	}
	if len(results) < 20 {
		t.Fatalf("redis-benchmark finished %d tests, want the 20 defaults:\n%s", len(results), strings.Join(results, "\n"))
	}
	t.Logf("redis-benchmark through the proxy:\n%s", strings.Join(results, "\n"))
}

// proxyLoad is plain clients writing key:<n> = <n> through the proxy,
// remembering each acknowledged write and every error they saw.
type proxyLoad struct {
	mu      sync.Mutex
	acked   []proxyAck
	errs    []string
	stop    chan struct{}
	wg      sync.WaitGroup
	next    atomic.Int64
	maxWait atomic.Int64
}

type proxyAck struct {
	key string
	at  time.Time
}

func startProxyLoad(t *testing.T, addr string, workers int) *proxyLoad {
	l := &proxyLoad{stop: make(chan struct{})}
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c, err := resp.Dial(addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer func() { c.Close() }()
			c.Timeout = time.Minute
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				k := "key:" + strconv.FormatInt(l.next.Add(1), 10)
				start := time.Now()
				v, err := c.Do("SET", k, k)
				if d := time.Since(start); int64(d) > l.maxWait.Load() {
					l.maxWait.Store(int64(d))
				}
				l.mu.Lock()
				if err != nil || v.String() != "+OK" {
					l.errs = append(l.errs, fmt.Sprintf("%s at %s: %v %v", k, time.Now().Format("15:04:05.000"), v, err))
					l.mu.Unlock()
					if err != nil {
						c.Close()
						if c, err = resp.Dial(addr); err != nil {
							return
						}
						c.Timeout = time.Minute
					}
					continue
				}
				l.acked = append(l.acked, proxyAck{k, time.Now()})
				l.mu.Unlock()
			}
		}()
	}
	t.Cleanup(l.halt)
	return l
}

func (l *proxyLoad) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
		l.wg.Wait()
	}
}

// verify stops the load and checks that the clients saw no error and
// that every acknowledged write reads back through the proxy, except
// those acknowledged in the 500 ms before fault by a master that then
// died: asynchronous replication may lose them, with or without a proxy.
func (l *proxyLoad) verify(t *testing.T, addr string, fault time.Time) {
	t.Helper()
	l.halt()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("writes acknowledged %d, errors seen by clients %d, longest single SET %v",
		len(l.acked), len(l.errs), time.Duration(l.maxWait.Load()).Round(time.Millisecond))
	if len(l.errs) > 0 {
		t.Errorf("clients saw %d errors through the proxy, e.g. %v", len(l.errs), l.errs[:min(5, len(l.errs))])
	}
	c := testutil.Dial(t, addr)
	var lost, lostWindow []string
	for i := 0; i < len(l.acked); i += 500 {
		part := l.acked[i:min(i+500, len(l.acked))]
		var batch []byte
		for _, a := range part {
			batch = append(batch, resp.Encode("GET", a.key)...)
		}
		if err := c.WriteRaw(batch); err != nil {
			t.Fatal(err)
		}
		for _, a := range part {
			v, err := c.Read()
			if err != nil {
				t.Fatal(err)
			}
			if v.Str != a.key {
				if a.at.After(fault.Add(-500*time.Millisecond)) && a.at.Before(fault) {
					lostWindow = append(lostWindow, a.key)
				} else {
					lost = append(lost, a.key)
				}
			}
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged writes lost (outside the last 500 ms before the fault), e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
	t.Logf("acknowledged in the 500 ms before the fault and lost with the master: %d", len(lostWindow))
}

// victimAndReplica picks a master and its replica.
func victimAndReplica(t *testing.T, nodes []*clusterNode, victim *clusterNode) (replica *clusterNode, others []*clusterNode) {
	victimID := myselfLine(victim.addr())[0]
	for _, n := range nodes {
		if n == victim {
			continue
		}
		others = append(others, n)
		if masterOf(n.addr()) == victimID {
			replica = n
		}
	}
	if replica == nil {
		t.Fatal("the victim has no replica")
	}
	return replica, others
}

// TestProxyReshardAndFailover: plain clients write through the proxy
// while redis-cli --cluster reshard moves slots and a master with a
// replica is killed with SIGKILL. The clients see no errors (the proxy
// retries within --retry-timeout) and every acknowledged write is read
// back through the proxy.
func TestProxyReshardAndFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := failoverCluster(t)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr())
	}
	px := startProxy(t, addrs, "--retry-timeout", "20s")
	l := startProxyLoad(t, px.Addr(), 4)
	time.Sleep(500 * time.Millisecond)

	// Reshard 1000 slots between two masters under load.
	var masters []*clusterNode
	for _, n := range nodes {
		if isMaster(n.addr()) {
			masters = append(masters, n)
		}
	}
	from, to := nodeID(t, masters[0]), nodeID(t, masters[1])
	start := time.Now()
	out, err := runCLILong(t, "--cluster", "reshard", masters[0].addr(), "--cluster-from", from, "--cluster-to", to,
		"--cluster-slots", "1000", "--cluster-yes")
	if err != nil {
		t.Fatalf("reshard: %v\n%s", err, lastLines(out, 10))
	}
	t.Logf("reshard of 1000 slots through the proxy's load: %v", time.Since(start).Round(time.Millisecond))

	// SIGKILL the master that received the slots; its replica takes over.
	victim := masters[1]
	replica, others := victimAndReplica(t, nodes, victim)
	victim.proc.Kill()
	killed := time.Now()
	waitAll(t, []*clusterNode{replica}, "replica promoted", 15*time.Second, func(n *clusterNode) bool { return isMaster(n.addr()) })
	waitAll(t, others, "cluster_state:ok", 15*time.Second, stateOK(t))
	t.Logf("SIGKILL -> promoted and cluster ok after %v", time.Since(killed).Round(time.Millisecond))
	time.Sleep(time.Second)
	l.verify(t, px.Addr(), killed)
}

// TestProxyFrozenMaster: a master stops answering (SIGSTOP) without
// closing its connections; the proxy's --node-timeout turns the silence
// into a retry, and once the replica takes over the clients go on
// without an error.
func TestProxyFrozenMaster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := failoverCluster(t)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr())
	}
	px := startProxy(t, addrs, "--retry-timeout", "20s", "--node-timeout", "500ms")
	l := startProxyLoad(t, px.Addr(), 4)
	time.Sleep(500 * time.Millisecond)
	var victim *clusterNode
	for _, n := range nodes {
		if isMaster(n.addr()) {
			victim = n
			break
		}
	}
	replica, others := victimAndReplica(t, nodes, victim)
	victim.proc.Freeze(t)
	frozen := time.Now()
	waitAll(t, []*clusterNode{replica}, "replica promoted", 15*time.Second, func(n *clusterNode) bool { return isMaster(n.addr()) })
	waitAll(t, others, "cluster_state:ok", 15*time.Second, stateOK(t))
	t.Logf("SIGSTOP -> promoted and cluster ok after %v", time.Since(frozen).Round(time.Millisecond))
	time.Sleep(time.Second)
	l.verify(t, px.Addr(), frozen)
}

// TestProxyReadFromReplica: with --read-from replica, reads go to the
// replicas (their GET counters move, the masters' do not) and writes to
// the masters.
func TestProxyReadFromReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := failoverCluster(t)
	mport := testutil.FreePort(t)
	// The seed must know the replicas before the proxy asks it (else the
	// proxy learns them at its next refresh).
	seed := testutil.Dial(t, nodes[0].addr())
	waitAll(t, nodes[:1], "CLUSTER SLOTS lists the replicas", 15*time.Second, func(*clusterNode) bool {
		v := mustDo(t, seed, "", "CLUSTER", "SLOTS")
		for _, r := range v.Elems {
			if len(r.Elems) < 4 {
				return false
			}
		}
		return len(v.Elems) > 0
	})
	px := startProxy(t, []string{nodes[0].addr()}, "--read-from", "replica", "--metrics-port", strconv.Itoa(mport))
	c := testutil.Dial(t, px.Addr())
	var keys []string
	for i, k := range keyPerSlot() {
		if i%5 == 0 {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		mustDo(t, c, "+OK", "SET", k, k)
	}
	getCalls := func(addr string) int {
		f := infoOf(t, addr, "commandstats")["cmdstat_get"]
		calls, _, _ := strings.Cut(strings.TrimPrefix(f, "calls="), ",")
		n, _ := strconv.Atoi(calls)
		return n
	}
	before := map[string]int{}
	for _, n := range nodes {
		before[n.addr()] = getCalls(n.addr())
	}
	// Replication is asynchronous: wait until every key reads back.
	deadline := time.Now().Add(15 * time.Second)
	for _, k := range keys {
		for {
			v := mustDo(t, c, "", "GET", k)
			if v.Str == k {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s through a replica = %s", k, v)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	replicaGets, masterGets := 0, 0
	for _, n := range nodes {
		d := getCalls(n.addr()) - before[n.addr()]
		if isMaster(n.addr()) {
			masterGets += d
		} else {
			replicaGets += d
		}
	}
	t.Logf("GETs served by replicas %d, by masters %d", replicaGets, masterGets)
	if masterGets != 0 || replicaGets < len(keys) {
		if res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(mport) + "/metrics"); err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			t.Logf("proxy metrics:\n%s\nproxy output:\n%s", body, px.Output())
		}
		t.Fatalf("GETs: replicas %d, masters %d; want all %d on replicas", replicaGets, masterGets, len(keys))
	}
	// A write still goes to the master, MGET across slots to replicas.
	mustDo(t, c, "+OK", "SET", keys[0], "new")
	if v := mustDo(t, c, "", "MGET", keys[1], keys[2]); len(v.Elems) != 2 {
		t.Fatalf("MGET = %s", v)
	}
}

// TestProxyConfigFile starts the proxy from a config file (metrics on),
// and checks that a bad file is refused with file:line.
func TestProxyConfigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rc := startMasters(t, 3)
	dir := t.TempDir()
	port, mport := testutil.FreePort(t), testutil.FreePort(t)
	conf := fmt.Sprintf("# proxy\nport %d\ncluster %s\nmetrics-port %d\nretry-timeout 5s\n", port, rc.nodes[1].addr(), mport)
	if err := os.WriteFile(filepath.Join(dir, "proxy.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	px := testutil.StartProcess(t, port, dir, testutil.Binary(t), "proxy", "--config", "proxy.conf")
	c := testutil.Dial(t, px.Addr())
	mustDo(t, c, "+OK", "MSET", "a", "1", "b", "2", "c", "3")
	mustDo(t, c, `*["1", "2", "3"]`, "MGET", "a", "b", "c")
	res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(mport) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "slotvault_proxy_split_commands_total 2") {
		t.Fatalf("metrics:\n%s", body)
	}

	if err := os.WriteFile(filepath.Join(dir, "bad.conf"), []byte("port 1\nread-from nowhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testutil.Binary(t), "proxy", "--config", "bad.conf")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.conf:2: read-from") || !strings.Contains(string(out), "cluster: at least one seed") {
		t.Fatalf("bad config: %v\n%s", err, out)
	}
}
