package cli

import (
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/node"
	"github.com/slotvault/slotvault/persistence"
)

// diskFS makes writes and fsyncs of log segments fail while full is set.
type diskFS struct {
	persistence.FS
	full atomic.Bool
}

func (d *diskFS) Create(name string) (persistence.File, error) {
	f, err := d.FS.Create(name)
	if err != nil || !strings.HasSuffix(name, ".seg") {
		return f, err
	}
	return &diskFile{File: f, d: d}, nil
}

type diskFile struct {
	persistence.File
	d *diskFS
}

func (f *diskFile) WriteAt(p []byte, off int64) (int, error) {
	if f.d.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.WriteAt(p, off)
}

func (f *diskFile) Sync() error {
	if f.d.full.Load() {
		return syscall.ENOSPC
	}
	return f.File.Sync()
}

// TestMisconfOnFullDisk: a full disk makes the node refuse writes with
// -MISCONF and report aof_last_write_status:err; when space returns the
// retry clears it and writes succeed, and nothing acknowledged is lost.
func TestMisconfOnFullDisk(t *testing.T) {
	port := testutil.FreePort(t)
	cfg, err := config.Load("", []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "always", "--save", ""})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fs := &diskFS{FS: persistence.DefaultFS}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	n, err := node.New(cfg, node.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := startPersistence(n, cfg, logger, fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	defer n.Close()
	c := testutil.Dial(t, "127.0.0.1:"+strconv.Itoa(port))
	if v, _ := c.Do("SET", "a", "1"); v.IsError() && strings.Contains(v.Str, "unknown command") {
		t.Skip("slotvault has no SET yet")
	}
	fs.full.Store(true)
	// The first failing write comes in a pipelined batch: the batch's
	// durability is awaited once, before any of its replies is sent, so
	// every reply from the failed write on is -MISCONF, and the connection
	// stays in step and usable.
	batch := append(resp.Encode("GET", "a"), resp.Encode("SET", "b", "2")...)
	if err := c.WriteRaw(append(batch, resp.Encode("GET", "b")...)); err != nil {
		t.Fatal(err)
	}
	var v resp.Value
	for i, want := range []string{"1", "MISCONF Errors writing to the AOF file: No space left on device", "MISCONF"} {
		var err error
		v, err = c.Read()
		if err != nil {
			t.Fatalf("pipelined reply %d: %v", i, err)
		}
		if !strings.HasPrefix(v.Str, want) {
			t.Fatalf("pipelined reply %d on a full disk = %v, want %s", i, v, want)
		}
	}
	v, _ = c.Do("SET", "c", "3")
	if !v.IsError() || !strings.HasPrefix(v.Str, "MISCONF") {
		t.Fatalf("second write on a full disk: %v", v)
	}
	if v, _ := c.Do("GET", "a"); v.Str != "1" {
		t.Fatalf("reads must go on: %v", v)
	}
	v, _ = c.Do("INFO", "persistence")
	if !strings.Contains(v.Str, "aof_last_write_status:err") {
		t.Fatalf("INFO does not report the failure:\n%s", v.Str)
	}
	fs.full.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, _ = c.Do("SET", "d", "4")
		if !v.IsError() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still refused after the disk recovered: %v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	v, _ = c.Do("INFO", "persistence")
	if !strings.Contains(v.Str, "aof_last_write_status:ok") {
		t.Fatalf("INFO after recovery:\n%s", v.Str)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
