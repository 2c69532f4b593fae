// Package miniotest runs a real MinIO server for tests: the binary built by
// scripts/minio.sh (go install of a pinned version), started on a free
// loopback port with a fresh data directory, and stopped when the test
// ends. Without the binary a test is skipped with a message saying how to
// install it, except in CI (CI set), where it fails: the test command
// installs it there.
package miniotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/backup/s3"
)

// Credentials of the test server.
const (
	AccessKey = "slotvault-test"
	SecretKey = "slotvault-test-secret"
)

// Server is a running MinIO.
type Server struct {
	t        testing.TB
	Bin      string
	Dir      string
	Port     int
	Endpoint string // http://127.0.0.1:PORT
	mu       sync.Mutex
	cmd      *exec.Cmd
	log      *bytes.Buffer
	done     chan struct{}
}

// Binary finds the minio binary: $MINIO_BIN, PATH, $GOBIN, $GOPATH/bin,
// ~/go/bin.
func Binary() (string, bool) {
	if p := os.Getenv("MINIO_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, true
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.Join(string(bytes.TrimSpace(out)), "bin"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "minio")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// Start runs a MinIO server for the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, ok := Binary()
	if !ok {
		msg := "minio binary not found: run `bash scripts/minio.sh install` (go install of the pinned MinIO, ~6 minutes the first time)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, Bin: bin, Dir: t.TempDir(), Port: freePort(t)}
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(s.Port)
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p >= 7000 && p <= 7005 || p >= 17000 && p <= 17005 {
			continue
		}
		return p
	}
	t.Fatal("no free port")
	return 0
}

func (s *Server) start() {
	s.t.Helper()
	console := freePort(s.t)
	cmd := exec.Command(s.Bin, "server", s.Dir, "--address", "127.0.0.1:"+strconv.Itoa(s.Port),
		"--console-address", "127.0.0.1:"+strconv.Itoa(console), "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+AccessKey, "MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "CI=")
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start minio: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.log, s.done = cmd, log, done
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			s.t.Fatalf("minio exited at start:\n%s", log.String())
		default:
		}
		resp, err := http.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			// Ready can come before the S3 API serves ("Server not
			// initialized yet"): wait for a real request to pass.
			if resp.StatusCode == 200 && s.probe() == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("minio not ready after 60s:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) probe() error {
	st, err := s3.New(s3.Options{Endpoint: s.Endpoint, Bucket: "probe", AccessKey: AccessKey, SecretKey: SecretKey, MaxRetries: 1})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = st.List(ctx, "")
	if errors.Is(err, backup.ErrNoBucket) {
		return nil
	}
	return err
}

// Stop stops the server (it can be restarted with Restart).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Restart starts a stopped server again on the same port and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Store opens a backup store on bucket (created if needed) with prefix.
func (s *Server) Store(t testing.TB, bucket, prefix string) *s3.Store {
	t.Helper()
	st, err := s3.New(s3.Options{Endpoint: s.Endpoint, Bucket: bucket, Prefix: prefix, AccessKey: AccessKey, SecretKey: SecretKey, PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.CreateBucket(ctx); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	return st
}

// Env returns the environment a slotvault process needs to reach the
// server.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey}
}

// String describes the server for logs.
func (s *Server) String() string { return fmt.Sprintf("minio at %s (data %s)", s.Endpoint, s.Dir) }
