// Package dict is the hash table behind slotvault's "hashtable"-encoded
// aggregates (hashes and sets, and anything else that needs SCAN-style
// cursors over a large map).
//
// It follows Redis's dict.c in the two properties Go's built-in map cannot
// offer:
//
//   - Scan takes an opaque cursor and visits buckets in reverse-binary
//     order, so an element present in the table for the whole duration of a
//     scan is returned at least once, however much the table grows or
//     shrinks between calls. A cursor costs nothing to keep: no snapshot of
//     the keys is ever taken.
//   - Growing and shrinking are incremental: a resize allocates the new
//     bucket array and each later write moves a few buckets, so no single
//     command pays for rehashing a huge table.
//
// Keys are strings (Go strings are immutable, so values can share them
// freely between clones). The table is not safe for concurrent use; reads
// (Get, Len, Range, Scan, Random) never modify it, so concurrent readers are
// fine while no writer runs.
package dict

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
)

const (
	initialSize = 4
	// minFill is the fill percentage under which a table shrinks, as
	// Redis's HASHTABLE_MIN_FILL.
	minFill = 10
	// emptyVisits bounds the empty buckets one rehash step may skip.
	emptyVisits = 10
)

type entry[V any] struct {
	key  string
	val  V
	next *entry[V]
}

// Dict maps string keys to values of type V.
type Dict[V any] struct {
	t    [2][]*entry[V]
	used [2]int
	// rehashIdx is the next bucket of t[0] to move to t[1]; -1 when no
	// rehash is in progress.
	rehashIdx int
	seed      maphash.Seed
}

// New returns an empty table sized for about hint keys.
func New[V any](hint int) *Dict[V] {
	d := &Dict[V]{rehashIdx: -1, seed: maphash.MakeSeed()}
	d.t[0] = make([]*entry[V], sizeFor(hint))
	return d
}

// sizeFor returns the smallest power of two >= n (at least initialSize).
func sizeFor(n int) int {
	s := initialSize
	for s < n {
		s <<= 1
	}
	return s
}

// Len returns the number of keys.
func (d *Dict[V]) Len() int { return d.used[0] + d.used[1] }

func (d *Dict[V]) rehashing() bool { return d.rehashIdx >= 0 }

func (d *Dict[V]) hash(key string) uint64 { return maphash.String(d.seed, key) }

// find returns the entry for key, or nil.
func (d *Dict[V]) find(key string) *entry[V] {
	h := d.hash(key)
	for i := 0; i < 2; i++ {
		t := d.t[i]
		if len(t) == 0 {
			break
		}
		for e := t[h&uint64(len(t)-1)]; e != nil; e = e.next {
			if e.key == key {
				return e
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// Get returns the value stored under key.
func (d *Dict[V]) Get(key string) (V, bool) {
	if e := d.find(key); e != nil {
		return e.val, true
	}
	var zero V
	return zero, false
}

// Has reports whether key is present.
func (d *Dict[V]) Has(key string) bool { return d.find(key) != nil }

// Set stores val under key and reports whether the key is new.
func (d *Dict[V]) Set(key string, val V) bool {
	d.rehashStep()
	if e := d.find(key); e != nil {
		e.val = val
		return false
	}
	d.expandIfNeeded()
	i := 0
	if d.rehashing() {
		i = 1
	}
	t := d.t[i]
	b := d.hash(key) & uint64(len(t)-1)
	t[b] = &entry[V]{key: key, val: val, next: t[b]}
	d.used[i]++
	return true
}

// Delete removes key and reports whether it was present.
func (d *Dict[V]) Delete(key string) bool {
	d.rehashStep()
	h := d.hash(key)
	for i := 0; i < 2; i++ {
		t := d.t[i]
		if len(t) == 0 {
			break
		}
		b := h & uint64(len(t)-1)
		var prev *entry[V]
		for e := t[b]; e != nil; prev, e = e, e.next {
			if e.key != key {
				continue
			}
			if prev == nil {
				t[b] = e.next
			} else {
				prev.next = e.next
			}
			d.used[i]--
			d.shrinkIfNeeded()
			return true
		}
		if !d.rehashing() {
			break
		}
	}
	return false
}

func (d *Dict[V]) expandIfNeeded() {
	if d.rehashing() {
		return
	}
	if d.used[0] >= len(d.t[0]) {
		d.resize(d.used[0] + 1)
	}
}

func (d *Dict[V]) shrinkIfNeeded() {
	if d.rehashing() {
		return
	}
	size := len(d.t[0])
	if size > initialSize && d.used[0]*100/size < minFill {
		d.resize(d.used[0])
	}
}

// resize starts moving every key into a table of sizeFor(n) buckets.
func (d *Dict[V]) resize(n int) {
	size := sizeFor(n)
	if size == len(d.t[0]) {
		return
	}
	d.t[1] = make([]*entry[V], size)
	d.used[1] = 0
	d.rehashIdx = 0
	// Small tables are moved at once: incremental steps only matter when
	// a table is big enough for a full rehash to be noticed.
	if d.used[0] <= 64 {
		for d.rehashing() {
			d.rehash(len(d.t[0]))
		}
	}
}

func (d *Dict[V]) rehashStep() {
	if d.rehashing() {
		d.rehash(1)
	}
}

// rehash moves up to n non-empty buckets from t[0] to t[1].
func (d *Dict[V]) rehash(n int) {
	visits := n * emptyVisits
	for n > 0 && d.used[0] > 0 {
		for d.t[0][d.rehashIdx] == nil {
			d.rehashIdx++
			visits--
			if visits == 0 {
				return
			}
		}
		mask := uint64(len(d.t[1]) - 1)
		for e := d.t[0][d.rehashIdx]; e != nil; {
			next := e.next
			b := d.hash(e.key) & mask
			e.next = d.t[1][b]
			d.t[1][b] = e
			d.used[0]--
			d.used[1]++
			e = next
		}
		d.t[0][d.rehashIdx] = nil
		d.rehashIdx++
		n--
	}
	if d.used[0] == 0 {
		d.t[0], d.t[1] = d.t[1], nil
		d.used[0], d.used[1] = d.used[1], 0
		d.rehashIdx = -1
	}
}

// Range calls fn for every key until fn returns false. The order is the
// table's bucket order: stable while the table is not modified. fn must
// not modify the table.
func (d *Dict[V]) Range(fn func(key string, val V) bool) {
	for i := 0; i < 2; i++ {
		for _, e := range d.t[i] {
			for ; e != nil; e = e.next {
				if !fn(e.key, e.val) {
					return
				}
			}
		}
		if !d.rehashing() {
			return
		}
	}
}

// Scan visits the buckets selected by cursor, calling fn for each of their
// keys, and returns the cursor of the next call; 0 means the scan is
// complete. Start with cursor 0. Every key present for the whole scan is
// visited at least once; keys may be visited more than once when the table
// shrinks between calls. fn must not modify the table.
//
// The cursor is Redis's reverse-binary counter: it is incremented in its
// high bits, so buckets of a table of size 2^n are visited in an order in
// which every bucket of the doubled (or halved) table is covered by
// already-visited buckets or by the remaining ones.
func (d *Dict[V]) Scan(cursor uint64, fn func(key string, val V)) uint64 {
	if d.Len() == 0 {
		return 0
	}
	emit := func(e *entry[V]) {
		for ; e != nil; e = e.next {
			fn(e.key, e.val)
		}
	}
	v := cursor
	if !d.rehashing() {
		t := d.t[0]
		m := uint64(len(t) - 1)
		emit(t[v&m])
		v |= ^m
		v = bits.Reverse64(bits.Reverse64(v) + 1)
		return v
	}
	small, large := d.t[0], d.t[1]
	if len(small) > len(large) {
		small, large = large, small
	}
	m0, m1 := uint64(len(small)-1), uint64(len(large)-1)
	emit(small[v&m0])
	// Visit every bucket of the larger table that is an expansion of the
	// small table's bucket.
	for {
		emit(large[v&m1])
		v |= ^m1
		v = bits.Reverse64(bits.Reverse64(v) + 1)
		if v&(m0^m1) == 0 {
			break
		}
	}
	return v
}

// Random returns a random key and its value. The table must not be empty.
// Keys in long chains are slightly less likely than others, as in Redis.
func (d *Dict[V]) Random() (string, V) {
	var e *entry[V]
	for e == nil {
		if d.rehashing() {
			// Buckets of t[0] below rehashIdx are empty.
			n0, n1 := len(d.t[0]), len(d.t[1])
			i := d.rehashIdx + rand.IntN(n0+n1-d.rehashIdx)
			if i >= n0 {
				e = d.t[1][i-n0]
			} else {
				e = d.t[0][i]
			}
		} else {
			e = d.t[0][rand.IntN(len(d.t[0]))]
		}
	}
	n := 0
	for x := e; x != nil; x = x.next {
		n++
	}
	for k := rand.IntN(n); k > 0; k-- {
		e = e.next
	}
	return e.key, e.val
}

// Clone returns a copy of the table (values are copied by assignment).
func (d *Dict[V]) Clone() *Dict[V] {
	c := New[V](d.Len())
	d.Range(func(k string, v V) bool {
		c.Set(k, v)
		return true
	})
	return c
}
