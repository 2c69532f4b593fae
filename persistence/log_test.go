package persistence

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/cockroachdb/pebble/vfs/errorfs"
	"github.com/slotvault/slotvault/config"
)

func argv(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

func openTestLog(t *testing.T, fs vfs.FS, policy config.FsyncPolicy, next uint64) *Log {
	t.Helper()
	l, err := OpenLog(LogOptions{FS: fs, Dir: "aof", Prefix: "appendonly.aof", Policy: policy}, next)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func scanAll(t *testing.T, fs vfs.FS) ([]Record, *ScanResult, error) {
	t.Helper()
	var recs []Record
	res, err := ScanLog(fs, "aof", "appendonly.aof", func(r Record, _ SegmentInfo, _ int64) error {
		cp := r
		cp.Argv = nil
		for _, a := range r.Argv {
			cp.Argv = append(cp.Argv, append([]byte(nil), a...))
		}
		recs = append(recs, cp)
		return nil
	})
	return recs, res, err
}

func TestLogRoundTrip(t *testing.T) {
	for _, p := range []config.FsyncPolicy{config.FsyncAlways, config.FsyncEverysec, config.FsyncNo} {
		t.Run(p.String(), func(t *testing.T) {
			fs := vfs.NewMem()
			l := openTestLog(t, fs, p, 1)
			for i := 0; i < 100; i++ {
				seq := l.Append(i%3, argv("SET", "k"+strconv.Itoa(i), "v"))
				if seq != uint64(i+1) {
					t.Fatalf("seq %d, want %d", seq, i+1)
				}
				if err := l.Wait(seq); err != nil {
					t.Fatal(err)
				}
			}
			l.Append(0, argv("DEL", ""))
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			recs, res, err := scanAll(t, fs)
			if err != nil || res.Torn != nil {
				t.Fatalf("scan: %v %v", err, res.Torn)
			}
			if len(recs) != 101 || res.LastSeq != 101 {
				t.Fatalf("got %d records, last %d", len(recs), res.LastSeq)
			}
			if recs[5].DB != 2 || string(recs[5].Argv[1]) != "k5" || len(recs[100].Argv) != 2 || len(recs[100].Argv[1]) != 0 {
				t.Fatalf("bad record %+v %+v", recs[5], recs[100])
			}
			// Reopen continues in a new segment.
			l2 := openTestLog(t, fs, p, res.LastSeq+1)
			l2.Wait(l2.Append(0, argv("INCR", "x")))
			l2.Close()
			recs, res, err = scanAll(t, fs)
			if err != nil || len(recs) != 102 || len(res.Segments) != 2 {
				t.Fatalf("after reopen: %v %d records %d segments", err, len(recs), len(res.Segments))
			}
		})
	}
}

// TestGroupCommit checks that concurrent writers under appendfsync always
// share fsyncs and that every acknowledged record is durable.
func TestGroupCommit(t *testing.T) {
	var syncs atomic.Int64
	mem := vfs.NewStrictMem()
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op, path string) error {
		if op == errorfs.OpFileSync {
			syncs.Add(1)
		}
		return nil
	}))
	l := openTestLog(t, fs, config.FsyncAlways, 1)
	var lock sync.Mutex // the node lock
	var wg sync.WaitGroup
	const writers, per = 16, 200
	acked := make([][]uint64, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				lock.Lock()
				seq := l.Append(0, argv("SET", fmt.Sprint(w, "-", i), "x"))
				lock.Unlock()
				if err := l.Wait(seq); err != nil {
					t.Error(err)
					return
				}
				acked[w] = append(acked[w], seq)
			}
		}(w)
	}
	wg.Wait()
	before := syncs.Load()
	if before >= writers*per {
		t.Errorf("%d fsyncs for %d records: no group commit", before, writers*per)
	}
	t.Logf("%d records, %d fsyncs", writers*per, before)
	// Crash: only synced data survives.
	mem.SetIgnoreSyncs(true)
	mem.ResetToSyncedState()
	mem.SetIgnoreSyncs(false)
	_, res, err := scanAll(t, mem)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acked {
		for _, s := range a {
			if s > res.LastSeq {
				t.Fatalf("acknowledged seq %d lost (last durable %d)", s, res.LastSeq)
			}
		}
	}
}

func TestRotateAndDrop(t *testing.T) {
	fs := vfs.NewMem()
	l := openTestLog(t, fs, config.FsyncEverysec, 1)
	for i := 0; i < 10; i++ {
		l.Append(0, argv("SET", "a", "b"))
	}
	l.RotateLocked()
	s := l.LastSeq()
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		l.Append(0, argv("SET", "a", "c"))
	}
	l.Sync()
	segs, _ := ListSegments(fs, "aof", "appendonly.aof")
	if len(segs) != 2 || segs[1].FirstSeq != s+1 {
		t.Fatalf("segments %+v", segs)
	}
	n, err := l.DropBefore(s)
	if err != nil || n != 1 {
		t.Fatalf("dropped %d %v", n, err)
	}
	l.Close()
	recs, res, err := scanAll(t, fs)
	if err != nil || len(recs) != 5 || res.FirstSeq != 11 {
		t.Fatalf("%v %d %d", err, len(recs), res.FirstSeq)
	}
}

func TestSegmentSizeRotation(t *testing.T) {
	fs := vfs.NewMem()
	l, _ := OpenLog(LogOptions{FS: fs, Dir: "aof", Prefix: "p", SegmentSize: 1000, Policy: config.FsyncAlways}, 1)
	for i := 0; i < 100; i++ {
		l.Wait(l.Append(0, argv("SET", "key", "0123456789")))
	}
	l.Close()
	segs, _ := ListSegments(fs, "aof", "p")
	if len(segs) < 3 {
		t.Fatalf("expected rotation, got %d segments", len(segs))
	}
	res, err := ScanLog(fs, "aof", "p", nil)
	if err != nil || res.Records != 100 {
		t.Fatalf("%v %d", err, res.Records)
	}
}

// writeLog writes n records and returns the segment info.
func writeLog(t *testing.T, fs vfs.FS, n int) SegmentInfo {
	t.Helper()
	l := openTestLog(t, fs, config.FsyncAlways, 1)
	for i := 0; i < n; i++ {
		l.Wait(l.Append(0, argv("SET", "k", strconv.Itoa(i))))
	}
	l.Close()
	segs, _ := ListSegments(fs, "aof", "appendonly.aof")
	return segs[len(segs)-1]
}

func rewriteFile(t *testing.T, fs vfs.FS, path string, edit func([]byte) []byte) {
	t.Helper()
	f, _ := fs.Open(path)
	st, _ := f.Stat()
	b := make([]byte, st.Size())
	f.ReadAt(b, 0)
	f.Close()
	b = edit(b)
	out, _ := fs.Create(path)
	out.Write(b)
	out.Close()
}

func TestTornAndCorrupt(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(b []byte) []byte
		torn    bool
		corrupt bool
		records int64
	}{
		{"cut-in-body", func(b []byte) []byte { return b[:len(b)-3] }, true, false, 9},
		{"cut-in-prefix", func(b []byte) []byte { return b[:len(b)-recordLen(b)+4] }, true, false, 9},
		{"zero-fill", func(b []byte) []byte { return append(b, make([]byte, 100)...) }, true, false, 10},
		{"last-crc", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, true, false, 9},
		{"middle-crc", func(b []byte) []byte { b[headerSize+12] ^= 1; return b }, false, true, 0},
		{"middle-length", func(b []byte) []byte { b[headerSize+2] ^= 0x40; return b }, false, true, 0},
		{"bad-header", func(b []byte) []byte { b[0] = 'X'; return b }, false, true, 0},
		{"garbage-tail", func(b []byte) []byte { return append(b, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8) }, true, false, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			seg := writeLog(t, fs, 10)
			rewriteFile(t, fs, seg.Path, tc.edit)
			_, res, err := scanAll(t, fs)
			if tc.corrupt {
				var ce *CorruptError
				if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || ce.File != seg.Path {
					t.Fatalf("want corruption, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (res.Torn != nil) != tc.torn || res.Records != tc.records {
				t.Fatalf("torn=%v records=%d", res.Torn, res.Records)
			}
			if res.Torn != nil {
				if err := TrimSegment(fs, res.TornSegment, res.ValidLen); err != nil {
					t.Fatal(err)
				}
				_, res2, err := scanAll(t, fs)
				if err != nil || res2.Torn != nil || res2.Records != tc.records {
					t.Fatalf("after trim: %v %v %d", err, res2.Torn, res2.Records)
				}
			}
		})
	}
}

// recordLen returns the length of the last record of a one-segment log of
// equal records.
func recordLen(b []byte) int {
	n := len(appendRecord(nil, 1, 0, 0, argv("SET", "k", "9")))
	return n
}

// A torn tail in an older segment is corruption: it is not the end of the log.
func TestTornInOlderSegmentIsCorrupt(t *testing.T) {
	fs := vfs.NewMem()
	seg := writeLog(t, fs, 10)
	rewriteFile(t, fs, seg.Path, func(b []byte) []byte { return b[:len(b)-2] })
	l := openTestLog(t, fs, config.FsyncAlways, 20)
	l.Wait(l.Append(0, argv("SET", "a", "b")))
	l.Close()
	_, _, err := scanAll(t, fs)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("want corruption, got %v", err)
	}
}

type faultKind int

const (
	faultNone faultKind = iota
	faultSync
	faultENOSPC
	faultTorn
)

// faultFS makes segment writes or fsyncs fail while armed.
type faultFS struct {
	vfs.FS
	kind atomic.Int32
}

func (f *faultFS) Create(name string) (vfs.File, error) {
	file, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

type faultFile struct {
	vfs.File
	fs *faultFS
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	switch faultKind(f.fs.kind.Load()) {
	case faultENOSPC:
		return 0, syscall.ENOSPC
	case faultTorn:
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, syscall.EIO
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	switch faultKind(f.fs.kind.Load()) {
	case faultSync, faultENOSPC, faultTorn:
		return syscall.EIO
	}
	return f.File.Sync()
}

// TestWriteFailures: a failed fsync, a full disk and a torn write make the
// log refuse (Err non-nil, Wait fails, nothing acknowledged is lost); when
// the disk recovers, a retry clears the error and the log is intact.
func TestWriteFailures(t *testing.T) {
	for _, kind := range []faultKind{faultSync, faultENOSPC, faultTorn} {
		for _, p := range []config.FsyncPolicy{config.FsyncAlways, config.FsyncEverysec} {
			t.Run(fmt.Sprint(kind, p), func(t *testing.T) {
				mem := vfs.NewStrictMem()
				ffs := &faultFS{FS: mem}
				l := openTestLog(t, ffs, p, 1)
				var acked []uint64
				for i := 0; i < 10; i++ {
					s := l.Append(0, argv("SET", "k", strconv.Itoa(i)))
					if l.Wait(s) == nil {
						acked = append(acked, s)
					}
				}
				ffs.kind.Store(int32(kind))
				s := l.Append(0, argv("SET", "k", "x"))
				err := l.Wait(s)
				if p == config.FsyncEverysec && kind == faultSync {
					// Writes succeed; the periodic fsync fails.
					if err != nil {
						t.Fatal(err)
					}
					l.SyncTick()
				} else if err == nil {
					t.Fatal("Wait succeeded on a failing disk")
				}
				if l.Err() == nil {
					t.Fatal("Err is nil after a failure")
				}
				if kind == faultENOSPC && l.Err().Error() != "No space left on device" {
					t.Fatalf("error text %q", l.Err().Error())
				}
				l.SyncTick() // still failing
				if l.Err() == nil {
					t.Fatal("error cleared while disk still failing")
				}
				ffs.kind.Store(int32(faultNone))
				l.SyncTick()
				if err := l.Err(); err != nil {
					t.Fatalf("error not cleared after recovery: %v", err)
				}
				s2 := l.Append(0, argv("SET", "k", "y"))
				if err := l.Wait(s2); err != nil {
					t.Fatal(err)
				}
				l.Sync()
				acked = append(acked, s2)
				mem.SetIgnoreSyncs(true)
				mem.ResetToSyncedState()
				mem.SetIgnoreSyncs(false)
				recs, res, err := scanAll(t, mem)
				if err != nil || res.Torn != nil {
					t.Fatalf("scan after recovery: %v %v", err, res.Torn)
				}
				if len(recs) != 12 || string(recs[10].Argv[2]) != "x" || string(recs[11].Argv[2]) != "y" {
					t.Fatalf("log after recovery has %d records", len(recs))
				}
				_ = acked
			})
		}
	}
}
