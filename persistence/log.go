package persistence

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/slotvault/slotvault/config"
)

// LogOptions configure a Log.
type LogOptions struct {
	// FS does every file operation; nil means vfs.Default.
	FS vfs.FS
	// Dir holds the segments (created if missing).
	Dir string
	// Prefix is the segment file name prefix (appendfilename).
	Prefix string
	// Policy is the appendfsync policy; it can be changed with SetPolicy.
	Policy config.FsyncPolicy
	// SegmentSize is the size after which a new segment is started; 0
	// means 64 MiB.
	SegmentSize int64
	// Logger receives warnings; nil discards.
	Logger *slog.Logger
	// Now is the clock for record timestamps; nil means time.Now.
	Now func() int64
}

// chunk is a run of encoded records. newSegment marks a chunk that must
// start a new segment (named after first).
type chunk struct {
	newSegment  bool
	first, last uint64 // sequence numbers; last < first for an empty chunk
	data        []byte
}

// segFile is the segment being written.
type segFile struct {
	f    vfs.File
	info SegmentInfo
	off  int64 // end of the intended byte stream
	// syncedOff is the length known durable; unsynced holds the bytes from
	// syncedOff to off, kept so that a failed write or fsync can be redone.
	syncedOff int64
	unsynced  []byte
	// lastSeq is the last sequence in the intended stream.
	lastSeq uint64
	// broken is set after a failed write or fsync: the file content past
	// syncedOff is unknown until a repair rewrites unsynced and fsyncs.
	broken bool
}

// Log is the append-only log: it implements node.WriteLog (see doc.go for
// the policies and group commit). A Log opened with Off (appendonly no)
// hands out sequence numbers and writes nothing.
type Log struct {
	fs      vfs.FS
	dir     string
	prefix  string
	log     *slog.Logger
	now     func() int64
	segSize int64
	off     bool
	policy  atomic.Int32
	// retain, when retainSet, is the highest sequence DropBefore may drop:
	// records after it are not shipped to backup storage yet.
	retain    atomic.Uint64
	retainSet atomic.Bool

	mu      sync.Mutex // guards the fields below
	lastSeq uint64
	pending []chunk
	closed  bool

	ioMu       sync.Mutex // serialises file I/O; guards the fields below
	inflight   []chunk
	seg        *segFile
	closedSegs []SegmentInfo // older segments, for size and deletion

	syncMu sync.Mutex // held during an fsync; taken under ioMu or alone

	written atomic.Uint64 // highest seq handed to the OS
	synced  atomic.Uint64 // highest seq fsynced
	size    atomic.Int64  // bytes in all segments (intended stream)
	err     atomic.Pointer[error]

	// counters for INFO
	lastErrAt atomic.Int64
	delayed   atomic.Int64
	// fsyncHist times segment fsyncs (fsync_stats.go).
	fsyncHist fsyncHist
}

// OpenLog opens the log for appending. Records continue at nextSeq in a new
// segment (existing segments are left as they are: recovery has read and,
// if needed, trimmed them).
func OpenLog(opts LogOptions, nextSeq uint64) (*Log, error) {
	l := newLog(opts, nextSeq)
	if err := l.fs.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("persistence: create %s: %w", l.dir, err)
	}
	// A new directory exists for sure only once its parent is synced.
	if err := syncDir(l.fs, l.fs.PathDir(l.dir)); err != nil {
		return nil, err
	}
	segs, err := ListSegments(l.fs, l.dir, l.prefix)
	if err != nil {
		return nil, err
	}
	for _, s := range segs {
		if s.FirstSeq >= nextSeq {
			// An empty segment from an earlier run (nothing after nextSeq-1
			// survived recovery): replaced by the new one.
			if err := l.fs.Remove(s.Path); err != nil {
				return nil, fmt.Errorf("persistence: remove %s: %w", s.Path, err)
			}
			continue
		}
		l.closedSegs = append(l.closedSegs, s)
		l.size.Add(s.Size)
	}
	seg, err := l.createSegment(nextSeq)
	if err != nil {
		return nil, err
	}
	l.seg = seg
	l.size.Add(seg.off)
	return l, nil
}

// NewOffLog returns a Log for appendonly no: it numbers records and keeps
// nothing.
func NewOffLog(nextSeq uint64) *Log {
	l := newLog(LogOptions{}, nextSeq)
	l.off = true
	return l
}

func newLog(opts LogOptions, nextSeq uint64) *Log {
	l := &Log{fs: opts.FS, dir: opts.Dir, prefix: opts.Prefix, log: opts.Logger, now: opts.Now, segSize: opts.SegmentSize}
	if l.fs == nil {
		l.fs = vfs.Default
	}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if l.now == nil {
		l.now = func() int64 { return time.Now().UnixMilli() }
	}
	if l.segSize <= 0 {
		l.segSize = 64 << 20
	}
	if l.prefix == "" {
		l.prefix = "appendonly.aof"
	}
	l.policy.Store(int32(opts.Policy))
	if nextSeq == 0 {
		nextSeq = 1
	}
	l.lastSeq = nextSeq - 1
	l.written.Store(nextSeq - 1)
	l.synced.Store(nextSeq - 1)
	return l
}

// createSegment creates, fills the header of and fsyncs a new segment and
// its directory.
func (l *Log) createSegment(first uint64) (*segFile, error) {
	name := segmentName(l.prefix, first)
	path := l.fs.PathJoin(l.dir, name)
	f, err := l.fs.Create(path)
	if err != nil {
		return nil, &writeError{"create", err}
	}
	hdr := segmentHeader(first)
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		l.fs.Remove(path)
		return nil, &writeError{"write", err}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		l.fs.Remove(path)
		return nil, &writeError{"fsync", err}
	}
	if err := syncDir(l.fs, l.dir); err != nil {
		f.Close()
		l.fs.Remove(path)
		return nil, &writeError{"fsync", errors.Unwrap(err)}
	}
	return &segFile{f: f, info: SegmentInfo{Name: name, Path: path, FirstSeq: first}, off: headerSize, syncedOff: headerSize, lastSeq: first - 1}, nil
}

// SetPolicy changes the fsync policy.
func (l *Log) SetPolicy(p config.FsyncPolicy) { l.policy.Store(int32(p)) }

// Policy returns the fsync policy.
func (l *Log) Policy() config.FsyncPolicy { return config.FsyncPolicy(l.policy.Load()) }

// Enabled reports whether the log writes files (appendonly yes).
func (l *Log) Enabled() bool { return !l.off }

// Append implements node.WriteLog: it encodes the record into the buffer.
// Called with the node lock held.
func (l *Log) Append(db int, argv [][]byte) uint64 {
	ts := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastSeq++
	seq := l.lastSeq
	if l.off {
		return seq
	}
	if len(l.pending) == 0 {
		l.pending = append(l.pending, chunk{first: seq, last: seq - 1})
	}
	c := &l.pending[len(l.pending)-1]
	c.data = appendRecord(c.data, seq, ts, db, argv)
	c.last = seq
	return seq
}

// LastSeq returns the sequence number of the last appended record. With the
// node lock held it is the point of the write stream the keyspace is at.
func (l *Log) LastSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastSeq
}

// RotateLocked makes the next record start a new segment; the caller holds
// the node lock so the boundary is exactly after LastSeq. The new segment
// is created at the next flush (even if no record follows).
func (l *Log) RotateLocked() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.off {
		return
	}
	l.pending = append(l.pending, chunk{newSegment: true, first: l.lastSeq + 1, last: l.lastSeq})
}

// Wait implements node.WriteLog: see doc.go. Called without the node lock.
func (l *Log) Wait(seq uint64) error {
	if l.off {
		return nil
	}
	if l.Policy() == config.FsyncAlways {
		if l.synced.Load() >= seq {
			return nil
		}
		l.ioMu.Lock()
		defer l.ioMu.Unlock()
		if l.synced.Load() >= seq {
			return nil
		}
		err := l.flushLocked(true)
		if l.synced.Load() >= seq {
			return nil
		}
		if err == nil {
			err = l.Err()
		}
		if err == nil {
			err = ErrClosed
		}
		return err
	}
	if l.written.Load() >= seq {
		return nil
	}
	// Let the other runnable connections append their records first, so
	// one write covers the batches of every client served in this round
	// (Redis writes the AOF once per event-loop iteration, for the same
	// reason).
	runtime.Gosched()
	if l.written.Load() >= seq {
		return nil
	}
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	if l.written.Load() >= seq {
		return nil
	}
	err := l.flushLocked(false)
	if l.written.Load() >= seq {
		return nil
	}
	if err == nil {
		err = l.Err()
	}
	if err == nil {
		err = ErrClosed
	}
	return err
}

// Err implements node.WriteLog: the current write-path failure.
func (l *Log) Err() error {
	if p := l.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *Log) setErr(err error) {
	var we *writeError
	if !errors.As(err, &we) {
		err = &writeError{"write", err}
	}
	if l.err.Load() == nil {
		l.log.Error("error writing to the append-only log; refusing writes until it succeeds (MISCONF)", "err", err)
	}
	l.err.Store(&err)
	l.lastErrAt.Store(time.Now().Unix())
}

func (l *Log) clearErr() {
	if l.err.Swap(nil) != nil {
		l.log.Warn("append-only log write error looks solved: accepting writes again")
	}
}

// Sync writes and fsyncs everything appended so far (a no-op when off).
func (l *Log) Sync() error {
	if l.off {
		return nil
	}
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	return l.flushLocked(true)
}

// flushLocked writes pending records and, when sync is set, fsyncs. It
// repairs a broken segment first. Caller holds ioMu.
func (l *Log) flushLocked(sync bool) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.inflight = append(l.inflight, l.pending...)
	l.pending = l.pending[:0]
	l.mu.Unlock()

	if l.seg.broken {
		if err := l.repairLocked(); err != nil {
			l.setErr(err)
			return err
		}
	}
	for len(l.inflight) > 0 {
		c := &l.inflight[0]
		if c.newSegment || (l.seg.off >= l.segSize && len(c.data) > 0 && l.seg.lastSeq >= l.seg.info.FirstSeq) {
			if err := l.rotateLocked(c.first); err != nil {
				l.setErr(err)
				return err
			}
			c.newSegment = false
		}
		if len(c.data) == 0 {
			l.inflight = l.inflight[1:]
			continue
		}
		// A full segment is cut at a chunk boundary only, so a chunk may
		// overrun SegmentSize; chunks are one flush's worth.
		seg := l.seg
		seg.unsynced = append(seg.unsynced, c.data...)
		at := seg.off
		seg.off += int64(len(c.data))
		seg.lastSeq = c.last
		l.size.Add(int64(len(c.data)))
		last := c.last
		data := c.data
		l.inflight = l.inflight[1:]
		if _, err := seg.f.WriteAt(data, at); err != nil {
			seg.broken = true
			err = &writeError{"write", err}
			l.setErr(err)
			return err
		}
		l.written.Store(last)
	}
	if l.Policy() == config.FsyncNo && !sync {
		// No durability promise: forget the written bytes.
		l.seg.syncedOff = l.seg.off
		l.seg.unsynced = l.seg.unsynced[:0]
		return nil
	}
	if sync {
		if err := l.syncSegLocked(); err != nil {
			l.setErr(err)
			return err
		}
		if l.err.Load() != nil {
			l.clearErr()
		}
	}
	return nil
}

// syncSegLocked fsyncs the current segment. Caller holds ioMu.
func (l *Log) syncSegLocked() error {
	seg := l.seg
	if seg.syncedOff == seg.off && !seg.broken {
		l.synced.Store(seg.lastSeq)
		return nil
	}
	l.syncMu.Lock()
	t0 := time.Now()
	err := seg.f.Sync()
	l.fsyncHist.record(time.Since(t0))
	l.syncMu.Unlock()
	if err != nil {
		seg.broken = true
		return &writeError{"fsync", err}
	}
	seg.syncedOff = seg.off
	seg.unsynced = seg.unsynced[:0]
	l.synced.Store(seg.lastSeq)
	return nil
}

// repairLocked rewrites the bytes past the last good fsync at their
// offsets and fsyncs. Caller holds ioMu.
func (l *Log) repairLocked() error {
	seg := l.seg
	if len(seg.unsynced) > 0 {
		if _, err := seg.f.WriteAt(seg.unsynced, seg.syncedOff); err != nil {
			return &writeError{"write", err}
		}
	}
	l.syncMu.Lock()
	err := seg.f.Sync()
	l.syncMu.Unlock()
	if err != nil {
		return &writeError{"fsync", err}
	}
	seg.broken = false
	seg.syncedOff = seg.off
	seg.unsynced = seg.unsynced[:0]
	l.written.Store(seg.lastSeq)
	l.synced.Store(seg.lastSeq)
	return nil
}

// rotateLocked fsyncs and closes the current segment and starts a new one
// at first. On failure the current segment stays current. Caller holds
// ioMu.
func (l *Log) rotateLocked(first uint64) error {
	if l.seg.info.FirstSeq == first && l.seg.off == headerSize {
		return nil // already a fresh segment starting there
	}
	if err := l.syncSegLocked(); err != nil {
		return err
	}
	ns, err := l.createSegment(first)
	if err != nil {
		return err
	}
	old := l.seg
	if err := old.f.Close(); err != nil {
		l.log.Warn("closing log segment", "file", old.info.Path, "err", err)
	}
	old.info.Size = old.off
	l.closedSegs = append(l.closedSegs, old.info)
	l.seg = ns
	l.size.Add(ns.off)
	return nil
}

// SyncTick is the once-a-second work: under everysec it fsyncs without
// blocking writers; under any policy it retries after a failure. Called by
// the manager's background loop.
func (l *Log) SyncTick() {
	if l.off {
		return
	}
	if l.Err() != nil {
		l.ioMu.Lock()
		err := l.flushLocked(true)
		l.ioMu.Unlock()
		if err == nil {
			l.clearErr()
		}
		return
	}
	if l.Policy() != config.FsyncEverysec {
		return
	}
	l.ioMu.Lock()
	if err := l.flushLocked(false); err != nil {
		l.ioMu.Unlock()
		return
	}
	seg := l.seg
	if seg.syncedOff == seg.off {
		l.ioMu.Unlock()
		return
	}
	target, seq, n := seg.off, seg.lastSeq, len(seg.unsynced)
	l.syncMu.Lock()
	l.ioMu.Unlock()
	err := seg.f.Sync()
	l.syncMu.Unlock()
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	if l.seg != seg || seg.broken {
		return
	}
	if err != nil {
		seg.broken = true
		l.setErr(&writeError{"fsync", err})
		return
	}
	seg.syncedOff = target
	seg.unsynced = append(seg.unsynced[:0], seg.unsynced[n:]...)
	if l.synced.Load() < seq {
		l.synced.Store(seq)
	}
}

// Size returns the bytes in all segments (aof_current_size).
func (l *Log) Size() int64 { return l.size.Load() }

// BufferLen returns the bytes appended but not yet written
// (aof_buffer_length).
func (l *Log) BufferLen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.pending {
		n += len(c.data)
	}
	return n
}

// Retain keeps every record with sequence > after on disk: DropBefore
// drops nothing past it. Backup log shipping calls it with the last
// shipped sequence, so a log rewrite never deletes unshipped records.
func (l *Log) Retain(after uint64) {
	l.retain.Store(after)
	l.retainSet.Store(true)
}

// DropBefore deletes the segments whose records all have sequence numbers
// <= seq (never the current one) and returns how many it removed.
func (l *Log) DropBefore(seq uint64) (int, error) {
	if l.off {
		return 0, nil
	}
	if l.retainSet.Load() {
		seq = min(seq, l.retain.Load())
	}
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	all := append(append([]SegmentInfo(nil), l.closedSegs...), l.seg.info)
	removed := 0
	var keep []SegmentInfo
	for i, s := range all[:len(all)-1] {
		if all[i+1].FirstSeq <= seq+1 {
			if err := l.fs.Remove(s.Path); err != nil && !isNotExist(err) {
				return removed, fmt.Errorf("persistence: remove %s: %w", s.Path, err)
			}
			l.size.Add(-s.Size)
			removed++
			continue
		}
		keep = append(keep, s)
	}
	l.closedSegs = keep
	if removed > 0 {
		if err := syncDir(l.fs, l.dir); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Close flushes, fsyncs and closes the log.
func (l *Log) Close() error {
	if l.off {
		return nil
	}
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	err := l.flushLocked(true)
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	if cerr := l.seg.f.Close(); err == nil {
		err = cerr
	}
	return err
}
