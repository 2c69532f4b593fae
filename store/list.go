package store

import (
	"bytes"

	"github.com/slotvault/slotvault/rdb"
)

// List is a Redis list: a double-ended queue of byte strings held in a
// growable ring buffer. Pushes and pops at either end are amortised O(1),
// access by index is O(1), and insertion or removal in the middle moves the
// shorter side (Redis's quicklist is O(N) there too).
//
// Elements handed to the list are owned by it; callers copy request
// buffers first. Elements returned by Index, Pop* and Range are the list's
// own slices and must not be modified.
type List struct {
	buf  [][]byte // len(buf) is 0 or a power of two
	head int      // position of element 0 in buf
	n    int
}

var _ Value = (*List)(nil)

// NewList returns an empty list.
func NewList() *List { return &List{} }

// Type implements Value.
func (*List) Type() string { return "list" }

// Encoding implements Value. Redis 7.0 always encodes lists as a quicklist
// (the listpack encoding for small lists arrived in 7.2).
func (*List) Encoding() string { return "quicklist" }

// Clone implements Value.
func (l *List) Clone() Value {
	c := &List{}
	c.grow(l.n)
	for i := 0; i < l.n; i++ {
		c.PushBack(append([]byte(nil), l.Index(i)...))
	}
	return c
}

// Len returns the number of elements.
func (l *List) Len() int { return l.n }

func (l *List) pos(i int) int { return (l.head + i) & (len(l.buf) - 1) }

// grow makes room for at least extra more elements.
func (l *List) grow(extra int) {
	need := l.n + extra
	if need <= len(l.buf) {
		return
	}
	size := len(l.buf)
	if size == 0 {
		size = 4
	}
	for size < need {
		size <<= 1
	}
	l.resize(size)
}

func (l *List) resize(size int) {
	nb := make([][]byte, size)
	if l.n > 0 {
		if l.head+l.n <= len(l.buf) {
			copy(nb, l.buf[l.head:l.head+l.n])
		} else {
			k := copy(nb, l.buf[l.head:])
			copy(nb[k:], l.buf[:l.n-k])
		}
	}
	l.buf = nb
	l.head = 0
}

// shrink releases memory after the list lost most of its elements.
func (l *List) shrink() {
	if l.n == 0 {
		l.buf, l.head = nil, 0
		return
	}
	if len(l.buf) > 64 && l.n < len(l.buf)/4 {
		l.resize(len(l.buf) / 2)
	}
}

// PushFront inserts v at the head.
func (l *List) PushFront(v []byte) {
	l.grow(1)
	l.head = (l.head - 1) & (len(l.buf) - 1)
	l.buf[l.head] = v
	l.n++
}

// PushBack appends v at the tail.
func (l *List) PushBack(v []byte) {
	l.grow(1)
	l.buf[l.pos(l.n)] = v
	l.n++
}

// PopFront removes and returns the head element, or nil when empty.
func (l *List) PopFront() []byte {
	if l.n == 0 {
		return nil
	}
	v := l.buf[l.head]
	l.buf[l.head] = nil
	l.head = (l.head + 1) & (len(l.buf) - 1)
	l.n--
	l.shrink()
	return v
}

// PopBack removes and returns the tail element, or nil when empty.
func (l *List) PopBack() []byte {
	if l.n == 0 {
		return nil
	}
	p := l.pos(l.n - 1)
	v := l.buf[p]
	l.buf[p] = nil
	l.n--
	l.shrink()
	return v
}

// Index returns element i, 0 <= i < Len().
func (l *List) Index(i int) []byte { return l.buf[l.pos(i)] }

// Set replaces element i, 0 <= i < Len().
func (l *List) Set(i int, v []byte) { l.buf[l.pos(i)] = v }

// Range returns elements start..end inclusive, 0 <= start <= end < Len().
func (l *List) Range(start, end int) [][]byte {
	out := make([][]byte, 0, end-start+1)
	for i := start; i <= end; i++ {
		out = append(out, l.buf[l.pos(i)])
	}
	return out
}

// Insert inserts v before position i, 0 <= i <= Len(), moving the shorter
// side of the list.
func (l *List) Insert(i int, v []byte) {
	if i == 0 {
		l.PushFront(v)
		return
	}
	if i == l.n {
		l.PushBack(v)
		return
	}
	l.grow(1)
	if i < l.n/2 {
		// Shift elements 0..i-1 one place towards the head.
		l.head = (l.head - 1) & (len(l.buf) - 1)
		for j := 0; j < i; j++ {
			l.buf[l.pos(j)] = l.buf[l.pos(j+1)]
		}
	} else {
		// Shift elements i..n-1 one place towards the tail.
		for j := l.n; j > i; j-- {
			l.buf[l.pos(j)] = l.buf[l.pos(j-1)]
		}
	}
	l.buf[l.pos(i)] = v
	l.n++
}

// Delete removes element i, 0 <= i < Len(), moving the shorter side.
func (l *List) Delete(i int) {
	if i < l.n/2 {
		for j := i; j > 0; j-- {
			l.buf[l.pos(j)] = l.buf[l.pos(j-1)]
		}
		l.buf[l.head] = nil
		l.head = (l.head + 1) & (len(l.buf) - 1)
	} else {
		for j := i; j < l.n-1; j++ {
			l.buf[l.pos(j)] = l.buf[l.pos(j+1)]
		}
		l.buf[l.pos(l.n-1)] = nil
	}
	l.n--
	l.shrink()
}

// Trim keeps elements start..end inclusive and drops the others; an empty
// range (start > end) empties the list. Indexes are clamped to the list.
func (l *List) Trim(start, end int) {
	if start < 0 {
		start = 0
	}
	if end >= l.n {
		end = l.n - 1
	}
	if start > end {
		for i := 0; i < l.n; i++ {
			l.buf[l.pos(i)] = nil
		}
		l.n = 0
		l.shrink()
		return
	}
	for i := 0; i < start; i++ {
		l.buf[l.pos(i)] = nil
	}
	for i := end + 1; i < l.n; i++ {
		l.buf[l.pos(i)] = nil
	}
	l.head = l.pos(start)
	l.n = end - start + 1
	l.shrink()
}

// RemoveEqual removes elements equal to v, at most limit of them (0 means
// all), scanning from the tail when fromTail is set. It returns how many
// it removed. It runs in one pass over the list.
func (l *List) RemoveEqual(v []byte, limit int, fromTail bool) int {
	removed := 0
	if fromTail {
		w := l.n - 1 // next slot to fill, moving towards the head
		for r := l.n - 1; r >= 0; r-- {
			e := l.buf[l.pos(r)]
			if (limit == 0 || removed < limit) && bytes.Equal(e, v) {
				removed++
				continue
			}
			l.buf[l.pos(w)] = e
			w--
		}
		for i := 0; i <= w; i++ {
			l.buf[l.pos(i)] = nil
		}
		l.head = l.pos(w + 1)
	} else {
		w := 0
		for r := 0; r < l.n; r++ {
			e := l.buf[l.pos(r)]
			if (limit == 0 || removed < limit) && bytes.Equal(e, v) {
				removed++
				continue
			}
			l.buf[l.pos(w)] = e
			w++
		}
		for i := w; i < l.n; i++ {
			l.buf[l.pos(i)] = nil
		}
	}
	l.n -= removed
	l.shrink()
	return removed
}

// Each calls fn for each element head to tail until fn returns false.
func (l *List) Each(fn func(i int, v []byte) bool) {
	for i := 0; i < l.n; i++ {
		if !fn(i, l.buf[l.pos(i)]) {
			return
		}
	}
}

// Object returns the list in the neutral RDB form (elements shared, not
// copied).
func (l *List) Object() rdb.Object {
	o := rdb.Object{Kind: rdb.KindList, List: make([][]byte, 0, l.n)}
	for i := 0; i < l.n; i++ {
		o.List = append(o.List, l.buf[l.pos(i)])
	}
	return o
}

// ListFromObject builds a list from its neutral form, taking ownership of
// the element slices. The limits do not matter in Redis 7.0, where every
// list is a quicklist, but keep the signature shared by all types.
func ListFromObject(o rdb.Object, lim Limits) *List {
	l := &List{}
	l.grow(len(o.List))
	for _, v := range o.List {
		l.PushBack(v)
	}
	return l
}
