package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/miniotest"
	"github.com/slotvault/slotvault/internal/testutil"
)

// TestBackupClusterScheduleMinIO: a three-master, three-replica cluster with
// appendonly and `backup-schedule "@every 10s"` on a real MinIO, under a
// small write load: every node completes a scheduled backup, `slotvault
// backup list` shows backups of all six node IDs, `backup verify` passes,
// and then reports a corrupted object and a deleted one.
func TestBackupClusterScheduleMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	st := srv.Store(t, "bkc", "")
	t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
	conf := fmt.Sprintf("backup-target s3://bkc/six\nbackup-s3-endpoint %s\nbackup-schedule \"@every 10s\"\nbackup-log-ship-interval 200ms\n", srv.Endpoint)
	tgt := []string{"--target", "s3://bkc/six", "--s3-endpoint", srv.Endpoint}
	var nodes []*clusterNode
	for i := 0; i < 6; i++ {
		dir := t.TempDir()
		port := testutil.FreePort(t)
		// seedConf sets appendonly yes.
		if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(seedConf(port, foTimeoutMs)+conf), 0o644); err != nil {
			t.Fatal(err)
		}
		nd := &clusterNode{port: port, dir: dir}
		nd.start(t)
		nodes = append(nodes, nd)
	}
	createCluster(t, nodes)
	waitAll(t, nodes, "cluster ok", 30*time.Second, stateOK(t))
	waitAll(t, nodes, "replication links up", 20*time.Second, func(n *clusterNode) bool {
		return isMaster(n.addr()) || infoOf(t, n.addr(), "replication")["master_link_status"] == "up"
	})
	w := startLoad(t, nodes, 2)
	stopped := false
	defer func() {
		if !stopped {
			w.halt()
		}
	}()

	// Backups the agents took at start (before the cluster formed) do not
	// count: every node must complete a scheduled backup (ticks every 10 s)
	// that starts after the load has written keys to every shard.
	for w.next.Load() < 300 {
		time.Sleep(20 * time.Millisecond)
	}
	base := map[string]string{}
	for _, nd := range nodes {
		svWait(t, testutil.Dial(t, nd.addr()), "agent", func(f map[string]string) bool {
			base[nd.addr()] = f["backup_ok_count"]
			return f["backup_in_progress"] == "0"
		})
	}
	ids := map[string]bool{}
	for _, nd := range nodes {
		ids[clusterDo(t, nd.addr(), "CLUSTER", "MYID")] = true
		c := testutil.Dial(t, nd.addr())
		svWait(t, c, "scheduled backup on "+nd.addr(), func(f map[string]string) bool {
			return f["backup_ok_count"] != base[nd.addr()] && f["backup_last_keys"] != "0"
		})
		inf := infoOf(t, nd.addr(), "backup")
		if inf["backup_last_status"] != "ok" || inf["backup_last_keys"] == "0" {
			t.Fatalf("%s INFO backup: %v", nd.addr(), inf)
		}
	}
	if len(ids) != 6 {
		t.Fatalf("node IDs: %v", ids)
	}
	w.halt()
	stopped = true
	if n := w.next.Load(); n < 10 {
		t.Fatalf("write load made only %d writes", n)
	}
	for _, nd := range nodes {
		waitShipped(t, testutil.Dial(t, nd.addr()))
	}

	out, err := runSV(t, append([]string{"backup", "list"}, tgt...)...)
	if err != nil {
		t.Fatalf("backup list: %v\n%s", err, out)
	}
	t.Log(out)
	for id := range ids {
		if !strings.Contains(out, "log node="+id) || !backupLineFor(out, id) {
			t.Fatalf("backup list has no complete backup of node %s:\n%s", id, out)
		}
	}
	if strings.Count(out, " role=master ") < 3 || strings.Count(out, " role=replica ") < 3 {
		t.Fatalf("backup list lacks master or replica backups:\n%s", out)
	}
	out, err = runSV(t, append([]string{"backup", "verify"}, tgt...)...)
	if err != nil || !strings.Contains(out, "verify: OK") {
		t.Fatalf("backup verify: %v\n%s", err, out)
	}
	t.Log(out)

	// Corrupt one snapshot (flip a byte in the middle) and delete another.
	ctx := context.Background()
	objs, err := st.List(ctx, "six/nodes/")
	if err != nil {
		t.Fatal(err)
	}
	// The newest snapshot of each node (names sort by time).
	last := map[string]string{}
	for _, o := range objs {
		if strings.HasSuffix(o.Key, "/snapshot.svs") {
			last[strings.Split(o.Key, "/")[2]] = o.Key
		}
	}
	var snaps []string
	for _, k := range last {
		snaps = append(snaps, k)
	}
	if len(snaps) < 2 {
		t.Fatalf("snapshots: %v", snaps)
	}
	corrupt, deleted := snaps[0], snaps[1]
	r, err := st.Get(ctx, corrupt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || len(b) == 0 {
		t.Fatalf("read %s: %v (%d bytes)", corrupt, err, len(b))
	}
	b[len(b)/2] ^= 0x55
	if _, err := st.Put(ctx, corrupt, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	out, err = runSV(t, append([]string{"backup", "verify"}, tgt...)...)
	t.Log(out)
	if err == nil || !strings.Contains(out, "verify: FAILED") {
		t.Fatalf("verify did not fail: %v\n%s", err, out)
	}
	rel := func(k string) string { return strings.TrimPrefix(k, "six/") }
	for _, want := range []string{rel(corrupt), rel(deleted)} {
		found := false
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "PROBLEM ") && strings.Contains(l, want) {
				found = true
			}
		}
		if !found {
			t.Fatalf("verify does not report %s:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "missing") {
		t.Fatalf("verify does not say the deleted object is missing:\n%s", out)
	}
}

// backupLineFor reports whether the list output has a complete-backup line
// (not a log or INCOMPLETE line) for node id.
func backupLineFor(out, id string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, id) && !strings.HasPrefix(l, "log ") && !strings.Contains(l, "INCOMPLETE") && !strings.Contains(l, "unreadable") {
			return true
		}
	}
	return false
}
