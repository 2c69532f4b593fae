package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// clusterNode is one slotvault process of a test cluster.
type clusterNode struct {
	port int
	dir  string
	proc *testutil.Proc
}

func (n *clusterNode) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

// seedConf is the seed walkthrough's redis.conf for one node.
func seedConf(port int, timeoutMs int) string {
	return fmt.Sprintf("port %d\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout %d\nappendonly yes\nbind 127.0.0.1\n", port, timeoutMs)
}

// startSeedNodes starts n slotvault processes, each in its own folder with
// the seed's redis.conf, as `slotvault server ./redis.conf`.
func startSeedNodes(t *testing.T, n, timeoutMs int) []*clusterNode {
	t.Helper()
	var out []*clusterNode
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		port := testutil.FreePort(t)
		if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(seedConf(port, timeoutMs)), 0o644); err != nil {
			t.Fatal(err)
		}
		nd := &clusterNode{port: port, dir: dir}
		nd.start(t)
		out = append(out, nd)
	}
	return out
}

func (n *clusterNode) start(t *testing.T) {
	n.proc = testutil.StartProcess(t, n.port, n.dir, testutil.Binary(t), "server", "./redis.conf")
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := testutil.RequireTool(t, "redis-cli")
	cmd := exec.Command(bin, args...)
	out, err := runWithTimeout(cmd, 60*time.Second)
	return stripANSI(out), err
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) (string, error) {
	var mu sync.Mutex
	var buf strings.Builder
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		return buf.String(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return buf.String(), errors.New("timed out")
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func stripANSI(s string) string { return ansi.ReplaceAllString(s, "") }

func createCluster(t *testing.T, nodes []*clusterNode) string {
	t.Helper()
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	return out
}

func clusterDo(t *testing.T, addr string, args ...string) string {
	t.Helper()
	c, err := resp.Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.Timeout = 5 * time.Second
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%s %v: %v", addr, args, err)
	}
	return v.Str
}

func waitAll(t *testing.T, nodes []*clusterNode, what string, timeout time.Duration, cond func(n *clusterNode) bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for _, n := range nodes {
		for !cond(n) {
			if time.Now().After(deadline) {
				t.Fatalf("node %d: timed out waiting for %s", n.port, what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return time.Since(start)
}

func stateOK(t *testing.T) func(n *clusterNode) bool {
	return func(n *clusterNode) bool {
		return strings.Contains(clusterDo(t, n.addr(), "CLUSTER", "INFO"), "cluster_state:ok\r\n")
	}
}

// topology is CLUSTER NODES reduced to what must survive a restart: id,
// address, role, master and slots, one line per node, sorted.
func topology(nodesText string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(nodesText), "\n") {
		f := strings.Fields(l)
		flags := strings.ReplaceAll(strings.ReplaceAll(f[2], "myself,", ""), "fail?", "")
		lines = append(lines, strings.Join(append([]string{f[0], f[1], flags, f[3], f[6]}, f[8:]...), " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestClusterSeedWalkthrough is the seed walkthrough with slotvault in
// place of redis-server, then everything a user does next: check, fix,
// redis-cli -c, a go-redis ClusterClient over every slot, a full restart
// from nodes.conf, and a master killed with SIGKILL.
func TestClusterSeedWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	nodes := startSeedNodes(t, 6, 5000)
	top := t // processes restarted in subtests must outlive them
	out := createCluster(t, nodes)
	for _, want := range []string{"[OK] All nodes agree about slots configuration.", "[OK] All 16384 slots covered."} {
		if !strings.Contains(out, want) {
			t.Fatalf("create output misses %q:\n%s", want, out)
		}
	}
	waitAll(t, nodes, "cluster_state:ok", 20*time.Second, stateOK(t))
	info := clusterDo(t, nodes[0].addr(), "CLUSTER", "INFO")
	for _, want := range []string{"cluster_known_nodes:6\r\n", "cluster_size:3\r\n", "cluster_slots_assigned:16384\r\n"} {
		if !strings.Contains(info, want) {
			t.Fatalf("CLUSTER INFO misses %q:\n%s", want, info)
		}
	}
	if got := clusterDo(t, nodes[0].addr(), "INFO", "cluster"); !strings.Contains(got, "cluster_enabled:1") {
		t.Fatalf("INFO cluster: %q", got)
	}

	t.Run("check", func(t *testing.T) {
		out, err := runCLI(t, "--cluster", "check", nodes[0].addr())
		if err != nil {
			t.Fatalf("check: %v\n%s", err, out)
		}
		if !strings.Contains(out, "[OK] All 16384 slots covered.") || !strings.Contains(out, "[OK] All nodes agree about slots configuration.") {
			t.Fatalf("check output:\n%s", out)
		}
		if strings.Count(out, "additional replica(s)") != 3 {
			t.Fatalf("check does not show 3 masters with a replica each:\n%s", out)
		}
	})

	t.Run("fix changes nothing", func(t *testing.T) {
		before := topology(clusterDo(t, nodes[1].addr(), "CLUSTER", "NODES"))
		out, err := runCLI(t, "--cluster", "fix", nodes[0].addr())
		if err != nil {
			t.Fatalf("fix: %v\n%s", err, out)
		}
		if strings.Contains(out, "Fixing") || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERR]") {
			t.Fatalf("fix on a healthy cluster did something:\n%s", out)
		}
		if after := topology(clusterDo(t, nodes[1].addr(), "CLUSTER", "NODES")); after != before {
			t.Fatalf("fix changed the topology:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("redis-cli -c follows MOVED", func(t *testing.T) {
		scriptBin, err := exec.LookPath("script")
		if err != nil {
			t.Skip("script(1) not available")
		}
		cli := testutil.RequireTool(t, "redis-cli")
		// The node that does not serve slot 12182 redirects.
		from := nodes[0]
		cmd := exec.Command(scriptBin, "-q", "-c", cli+" -c -p "+strconv.Itoa(from.port), "/dev/null")
		cmd.Stdin = strings.NewReader("set foo bar\nget foo\nquit\n")
		cmd.Env = append(os.Environ(), "TERM=dumb", "HOME="+t.TempDir())
		out, err := runWithTimeout(cmd, 30*time.Second)
		if err != nil {
			t.Fatalf("redis-cli -c: %v\n%s", err, out)
		}
		if !regexp.MustCompile(`-> Redirected to slot \[12182\] located at 127\.0\.0\.1:\d+`).MatchString(out) ||
			!strings.Contains(out, "OK") || !strings.Contains(out, `"bar"`) {
			t.Fatalf("redis-cli -c session:\n%s", out)
		}
	})

	t.Run("go-redis ClusterClient over all slots", func(t *testing.T) {
		addrs := make([]string, len(nodes))
		for i, n := range nodes {
			addrs[i] = n.addr()
		}
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		defer rdb.Close()
		ctx := context.Background()
		const keys = 10000
		pipe := rdb.Pipeline()
		for i := 0; i < keys; i++ {
			pipe.Set(ctx, "key:"+strconv.Itoa(i), strconv.Itoa(i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("pipelined SET: %v", err)
		}
		gets := rdb.Pipeline()
		cmds := make([]*redis.StringCmd, keys)
		for i := 0; i < keys; i++ {
			cmds[i] = gets.Get(ctx, "key:"+strconv.Itoa(i))
		}
		if _, err := gets.Exec(ctx); err != nil {
			t.Fatalf("pipelined GET: %v", err)
		}
		for i, c := range cmds {
			if c.Val() != strconv.Itoa(i) {
				t.Fatalf("key:%d = %q", i, c.Val())
			}
		}
		// Keys landed on the masters (foo, from the redis-cli step, too).
		total := int64(-1)
		for _, n := range nodes {
			c := redis.NewClient(&redis.Options{Addr: n.addr()})
			sz, err := c.DBSize(ctx).Result()
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			total += sz
		}
		if total != keys {
			t.Fatalf("DBSIZE over the nodes = %d, want %d", total, keys)
		}
		// A plain client sent to the wrong node gets MOVED; cross-slot
		// commands fail with CROSSSLOT.
		err := rdb.Do(ctx, "MSET", "a", "1", "b", "2").Err()
		if err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT Keys in request don't hash to the same slot") {
			t.Fatalf("cross-slot MSET: %v", err)
		}
		if err := rdb.Do(ctx, "MSET", "{u}a", "1", "{u}b", "2").Err(); err != nil {
			t.Fatalf("same-slot MSET: %v", err)
		}
		for _, n := range nodes {
			c := redis.NewClient(&redis.Options{Addr: n.addr()})
			err := c.Get(ctx, "foo").Err()
			c.Close()
			if err != nil && !strings.HasPrefix(err.Error(), "MOVED 12182 127.0.0.1:") {
				t.Fatalf("GET foo on %d: %v", n.port, err)
			}
		}
	})

	t.Run("restart all six from nodes.conf", func(t *testing.T) {
		before := topology(clusterDo(t, nodes[0].addr(), "CLUSTER", "NODES"))
		for _, n := range nodes {
			n.proc.Stop()
		}
		for _, n := range nodes {
			n.start(top)
		}
		d := waitAll(t, nodes, "cluster_state:ok after restart", 30*time.Second, stateOK(t))
		t.Logf("cluster_state:ok on all six %v after restart", d)
		for _, n := range nodes {
			var after string
			waitAll(t, []*clusterNode{n}, "same topology", 10*time.Second, func(n *clusterNode) bool {
				after = topology(clusterDo(t, n.addr(), "CLUSTER", "NODES"))
				return after == before
			})
		}
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[3].addr()}})
		defer rdb.Close()
		if v, err := rdb.Get(context.Background(), "key:42").Result(); err != nil || v != "42" {
			t.Fatalf("key:42 after restart = %q, %v", v, err)
		}
	})

	t.Run("SIGKILL a master", func(t *testing.T) {
		const timeoutMs = 1000
		for _, n := range nodes {
			clusterDo(t, n.addr(), "CONFIG", "SET", "cluster-node-timeout", strconv.Itoa(timeoutMs))
		}
		// Wait until every node runs with the new timeout (the cron reads it).
		time.Sleep(200 * time.Millisecond)
		myself := func(n *clusterNode) []string {
			for _, l := range strings.Split(clusterDo(t, n.addr(), "CLUSTER", "NODES"), "\n") {
				if strings.Contains(l, "myself") {
					return strings.Fields(l)
				}
			}
			t.Fatalf("no myself line on %d", n.port)
			return nil
		}
		var victim *clusterNode
		for _, n := range nodes {
			if f := myself(n); strings.Contains(f[2], "master") && len(f) > 8 {
				victim = n
				break
			}
		}
		victimID := myself(victim)[0]
		victim.proc.Kill()
		killed := time.Now()
		var others []*clusterNode
		for _, n := range nodes {
			if n != victim {
				others = append(others, n)
			}
		}
		waitAll(t, others, "victim flagged fail", 10*time.Second, func(n *clusterNode) bool {
			for _, l := range strings.Split(clusterDo(t, n.addr(), "CLUSTER", "NODES"), "\n") {
				f := strings.Fields(l)
				if len(f) > 2 && f[0] == victimID {
					return strings.Contains(f[2], "fail") && !strings.Contains(f[2], "fail?")
				}
			}
			return false
		})
		d := time.Since(killed)
		t.Logf("every other node flagged the killed master fail after %v (cluster-node-timeout %d ms)", d, timeoutMs)
		if d > 3*timeoutMs*time.Millisecond {
			t.Errorf("failure detection took %v, more than about 2 x cluster-node-timeout", d)
		}
		waitAll(t, others, "cluster_state:fail", 5*time.Second, func(n *clusterNode) bool {
			return strings.Contains(clusterDo(t, n.addr(), "CLUSTER", "INFO"), "cluster_state:fail\r\n")
		})
		c := redis.NewClient(&redis.Options{Addr: others[0].addr()})
		defer c.Close()
		if err := c.Get(context.Background(), "key:1").Err(); err == nil || err.Error() != "CLUSTERDOWN The cluster is down" {
			t.Fatalf("GET with cluster_state:fail: %v", err)
		}
	})
}

// TestClusterCreateTimeVsRedis times `redis-cli --cluster create` plus the
// wait for cluster_state:ok on six real redis-server nodes and on six
// slotvault nodes, the numbers docs/cluster.md records.
func TestClusterCreateTimeVsRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	redisBin := testutil.RequireTool(t, "redis-server")
	var rnodes []*clusterNode
	for i := 0; i < 6; i++ {
		dir := t.TempDir()
		port := testutil.FreePort(t)
		os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(seedConf(port, 5000)+"dir "+dir+"\n"), 0o644)
		nd := &clusterNode{port: port, dir: dir}
		nd.proc = testutil.StartProcess(t, port, dir, redisBin, filepath.Join(dir, "redis.conf"))
		rnodes = append(rnodes, nd)
	}
	timeIt := func(nodes []*clusterNode) (create, ok time.Duration) {
		start := time.Now()
		createCluster(t, nodes)
		create = time.Since(start)
		waitAll(t, nodes, "cluster_state:ok", 30*time.Second, stateOK(t))
		return create, time.Since(start)
	}
	// Each set is created right after its nodes started, as a user does
	// (a master's state depends on its age: the 2 s writable delay).
	rc, rok := timeIt(rnodes)
	svnodes := startSeedNodes(t, 6, 5000)
	sc, sok := timeIt(svnodes)
	t.Logf("redis-cli --cluster create, 6 nodes: redis-server %v (cluster_state:ok everywhere after %v), slotvault %v (ok after %v)",
		rc.Round(time.Millisecond), rok.Round(time.Millisecond), sc.Round(time.Millisecond), sok.Round(time.Millisecond))
}
