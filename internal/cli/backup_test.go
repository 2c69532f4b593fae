package cli

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/miniotest"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

func backupStatus(t *testing.T, c *resp.Conn) map[string]string {
	t.Helper()
	v, err := c.Do("SVBACKUP", "STATUS")
	if err != nil {
		t.Fatalf("SVBACKUP STATUS: %v", err)
	}
	if v.IsError() {
		// The node serves (-LOADING, then commands) before the backup agent
		// is installed.
		return map[string]string{"error": v.Str}
	}
	f := map[string]string{}
	for i := 0; i+1 < len(v.Elems); i += 2 {
		f[v.Elems[i].Str] = v.Elems[i+1].Str
	}
	return f
}

func waitStatus(t *testing.T, c *resp.Conn, what string, cond func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		f := backupStatus(t, c)
		if f["error"] == "" && cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, f)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(testutil.Binary(t), args...).CombinedOutput()
	return string(out), err
}

func TestBackupEndToEndMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.Store(t, "e2e", "")
	t.Setenv("AWS_ACCESS_KEY_ID", miniotest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", miniotest.SecretKey)
	p := testutil.StartSlotvault(t, "--appendonly", "yes", "--backup-target", "s3://e2e/cluster1",
		"--backup-s3-endpoint", srv.Endpoint, "--backup-schedule", "@every 2s", "--backup-log-ship-interval", "100ms")
	c := testutil.Dial(t, p.Addr())
	for i := 0; i < 500; i++ {
		c.Do("SET", fmt.Sprint("key:", i), fmt.Sprint("value-", i))
	}
	waitStatus(t, c, "first backup", func(f map[string]string) bool { return f["backup_ok_count"] != "0" })
	for i := 0; i < 100; i++ {
		c.Do("SET", fmt.Sprint("later:", i), "x")
	}
	f := waitStatus(t, c, "log shipped", func(f map[string]string) bool {
		return f["backup_log_shipped_seq"] == f["backup_log_local_seq"] && f["backup_log_objects"] != "0"
	})
	info, _ := c.Do("INFO", "backup")
	if !strings.Contains(info.Str, "backup_last_status:ok") || strings.Contains(info.Str, miniotest.SecretKey) {
		t.Fatalf("INFO backup:\n%s", info.Str)
	}
	cfg, _ := c.Do("CONFIG", "GET", "*")
	if strings.Contains(cfg.String(), miniotest.SecretKey) {
		t.Fatal("CONFIG GET shows the secret")
	}
	id, _ := c.Do("SVBACKUP", "NOW")
	if id.IsError() && !strings.Contains(id.Str, "in progress") {
		t.Fatal(id.Str)
	}
	out, err := runCLI(t, "backup", "now", "--node", p.Addr())
	if err != nil && !strings.Contains(out, "in progress") {
		t.Fatalf("backup now: %v\n%s", err, out)
	}
	out, err = runCLI(t, "backup", "list", "--target", "s3://e2e/cluster1", "--s3-endpoint", srv.Endpoint)
	if err != nil || !strings.Contains(out, "complete backup(s)") || !strings.Contains(out, "log node=") {
		t.Fatalf("backup list: %v\n%s", err, out)
	}
	t.Log(out)
	out, err = runCLI(t, "backup", "verify", "--target", "s3://e2e/cluster1", "--s3-endpoint", srv.Endpoint)
	if err != nil || !strings.Contains(out, "verify: OK") {
		t.Fatalf("backup verify: %v\n%s", err, out)
	}
	t.Log(out, f["backup_log_shipped_seq"])
	l, _ := c.Do("SVBACKUP", "LIST")
	if len(l.Elems) == 0 {
		t.Fatalf("SVBACKUP LIST: %s", l.String())
	}
}

func TestBackupDefaultFileTarget(t *testing.T) {
	dir := t.TempDir()
	p := testutil.StartSlotvaultIn(t, dir, testutil.FreePort(t), "--appendonly", "yes", "--backup-log-ship-interval", "50ms")
	c := testutil.Dial(t, p.Addr())
	c.Do("SET", "a", "1")
	waitStatus(t, c, "first backup", func(f map[string]string) bool { return f["backup_ok_count"] != "0" })
	c.Do("SET", "b", "2")
	waitStatus(t, c, "log shipped", func(f map[string]string) bool {
		s, _ := strconv.Atoi(f["backup_log_shipped_seq"])
		return s >= 2
	})
	out, err := runCLI(t, "backup", "verify", "--target", "file://"+dir+"/backups")
	if err != nil || !strings.Contains(out, "verify: OK") || !strings.Contains(out, "1 backup(s)") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}
