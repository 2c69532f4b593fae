// Package testutil starts real servers for tests: real redis-server
// processes, slotvault nodes in-process or as the built binary, on free
// loopback ports, and stops every one of them (by pid) when the test ends.
// Diff sends the same commands to redis-server and slotvault and requires
// identical replies.
package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/node"
)

// FreePort returns a loopback TCP port that is free now, avoiding
// 7000-7005 (the README's local cluster) and their bus ports.
func FreePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if (p >= 7000 && p <= 7005) || (p >= 17000 && p <= 17005) || p+10000 > 65535 {
			continue
		}
		// The cluster bus uses port+10000; make sure it is free too.
		if l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000)); err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no free port found")
	return 0
}

// RequireTool skips the test when a tool is missing outside CI, and fails it
// in CI (where the test command installs it).
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found in PATH (the test command installs it)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// Proc is a server process started by a test.
type Proc struct {
	Port int
	Dir  string
	Cmd  *exec.Cmd
	Log  *bytes.Buffer
	mu   sync.Mutex
	done chan struct{}
}

// Addr is the process's 127.0.0.1:port.
func (p *Proc) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// Pid returns the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to exit.
func (p *Proc) Kill() {
	p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits (up to 10s, then SIGKILL).
func (p *Proc) Stop() {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.Cmd.Process.Signal(sig) }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for exit.
func (p *Proc) Wait() { <-p.done }

// Output returns what the process printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Log.String()
}

type lockedWriter struct{ p *Proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.Log.Write(b)
}

// StartProcess runs bin with args, registers cleanup that kills it by pid,
// and waits until port answers PING (unless port is 0).
func StartProcess(t testing.TB, port int, dir, bin string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	p := &Proc{Port: port, Dir: dir, Cmd: cmd, Log: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout = lockedWriter{p}
	cmd.Stderr = lockedWriter{p}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if !p.Exited() {
			p.Cmd.Process.Signal(syscall.SIGCONT)
			p.Kill()
		}
	})
	if port != 0 {
		if err := WaitPing(p.Addr(), 15*time.Second, p.done); err != nil {
			t.Fatalf("%s on port %d did not answer: %v\noutput:\n%s", filepath.Base(bin), port, err, p.Output())
		}
	}
	return p
}

// WaitPing waits until addr answers PING with PONG (or -LOADING ends), or
// with -NOAUTH.
func WaitPing(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("process exited")
		default:
		}
		c, err := resp.Dial(addr)
		if err == nil {
			c.Timeout = 2 * time.Second
			v, err := c.Do("PING")
			c.Close()
			if err == nil && v.Type == '+' && v.Str == "PONG" {
				return nil
			}
			// A server that requires authentication is up too.
			if err == nil && v.Type == '-' && strings.HasPrefix(v.Str, "NOAUTH") {
				return nil
			}
			last = fmt.Errorf("reply %v err %v", v, err)
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("timeout: %v", last)
}

// StartRedis starts a real redis-server with no persistence in a temp dir.
// extra are additional "--directive value" arguments.
func StartRedis(t testing.TB, extra ...string) *Proc {
	t.Helper()
	bin := RequireTool(t, "redis-server")
	port := FreePort(t)
	dir := t.TempDir()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"}, extra...)
	return StartProcess(t, port, dir, bin, args...)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/slotvault once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "slotvault-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "slotvault")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/slotvault")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// StartSlotvault runs the built slotvault binary ("server" subcommand) in a
// temp dir (or dir, when given in opts) on a free port.
func StartSlotvault(t testing.TB, extra ...string) *Proc {
	t.Helper()
	return StartSlotvaultIn(t, t.TempDir(), FreePort(t), extra...)
}

// StartSlotvaultIn runs the binary in dir on port.
func StartSlotvaultIn(t testing.TB, dir string, port int, extra ...string) *Proc {
	t.Helper()
	bin := Binary(t)
	args := append([]string{"server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir}, extra...)
	return StartProcess(t, port, dir, bin, args...)
}

// InProc is a slotvault node running inside the test process.
type InProc struct {
	Node *node.Node
	Port int
}

// Addr is the node's 127.0.0.1:port.
func (p *InProc) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// StartInProc starts a node in-process with the given config lines
// ("directive value" strings), closed when the test ends.
func StartInProc(t testing.TB, lines ...string) *InProc {
	t.Helper()
	return StartInProcWith(t, node.Options{}, lines...)
}

// StartInProcWith is StartInProc with construction options (a write log
// to record propagation, a logger).
func StartInProcWith(t testing.TB, opts node.Options, lines ...string) *InProc {
	t.Helper()
	port := FreePort(t)
	overrides := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir()}
	for _, l := range lines {
		args, err := config.SplitArgs(l)
		if err != nil || len(args) == 0 {
			t.Fatalf("bad config line %q", l)
		}
		overrides = append(overrides, "--"+args[0])
		overrides = append(overrides, args[1:]...)
	}
	cfg, err := config.Load("", overrides)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &InProc{Node: n, Port: port}
}

// Dial connects a raw RESP client, closed when the test ends.
func Dial(t testing.TB, addr string) *resp.Conn {
	t.Helper()
	c, err := resp.Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Diff drives a real redis-server and a slotvault node side by side.
type Diff struct {
	t                 testing.TB
	Redis             *resp.Conn
	SV                *resp.Conn
	RedisAddr, SVAddr string
}

// NewDiff starts redis-server and an in-process slotvault node with the same
// extra config lines and connects to both.
func NewDiff(t testing.TB, lines ...string) *Diff {
	t.Helper()
	var extra []string
	for _, l := range lines {
		args, _ := config.SplitArgs(l)
		extra = append(extra, "--"+args[0])
		extra = append(extra, args[1:]...)
	}
	r := StartRedis(t, extra...)
	s := StartInProc(t, lines...)
	return &Diff{t: t, Redis: Dial(t, r.Addr()), SV: Dial(t, s.Addr()), RedisAddr: r.Addr(), SVAddr: s.Addr()}
}

func (d *Diff) both(args []string) (resp.Value, resp.Value) {
	d.t.Helper()
	rv, err := d.Redis.Do(args...)
	if err != nil {
		d.t.Fatalf("redis %q: %v", args, err)
	}
	sv, err := d.SV.Do(args...)
	if err != nil {
		d.t.Fatalf("slotvault %q: %v", args, err)
	}
	return rv, sv
}

// Do sends args to both servers and requires identical replies. It returns
// the reply.
func (d *Diff) Do(args ...string) resp.Value {
	d.t.Helper()
	rv, sv := d.both(args)
	if rv.String() != sv.String() {
		d.t.Errorf("%s\n  redis:     %s\n  slotvault: %s", strings.Join(quoteAll(args), " "), rv, sv)
	}
	return sv
}

// DoSorted is Do for replies whose element order Redis leaves undefined.
func (d *Diff) DoSorted(args ...string) resp.Value {
	d.t.Helper()
	rv, sv := d.both(args)
	if rv.Sorted().String() != sv.Sorted().String() {
		d.t.Errorf("%s (unordered)\n  redis:     %s\n  slotvault: %s", strings.Join(quoteAll(args), " "), rv.Sorted(), sv.Sorted())
	}
	return sv
}

// DoType requires only that both replies have the same type (and, for
// errors, the same error code); for replies that depend on randomness or
// time.
func (d *Diff) DoType(args ...string) resp.Value {
	d.t.Helper()
	rv, sv := d.both(args)
	if rv.Type != sv.Type || rv.Null != sv.Null || len(rv.Elems) != len(sv.Elems) {
		d.t.Errorf("%s (type)\n  redis:     %s\n  slotvault: %s", strings.Join(quoteAll(args), " "), rv, sv)
	}
	return sv
}

// Run runs a script: one command per line, in the inline syntax of
// redis-cli (quotes allowed). Lines starting with "~ " compare unordered,
// "? " compare types only; '#' starts a comment line.
func (d *Diff) Run(script string) {
	d.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mode := byte(0)
		if strings.HasPrefix(line, "~ ") || strings.HasPrefix(line, "? ") {
			mode = line[0]
			line = line[2:]
		}
		args, err := config.SplitArgs(line)
		if err != nil {
			d.t.Fatalf("bad script line %q", line)
		}
		switch mode {
		case '~':
			d.DoSorted(args...)
		case '?':
			d.DoType(args...)
		default:
			d.Do(args...)
		}
	}
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strconv.Quote(a)
	}
	return out
}

// Freeze sends SIGSTOP and waits until the kernel reports every thread of
// the process stopped, so a test does not race the signal's delivery.
func (p *Proc) Freeze(t testing.TB) {
	t.Helper()
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if allThreadsStopped(p.Pid()) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("process %d did not stop", p.Pid())
}

func allThreadsStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		// state is the field after the ")" closing the command name.
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 || i+2 >= len(data) {
			return false
		}
		if s := data[i+2]; s != 'T' && s != 't' {
			return false
		}
	}
	return true
}
