package persistence

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/slotvault/slotvault/slots"
)

// ErrReplayFatal is wrapped by Host.Apply errors that must stop recovery.
var ErrReplayFatal = errors.New("persistence: record cannot be replayed")

// LoadProgress is the loading state INFO reports.
type LoadProgress struct {
	Loading    atomic.Bool
	StartUnix  atomic.Int64
	TotalBytes atomic.Int64
	Loaded     atomic.Int64
	// figures of the last load
	KeysLoaded  atomic.Int64
	KeysExpired atomic.Int64
}

// RecoverOptions configure Recover.
type RecoverOptions struct {
	FS     vfs.FS
	LogDir string
	Prefix string
	// UseLog replays the log (appendonly yes); otherwise only the snapshot
	// is loaded and the log is only read for its last sequence number.
	UseLog bool
	// TrimTorn trims a torn tail (aof-load-truncated yes).
	TrimTorn bool
	Logger   interface {
		Warn(msg string, args ...any)
		Info(msg string, args ...any)
	}
	Progress *LoadProgress
}

// RecoverResult describes what Recover loaded.
type RecoverResult struct {
	Snapshot *Manifest // nil when none was loaded
	// NextSeq is where the log continues.
	NextSeq  uint64
	Replayed int64 // records applied
	Errors   int64 // records whose replay replied an error
	Trimmed  bool  // a torn tail or an unterminated transaction was cut
	Keys     int64 // keys loaded from the snapshot
	Expired  int64 // of which already expired
}

// pendingRecord is a record copied out of the reader's buffer.
type pendingRecord struct {
	db   int
	ts   int64
	argv [][]byte
	size int64
}

// Recover loads the newest valid snapshot from st (may be nil) and replays
// the log after it into host. The node must be in loading state with empty
// databases. A corrupt log stops recovery with an error wrapping
// ErrCorrupt that names file, offset and sequence.
func Recover(host Host, codec Codec, st *SnapshotStore, opts RecoverOptions) (*RecoverResult, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	prog := opts.Progress
	if prog == nil {
		prog = &LoadProgress{}
	}
	res := &RecoverResult{}

	// Replay runs with the database clocks set to each record's time, so
	// lazy expiry and TTL arithmetic see what the command originally saw;
	// nothing expires while the snapshot loads.
	var clock atomic.Int64
	var saved []func() int64
	host.WithLock(func() {
		for i := 0; i < host.NumDBs(); i++ {
			db := host.DB(i)
			saved = append(saved, db.Now)
			db.Now = func() int64 { return clock.Load() }
		}
	})
	defer host.WithLock(func() {
		for i := 0; i < host.NumDBs(); i++ {
			host.DB(i).Now = saved[i]
		}
	})

	segs, err := ListSegments(opts.FS, opts.LogDir, opts.Prefix)
	if err != nil {
		return nil, err
	}
	var logBytes int64
	for _, s := range segs {
		logBytes += s.Size
	}

	var snaps []Manifest
	if st != nil {
		if snaps, err = st.Complete(); err != nil {
			return nil, err
		}
	}
	var snapSeq uint64
	prog.StartUnix.Store(time.Now().Unix())
	for i, m := range snaps {
		prog.TotalBytes.Store(m.Bytes + logBytes)
		prog.Loaded.Store(0)
		keys, expired, err := loadSnapshot(host, codec, st, m, prog)
		if err == nil {
			mm := m
			res.Snapshot = &mm
			res.Keys, res.Expired = keys, expired
			snapSeq = m.Seq
			opts.Logger.Info("snapshot loaded", "id", m.ID, "seq", m.Seq, "keys", keys)
			break
		}
		opts.Logger.Warn("snapshot is not usable; trying an older one", "id", m.ID, "err", err)
		host.WithLock(func() {
			for d := 0; d < host.NumDBs(); d++ {
				host.DB(d).Flush()
			}
		})
		if i == len(snaps)-1 {
			return nil, fmt.Errorf("%w: no snapshot is usable (last error: %v); run `slotvault check`", ErrCorrupt, err)
		}
	}
	prog.TotalBytes.Store(prog.Loaded.Load() + logBytes)
	prog.KeysLoaded.Store(res.Keys)
	prog.KeysExpired.Store(res.Expired)
	snapBytes := prog.Loaded.Load()

	// Replay the log after the snapshot.
	expect := snapSeq + 1
	var batch []pendingRecord
	var batchBytes int64
	var inTx bool
	var tx []pendingRecord
	var txSeg SegmentInfo
	var txOff int64
	var applyErr error
	var readBytes int64
	flush := func() {
		if len(batch) == 0 || applyErr != nil {
			return
		}
		host.WithLock(func() {
			for _, r := range batch {
				clock.Store(r.ts)
				if err := host.Apply(r.db, r.argv, r.ts); err != nil {
					if errors.Is(err, ErrReplayFatal) {
						applyErr = err
						return
					}
					res.Errors++
					if res.Errors <= 5 {
						opts.Logger.Warn("replayed record returned an error", "cmd", string(r.argv[0]), "err", err)
					}
				}
				res.Replayed++
			}
		})
		batch = batch[:0]
		batchBytes = 0
	}
	var lastSeq uint64
	scan, err := ScanLog(opts.FS, opts.LogDir, opts.Prefix, func(r Record, seg SegmentInfo, off int64) error {
		size := int64(recordPrefix + recordFixed)
		for _, a := range r.Argv {
			size += 4 + int64(len(a))
		}
		readBytes += size
		prog.Loaded.Store(snapBytes + readBytes)
		lastSeq = r.Seq
		if !opts.UseLog || r.Seq < expect {
			return nil
		}
		if r.Seq != expect {
			return &CorruptError{File: seg.Path, Offset: off, Seq: r.Seq,
				Reason: fmt.Sprintf("records %d..%d are missing (the snapshot covers up to %d)", expect, r.Seq-1, snapSeq)}
		}
		expect++
		name := strings.ToUpper(string(r.Argv[0]))
		if name == "MULTI" && len(r.Argv) == 1 {
			if inTx {
				return &CorruptError{File: seg.Path, Offset: off, Seq: r.Seq, Reason: "MULTI inside a transaction"}
			}
			inTx, tx, txSeg, txOff = true, tx[:0], seg, off
			return nil
		}
		if name == "EXEC" && len(r.Argv) == 1 {
			if !inTx {
				return &CorruptError{File: seg.Path, Offset: off, Seq: r.Seq, Reason: "EXEC without MULTI"}
			}
			inTx = false
			batch = append(batch, tx...)
			tx = tx[:0]
			return nil
		}
		cp := pendingRecord{db: r.DB, ts: r.Time, size: size, argv: make([][]byte, len(r.Argv))}
		for i, a := range r.Argv {
			cp.argv[i] = append([]byte(nil), a...)
		}
		if inTx {
			tx = append(tx, cp)
			return nil
		}
		batch = append(batch, cp)
		batchBytes += size
		if len(batch) >= 512 || batchBytes >= 4<<20 {
			flush()
		}
		return applyErr
	})
	if err == nil {
		flush()
		err = applyErr
	}
	if err != nil && !opts.UseLog {
		// appendonly no: the log is not loaded (as Redis ignores the AOF),
		// so damage in it does not stop start-up; sequence numbers go on
		// after the last good record read.
		opts.Logger.Warn("the append-only log is damaged; it is not loaded (appendonly no)", "err", err)
		err = nil
		if scan == nil {
			scan = &ScanResult{}
		}
		scan.Torn = nil
	}
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w\nthe data directory needs attention: run `slotvault check --dir <dir>` (and --fix to cut a damaged tail)", err)
		}
		return nil, err
	}
	if scan.Torn != nil && !opts.UseLog {
		scan.Torn = nil // not loaded, so not trimmed either
	}
	if scan.Torn != nil {
		if !opts.TrimTorn {
			return nil, fmt.Errorf("%w\nthe append-only log ends in an incomplete record; start with aof-load-truncated yes to trim it, or run `slotvault check --dir <dir> --fix`", scan.Torn)
		}
		opts.Logger.Warn("!!! Warning: the append-only log ends in a torn record (a crash cut the last write); trimming it", "file", scan.Torn.File, "offset", scan.Torn.Offset, "seq", scan.Torn.Seq, "reason", scan.Torn.Reason)
		if err := TrimSegment(opts.FS, scan.TornSegment, scan.ValidLen); err != nil {
			return nil, err
		}
		res.Trimmed = true
	}
	if inTx && opts.UseLog {
		if !opts.TrimTorn {
			return nil, fmt.Errorf("%w: the append-only log ends inside a MULTI/EXEC transaction (%s offset %d); start with aof-load-truncated yes or run `slotvault check --fix`", ErrTornTail, txSeg.Path, txOff)
		}
		opts.Logger.Warn("!!! Warning: revert incomplete MULTI/EXEC transaction at the end of the append-only log", "file", txSeg.Path, "offset", txOff)
		if err := trimFrom(opts.FS, opts.LogDir, opts.Prefix, txSeg, txOff); err != nil {
			return nil, err
		}
		lastSeq = expect - uint64(len(tx)) - 2
		res.Trimmed = true
	}
	if scan.LastSeq > lastSeq && !inTx {
		lastSeq = scan.LastSeq
	}
	next := snapSeq + 1
	if lastSeq+1 > next {
		next = lastSeq + 1
	}
	res.NextSeq = next
	prog.Loaded.Store(prog.TotalBytes.Load())
	return res, nil
}

// trimFrom cuts the log at offset off of segment seg and deletes every
// later segment.
func trimFrom(fs vfs.FS, dir, prefix string, seg SegmentInfo, off int64) error {
	segs, err := ListSegments(fs, dir, prefix)
	if err != nil {
		return err
	}
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].FirstSeq > seg.FirstSeq {
			if err := fs.Remove(segs[i].Path); err != nil {
				return fmt.Errorf("persistence: remove %s: %w", segs[i].Path, err)
			}
		}
	}
	return TrimSegment(fs, seg, off)
}

// loadBatch is a run of snapshot keys copied out of Pebble's buffers into
// one arena, cut at a slot boundary so each slot's keys arrive together.
type loadBatch struct {
	arena []byte
	ents  []loadEnt
	bytes int64 // snapshot bytes read up to the end of this batch
}

type loadEnt struct {
	db, slot       int
	expire         int64
	keyEnd, payEnd int // offsets in arena: key is [start, keyEnd), payload [keyEnd, payEnd)
}

const (
	loadBatchKeys  = 1024
	loadBatchBytes = 4 << 20
	// A slot larger than this is loaded in several batches.
	loadBatchMaxKeys = 64 << 10
)

// loadSnapshot loads one snapshot into the host's databases. Reading
// Pebble runs in its own goroutine, one batch ahead of the inserts, which
// run under the node lock (values are decoded there too, as the codec may
// read the node's configuration). Each slot's map is sized for its keys
// before they go in.
func loadSnapshot(host Host, codec Codec, st *SnapshotStore, m Manifest, prog *LoadProgress) (keys, expired int64, err error) {
	now := time.Now().UnixMilli()
	batches := make(chan *loadBatch, 2)
	free := make(chan *loadBatch, 3)
	for i := 0; i < 3; i++ {
		free <- &loadBatch{}
	}
	stop := make(chan struct{})
	var loadErr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(batches)
		b := <-free
		lastDB, lastSlot := -1, -1
		send := func() bool {
			select {
			case batches <- b:
			case <-stop:
				return false
			}
			select {
			case b = <-free:
			case <-stop:
				return false
			}
			b.arena, b.ents = b.arena[:0], b.ents[:0]
			return true
		}
		var read int64
		loadErr = st.Load(m, func(e SnapshotEntry) error {
			n := len(b.ents)
			if n > 0 && (n >= loadBatchMaxKeys ||
				((n >= loadBatchKeys || len(b.arena) >= loadBatchBytes) && (e.DB != lastDB || e.Slot != lastSlot))) {
				b.bytes = read
				if !send() {
					return errStop
				}
			}
			lastDB, lastSlot = e.DB, e.Slot
			b.arena = append(b.arena, e.Key...)
			ke := len(b.arena)
			b.arena = append(b.arena, e.Payload...)
			b.ents = append(b.ents, loadEnt{db: e.DB, slot: e.Slot, expire: e.Expire, keyEnd: ke, payEnd: len(b.arena)})
			read += int64(len(e.Key) + len(e.Payload) + 21)
			return nil
		}, nil)
		if loadErr == nil && len(b.ents) > 0 {
			b.bytes = read
			send()
		}
	}()
	var decodeErr error
	for b := range batches {
		if decodeErr == nil {
			host.WithLock(func() { decodeErr = applyLoadBatch(host, codec, m, b, now, &keys, &expired) })
			prog.Loaded.Store(b.bytes)
			if decodeErr != nil {
				close(stop)
			}
		}
		free <- b
	}
	<-readerDone
	if decodeErr != nil {
		return keys, expired, decodeErr
	}
	if loadErr != nil {
		return keys, expired, loadErr
	}
	prog.Loaded.Store(m.Bytes)
	return keys, expired, nil
}

// applyLoadBatch inserts one batch; it runs under the node lock.
func applyLoadBatch(host Host, codec Codec, m Manifest, b *loadBatch, now int64, keys, expired *int64) error {
	n := host.NumDBs()
	start := 0
	for i := range b.ents {
		e := &b.ents[i]
		if e.db >= n {
			return fmt.Errorf("%w: snapshot %d holds database %d, the node has %d", ErrCorrupt, m.ID, e.db, n)
		}
		if e.slot >= slots.Count {
			return fmt.Errorf("%w: snapshot %d holds slot %d", ErrCorrupt, m.ID, e.slot)
		}
		db := host.DB(e.db)
		if i == 0 || e.slot != b.ents[i-1].slot || e.db != b.ents[i-1].db {
			j := i + 1
			for j < len(b.ents) && b.ents[j].slot == e.slot && b.ents[j].db == e.db {
				j++
			}
			db.Reserve(e.slot, j-i)
		}
		key := string(b.arena[start:e.keyEnd])
		v, err := codec.Decode(b.arena[e.keyEnd:e.payEnd])
		start = e.payEnd
		if err != nil {
			return fmt.Errorf("%w: snapshot %d key %q: %v", ErrCorrupt, m.ID, key, err)
		}
		*keys++
		if e.expire != 0 && e.expire <= now {
			*expired++
		}
		// The slot stored with the key is the one its writer computed (a
		// node from the key itself; restore after checking it against the
		// key), and the table's block checksums and the manifest's sum
		// guard it since: it is not hashed again.
		db.SetInSlot(e.slot, key, v, e.expire)
	}
	return nil
}
