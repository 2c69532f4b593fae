package persistence

import (
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	"github.com/slotvault/slotvault/store"
)

// KeyFunc receives one key of a consistent view: its database (as numbered
// when the view started), slot, name and entry as they were at the view's
// point. It runs with the node lock held, possibly inside a command: it
// must copy or encode what it needs and return quickly.
type KeyFunc func(db, slot int, key string, e *store.Entry)

// Cut is a consistent view of every database at one point of the write
// stream (a log sequence number): the reusable mechanism behind snapshots,
// and later replica full sync, slot migration and backups. See store.View
// for how it stays consistent while the node serves writes.
type Cut struct {
	host  Host
	views []*store.View
	// Seq is the log sequence number the cut is consistent with: it holds
	// the effect of every record <= Seq and of none after.
	Seq uint64
	// Keys counts keys delivered so far (atomic: read by INFO).
	keys atomic.Int64
	// Total is the number of keys when the cut started.
	Total int64
}

// NewCutLocked starts a cut of every database at seq, the sequence of the
// last record appended (the caller holds the node lock, so no command runs
// in between). fn receives each key exactly once.
func NewCutLocked(host Host, seq uint64, fn KeyFunc) *Cut {
	c := &Cut{host: host, Seq: seq}
	for i := 0; i < host.NumDBs(); i++ {
		i := i
		db := host.DB(i)
		c.Total += int64(db.Size())
		c.views = append(c.views, db.StartView(func(slot int, keys store.SlotKeys) {
			keys.Range(func(k string, e *store.Entry) bool {
				fn(i, slot, k, e)
				return true
			})
			c.keys.Add(int64(keys.Len()))
		}))
	}
	return c
}

// StepLocked delivers pending slots worth about maxKeys keys and reports
// whether more remain. Node lock held.
func (c *Cut) StepLocked(maxKeys int) bool {
	for _, v := range c.views {
		if v.Pending() > 0 {
			v.Step(maxKeys)
			break
		}
	}
	return c.pendingLocked()
}

func (c *Cut) pendingLocked() bool {
	for _, v := range c.views {
		if v.Pending() > 0 {
			return true
		}
	}
	return false
}

// FinishLocked delivers everything left. Node lock held.
func (c *Cut) FinishLocked() {
	for _, v := range c.views {
		v.Finish()
	}
}

// CloseLocked abandons the cut. Node lock held.
func (c *Cut) CloseLocked() {
	for _, v := range c.views {
		v.Close()
	}
}

// Delivered returns the number of keys delivered so far.
func (c *Cut) Delivered() int64 { return c.keys.Load() }

// snapshotJob writes one Cut into the snapshot store.
//
// A background job keeps the node lock short: a slot delivered under the
// lock (by the job's own step or by a command touching a pending slot) is
// not encoded there; its values are cloned into held, which the job's
// goroutine encodes and writes outside the lock. Cloning a value is several
// times cheaper than encoding it (no RDB encoding, CRC64 or Pebble batch
// work under the lock). held is bounded (heldMaxEntries / heldMaxBytes);
// past that, slots are encoded inline as SAVE does, so memory stays bounded
// even when commands outrun the job.
type snapshotJob struct {
	cut   *Cut
	w     *snapshotWriter
	codec Codec
	// err is the first encoding or write error; guarded by the node lock.
	err error
	// inlineLimit is the batch size above which a command that triggered
	// a slot delivery writes the batch itself (bounding memory).
	inlineLimit int
	// deferEncode enables held (background jobs only).
	deferEncode bool
	held        []heldEntry
	heldBytes   int
}

// heldEntry is one key cloned under the node lock, to be encoded outside.
type heldEntry struct {
	db, slot int
	key      string
	expire   int64
	v        store.Value
}

const (
	heldMaxEntries = 64 << 10
	heldMaxBytes   = 8 << 20
)

// heldSize estimates the memory a cloned value holds.
func heldSize(key string, v store.Value) int {
	n := len(key) + 64
	if s, ok := v.(*store.String); ok {
		n += len(s.B)
	} else {
		n += 256
	}
	return n
}

// beginSnapshotLocked starts a snapshot at seq. Node lock held.
func beginSnapshotLocked(host Host, codec Codec, st *SnapshotStore, seq uint64, nowMs int64) (*snapshotJob, error) {
	w, err := st.newWriter(seq, host.NumDBs(), nowMs)
	if err != nil {
		return nil, fmt.Errorf("persistence: start snapshot: %w", err)
	}
	j := &snapshotJob{w: w, codec: codec, inlineLimit: 8 << 20}
	j.cut = NewCutLocked(host, seq, func(db, slot int, key string, e *store.Entry) {
		if j.err != nil {
			return
		}
		if j.deferEncode && len(j.held) < heldMaxEntries && j.heldBytes < heldMaxBytes {
			j.held = append(j.held, heldEntry{db, slot, key, e.Expire, e.Value.Clone()})
			j.heldBytes += heldSize(key, e.Value)
			return
		}
		p, err := codec.Encode(e.Value)
		if err != nil {
			j.err = fmt.Errorf("persistence: encode key %q: %w", key, err)
			return
		}
		j.w.add(db, slot, key, e.Expire, p)
		if j.w.pending() > j.inlineLimit {
			if err := commitBatch(j.w.takeBatch()); err != nil {
				j.err = err
			}
		}
	})
	return j, nil
}

// runBackground serialises the cut slot by slot, taking the node lock per
// step to clone a few slots, and encodes and writes them outside the lock.
// It returns the manifest.
func (j *snapshotJob) runBackground(host Host, stepKeys int, nowMs func() int64) (Manifest, error) {
	bg := j.w.fork()
	var spare []heldEntry
	fail := func(err error) (Manifest, error) {
		host.WithLock(func() { j.cut.CloseLocked() })
		bg.batch.Close()
		j.w.abort()
		return Manifest{}, err
	}
	host.WithLock(func() { j.deferEncode = true })
	for {
		var more bool
		var b *pebble.Batch
		var held []heldEntry
		var err error
		host.WithLock(func() {
			more = j.cut.StepLocked(stepKeys)
			b = j.w.takeBatch()
			held, j.held, j.heldBytes = j.held, spare[:0], 0
			err = j.err
			if err != nil {
				j.cut.CloseLocked()
			}
		})
		if err != nil {
			b.Close()
			bg.batch.Close()
			j.w.abort()
			return Manifest{}, err
		}
		if err := commitBatch(b); err != nil {
			return fail(fmt.Errorf("persistence: write snapshot: %w", err))
		}
		for i := range held {
			h := &held[i]
			p, err := j.codec.Encode(h.v)
			if err != nil {
				return fail(fmt.Errorf("persistence: encode key %q: %w", h.key, err))
			}
			bg.add(h.db, h.slot, h.key, h.expire, p)
			if bg.pending() > j.inlineLimit {
				if err := commitBatch(bg.takeBatch()); err != nil {
					return fail(fmt.Errorf("persistence: write snapshot: %w", err))
				}
			}
		}
		if err := commitBatch(bg.takeBatch()); err != nil {
			return fail(fmt.Errorf("persistence: write snapshot: %w", err))
		}
		clear(held) // drop the clones now, not when the slice is reused
		spare = held[:0]
		if !more {
			break
		}
	}
	bg.batch.Close()
	// The view has delivered everything: nothing touches j.w any more.
	j.w.merge(bg)
	m, err := j.w.finish(nowMs())
	if err != nil {
		j.w.abort()
		return Manifest{}, fmt.Errorf("persistence: finish snapshot: %w", err)
	}
	return m, nil
}

// runLocked takes the whole snapshot with the node lock held (SAVE).
func (j *snapshotJob) runLocked(nowMs func() int64) (Manifest, error) {
	for {
		more := j.cut.StepLocked(4096)
		if j.err != nil {
			j.cut.CloseLocked()
			j.w.abort()
			return Manifest{}, j.err
		}
		if err := commitBatch(j.w.takeBatch()); err != nil {
			j.cut.CloseLocked()
			j.w.abort()
			return Manifest{}, fmt.Errorf("persistence: write snapshot: %w", err)
		}
		if !more {
			break
		}
	}
	m, err := j.w.finish(nowMs())
	if err != nil {
		j.w.abort()
		return Manifest{}, fmt.Errorf("persistence: finish snapshot: %w", err)
	}
	return m, nil
}
