package persistence

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/slotvault/slotvault/config"
)

// testNode is a fake host with a running manager over a strict MemFS.
type testNode struct {
	t   *testing.T
	mem *vfs.MemFS
	h   *fakeHost
	m   *Manager
	res *RecoverResult
}

func startTestNode(t *testing.T, mem *vfs.MemFS, tune func(c *config.Config)) (*testNode, error) {
	t.Helper()
	h := newFakeHost(4)
	h.cfg.AppendOnly = true
	h.cfg.AppendFsync = config.FsyncAlways
	if tune != nil {
		tune(h.cfg)
	}
	m, err := New(h, Options{FS: mem, Dir: "data", Config: h.cfg, Codec: stringCodec, SegmentSize: 4 << 10})
	if err != nil {
		return nil, err
	}
	res, err := m.Recover()
	if err != nil {
		m.store.Close()
		return nil, err
	}
	h.wal = m.Log()
	return &testNode{t: t, mem: mem, h: h, m: m, res: res}, nil
}

func mustStart(t *testing.T, mem *vfs.MemFS, tune func(c *config.Config)) *testNode {
	t.Helper()
	n, err := startTestNode(t, mem, tune)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// crash loses everything not fsynced and abandons the node.
func (n *testNode) crash() {
	n.mem.SetIgnoreSyncs(true)
	n.m.store.Close()
	n.mem.ResetToSyncedState()
	n.mem.SetIgnoreSyncs(false)
}

func (n *testNode) waitJob() {
	n.m.mu.Lock()
	done := n.m.done
	n.m.mu.Unlock()
	if done != nil {
		<-done
	}
}

func TestRecoverLogOnly(t *testing.T) {
	mem := vfs.NewStrictMem()
	n := mustStart(t, mem, nil)
	for i := 0; i < 500; i++ {
		n.h.exec(t, i%4, "SET", fmt.Sprint("k", i), fmt.Sprint("v", i))
		n.h.exec(t, 0, "INCR", "counter")
	}
	n.h.exec(t, 1, "DEL", "k1")
	want := n.h.dumpState()
	n.crash()
	n2 := mustStart(t, mem, nil)
	if got := n2.h.dumpState(); got != want {
		t.Fatalf("state differs after recovery")
	}
	if n2.res.Replayed != 1001 || n2.res.NextSeq != 1002 {
		t.Fatalf("replayed %d next %d", n2.res.Replayed, n2.res.NextSeq)
	}
	// Writing continues after the recovered sequence.
	n2.h.exec(t, 0, "INCR", "counter")
	want = n2.h.dumpState()
	n2.crash()
	if got := mustStart(t, mem, nil).h.dumpState(); got != want {
		t.Fatal("state differs after second recovery")
	}
}

// TestSnapshotWhileWriting takes background snapshots and a rewrite while
// writers run, crashes, and checks the recovered state is exactly the
// state at the crash.
func TestSnapshotWhileWriting(t *testing.T) {
	mem := vfs.NewStrictMem()
	n := mustStart(t, mem, nil)
	for i := 0; i < 3000; i++ {
		n.h.exec(t, i%4, "SET", fmt.Sprint("key:", i), "initial")
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n.h.exec(t, w, "SET", fmt.Sprint("key:", (i*7+w)%4000), fmt.Sprint("w", w, "-", i))
				n.h.exec(t, w, "INCR", fmt.Sprint("ctr:", w))
			}
		}(w)
	}
	for round := 0; round < 3; round++ {
		var reply string
		var err error
		n.h.WithLock(func() {
			if round == 2 {
				reply, err = n.m.BGRewriteLocked()
			} else {
				reply, err = n.m.BGSaveLocked(false)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(reply)
		n.waitJob()
	}
	close(stop)
	wg.Wait()
	n.m.mu.Lock()
	ok, rewrites, saves := n.m.lastBgsaveOK && n.m.lastRewriteOK, n.m.rewrites, n.m.saves
	n.m.mu.Unlock()
	if !ok || rewrites != 1 || saves != 2 {
		t.Fatalf("ok=%v rewrites=%d saves=%d", ok, rewrites, saves)
	}
	segs, _ := ListSegments(mem, "data/appendonlydir", "appendonly.aof")
	want := n.h.dumpState()
	n.crash()
	n2 := mustStart(t, mem, nil)
	if n2.res.Snapshot == nil {
		t.Fatal("no snapshot loaded")
	}
	if got := n2.h.dumpState(); got != want {
		t.Fatalf("state differs after recovery from snapshot %d + %d records", n2.res.Snapshot.ID, n2.res.Replayed)
	}
	t.Logf("%d segments after rewrite; loaded snapshot %d (%d keys) + %d records", len(segs), n2.res.Snapshot.ID, n2.res.Keys, n2.res.Replayed)
	if segs[0].FirstSeq > n2.res.Snapshot.Seq+1 {
		t.Fatal("log does not cover the snapshot")
	}
}

// TestSnapshotIsPointInTime checks a snapshot holds exactly the state at
// its sequence number even though writes continue while it is taken.
func TestSnapshotIsPointInTime(t *testing.T) {
	mem := vfs.NewMem()
	h := newFakeHost(2)
	m, err := New(h, Options{FS: mem, Dir: "d", Config: h.cfg, Codec: stringCodec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Recover(); err != nil {
		t.Fatal(err)
	}
	h.wal = m.Log()
	for i := 0; i < 2000; i++ {
		h.exec(t, i%2, "SET", fmt.Sprint("k", i), "before")
	}
	want := h.dumpState()
	var j *snapshotJob
	h.WithLock(func() { j, err = beginSnapshotLocked(h, stringCodec, m.store, m.wal.LastSeq(), 0) })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Manifest)
	go func() {
		man, err := j.runBackground(h, 16, func() int64 { return 1 })
		if err != nil {
			t.Error(err)
		}
		done <- man
	}()
	for i := 0; i < 2000; i++ {
		h.exec(t, i%2, "SET", fmt.Sprint("k", i), "after")
		h.exec(t, i%2, "DEL", fmt.Sprint("k", (i+1000)%2000))
	}
	man := <-done
	h2 := newFakeHost(2)
	if _, _, err := loadSnapshot(h2, stringCodec, m.store, man, &LoadProgress{}); err != nil {
		t.Fatal(err)
	}
	if got := h2.dumpState(); got != want {
		t.Fatal("snapshot is not the state at its start")
	}
	m.Close()
}

func TestTransactionsAllOrNothing(t *testing.T) {
	mem := vfs.NewStrictMem()
	n := mustStart(t, mem, nil)
	n.h.execTx(t, 0, []string{"SET", "a", "1"}, []string{"SET", "b", "2"})
	want := n.h.dumpState()
	// An unterminated transaction at the end (the EXEC never made it).
	n.h.mu.Lock()
	n.h.wal.Append(0, argv("MULTI"))
	n.h.wal.Append(0, argv("SET", "c", "3"))
	n.h.mu.Unlock()
	n.h.wal.Sync()
	n.crash()
	n2 := mustStart(t, mem, nil)
	if got := n2.h.dumpState(); got != want || !n2.res.Trimmed {
		t.Fatalf("got %q want %q trimmed=%v", got, want, n2.res.Trimmed)
	}
	// The log continues cleanly after the cut.
	n2.h.exec(t, 0, "SET", "d", "4")
	want = n2.h.dumpState()
	n2.crash()
	if got := mustStart(t, mem, nil).h.dumpState(); got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestReplayUsesRecordTime(t *testing.T) {
	mem := vfs.NewStrictMem()
	n := mustStart(t, mem, nil)
	soon := time.Now().UnixMilli() + 30
	n.h.exec(t, 0, "SET", "k", "v", "PXAT", fmt.Sprint(soon))
	n.h.exec(t, 0, "PEXPIREAT", "k", fmt.Sprint(soon+3600_000))
	n.crash()
	time.Sleep(50 * time.Millisecond)
	n2 := mustStart(t, mem, nil)
	if got := n2.h.dumpState(); !strings.HasPrefix(got, "0:k=v@") {
		t.Fatalf("key lost or resurrected wrongly on replay: %q", got)
	}
}

func TestRecoveryRefusesCorruption(t *testing.T) {
	mem := vfs.NewStrictMem()
	n := mustStart(t, mem, nil)
	for i := 0; i < 50; i++ {
		n.h.exec(t, 0, "SET", "k", fmt.Sprint(i))
	}
	n.crash()
	segs, _ := ListSegments(mem, "data/appendonlydir", "appendonly.aof")
	rewriteFile(t, mem, segs[0].Path, func(b []byte) []byte { b[headerSize+100] ^= 0x40; return b })
	_, err := startTestNode(t, mem, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "slotvault check") {
		t.Fatalf("want a corruption error pointing at slotvault check, got %v", err)
	}
	if ce.File != segs[0].Path || ce.Offset <= 0 || ce.Seq == 0 {
		t.Fatalf("error does not locate the problem: %+v", ce)
	}
	t.Log(err)
}

func TestTornTailPolicy(t *testing.T) {
	mem := vfs.NewStrictMem()
	n := mustStart(t, mem, nil)
	for i := 0; i < 20; i++ {
		n.h.exec(t, 0, "SET", "k", fmt.Sprint(i))
	}
	n.crash()
	segs, _ := ListSegments(mem, "data/appendonlydir", "appendonly.aof")
	last := segs[len(segs)-1]
	rewriteFile(t, mem, last.Path, func(b []byte) []byte { return b[:len(b)-5] })
	_, err := startTestNode(t, mem, func(c *config.Config) { c.AofLoadTruncated = false })
	if !errors.Is(err, ErrTornTail) {
		t.Fatalf("want torn-tail refusal, got %v", err)
	}
	n2 := mustStart(t, mem, nil)
	if !n2.res.Trimmed || !strings.Contains(n2.h.dumpState(), "0:k=18@") {
		t.Fatalf("trimmed=%v state %q", n2.res.Trimmed, n2.h.dumpState())
	}
}

func TestSaveRules(t *testing.T) {
	mem := vfs.NewMem()
	n := mustStart(t, mem, func(c *config.Config) { c.Save = []config.SaveRule{{Seconds: 0, Changes: 5}} })
	n.h.lastSave = time.Now().Unix() - 10
	for i := 0; i < 5; i++ {
		n.h.exec(t, 0, "SET", "k", fmt.Sprint(i))
	}
	n.h.WithLock(n.m.cronLocked)
	n.waitJob()
	var dirty int64
	var info strings.Builder
	n.h.WithLock(func() { dirty = n.h.dirty; n.m.InfoLocked(&info) })
	if dirty != 0 || !strings.Contains(info.String(), "rdb_saves:1\r\n") {
		t.Fatalf("dirty=%d info:\n%s", dirty, info.String())
	}
}

func TestAutoRewrite(t *testing.T) {
	mem := vfs.NewMem()
	n := mustStart(t, mem, func(c *config.Config) { c.AutoAofRewriteMinSize = 8 << 10; c.AutoAofRewritePercentage = 100 })
	for i := 0; i < 400; i++ {
		n.h.exec(t, 0, "SET", "k", strings.Repeat("x", 50))
	}
	n.h.WithLock(n.m.cronLocked)
	n.waitJob()
	n.m.mu.Lock()
	rewrites := n.m.rewrites
	n.m.mu.Unlock()
	if rewrites != 1 {
		t.Fatalf("rewrites %d", rewrites)
	}
	if n.m.wal.Size() > 8<<10 {
		t.Fatalf("log not truncated: %d bytes", n.m.wal.Size())
	}
}

// TestSnapshotOnly: with appendonly no, SAVE is the persistence; a crash
// keeps what the last save held.
func TestSnapshotOnly(t *testing.T) {
	mem := vfs.NewStrictMem()
	off := func(c *config.Config) { c.AppendOnly = false }
	n := mustStart(t, mem, off)
	for i := 0; i < 100; i++ {
		n.h.exec(t, i%4, "SET", fmt.Sprint("k", i), "v")
	}
	var err error
	n.h.WithLock(func() { err = n.m.SaveLocked() })
	if err != nil {
		t.Fatal(err)
	}
	want := n.h.dumpState()
	n.h.exec(t, 0, "SET", "after-save", "lost")
	n.crash()
	n2 := mustStart(t, mem, off)
	if got := n2.h.dumpState(); got != want || n2.res.Snapshot == nil {
		t.Fatalf("state after restart differs from the last save: snap %+v\n%q\n%q", n2.res.Snapshot, got[:min(len(got), 200)], want[:200])
	}
	if n2.res.NextSeq <= n2.res.Snapshot.Seq {
		t.Fatalf("next seq %d not after snapshot seq %d", n2.res.NextSeq, n2.res.Snapshot.Seq)
	}
}
