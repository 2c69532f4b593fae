package store

import (
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/slotvault/slotvault/internal/dict"
	"github.com/slotvault/slotvault/rdb"
)

// Set is a Redis set. Like Redis 7.0 (which has no listpack sets) it is an
// "intset" — a sorted slice of int64 — while every member is an integer in
// Redis's strict string2ll form and there are at most set-max-intset-entries
// members; otherwise a "hashtable". Conversion is one way, except where
// Redis itself rebuilds a set (SPOP with a large count, see Rebuild).
//
// Iterating an intset yields members in ascending numeric order, which is
// the order Redis replies with; hashtable order is unspecified.
type Set struct {
	is []int64              // intset encoding, when ht is nil
	ht *dict.Dict[struct{}] // hashtable encoding
}

var _ Value = (*Set)(nil)

// NewSet returns an empty intset-encoded set. Adding a non-integer member
// converts it, so the result matches Redis's setTypeCreate.
func NewSet() *Set { return &Set{} }

func randIntN(n int) int { return rand.IntN(n) }

// Type implements Value.
func (*Set) Type() string { return "set" }

// Encoding implements Value.
func (s *Set) Encoding() string {
	if s.ht != nil {
		return "hashtable"
	}
	return "intset"
}

// IsIntset reports whether s has the intset encoding.
func (s *Set) IsIntset() bool { return s.ht == nil }

// Clone implements Value.
func (s *Set) Clone() Value {
	if s.ht != nil {
		return &Set{ht: s.ht.Clone()}
	}
	return &Set{is: slices.Clone(s.is)}
}

// Len returns the number of members.
func (s *Set) Len() int {
	if s.ht != nil {
		return s.ht.Len()
	}
	return len(s.is)
}

// Has reports whether member belongs to s.
func (s *Set) Has(member string) bool {
	if s.ht != nil {
		return s.ht.Has(member)
	}
	v, ok := ParseStrictInt([]byte(member))
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(s.is, v)
	return found
}

// Add inserts member and reports whether it is new, converting the
// encoding as Redis's setTypeAdd does.
func (s *Set) Add(member string, l Limits) bool {
	if s.ht != nil {
		return s.ht.Set(member, struct{}{})
	}
	v, ok := ParseStrictInt([]byte(member))
	if !ok {
		s.convert(s.Len() + 1)
		return s.ht.Set(member, struct{}{})
	}
	i, found := slices.BinarySearch(s.is, v)
	if found {
		return false
	}
	s.is = slices.Insert(s.is, i, v)
	if len(s.is) > l.SetMaxIntsetEntries {
		s.convert(len(s.is))
	}
	return true
}

// Remove deletes member and reports whether it was present.
func (s *Set) Remove(member string) bool {
	if s.ht != nil {
		return s.ht.Delete(member)
	}
	v, ok := ParseStrictInt([]byte(member))
	if !ok {
		return false
	}
	i, found := slices.BinarySearch(s.is, v)
	if !found {
		return false
	}
	s.is = slices.Delete(s.is, i, i+1)
	return true
}

func (s *Set) convert(hint int) {
	d := dict.New[struct{}](hint)
	for _, v := range s.is {
		d.Set(strconv.FormatInt(v, 10), struct{}{})
	}
	s.ht, s.is = d, nil
}

// Range calls fn for every member (ascending for an intset) until fn
// returns false. fn must not modify s.
func (s *Set) Range(fn func(member string) bool) {
	if s.ht != nil {
		s.ht.Range(func(k string, _ struct{}) bool { return fn(k) })
		return
	}
	for _, v := range s.is {
		if !fn(strconv.FormatInt(v, 10)) {
			return
		}
	}
}

// Members returns every member in iteration order.
func (s *Set) Members() []string {
	out := make([]string, 0, s.Len())
	s.Range(func(m string) bool {
		out = append(out, m)
		return true
	})
	return out
}

// Random returns a random member. s must not be empty.
func (s *Set) Random() string {
	if s.ht != nil {
		k, _ := s.ht.Random()
		return k
	}
	return strconv.FormatInt(s.is[rand.IntN(len(s.is))], 10)
}

// Scan continues a hashtable scan from cursor, calling fn for the members
// of the visited buckets, and returns the next cursor (0 when done). An
// intset is returned whole with cursor 0, as Redis does.
func (s *Set) Scan(cursor uint64, fn func(member string)) uint64 {
	if s.ht == nil {
		for _, v := range s.is {
			fn(strconv.FormatInt(v, 10))
		}
		return 0
	}
	return s.ht.Scan(cursor, func(k string, _ struct{}) { fn(k) })
}

// Rebuild replaces s's contents with members, choosing the encoding as a
// freshly created set would (Redis's SPOP rebuilds the remaining members
// into a new set when it pops most of a set, which can turn a hashtable back
// into an intset).
func (s *Set) Rebuild(members []string, l Limits) {
	n := NewSet()
	for _, m := range members {
		n.Add(m, l)
	}
	*s = *n
}

// Object returns s in rdb's neutral form.
func (s *Set) Object() rdb.Object {
	o := rdb.Object{Kind: rdb.KindSet, Set: make([][]byte, 0, s.Len())}
	s.Range(func(m string) bool {
		o.Set = append(o.Set, []byte(m))
		return true
	})
	return o
}

// SetFromObject builds a set from rdb's neutral form, choosing the encoding
// as Redis does when loading.
func SetFromObject(o rdb.Object, l Limits) *Set {
	s := NewSet()
	if len(o.Set) > l.SetMaxIntsetEntries {
		s.convert(len(o.Set))
	}
	for _, m := range o.Set {
		s.Add(string(m), l)
	}
	return s
}
