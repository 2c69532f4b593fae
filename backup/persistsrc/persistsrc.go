// Package persistsrc connects backups to persistence: it implements
// backup.SnapshotSource with persistence's consistent cuts of the live
// dataset and backup.LogSource by tailing persistence's log segments.
//
// Snapshots: a backup takes its own persistence.Cut at the last logged
// sequence number (under the node lock, which only marks slots pending)
// and streams it: a goroutine steps the cut a few thousand keys at a time
// under the node lock, where values are only cloned, then encodes them
// (DUMP payloads; strings without LZF, since the stream is zstd-compressed
// anyway) outside the lock on a few goroutines and queues them for the
// uploader without waiting for it: up to 64 MiB in memory, the rest in a
// spool file in SpillDir (written and read outside the lock). So the cut
// stays open only as long as the node needs to copy and encode the
// dataset, not as long as a throttled upload takes. No local snapshot is
// written first. A command that touches a still-pending slot delivers it
// at once (store.View); such copies wait in memory up to 256 MiB (the
// backup's copy-on-write cost, as a fork is Redis's), past which they are
// written to another temp file under the lock and streamed at the end. FromStore selects the older way
// (BGSAVE, then stream the newest Pebble snapshot), kept for comparison.
//
// Log: records are read from the segment files (format in the persistence
// package doc), from the segment holding the first wanted record. A record
// cut at the end of the newest segment is one being written: reading stops
// before it. The position of the last read is cached so each shipping tick
// reads only new bytes. Retain is passed to persistence.Log.Retain, so a
// log rewrite keeps unshipped segments.
package persistsrc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/persistence"
)

// Snapshots is a backup.SnapshotSource over a persistence.Manager.
type Snapshots struct {
	Mgr *persistence.Manager
	// WithLock runs fn with the node lock held.
	WithLock func(fn func())
	// Workers is how many goroutines encode values (default half of
	// GOMAXPROCS, at least 1): the rest of the CPU stays with the node.
	Workers int
	// SpillDir is where encoded entries wait when the upload is behind,
	// and where values delivered early by commands are spilled past
	// HeldMaxBytes ("" = the system temp directory).
	SpillDir string
	// HeldMaxBytes overrides the 256 MiB bound on cloned values waiting to
	// be encoded (tests).
	HeldMaxBytes int
	// BufferMaxBytes overrides the 64 MiB bound on encoded entries waiting
	// in memory for the uploader (the rest wait in a temp file in
	// SpillDir).
	BufferMaxBytes int
	// FromStore streams the newest Pebble snapshot after a BGSAVE instead
	// of a live cut.
	FromStore bool
	// Poll is how often FromStore looks for the finished snapshot
	// (default 20ms).
	Poll time.Duration
}

var _ backup.SnapshotSource = (*Snapshots)(nil)

// OpenSnapshot implements backup.SnapshotSource.
func (s *Snapshots) OpenSnapshot(ctx context.Context) (backup.SnapshotReader, error) {
	if !s.FromStore {
		return s.openCut(ctx)
	}
	var want uint64
	var startErr error
	s.WithLock(func() {
		want = s.Mgr.Log().LastSeq()
		if _, err := s.Mgr.BGSaveLocked(true); err != nil && !strings.Contains(err.Error(), "already in progress") {
			startErr = err
		}
	})
	if startErr != nil {
		return nil, fmt.Errorf("persistsrc: start snapshot: %w", startErr)
	}
	poll := s.Poll
	if poll <= 0 {
		poll = 20 * time.Millisecond
	}
	var m persistence.Manifest
	for {
		ms, err := s.Mgr.Store().Complete()
		if err != nil {
			return nil, err
		}
		found := false
		for _, c := range ms {
			if c.Seq >= want && (!found || c.Seq > m.Seq) {
				m, found = c, true
			}
		}
		if found {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
	r := &reader{m: m, ch: make(chan backup.Entry, 1024), stop: make(chan struct{})}
	go func() {
		err := s.Mgr.Store().Load(m, func(e persistence.SnapshotEntry) error {
			be := backup.Entry{DB: e.DB, Slot: e.Slot, Key: append([]byte(nil), e.Key...), Expire: e.Expire, Value: append([]byte(nil), e.Payload...)}
			select {
			case r.ch <- be:
				return nil
			case <-r.stop:
				return errClosed
			case <-ctx.Done():
				return ctx.Err()
			}
		}, nil)
		r.err = err
		close(r.ch)
	}()
	return r, nil
}

var errClosed = errors.New("persistsrc: snapshot reader closed")

type reader struct {
	m    persistence.Manifest
	ch   chan backup.Entry
	err  error // set before ch is closed
	stop chan struct{}
	once sync.Once
}

func (r *reader) Seq() uint64     { return r.m.Seq }
func (r *reader) Time() time.Time { return time.UnixMilli(r.m.StartMs) }
func (r *reader) DBs() int        { return r.m.DBs }

func (r *reader) Next() (backup.Entry, error) {
	e, ok := <-r.ch
	if ok {
		return e, nil
	}
	if r.err != nil {
		return backup.Entry{}, r.err
	}
	return backup.Entry{}, io.EOF
}

func (r *reader) Close() error {
	r.once.Do(func() {
		close(r.stop)
		for range r.ch {
		}
	})
	return nil
}

// Log is a backup.LogSource over persistence's log.
type Log struct {
	Log    *persistence.Log
	FS     persistence.FS
	Dir    string // the log directory (<dir>/<appenddirname>)
	Prefix string // appendfilename

	mu  sync.Mutex
	pos position // where the last read stopped
}

type position struct {
	seg  uint64 // FirstSeq of the segment
	off  int64
	next uint64 // sequence of the record at off
}

var _ backup.LogSource = (*Log)(nil)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const segHeaderLen = 32

// LastSeq implements backup.LogSource.
func (l *Log) LastSeq() uint64 { return l.Log.LastSeq() }

// Retain implements backup.LogSource.
func (l *Log) Retain(after uint64) { l.Log.Retain(after) }

// ReadLog implements backup.LogSource.
func (l *Log) ReadLog(after, upTo uint64, fn func(backup.LogRecord) error) error {
	segs, err := persistence.ListSegments(l.FS, l.Dir, l.Prefix)
	if err != nil {
		return err
	}
	start := -1
	for i, s := range segs {
		if s.FirstSeq <= after+1 {
			start = i
		}
	}
	if start < 0 {
		if len(segs) == 0 || segs[0].FirstSeq > after+1 {
			if l.Log.LastSeq() <= after {
				return nil
			}
			if len(segs) > 0 {
				return fmt.Errorf("%w: oldest local segment starts at %d, need %d", backup.ErrLogGap, segs[0].FirstSeq, after+1)
			}
			return nil // nothing written to a file yet
		}
	}
	l.mu.Lock()
	pos := l.pos
	l.mu.Unlock()
	for i := start; i < len(segs); i++ {
		off := int64(segHeaderLen)
		if pos.seg == segs[i].FirstSeq && pos.next <= after+1 && pos.off > 0 {
			off = pos.off
		}
		last := i == len(segs)-1
		np, done, err := l.readSegment(segs[i], off, after, upTo, last, fn)
		if err != nil {
			return err
		}
		if np.off > 0 {
			l.mu.Lock()
			l.pos = np
			l.mu.Unlock()
			pos = np
			if np.next > after+1 {
				after = np.next - 1
			}
		}
		if done {
			return nil
		}
	}
	return nil
}

// readSegment reads records from off; it reports done when it reached
// upTo, fn stopped it, or the segment's tail is still being written.
func (l *Log) readSegment(s persistence.SegmentInfo, off int64, after, upTo uint64, last bool, fn func(backup.LogRecord) error) (position, bool, error) {
	f, err := l.FS.Open(s.Path)
	if err != nil {
		return position{}, false, fmt.Errorf("persistsrc: open %s: %w", s.Path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return position{}, false, err
	}
	size := st.Size()
	// One buffered pass over the segment: records are small, and two
	// preads per record cost more than the record itself.
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 256<<10)
	var pre [8]byte
	var body []byte
	pos := position{seg: s.FirstSeq}
	for off+8 <= size {
		if _, err := io.ReadFull(br, pre[:]); err != nil {
			return pos, true, nil
		}
		n := int64(binary.LittleEndian.Uint32(pre[:4]))
		if n == 0 || off+8+n > size {
			// Being written (or zero padding at the tail).
			return pos, true, nil
		}
		if int64(cap(body)) < n {
			body = make([]byte, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			return pos, true, nil
		}
		if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(pre[4:]) {
			if last {
				return pos, true, nil
			}
			return pos, true, fmt.Errorf("persistsrc: %s: bad record CRC at offset %d", s.Path, off)
		}
		rec, err := decodeBody(body)
		if err != nil {
			return pos, true, fmt.Errorf("persistsrc: %s offset %d: %w", s.Path, off, err)
		}
		if rec.Seq > upTo {
			return position{seg: s.FirstSeq, off: off, next: rec.Seq}, true, nil
		}
		off += 8 + n
		pos = position{seg: s.FirstSeq, off: off, next: rec.Seq + 1}
		if rec.Seq <= after {
			continue
		}
		if err := fn(rec); err != nil {
			if errors.Is(err, io.EOF) {
				return pos, true, nil
			}
			return pos, true, err
		}
		if rec.Seq == upTo {
			return pos, true, nil
		}
	}
	return pos, false, nil
}

func decodeBody(b []byte) (backup.LogRecord, error) {
	if len(b) < 24 {
		return backup.LogRecord{}, errors.New("short record")
	}
	r := backup.LogRecord{
		Seq:  binary.LittleEndian.Uint64(b[0:]),
		Time: int64(binary.LittleEndian.Uint64(b[8:])),
		DB:   int(binary.LittleEndian.Uint32(b[16:])),
	}
	argc := binary.LittleEndian.Uint32(b[20:])
	b = b[24:]
	if uint64(argc) > uint64(len(b))/4 {
		return backup.LogRecord{}, errors.New("impossible argc")
	}
	r.Argv = make([][]byte, argc)
	for i := range r.Argv {
		if len(b) < 4 {
			return backup.LogRecord{}, errors.New("truncated argument")
		}
		n := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return backup.LogRecord{}, errors.New("truncated argument")
		}
		r.Argv[i] = append([]byte(nil), b[:n]...)
		b = b[n:]
	}
	return r, nil
}
