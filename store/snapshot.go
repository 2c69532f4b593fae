package store

import (
	"math/bits"

	"github.com/slotvault/slotvault/slots"
)

// A View is a consistent, copy-on-write view of one DB at one point of the
// write stream: every key the DB held when the view started, with its value
// and expiry as they were then, delivered slot by slot to the view's
// SlotFunc. It is how snapshots (and later replica full sync, slot migration
// and backups) read the keyspace without stopping the node and without
// copying it:
//
//   - StartView marks every non-empty slot pending.
//   - The owner calls Step (with the node lock held, briefly) to deliver the
//     next pending slots, until it reports no more.
//   - Before any access to a pending slot through the DB's methods (Lookup,
//     Peek, Set, Delete, SetExpire, KeysInSlot, Flush ...), the DB first
//     delivers that slot as it is then — still its content at the start of
//     the view, because nothing has touched it since — and only then lets
//     the access proceed. So a command that modifies a value in place after
//     looking it up can never change what the view sees.
//
// Keys removed by expiry (lazy or active) may be missing from the view: the
// removal is propagated as a DEL after the view's point, so a consumer that
// applies the view and then the write stream from that point ends in the
// same state.
//
// Every DB method that returns an entry or changes a slot must call
// beforeAccess (or beforeAccessAll) first; that is the whole contract that
// keeps views consistent.
//
// The SlotFunc runs with the node lock held, inside whatever command
// triggered it: it must encode or copy what it needs and return quickly; it
// must not call the DB. Views are not safe for concurrent use; every method
// requires the node lock. Several views may be active on one DB at once.
type View struct {
	db      *DB
	fn      SlotFunc
	pending [slots.Count / 64]uint64
	left    int
	cursor  int
	closed  bool
}

// SlotFunc receives the content of one slot for a view.
type SlotFunc func(slot int, keys SlotKeys)

// SlotKeys is the content of one slot handed to a SlotFunc; valid only
// during the call.
type SlotKeys struct{ t *slotTable }

// Len returns the number of keys.
func (s SlotKeys) Len() int {
	if s.t == nil {
		return 0
	}
	return len(s.t.keys)
}

// Range calls fn for each key until fn returns false. fn must not modify
// the entry.
func (s SlotKeys) Range(fn func(key string, e *Entry) bool) {
	if s.t == nil {
		return
	}
	for k, e := range s.t.keys {
		if !fn(k, e) {
			return
		}
	}
}

// StartView starts a view of db at this point. Node lock held.
func (db *DB) StartView(fn SlotFunc) *View {
	v := &View{db: db, fn: fn}
	for s, t := range db.tables {
		if t != nil {
			v.pending[s/64] |= 1 << (s % 64)
			v.left++
		}
	}
	if v.left > 0 {
		db.views = append(db.views, v)
	} else {
		v.closed = true
	}
	return v
}

// Pending returns the number of slots not yet delivered.
func (v *View) Pending() int { return v.left }

// Step delivers pending slots in slot order until about maxKeys keys have
// been delivered (at least one slot). It reports whether slots remain.
// Node lock held.
func (v *View) Step(maxKeys int) bool {
	n := 0
	for v.left > 0 && (n == 0 || n < maxKeys) {
		s := v.nextPending()
		if s < 0 {
			break
		}
		n += v.db.CountInSlot(s) + 1
		v.deliver(s)
	}
	return v.left > 0
}

// Finish delivers every pending slot. Node lock held.
func (v *View) Finish() {
	for v.left > 0 {
		v.deliver(v.nextPending())
	}
}

// Close abandons the view: nothing more is delivered. Node lock held.
func (v *View) Close() {
	if v.closed {
		return
	}
	v.closed = true
	v.left = 0
	v.db.removeView(v)
}

func (v *View) nextPending() int {
	for w := v.cursor / 64; w < len(v.pending); w++ {
		if x := v.pending[w]; x != 0 {
			s := w*64 + bits.TrailingZeros64(x)
			v.cursor = s
			return s
		}
	}
	return -1
}

func (v *View) isPending(slot int) bool {
	return v.pending[slot/64]&(1<<(slot%64)) != 0
}

func (v *View) deliver(slot int) {
	v.pending[slot/64] &^= 1 << (slot % 64)
	v.left--
	v.fn(slot, SlotKeys{v.db.tables[slot]})
	if v.left == 0 {
		v.closed = true
		v.db.removeView(v)
	}
}

func (db *DB) removeView(v *View) {
	for i, x := range db.views {
		if x == v {
			db.views = append(db.views[:i], db.views[i+1:]...)
			return
		}
	}
}

// beforeAccess delivers slot to every view still waiting for it; the DB
// calls it before any access that may lead to a change of the slot.
func (db *DB) beforeAccess(slot int) {
	if len(db.views) == 0 {
		return
	}
	for i := 0; i < len(db.views); i++ {
		v := db.views[i]
		if v.isPending(slot) {
			v.deliver(slot)
			if v.closed {
				i-- // removed itself
			}
		}
	}
}

// beforeAccessAll delivers everything pending (FLUSHDB and the like).
func (db *DB) beforeAccessAll() {
	for len(db.views) > 0 {
		db.views[0].Finish()
	}
}

// beforeAccessKey is beforeAccess for a key.
func (db *DB) beforeAccessKey(key string) {
	if len(db.views) > 0 {
		db.beforeAccess(slots.KeySlotString(key))
	}
}
