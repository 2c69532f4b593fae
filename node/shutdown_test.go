package node_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/node"
)

// fakePersistence is a persistence layer whose SAVE can be made to fail.
type fakePersistence struct {
	saves int
	fail  bool
}

var _ node.Persistence = (*fakePersistence)(nil)

func (f *fakePersistence) SaveLocked() error {
	f.saves++
	if f.fail {
		return errors.New("disk full")
	}
	return nil
}
func (f *fakePersistence) BGSaveLocked(bool) (string, error) { return "Background saving started", nil }
func (f *fakePersistence) BGRewriteLocked() (string, error) {
	return "Background append only file rewriting started", nil
}
func (f *fakePersistence) InfoLocked(*strings.Builder) {}

// TestDiffShutdownErrors compares SHUTDOWN's argument errors with Redis
// (only replies that leave both servers running).
func TestDiffShutdownErrors(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
shutdown bogus
shutdown abort
shutdown abort now
shutdown abort nosave
shutdown save nosave
shutdown nosave save now
shutdown now now bogus
multi
shutdown
exec
`)
}

func waitDone(t *testing.T, n *node.Node) {
	t.Helper()
	select {
	case <-n.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("node did not close after SHUTDOWN")
	}
}

func TestShutdownFailedSaveKeepsServing(t *testing.T) {
	p := testutil.StartInProc(t, "save 3600 1")
	fp := &fakePersistence{fail: true}
	p.Node.WithLock(func() { p.Node.SetPersistence(fp) })
	c := testutil.Dial(t, p.Addr())
	if v, _ := c.Do("SHUTDOWN"); v.String() != "(error) ERR Errors trying to SHUTDOWN. Check logs." {
		t.Fatalf("SHUTDOWN with a failing save: %v", v)
	}
	if v, _ := c.Do("SET", "k", "v"); v.String() != "+OK" {
		t.Fatalf("node does not serve after a failed SHUTDOWN: %v", v)
	}
	// NOSAVE skips the save: the node goes down, without a reply.
	fp.fail = true
	p.Node.WithLock(func() { fp.saves = 0 })
	c.Timeout = 5 * time.Second
	if v, err := c.Do("SHUTDOWN", "NOSAVE"); err == nil {
		t.Fatalf("SHUTDOWN NOSAVE replied %v, want the connection closed", v)
	}
	waitDone(t, p.Node)
	if fp.saves != 0 || !p.Node.ShutdownHandled() {
		t.Fatalf("saves %d handled %v", fp.saves, p.Node.ShutdownHandled())
	}
}

func TestShutdownForceIgnoresSaveError(t *testing.T) {
	p := testutil.StartInProc(t)
	fp := &fakePersistence{fail: true}
	p.Node.WithLock(func() { p.Node.SetPersistence(fp) })
	c := testutil.Dial(t, p.Addr())
	c.Timeout = 5 * time.Second
	if v, err := c.Do("SHUTDOWN", "SAVE", "FORCE"); err == nil {
		t.Fatalf("SHUTDOWN SAVE FORCE replied %v", v)
	}
	waitDone(t, p.Node)
	if fp.saves != 1 {
		t.Fatalf("saves = %d, want 1 (SAVE without save rules)", fp.saves)
	}
}

func TestShutdownNoSaveRulesNoSave(t *testing.T) {
	p := testutil.StartInProc(t, "save ''")
	fp := &fakePersistence{fail: true}
	p.Node.WithLock(func() { p.Node.SetPersistence(fp) })
	c := testutil.Dial(t, p.Addr())
	c.Timeout = 5 * time.Second
	c.Do("SHUTDOWN")
	waitDone(t, p.Node)
	if fp.saves != 0 {
		t.Fatalf("saves = %d without save rules", fp.saves)
	}
}
