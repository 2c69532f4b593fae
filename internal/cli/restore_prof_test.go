package cli

import (
	"context"
	"fmt"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/slots"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/persistence"
	"github.com/slotvault/slotvault/restore"
)

// TestRestoreProfile (SLOTVAULT_PROF=1) times the phases of restore on one
// in-memory backup: fetch+verify, writing the node folder, and loading the
// written folder as the server does at start.
func TestRestoreProfile(t *testing.T) {
	if os.Getenv("SLOTVAULT_PROF") != "1" {
		t.Skip("set SLOTVAULT_PROF=1")
	}
	n := 1000000
	if s := os.Getenv("SLOTVAULT_BENCH_KEYS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	// Entries in the order a node's snapshot yields them (slot, key).
	src := &sliceSource{}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("key:%012d", i)
		p, _ := rdb.EncodePayload(&rdb.Object{Kind: rdb.KindString, Str: []byte("0123456789abcdef")})
		src.es = append(src.es, backup.Entry{Slot: slots.KeySlotString(k), Key: []byte(k), Value: p})
	}
	sort.Slice(src.es, func(i, j int) bool {
		a, b := src.es[i], src.es[j]
		return a.Slot < b.Slot || a.Slot == b.Slot && string(a.Key) < string(b.Key)
	})
	st := backup.NewMemStore()
	id := "0123456789012345678901234567890123456789"
	ctxb := context.Background()
	if _, err := backup.FullBackup(ctxb, st, nil, src, backup.StaticIdentity(backup.NodeInfo{NodeID: id, Role: "master", Slots: [][2]int{{0, 16383}}}), nil, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if k := os.Getenv("SLOTVAULT_PROF_KEEP"); k != "" {
		out = k
	}
	prof := func(name string) func() {
		pd := os.Getenv("SLOTVAULT_PROF_DIR")
		if pd == "" {
			return func() {}
		}
		f, err := os.Create(filepath.Join(pd, name))
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		return func() { pprof.StopCPUProfile(); f.Close() }
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start, c0 := time.Now(), cpu()
	stop := prof("restore.prof")
	o := restoreOptions{out: out}
	if err := runRestoreOut(ctxb, restore.Source{Store: st}, time.Now(), o, io.Discard); err != nil {
		t.Fatal(err)
	}
	stop()
	t.Logf("restore (fetch+verify+write): %v wall, %v CPU", time.Since(start), cpu()-c0)
	start, c0 = time.Now(), cpu()
	stop = prof("load.prof")
	dir := filepath.Join(out, id)
	nd, cfg, err := scratchNode(dir)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := persistence.New(newNodeHost(nd), persistence.Options{Dir: dir, Config: cfg, Codec: loadCodec(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := mgr.Recover()
	if err != nil {
		t.Fatal(err)
	}
	stop()
	t.Logf("load at start: %v wall, %v CPU (%d keys)", time.Since(start), cpu()-c0, res.Keys)
	mgr.Close()
	nd.Close()
}

type sliceSource struct {
	es []backup.Entry
	i  int
}

func (s *sliceSource) OpenSnapshot(context.Context) (backup.SnapshotReader, error) { return s, nil }
func (s *sliceSource) Seq() uint64                                                 { return 1 }
func (s *sliceSource) Time() time.Time                                             { return time.Now() }
func (s *sliceSource) DBs() int                                                    { return 16 }
func (s *sliceSource) Close() error                                                { return nil }
func (s *sliceSource) Next() (backup.Entry, error) {
	if s.i == len(s.es) {
		return backup.Entry{}, io.EOF
	}
	s.i++
	return s.es[s.i-1], nil
}
