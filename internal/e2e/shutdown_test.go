package e2e

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// SHUTDOWN end-to-end: the real binary, stopped by redis-cli, by SIGTERM,
// and with a lagging replica (waiting, ABORT, timeout, catching up).

func waitExit(t *testing.T, p *testutil.Proc) int {
	t.Helper()
	select {
	case <-waitChan(p):
	case <-time.After(30 * time.Second):
		t.Fatalf("process did not exit; output:\n%s", p.Output())
	}
	return p.Cmd.ProcessState.ExitCode()
}

func waitChan(p *testutil.Proc) <-chan struct{} {
	ch := make(chan struct{})
	go func() { p.Wait(); close(ch) }()
	return ch
}

func waitLog(t *testing.T, p *testutil.Proc, text string) {
	t.Helper()
	waitFor(t, "log line "+strconv.Quote(text), 20*time.Second, func() bool {
		return strings.Contains(p.Output(), text)
	})
}

func TestShutdownCommandSavesAndExits(t *testing.T) {
	dir := t.TempDir()
	port := testutil.FreePort(t)
	args := []string{"--save", "3600", "1", "--appendonly", "no"}
	p := testutil.StartSlotvaultIn(t, dir, port, args...)
	waitLoaded(t, p.Addr())
	if out := redisCLI(t, port, "", "set", "k", "v"); strings.TrimSpace(out) != "OK" {
		t.Fatalf("set: %q", out)
	}
	// redis-cli prints nothing when the server goes away as asked.
	if out := redisCLI(t, port, "", "shutdown"); strings.TrimSpace(out) != "" {
		t.Fatalf("redis-cli shutdown printed %q", out)
	}
	if code := waitExit(t, p); code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, p.Output())
	}
	out := p.Output()
	for _, want := range []string{"User requested shutdown...", "Saving the final RDB snapshot before exiting.", "ready to exit, bye bye"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	p2 := testutil.StartSlotvaultIn(t, dir, port, args...)
	waitLoaded(t, p2.Addr())
	if out := redisCLI(t, port, "", "get", "k"); strings.TrimSpace(out) != "v" {
		t.Fatalf("after restart GET k = %q", out)
	}
	p2.Signal(syscall.SIGTERM)
	if code := waitExit(t, p2); code != 0 {
		t.Fatalf("SIGTERM exit code %d", code)
	}
	if !strings.Contains(p2.Output(), "Received SIGTERM scheduling shutdown...") {
		t.Errorf("SIGTERM log:\n%s", p2.Output())
	}
}

// laggingPair starts a master and a replica in sync, then freezes the
// replica and writes to the master, so the replica is behind.
func laggingPair(t *testing.T, masterExtra ...string) (master, replica *testutil.Proc, mc *resp.Conn) {
	t.Helper()
	// A long repl-timeout on the master keeps the frozen replica attached.
	master = startMaster(t, append([]string{"--repl-timeout", "60"}, masterExtra...)...)
	replica = startReplicaIn(t, t.TempDir(), testutil.FreePort(t), master)
	waitLoaded(t, replica.Addr())
	waitInSync(t, master, replica)
	replica.Freeze(t)
	t.Cleanup(func() { replica.Signal(syscall.SIGCONT) })
	mc = testutil.Dial(t, master.Addr())
	mc.Timeout = 30 * time.Second
	if v, _ := mc.Do("SET", "late", "1"); v.Str != "OK" {
		t.Fatalf("SET: %v", v)
	}
	return master, replica, mc
}

func TestShutdownAbortAndTimeoutWithLaggingReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	master, _, mc := laggingPair(t, "--shutdown-timeout", "60")
	res := make(chan resp.Value, 1)
	go func() {
		c, err := resp.Dial(master.Addr())
		if err != nil {
			res <- resp.Value{Type: '-', Str: err.Error()}
			return
		}
		defer c.Close()
		c.Timeout = 60 * time.Second
		v, _ := c.Do("SHUTDOWN")
		res <- v
	}()
	waitLog(t, master, "Waiting for replicas before shutting down.")
	if v, _ := mc.Do("SHUTDOWN", "ABORT"); v.Str != "OK" {
		t.Fatalf("SHUTDOWN ABORT: %v", v)
	}
	if v := <-res; v.String() != "(error) ERR Errors trying to SHUTDOWN. Check logs." {
		t.Fatalf("aborted SHUTDOWN replied %v", v)
	}
	// Writes were paused during the wait and resume after the abort.
	if v, _ := mc.Do("SET", "after", "1"); v.Str != "OK" {
		t.Fatalf("SET after abort: %v", v)
	}
	if v, _ := mc.Do("SHUTDOWN", "ABORT"); v.String() != "(error) ERR No shutdown in progress." {
		t.Fatalf("second ABORT: %v", v)
	}
	// With a short timeout the master gives up on the frozen replica.
	if v, _ := mc.Do("CONFIG", "SET", "shutdown-timeout", "1"); v.Str != "OK" {
		t.Fatalf("CONFIG SET: %v", v)
	}
	mc.Do("SHUTDOWN")
	if code := waitExit(t, master); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if out := master.Output(); !strings.Contains(out, "Lagging replica") || !strings.Contains(out, "Shutdown manually aborted.") {
		t.Fatalf("log:\n%s", out)
	}
}

func TestShutdownLetsReplicaCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	master, replica, mc := laggingPair(t, "--shutdown-timeout", "60")
	go mc.Do("SHUTDOWN")
	waitLog(t, master, "Waiting for replicas before shutting down.")
	replica.Signal(syscall.SIGCONT)
	if code := waitExit(t, master); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if strings.Contains(master.Output(), "Lagging replica") {
		t.Fatalf("master gave up on the replica:\n%s", master.Output())
	}
	rc := testutil.Dial(t, replica.Addr())
	if v, _ := rc.Do("GET", "late"); v.Str != "1" {
		t.Fatalf("replica lacks the last write: %v", v)
	}
}

func TestShutdownNowSkipsReplicaWait(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	master, _, mc := laggingPair(t, "--shutdown-timeout", "60")
	mc.Do("SHUTDOWN", "NOW", "NOSAVE")
	if code := waitExit(t, master); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if strings.Contains(master.Output(), "Waiting for replicas") {
		t.Fatalf("NOW waited:\n%s", master.Output())
	}
}
