package store

import (
	"math/rand/v2"
	"strings"

	"github.com/slotvault/slotvault/slots"
)

// slotTable holds the keys of one hash slot.
type slotTable struct {
	keys map[string]*Entry
	// expires indexes the keys with an expiry (Redis's per-db expires
	// dict), so active expiry looks only at volatile keys.
	expires map[string]*Entry
}

// DB is one logical database.
type DB struct {
	tables [slots.Count]*slotTable
	// keyMaps[s] is tables[s].keys (nil for an empty slot), so that a
	// lookup goes from the slot straight to its map: one dependent memory
	// load fewer on the hot path, which measurably matters for a keyspace
	// larger than the CPU caches (docs/benchmarks.md).
	keyMaps [slots.Count]map[string]*Entry
	size    int
	// nonEmpty counts slots holding at least one key.
	nonEmpty int
	volatile int
	// expireCursor is the next slot the active-expiry cycle visits.
	expireCursor int
	// Now returns the current time in Unix milliseconds; replaced in tests.
	Now func() int64
	// OnExpire, when set, is called for each key removed by expiry (lazy or
	// active) before it is removed, so the node can propagate a DEL and
	// notify watchers.
	OnExpire func(key string)
	// LFU selects what Entry.LRU tracks on access: the LRU clock (false)
	// or the LFU word (true), following maxmemory-policy.
	LFU bool
	// LFULogFactor and LFUDecayTime are lfu-log-factor and lfu-decay-time
	// (Redis defaults 10 and 1 when zero / negative).
	LFULogFactor, LFUDecayTime int
	// hintSlot and hintKeys are the size Reserve asked for the next
	// table created for hintSlot (0: none).
	hintSlot, hintKeys int
	// views are the active copy-on-write views (snapshot.go).
	views []*View
	// Expiry says what reads do with logically expired keys: delete them
	// (a master), hide them (a replica: it waits for its master's DEL), or
	// see them (a replica applying its master's stream).
	Expiry ExpiryMode
}

// ExpiryMode selects how a DB treats keys whose expire time has passed.
type ExpiryMode uint8

const (
	// ExpireDelete removes expired keys on access and in the active cycle
	// (reporting them through OnExpire), as a Redis master does.
	ExpireDelete ExpiryMode = iota
	// ExpireHide reports expired keys as missing but keeps them, and the
	// active cycle does nothing: a replica's clients do not see them, and
	// the key goes when the master's DEL arrives.
	ExpireHide
	// ExpireIgnore does not check expire times at all: the master's
	// commands, applied on a replica, see every key the master still has.
	ExpireIgnore
)

// expired reports whether e counts as expired under the DB's mode.
func (db *DB) expired(e *Entry) bool {
	return e.Expire != 0 && db.Expiry != ExpireIgnore && e.Expire <= db.Now()
}

// NewDB returns an empty database using now as its clock.
func NewDB(now func() int64) *DB {
	return &DB{Now: now, LFULogFactor: 10, LFUDecayTime: 1}
}

// Size returns the number of keys, including expired keys not yet removed.
func (db *DB) Size() int { return db.size }

// Volatile returns the number of keys with an expiry.
func (db *DB) Volatile() int { return db.volatile }

func (db *DB) table(slot int) *slotTable {
	t := db.tables[slot]
	if t == nil {
		n := 0
		if db.hintKeys > 0 && db.hintSlot == slot {
			n, db.hintKeys = db.hintKeys, 0
		}
		t = &slotTable{keys: make(map[string]*Entry, n)}
		db.tables[slot] = t
		db.keyMaps[slot] = t.keys
	}
	return t
}

// Reserve makes room for n keys in an empty slot, so that a bulk load
// (a snapshot being loaded, which knows each slot's key count) fills its
// map without growing it step by step. The hint applies to the slot's
// next first key (an empty slot has no table); it does nothing to a slot
// that holds keys.
func (db *DB) Reserve(slot, n int) {
	if db.tables[slot] == nil && n > 8 {
		db.hintSlot, db.hintKeys = slot, n
	}
}

func (t *slotTable) setVolatile(key string, e *Entry) {
	if t.expires == nil {
		t.expires = make(map[string]*Entry)
	}
	t.expires[key] = e
}

// Peek returns the entry for key without expiry checks.
func (db *DB) Peek(key string) *Entry {
	db.beforeAccessKey(key)
	return db.keyMaps[slots.KeySlotString(key)][key]
}

// Lookup returns the live entry for key, removing it first if it has
// expired, and records the access (LRU clock or LFU counter), as Redis's
// lookupKey does.
func (db *DB) Lookup(key string) *Entry {
	e := db.LookupNoTouch(key)
	if e != nil {
		db.Touch(e)
	}
	return e
}

// LookupNoTouch is Lookup without recording an access (Redis's
// LOOKUP_NOTOUCH: TYPE, TTL, EXISTS, OBJECT, SCAN).
func (db *DB) LookupNoTouch(key string) *Entry {
	slot := slots.KeySlotString(key)
	db.beforeAccess(slot)
	e := db.keyMaps[slot][key]
	if e == nil {
		return nil
	}
	if db.expired(e) {
		if db.Expiry == ExpireDelete {
			db.expire(slot, db.tables[slot], key)
		}
		return nil
	}
	return e
}

// LookupNoExpire returns the entry for key, or nil when it is missing or has
// expired, without removing it (used where Redis must not delete, e.g. on a
// read-only replica or while loading).
func (db *DB) LookupNoExpire(key string) *Entry {
	e := db.Peek(key)
	if e == nil || db.expired(e) {
		return nil
	}
	return e
}

func (db *DB) expire(slot int, t *slotTable, key string) {
	db.beforeAccess(slot)
	if db.OnExpire != nil {
		// A copy: callers pass keys converted from request bytes, which
		// then need not escape (no allocation per lookup); expiry is rare.
		db.OnExpire(strings.Clone(key))
	}
	db.removeFrom(slot, t, key)
}

func (db *DB) removeFrom(slot int, t *slotTable, key string) *Entry {
	e := t.keys[key]
	if e == nil {
		return nil
	}
	delete(t.keys, key)
	db.size--
	if e.Expire != 0 {
		delete(t.expires, key)
		db.volatile--
	}
	if len(t.keys) == 0 {
		db.nonEmpty--
		db.tables[slot] = nil
		db.keyMaps[slot] = nil
	}
	return e
}

// Set stores v under key with the given absolute expiry (0 = none),
// replacing any previous value. The key string is retained. A new value
// starts with a fresh access record; under LFU an overwritten key keeps
// its counter, as Redis's dbSetValue does.
func (db *DB) Set(key string, v Value, expire int64) *Entry {
	return db.SetInSlot(slots.KeySlotString(key), key, v, expire)
}

// SetInSlot is Set for a caller that already knows the key's slot, which
// must be slots.KeySlotString(key) (0 <= slot < slots.Count): loading a
// snapshot, whose keys are stored under their slot, spares hashing each
// key again.
func (db *DB) SetInSlot(slot int, key string, v Value, expire int64) *Entry {
	db.beforeAccess(slot)
	t := db.table(slot)
	if old := t.keys[key]; old != nil {
		if old.Expire != 0 {
			delete(t.expires, key)
			db.volatile--
		}
		old.Value = v
		old.Expire = expire
		if expire != 0 {
			t.setVolatile(key, old)
			db.volatile++
		}
		if !db.LFU {
			old.LRU = db.lruClock()
		}
		return old
	}
	if len(t.keys) == 0 {
		db.nonEmpty++
	}
	e := &Entry{Value: v, Expire: expire}
	db.initAccess(e)
	t.keys[key] = e
	db.size++
	if expire != 0 {
		t.setVolatile(key, e)
		db.volatile++
	}
	return e
}

// SetExpire changes the expiry of an existing key (0 removes it). It reports
// whether the key exists.
func (db *DB) SetExpire(key string, expire int64) bool {
	slot := slots.KeySlotString(key)
	db.beforeAccess(slot)
	t := db.tables[slot]
	if t == nil {
		return false
	}
	e := t.keys[key]
	if e == nil {
		return false
	}
	if e.Expire != 0 {
		delete(t.expires, key)
		db.volatile--
	}
	e.Expire = expire
	if expire != 0 {
		// Copied so that key does not escape: callers pass converted request
		// bytes.
		t.setVolatile(strings.Clone(key), e)
		db.volatile++
	}
	return true
}

// Delete removes key and returns its entry, or nil when it did not exist.
// Expired keys count as missing.
func (db *DB) Delete(key string) *Entry {
	slot := slots.KeySlotString(key)
	db.beforeAccess(slot)
	t := db.tables[slot]
	if t == nil {
		return nil
	}
	e := t.keys[key]
	if e == nil {
		return nil
	}
	if db.expired(e) {
		if db.Expiry == ExpireDelete {
			db.expire(slot, t, key)
		}
		return nil
	}
	return db.removeFrom(slot, t, key)
}

// Flush removes every key.
func (db *DB) Flush() {
	db.beforeAccessAll()
	for i := range db.tables {
		db.tables[i] = nil
		db.keyMaps[i] = nil
	}
	db.size, db.nonEmpty, db.volatile = 0, 0, 0
}

// CountInSlot returns the number of keys held in slot.
func (db *DB) CountInSlot(slot int) int {
	if t := db.tables[slot]; t != nil {
		return len(t.keys)
	}
	return 0
}

// KeysInSlot calls fn for every key in slot (expired or not) until fn
// returns false. fn must not modify the DB.
func (db *DB) KeysInSlot(slot int, fn func(key string, e *Entry) bool) {
	db.beforeAccess(slot)
	t := db.tables[slot]
	if t == nil {
		return
	}
	for k, e := range t.keys {
		if !fn(k, e) {
			return
		}
	}
}

// NextNonEmptySlot returns the first slot >= from holding keys, or -1.
func (db *DB) NextNonEmptySlot(from int) int {
	if from < 0 {
		from = 0
	}
	for s := from; s < slots.Count; s++ {
		if db.tables[s] != nil {
			return s
		}
	}
	return -1
}

// RandomKey returns a random live key, or "" and false when the DB is
// empty. Expired keys it draws are removed (and reported through
// OnExpire), as Redis's dbRandomKey does on a master, so the loop ends:
// every round either returns or shrinks the DB.
func (db *DB) RandomKey() (string, bool) {
	tries := 100
	for db.size > 0 {
		s := db.NextNonEmptySlot(rand.IntN(slots.Count))
		if s < 0 {
			s = db.NextNonEmptySlot(0)
		}
		t := db.tables[s]
		n := rand.IntN(len(t.keys))
		for k, e := range t.keys {
			if n > 0 {
				n--
				continue
			}
			if db.expired(e) {
				if db.Expiry == ExpireDelete {
					db.expire(s, t, k)
					break
				}
				// A replica keeps expired keys: after enough draws it
				// returns one, as Redis's dbRandomKey does.
				if tries--; tries > 0 {
					break
				}
			}
			return k, true
		}
	}
	return "", false
}

// ActiveExpireCycle visits slots holding keys with an expiry, starting where
// the previous call stopped, and removes expired keys. It examines only
// volatile keys, stops after about budget of them, and returns how many it
// removed.
func (db *DB) ActiveExpireCycle(budget int) int {
	if db.volatile == 0 || db.Expiry != ExpireDelete {
		return 0
	}
	now := db.Now()
	removed, examined := 0, 0
	var dead []string
	for visited := 0; visited < slots.Count && examined < budget && db.volatile > 0; visited++ {
		s := db.expireCursor
		db.expireCursor = (db.expireCursor + 1) % slots.Count
		t := db.tables[s]
		if t == nil || len(t.expires) == 0 {
			continue
		}
		dead = dead[:0]
		for k, e := range t.expires {
			examined++
			if e.Expire <= now {
				dead = append(dead, k)
			}
		}
		for _, k := range dead {
			// OnExpire may not change this slot, but guard anyway.
			if db.tables[s] == nil {
				break
			}
			db.expire(s, db.tables[s], k)
			removed++
		}
	}
	return removed
}
