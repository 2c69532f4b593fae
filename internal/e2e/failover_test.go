package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/slots"
)

// Cluster failover end to end: real slotvault processes made a 3+3 cluster
// by redis-cli, a go-redis ClusterClient writing all along.

const foTimeoutMs = 1000

type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...interface{}) {}

func init() { redis.SetLogger(quietLog{}) }

// tryDo runs one command, "" on any error (a stopped node).
func tryDo(addr string, args ...string) string {
	c, err := resp.Dial(addr)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.Timeout = 2 * time.Second
	v, err := c.Do(args...)
	if err != nil || v.IsError() {
		return ""
	}
	return v.Str
}

// myselfLine is the fields of the node's own CLUSTER NODES line.
func myselfLine(addr string) []string {
	for _, l := range strings.Split(tryDo(addr, "CLUSTER", "NODES"), "\n") {
		if strings.Contains(l, "myself") {
			return strings.Fields(l)
		}
	}
	return nil
}

func isMaster(addr string) bool {
	f := myselfLine(addr)
	return len(f) > 8 && strings.Contains(f[2], "master")
}

func masterOf(addr string) string {
	f := myselfLine(addr)
	if len(f) > 3 && strings.Contains(f[2], "slave") {
		return f[3]
	}
	return ""
}

// failoverCluster starts a 3+3 cluster and waits until it is ok and every
// replica's link is up.
func failoverCluster(t *testing.T) []*clusterNode {
	t.Helper()
	nodes := startSeedNodes(t, 6, foTimeoutMs)
	createCluster(t, nodes)
	waitAll(t, nodes, "cluster_state:ok", 20*time.Second, stateOK(t))
	waitAll(t, nodes, "replication links up", 20*time.Second, func(n *clusterNode) bool {
		if isMaster(n.addr()) {
			return true
		}
		return infoOf(t, n.addr(), "replication")["master_link_status"] == "up"
	})
	return nodes
}

// loadWriter writes key:<n> = <n> through a ClusterClient and remembers
// when each write was acknowledged.
type loadWriter struct {
	mu    sync.Mutex
	acked map[string]time.Time
	errs  atomic.Int64
	next  atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startLoad(t *testing.T, nodes []*clusterNode, workers int) *loadWriter {
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr()
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRedirects: 8,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, DialTimeout: 300 * time.Millisecond})
	w := &loadWriter{acked: map[string]time.Time{}, stop: make(chan struct{})}
	for i := 0; i < workers; i++ {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			ctx := context.Background()
			for {
				select {
				case <-w.stop:
					return
				default:
				}
				k := "key:" + strconv.FormatInt(w.next.Add(1), 10)
				if err := rdb.Set(ctx, k, k, 0).Err(); err != nil {
					w.errs.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				w.mu.Lock()
				w.acked[k] = time.Now()
				w.mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { rdb.Close() })
	return w
}

func (w *loadWriter) halt() {
	close(w.stop)
	w.wg.Wait()
}

// missing returns the acknowledged keys (acknowledged before cutoff, zero:
// all) that the cluster no longer has.
func (w *loadWriter) missing(t *testing.T, nodes []*clusterNode, cutoff time.Time) (lost []string, checked int) {
	var addrs []string
	for _, n := range nodes {
		if n.proc != nil && !n.proc.Exited() {
			addrs = append(addrs, n.addr())
		}
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRedirects: 8})
	defer rdb.Close()
	ctx := context.Background()
	pipe := rdb.Pipeline()
	var keys []string
	cmds := map[string]*redis.StringCmd{}
	for k, at := range w.acked {
		if !cutoff.IsZero() && !at.Before(cutoff) {
			continue
		}
		keys = append(keys, k)
		cmds[k] = pipe.Get(ctx, k)
	}
	pipe.Exec(ctx)
	for _, k := range keys {
		if v, err := cmds[k].Result(); err != nil || v != k {
			lost = append(lost, k)
		}
	}
	return lost, len(keys)
}

func TestFailoverSIGKILLMaster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := failoverCluster(t)
	w := startLoad(t, nodes, 4)
	time.Sleep(time.Second)
	var victim *clusterNode
	for _, n := range nodes {
		if isMaster(n.addr()) {
			victim = n
			break
		}
	}
	victimID := myselfLine(victim.addr())[0]
	var replica *clusterNode
	var others []*clusterNode
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
	victim.proc.Kill()
	killed := time.Now()
	waitAll(t, []*clusterNode{replica}, "replica promoted", 10*time.Second, func(n *clusterNode) bool { return isMaster(n.addr()) })
	d := waitAll(t, others, "cluster_state:ok", 10*time.Second, stateOK(t))
	t.Logf("SIGKILL -> replica promoted and cluster_state:ok on all survivors after %v (cluster-node-timeout %d ms)",
		time.Since(killed), foTimeoutMs)
	_ = d
	if role := infoOf(t, replica.addr(), "replication")["role"]; role != "master" {
		t.Fatalf("promoted node's INFO replication role = %q", role)
	}
	time.Sleep(500 * time.Millisecond)
	w.halt()
	t.Logf("writes acknowledged %d, failed attempts %d", len(w.acked), w.errs.Load())
	// Asynchronous replication may lose what the master acknowledged in
	// its last moments; everything older must be there.
	lost, checked := w.missing(t, nodes, killed.Add(-500*time.Millisecond))
	if len(lost) > 0 {
		t.Fatalf("%d of %d keys acknowledged before the kill are lost, e.g. %v", len(lost), checked, lost[:min(5, len(lost))])
	}
	lostAll, all := w.missing(t, nodes, time.Time{})
	t.Logf("keys acknowledged in the last 500 ms before the kill lost: %d of %d acknowledged overall", len(lostAll), all)

	// The old master comes back as a replica of the promoted node and
	// catches up.
	victim.start(t)
	newID := myselfLine(replica.addr())[0]
	waitAll(t, []*clusterNode{victim}, "old master rejoins as replica", 15*time.Second, func(n *clusterNode) bool {
		return masterOf(n.addr()) == newID
	})
	waitAll(t, []*clusterNode{victim}, "old master catches up", 15*time.Second, func(n *clusterNode) bool {
		r := infoOf(t, n.addr(), "replication")
		m := infoOf(t, replica.addr(), "replication")
		return r["master_link_status"] == "up" && r["slave_repl_offset"] == m["master_repl_offset"] &&
			tryDo(n.addr(), "DBSIZE") == tryDo(replica.addr(), "DBSIZE")
	})
	waitAll(t, nodes, "cluster_state:ok", 10*time.Second, stateOK(t))
	// CLUSTER SLOTS lists a master and its replica for every range.
	c := redis.NewClient(&redis.Options{Addr: replica.addr()})
	defer c.Close()
	waitAll(t, []*clusterNode{replica}, "CLUSTER SLOTS with replicas", 10*time.Second, func(*clusterNode) bool {
		ranges, err := c.ClusterSlots(context.Background()).Result()
		if err != nil || len(ranges) == 0 {
			return false
		}
		for _, r := range ranges {
			if len(r.Nodes) != 2 {
				return false
			}
		}
		return true
	})
	shards, err := c.ClusterShards(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		for _, n := range s.Nodes {
			if n.ReplicationOffset == 0 {
				t.Errorf("CLUSTER SHARDS: node %s %s has replication-offset 0", n.ID, n.Role)
			}
		}
	}
}

func TestManualFailoverLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := failoverCluster(t)
	w := startLoad(t, nodes, 4)
	time.Sleep(time.Second)
	var replica *clusterNode
	for _, n := range nodes {
		if !isMaster(n.addr()) {
			replica = n
			break
		}
	}
	oldMaster := masterOf(replica.addr())
	if got := clusterDo(t, replica.addr(), "CLUSTER", "FAILOVER"); got != "OK" {
		t.Fatalf("CLUSTER FAILOVER = %q", got)
	}
	start := time.Now()
	waitAll(t, []*clusterNode{replica}, "replica promoted", 10*time.Second, func(n *clusterNode) bool { return isMaster(n.addr()) })
	t.Logf("manual failover done in %v", time.Since(start))
	newID := myselfLine(replica.addr())[0]
	var old *clusterNode
	for _, n := range nodes {
		if f := myselfLine(n.addr()); len(f) > 0 && f[0] == oldMaster {
			old = n
		}
	}
	waitAll(t, []*clusterNode{old}, "old master demoted", 10*time.Second, func(n *clusterNode) bool {
		return masterOf(n.addr()) == newID
	})
	waitAll(t, nodes, "cluster_state:ok", 10*time.Second, stateOK(t))
	time.Sleep(500 * time.Millisecond)
	w.halt()
	lost, checked := w.missing(t, nodes, time.Time{})
	t.Logf("writes acknowledged %d, failed attempts %d", checked, w.errs.Load())
	if len(lost) > 0 {
		t.Fatalf("manual failover lost %d of %d acknowledged writes, e.g. %v", len(lost), checked, lost[:min(5, len(lost))])
	}
	// Errors against the replica: a master, a syntax error.
	c, _ := resp.Dial(old.addr())
	defer c.Close()
	if v, _ := c.Do("CLUSTER", "FAILOVER", "NOW"); v.Str != "ERR syntax error" {
		t.Fatalf("CLUSTER FAILOVER NOW = %q", v.Str)
	}
	c2, _ := resp.Dial(replica.addr())
	defer c2.Close()
	if v, _ := c2.Do("CLUSTER", "FAILOVER"); v.Str != "ERR You should send CLUSTER FAILOVER to a replica" {
		t.Fatalf("CLUSTER FAILOVER on a master = %q", v.Str)
	}
	// TAKEOVER back, without an election.
	if got := clusterDo(t, old.addr(), "CLUSTER", "FAILOVER", "TAKEOVER"); got != "OK" {
		t.Fatalf("CLUSTER FAILOVER TAKEOVER = %q", got)
	}
	waitAll(t, []*clusterNode{replica}, "demoted by takeover", 10*time.Second, func(n *clusterNode) bool {
		return masterOf(n.addr()) == oldMaster
	})
	waitAll(t, nodes, "cluster_state:ok", 10*time.Second, stateOK(t))
	lost, _ = w.missing(t, nodes, time.Time{})
	if len(lost) > 0 {
		t.Fatalf("takeover lost %d acknowledged writes", len(lost))
	}
}

func TestFailoverSIGSTOPMaster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := failoverCluster(t)
	w := startLoad(t, nodes, 2)
	time.Sleep(500 * time.Millisecond)
	var victim, replica *clusterNode
	for _, n := range nodes {
		if isMaster(n.addr()) {
			victim = n
			break
		}
	}
	victimID := myselfLine(victim.addr())[0]
	var others []*clusterNode
	for _, n := range nodes {
		if n != victim {
			others = append(others, n)
			if masterOf(n.addr()) == victimID {
				replica = n
			}
		}
	}
	probe := keyServedBy(t, victim.addr())
	// Connected before the stop: the probe is queued as soon as it resumes.
	pc, err := resp.Dial(victim.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.Timeout = 5 * time.Second
	victim.proc.Signal(syscall.SIGSTOP)
	stopped := time.Now()
	waitAll(t, []*clusterNode{replica}, "replica promoted", 10*time.Second, func(n *clusterNode) bool { return isMaster(n.addr()) })
	waitAll(t, others, "cluster_state:ok", 10*time.Second, stateOK(t))
	t.Logf("SIGSTOP -> failover done after %v", time.Since(stopped))
	time.Sleep(foTimeoutMs * time.Millisecond)
	victim.proc.Signal(syscall.SIGCONT)
	// Back from a stop longer than node-timeout it knows nothing of the
	// failover: it must not accept a write for its old slots.
	if v, err := pc.Do("SET", probe, "stale"); err == nil && !v.IsError() {
		t.Fatalf("the stopped master accepted SET %s after SIGCONT: %v", probe, v)
	} else if err == nil {
		t.Logf("SET on the resumed master: %s", v.Str)
	}
	newID := myselfLine(replica.addr())[0]
	waitAll(t, []*clusterNode{victim}, "stopped master rejoins as replica", 15*time.Second, func(n *clusterNode) bool {
		return masterOf(n.addr()) == newID
	})
	waitAll(t, nodes, "cluster_state:ok", 10*time.Second, stateOK(t))
	time.Sleep(300 * time.Millisecond)
	w.halt()
	lost, checked := w.missing(t, nodes, stopped.Add(-500*time.Millisecond))
	if len(lost) > 0 {
		t.Fatalf("%d of %d keys acknowledged before the stop are lost", len(lost), checked)
	}
	// Writes acknowledged while it was stopped and after it resumed went to
	// the new master and survive too.
	lostAll, all := w.missing(t, nodes, time.Time{})
	t.Logf("acknowledged %d, lost %d (all in the 500 ms before SIGSTOP)", all, len(lostAll))
}

// keyServedBy returns a key of a slot the master at addr serves.
func keyServedBy(t *testing.T, addr string) string {
	t.Helper()
	f := myselfLine(addr)
	lo, hi, _ := strings.Cut(f[8], "-")
	start, _ := strconv.Atoi(lo)
	end, _ := strconv.Atoi(hi)
	for i := 0; i < 100000; i++ {
		k := "probe:" + strconv.Itoa(i)
		if s := slots.KeySlot([]byte(k)); s >= start && s <= end {
			return k
		}
	}
	t.Fatal("no key found")
	return ""
}

// killMasterTimed SIGKILLs a master with a replica and returns how long
// until the replica is promoted and every survivor reports
// cluster_state:ok.
func killMasterTimed(t *testing.T, nodes []*clusterNode) time.Duration {
	t.Helper()
	var victim, replica *clusterNode
	for _, n := range nodes {
		if isMaster(n.addr()) {
			victim = n
			break
		}
	}
	id := myselfLine(victim.addr())[0]
	var others []*clusterNode
	for _, n := range nodes {
		if n != victim {
			others = append(others, n)
			if masterOf(n.addr()) == id {
				replica = n
			}
		}
	}
	victim.proc.Kill()
	start := time.Now()
	waitAll(t, []*clusterNode{replica}, "replica promoted", 20*time.Second, func(n *clusterNode) bool { return isMaster(n.addr()) })
	waitAll(t, others, "cluster_state:ok", 20*time.Second, stateOK(t))
	return time.Since(start)
}

// TestFailoverTimeVsRedis times SIGKILL of a master -> cluster_state:ok on
// every survivor, redis-server and slotvault, same cluster-node-timeout.
func TestFailoverTimeVsRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	redisBin := testutil.RequireTool(t, "redis-server")
	var rnodes []*clusterNode
	for i := 0; i < 6; i++ {
		dir := t.TempDir()
		port := testutil.FreePort(t)
		os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(seedConf(port, foTimeoutMs)+"dir "+dir+"\n"), 0o644)
		nd := &clusterNode{port: port, dir: dir}
		nd.proc = testutil.StartProcess(t, port, dir, redisBin, filepath.Join(dir, "redis.conf"))
		rnodes = append(rnodes, nd)
	}
	createCluster(t, rnodes)
	waitAll(t, rnodes, "cluster_state:ok", 30*time.Second, stateOK(t))
	waitAll(t, rnodes, "replication links up", 20*time.Second, func(n *clusterNode) bool {
		return isMaster(n.addr()) || infoOf(t, n.addr(), "replication")["master_link_status"] == "up"
	})
	rd := killMasterTimed(t, rnodes)
	sd := killMasterTimed(t, failoverCluster(t))
	t.Logf("SIGKILL master -> cluster_state:ok on all survivors, cluster-node-timeout %d ms: redis-server %v, slotvault %v",
		foTimeoutMs, rd.Round(time.Millisecond), sd.Round(time.Millisecond))
}

// TestReplicaMigration: 3 masters and 4 replicas; when a master with one
// replica fails over, the promoted master has none, and a replica of the
// master with two (cluster-migration-barrier 1) migrates to it.
func TestReplicaMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := startSeedNodes(t, 7, foTimeoutMs)
	createCluster(t, nodes)
	waitAll(t, nodes, "cluster_state:ok", 20*time.Second, stateOK(t))
	waitAll(t, nodes, "replication links up", 20*time.Second, func(n *clusterNode) bool {
		return isMaster(n.addr()) || infoOf(t, n.addr(), "replication")["master_link_status"] == "up"
	})
	count := map[string]int{}
	for _, n := range nodes {
		if m := masterOf(n.addr()); m != "" {
			count[m]++
		}
	}
	var victim *clusterNode
	for _, n := range nodes {
		if f := myselfLine(n.addr()); isMaster(n.addr()) && count[f[0]] == 1 {
			victim = n
			break
		}
	}
	if victim == nil || len(count) != 3 {
		t.Fatalf("unexpected layout: %v", count)
	}
	victimID := myselfLine(victim.addr())[0]
	var promoted *clusterNode
	var others []*clusterNode
	for _, n := range nodes {
		if n != victim {
			others = append(others, n)
			if masterOf(n.addr()) == victimID {
				promoted = n
			}
		}
	}
	victim.proc.Kill()
	waitAll(t, []*clusterNode{promoted}, "replica promoted", 10*time.Second, func(n *clusterNode) bool { return isMaster(n.addr()) })
	newID := myselfLine(promoted.addr())[0]
	start := time.Now()
	waitAll(t, others, "a replica migrated to the orphaned master", 20*time.Second, func(*clusterNode) bool {
		for _, n := range others {
			if masterOf(n.addr()) == newID {
				return infoOf(t, n.addr(), "replication")["master_link_status"] == "up"
			}
		}
		return false
	})
	t.Logf("replica migrated %v after the promotion", time.Since(start))
	waitAll(t, others, "cluster_state:ok", 10*time.Second, stateOK(t))
}

// TestMinorityMasterRefusesWrites: with two of three masters stopped, the
// remaining master cannot reach a majority: it turns cluster_state:fail
// and refuses writes with CLUSTERDOWN (and no replica can win an
// election); once the others resume, the cluster is ok again.
func TestMinorityMasterRefusesWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := failoverCluster(t)
	var masters []*clusterNode
	for _, n := range nodes {
		if isMaster(n.addr()) {
			masters = append(masters, n)
		}
	}
	alone := masters[0]
	probe := keyServedBy(t, alone.addr())
	for _, m := range masters[1:] {
		m.proc.Signal(syscall.SIGSTOP)
	}
	waitAll(t, []*clusterNode{alone}, "cluster_state:fail on the minority master", 10*time.Second, func(n *clusterNode) bool {
		return strings.Contains(tryDo(n.addr(), "CLUSTER", "INFO"), "cluster_state:fail\r\n")
	})
	c, err := resp.Dial(alone.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Do("SET", probe, "x"); err != nil || v.Str != "CLUSTERDOWN The cluster is down" {
		t.Fatalf("SET on the minority master = %v, %v", v, err)
	}
	for _, m := range masters[1:] {
		m.proc.Signal(syscall.SIGCONT)
	}
	waitAll(t, nodes, "cluster_state:ok after resume", 20*time.Second, stateOK(t))
	if v, err := c.Do("SET", probe, "x"); err != nil || v.Str != "OK" {
		t.Fatalf("SET after the majority is back = %v, %v\nprobe %s slot %s\n%s", v, err, probe,
			tryDo(alone.addr(), "CLUSTER", "KEYSLOT", probe), tryDo(alone.addr(), "CLUSTER", "NODES"))
	}
}
