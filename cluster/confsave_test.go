package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// SETSLOT's change is in nodes.conf once its ticket is satisfied, the
// write happens off the cluster lock, and many concurrent SETSLOTs are
// coalesced into fewer writes.
func TestSetSlotSavedBeforeTicket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	c, err := Open(Config{ConfigFile: path, Port: 7000}, Settings{NodeTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.mu.Lock()
	other := c.newNode(RandomID(), FlagMaster)
	other.setAddr("127.0.0.1", 7001, 17001)
	c.addNodeLocked(other)
	for j := 0; j < 100; j++ {
		c.addSlotLocked(c.myself, j)
	}
	if err := c.saveConfigNowLocked(false); err != nil {
		t.Fatal(err)
	}
	c.mu.Unlock()

	tk, err := c.SetSlot(5, SlotMigrating, other.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConfig(tk); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "[5->-"+other.ID+"]") {
		t.Fatalf("MIGRATING not in nodes.conf after WaitConfig:\n%s", data)
	}

	// Concurrent SETSLOTs: every ticket is honoured.
	var wg sync.WaitGroup
	for j := 10; j < 60; j++ {
		wg.Add(1)
		go func(slot int) {
			defer wg.Done()
			tk, err := c.SetSlot(slot, SlotNode, other.ID, 0)
			if err != nil {
				t.Error(err)
				return
			}
			if err := c.WaitConfig(tk); err != nil {
				t.Error(err)
			}
		}(j)
	}
	wg.Wait()
	data, _ = os.ReadFile(path)
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, other.ID) && !strings.Contains(l, " 10-59") {
			t.Fatalf("slots 10-59 not saved for the new owner:\n%s", data)
		}
	}
	if w := c.conf.writtenGen(); w < 2 {
		t.Fatalf("written generation %d", w)
	}
}

// A rendering older than the file's content is never written over it; a
// sync covers the newest content; a shorter content leaves no trace of
// the longer one it replaces.
func TestConfWriterKeepsNewest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	w := newConfWriter(path)
	write := func(text string, gen uint64) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.writeLocked(text, gen, false)
	}
	if err := write("new content\n", 5); err != nil {
		t.Fatal(err)
	}
	if err := write("old\n", 4); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new content\n" {
		t.Fatalf("file = %q", data)
	}
	if err := w.syncTo(4); err != nil {
		t.Fatal(err)
	}
	if w.synced != 5 || w.written != 5 {
		t.Fatalf("written %d synced %d", w.written, w.synced)
	}
	// Same content: nothing written, still synced.
	if err := write("new content\n", 6); err != nil {
		t.Fatal(err)
	}
	if w.synced != 6 {
		t.Fatalf("unchanged synced content: synced %d", w.synced)
	}
	if err := write("short\n", 7); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "short\n" {
		t.Fatalf("file = %q", data)
	}
	// Removed behind our back: the next write recreates it.
	os.Remove(path)
	if err := write("again\n", 8); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "again\n" {
		t.Fatalf("file = %q", data)
	}
	w.close()
	// A failed write is reported to the waiters of its generation.
	bad := newConfWriter(filepath.Join(t.TempDir(), "missing", "nodes.conf"))
	bad.mu.Lock()
	err := bad.writeLocked("x\n", 1, false)
	bad.mu.Unlock()
	if err == nil || bad.failGen != 1 {
		t.Fatalf("write into a missing directory: %v", err)
	}
}
