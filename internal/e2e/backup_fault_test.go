package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/internal/miniotest"
	"github.com/slotvault/slotvault/internal/testutil"
)

// TestBackupMinIOOutage stops the MinIO process (kill) for 30 s while a
// writer keeps writing, and a full backup is attempted during the outage;
// then starts it again on the same port and data directory. Afterwards
// every log record from the last backup's snapshot to the newest write is
// in the bucket in contiguous log objects (nothing was lost while the
// store was away), `backup verify` passes, and a restore to the latest
// time holds every acknowledged write. Slow (over 30 s): skipped with
// -short.
func TestBackupMinIOOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: stops MinIO for 30 s")
	}
	srv := miniotest.Start(t)
	srv.Store(t, "e2e", "")
	st := srv.Store(t, "e2e", "outage")
	t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
	tgt := []string{"--target", "s3://e2e/outage", "--s3-endpoint", srv.Endpoint}
	p := testutil.StartSlotvault(t, "--appendonly", "yes", "--backup-target", "s3://e2e/outage",
		"--backup-s3-endpoint", srv.Endpoint, "--backup-schedule", "@every 24h", "--backup-log-ship-interval", "100ms")
	c := testutil.Dial(t, p.Addr())
	for i := 0; i < 2000; i++ {
		c.Do("SET", fmt.Sprintf("base:%d", i), strings.Repeat("b", 100+i%50))
	}
	svWait(t, c, "first backup", func(f map[string]string) bool { return f["backup_ok_count"] != "0" })

	// The writer: every acknowledged SET is remembered with its value.
	acked := map[string]string{}
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		wc := testutil.Dial(t, p.Addr())
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k, v := fmt.Sprintf("w:%d", i%5000), fmt.Sprintf("v%d", i)
			if r, err := wc.Do("SET", k, v); err == nil && !r.IsError() {
				mu.Lock()
				acked[k] = v
				mu.Unlock()
			}
			if i%20 == 0 {
				wc.Do("INCR", "counter")
			}
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(500 * time.Millisecond)

	srv.Stop()
	t.Log("MinIO stopped")
	outage := time.Now()
	svWait(t, c, "shipping fails", func(f map[string]string) bool { return f["backup_log_ship_status"] == "err" })
	// A full backup during the outage fails without leaving a manifest.
	failedBefore := svStatus(t, c)["backup_failed_count"]
	if v, _ := c.Do("SVBACKUP", "NOW"); v.IsError() && !strings.Contains(v.Str, "progress") {
		t.Fatal(v.Str)
	}
	time.Sleep(30*time.Second - time.Since(outage))
	f := svStatus(t, c)
	t.Logf("after 30 s outage: ship failures %s, lag %s records, backups failed %s -> %s",
		f["backup_log_ship_failures"], f["backup_log_lag_records"], failedBefore, f["backup_failed_count"])
	srv.Restart()
	t.Log("MinIO restarted")
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-done
	waitShipped(t, c)
	svWait(t, c, "no backup running", func(f map[string]string) bool { return f["backup_in_progress"] == "0" })
	f = svStatus(t, c)
	if f["backup_log_gaps"] != "0" {
		t.Fatalf("log gaps reported: %v", f)
	}
	localSeq, _ := strconv.ParseUint(f["backup_log_local_seq"], 10, 64)

	// Every record after the newest backup's snapshot is in a log object,
	// and the objects are contiguous.
	ctx := context.Background()
	cat, err := backup.ReadCatalog(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	var snapSeq uint64
	var nodeID string
	for _, b := range cat.Backups {
		if b.Complete && b.Manifest != nil && b.Manifest.SnapshotSeq >= snapSeq {
			snapSeq, nodeID = b.Manifest.SnapshotSeq, b.Manifest.NodeID
		}
	}
	objs := cat.Log[nodeID]
	sort.Slice(objs, func(i, j int) bool { return objs[i].FirstSeq < objs[j].FirstSeq })
	next := uint64(0)
	for _, o := range objs {
		if o.LastSeq <= snapSeq {
			continue
		}
		if next == 0 {
			if o.FirstSeq > snapSeq+1 {
				t.Fatalf("log starts at %d, backup snapshot at %d: records %d..%d missing", o.FirstSeq, snapSeq, snapSeq+1, o.FirstSeq-1)
			}
		} else if o.FirstSeq != next {
			t.Fatalf("log objects not contiguous: want %d, got object %d-%d", next, o.FirstSeq, o.LastSeq)
		}
		next = o.LastSeq + 1
	}
	if next != localSeq+1 && localSeq > snapSeq {
		t.Fatalf("shipped log ends at %d, node's log at %d", next-1, localSeq)
	}
	t.Logf("newest backup snapshot seq %d, %d log objects, shipped through %d", snapSeq, len(objs), localSeq)

	out, err := runSV(t, append([]string{"backup", "verify"}, tgt...)...)
	if err != nil || !strings.Contains(out, "verify: OK") {
		t.Fatalf("backup verify: %v\n%s", err, out)
	}

	// A restore to the latest time holds every acknowledged write.
	outDir := filepath.Join(t.TempDir(), "restored")
	port := testutil.FreePort(t)
	out, err = runSV(t, append([]string{"restore", "cluster", "--out", outDir, "--ports", strconv.Itoa(port)}, tgt...)...)
	if err != nil {
		t.Fatalf("restore cluster: %v\n%s", err, out)
	}
	ents, _ := os.ReadDir(outDir)
	if len(ents) != 1 {
		t.Fatalf("want one node folder, got %v", ents)
	}
	nodeDir := filepath.Join(outDir, ents[0].Name())
	rp := testutil.StartProcess(t, port, nodeDir, testutil.Binary(t), "server", filepath.Join(nodeDir, "redis.conf"))
	waitLoaded(t, rp.Addr())
	rc := testutil.Dial(t, rp.Addr())
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for k, v := range acked {
		if g, _ := rc.Do("GET", k); g.Str != v {
			missing++
			if missing < 10 {
				t.Errorf("%s: restored %q, acknowledged %q", k, g.Str, v)
			}
		}
	}
	want, _ := c.Do("GET", "counter")
	if g, _ := rc.Do("GET", "counter"); g.Str != want.Str {
		t.Errorf("counter: restored %q, node has %q", g.Str, want.Str)
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes missing after restore", missing, len(acked))
	}
	t.Logf("restore to latest holds all %d acknowledged keys", len(acked))
}
