package store

import (
	"math"
	"sort"

	"github.com/slotvault/slotvault/rdb"
)

// ZSet is a Redis sorted set: a map from member to its skiplist node (for
// O(1) score lookups) and a skiplist ordered by (score, member bytes), as
// Redis orders it.
//
// Redis keeps small sets in a listpack and converts them, one way, to a
// skiplist when they grow past zset-max-listpack-entries or when a member
// longer than zset-max-listpack-value is added. Every ZSet here uses the
// skiplist; listpack only records the encoding Redis would have, because it
// is observable: OBJECT ENCODING, and the listpack's storage of integral
// scores as integers, which turns -0 into 0 (see normScore).
type ZSet struct {
	dict     map[string]*ZElem
	zsl      skiplist
	listpack bool

	// scan is the hash-ordered member index ZSCAN walks when the set is not
	// a listpack, built on demand and dropped when membership changes.
	scan []zscanEntry
}

var _ Value = (*ZSet)(nil)

// NewZSet returns an empty sorted set with the listpack or skiplist
// encoding.
func NewZSet(listpack bool) *ZSet {
	return &ZSet{dict: make(map[string]*ZElem), zsl: newSkiplist(), listpack: listpack}
}

// NewZSetFor returns the empty set ZADD creates for a first member of
// length firstLen: a skiplist at once when the listpack limits exclude it.
func NewZSetFor(lim Limits, firstLen int) *ZSet {
	return NewZSet(lim.ZsetMaxListpackEntries != 0 && firstLen <= lim.ZsetMaxListpackValue)
}

// Type implements Value.
func (*ZSet) Type() string { return "zset" }

// Encoding implements Value.
func (z *ZSet) Encoding() string {
	if z.listpack {
		return "listpack"
	}
	return "skiplist"
}

// IsListpack reports whether Redis would hold the set in a listpack.
func (z *ZSet) IsListpack() bool { return z.listpack }

// Len returns the number of members.
func (z *ZSet) Len() int { return z.zsl.length }

// Clone implements Value.
func (z *ZSet) Clone() Value {
	c := NewZSet(z.listpack)
	b := newZslBuilder(&c.zsl)
	for x := z.First(); x != nil; x = x.Next() {
		c.dict[x.member] = b.add(x.score, x.member)
	}
	return c
}

// normScore returns score as the encoding stores it: a listpack stores an
// integral score within ±2^62 as an integer, so -0 reads back as 0.
func (z *ZSet) normScore(score float64) float64 {
	if z.listpack && score == 0 {
		return 0
	}
	return score
}

// Score returns member's score.
func (z *ZSet) Score(member string) (float64, bool) {
	x, ok := z.dict[member]
	if !ok {
		return 0, false
	}
	return x.score, true
}

// Insert adds a member that is not present. Like Redis's zsetAdd, a
// listpack set first converts to a skiplist when the new member would
// exceed the listpack limits.
func (z *ZSet) Insert(member string, score float64, lim Limits) {
	if z.listpack && (z.zsl.length+1 > lim.ZsetMaxListpackEntries || len(member) > lim.ZsetMaxListpackValue) {
		z.listpack = false
	}
	z.dict[member] = z.zsl.insert(z.normScore(score), member)
	z.scan = nil
}

// SetScore changes the score of a member that is present.
func (z *ZSet) SetScore(member string, score float64) {
	x := z.dict[member]
	score = z.normScore(score)
	// Like zslUpdateScore: keep the node when it stays in place.
	if (x.backward == nil || zslLess(x.backward.score, x.backward.member, score, member)) &&
		(x.level[0].forward == nil || zslLess(score, member, x.level[0].forward.score, x.level[0].forward.member)) {
		x.score = score
		return
	}
	z.zsl.delete(x.score, member)
	z.dict[member] = z.zsl.insert(score, member)
}

// Delete removes member and reports whether it was present.
func (z *ZSet) Delete(member string) bool {
	x, ok := z.dict[member]
	if !ok {
		return false
	}
	z.zsl.delete(x.score, member)
	delete(z.dict, member)
	z.scan = nil
	return true
}

// First returns the lowest element, or nil when empty.
func (z *ZSet) First() *ZElem { return z.zsl.header.level[0].forward }

// Last returns the highest element, or nil when empty.
func (z *ZSet) Last() *ZElem { return z.zsl.tail }

// Rank returns member's 0-based rank, counted from the highest element when
// reverse is set.
func (z *ZSet) Rank(member string, reverse bool) (int, bool) {
	x, ok := z.dict[member]
	if !ok {
		return 0, false
	}
	r := z.zsl.rank(x.score, member)
	if reverse {
		return z.zsl.length - r, true
	}
	return r - 1, true
}

// ByRank returns the element at 0-based rank r (ascending), or nil.
func (z *ZSet) ByRank(r int) *ZElem {
	if r < 0 || r >= z.zsl.length {
		return nil
	}
	return z.zsl.byRank(r + 1)
}

// RankOf returns the 0-based rank of an element of this set.
func (z *ZSet) RankOf(x *ZElem) int { return z.zsl.rank(x.score, x.member) - 1 }

// ScoreRange is a score interval; MinEx/MaxEx make an end exclusive.
type ScoreRange struct {
	Min, Max     float64
	MinEx, MaxEx bool
}

// Empty reports whether no score can lie in the range.
func (r ScoreRange) Empty() bool {
	return r.Min > r.Max || (r.Min == r.Max && (r.MinEx || r.MaxEx))
}

// GteMin reports whether v is not below the range.
func (r ScoreRange) GteMin(v float64) bool {
	if r.MinEx {
		return v > r.Min
	}
	return v >= r.Min
}

// LteMax reports whether v is not above the range.
func (r ScoreRange) LteMax(v float64) bool {
	if r.MaxEx {
		return v < r.Max
	}
	return v <= r.Max
}

// LexBound is one end of a lexicographic range: a member string, or minus
// or plus infinity ("-" and "+").
type LexBound struct {
	S   string
	Inf int // -1: "-", +1: "+", 0: S
	Ex  bool
}

// cmp compares the string s to the bound.
func (b LexBound) cmp(s string) int {
	switch {
	case b.Inf < 0:
		return 1
	case b.Inf > 0:
		return -1
	case s < b.S:
		return -1
	case s > b.S:
		return 1
	}
	return 0
}

// LexRange is a member-name interval for sets whose members share a score.
type LexRange struct{ Min, Max LexBound }

// Empty reports whether no string can lie in the range.
func (r LexRange) Empty() bool {
	c := lexBoundCmp(r.Min, r.Max)
	return c > 0 || (c == 0 && (r.Min.Ex || r.Max.Ex))
}

func lexBoundCmp(a, b LexBound) int {
	if a.Inf != 0 || b.Inf != 0 {
		switch {
		case a.Inf == b.Inf:
			return 0
		case a.Inf < b.Inf:
			return -1
		}
		return 1
	}
	switch {
	case a.S < b.S:
		return -1
	case a.S > b.S:
		return 1
	}
	return 0
}

// GteMin reports whether s is not below the range.
func (r LexRange) GteMin(s string) bool {
	c := r.Min.cmp(s)
	if r.Min.Ex {
		return c > 0
	}
	return c >= 0
}

// LteMax reports whether s is not above the range.
func (r LexRange) LteMax(s string) bool {
	c := r.Max.cmp(s)
	if r.Max.Ex {
		return c < 0
	}
	return c <= 0
}

// inRangeBounds is zslIsInRange: the range is not empty and overlaps the
// set's first and last elements.
func (z *ZSet) inRangeBounds(r ScoreRange) bool {
	if r.Empty() || z.zsl.length == 0 {
		return false
	}
	return r.GteMin(z.Last().score) && r.LteMax(z.First().score)
}

// inLexBounds is zslIsInLexRange.
func (z *ZSet) inLexBounds(r LexRange) bool {
	if r.Empty() || z.zsl.length == 0 {
		return false
	}
	return r.GteMin(z.Last().member) && r.LteMax(z.First().member)
}

// FirstInRange returns the lowest element within r, or nil.
func (z *ZSet) FirstInRange(r ScoreRange) *ZElem {
	if !z.inRangeBounds(r) {
		return nil
	}
	x := z.zsl.firstNotBefore(func(e *ZElem) bool { return !r.GteMin(e.score) })
	if x == nil || !r.LteMax(x.score) {
		return nil
	}
	return x
}

// LastInRange returns the highest element within r, or nil.
func (z *ZSet) LastInRange(r ScoreRange) *ZElem {
	if !z.inRangeBounds(r) {
		return nil
	}
	x := z.zsl.lastWithin(func(e *ZElem) bool { return r.LteMax(e.score) })
	if x == nil || !r.GteMin(x.score) {
		return nil
	}
	return x
}

// Lexicographic ranges assume every member has the same score. When they
// do not, the answer depends on how the search walks the set: Redis scans a
// listpack linearly, which the listpack branches below reproduce, and
// descends a skiplist, whose answer depends on its random levels.

// FirstInLexRange returns the lowest element within r, or nil.
func (z *ZSet) FirstInLexRange(r LexRange) *ZElem {
	if !z.inLexBounds(r) {
		return nil
	}
	var x *ZElem
	if z.listpack {
		for x = z.First(); x != nil && !r.GteMin(x.member); x = x.Next() {
		}
	} else {
		x = z.zsl.firstNotBefore(func(e *ZElem) bool { return !r.GteMin(e.member) })
	}
	if x == nil || !r.LteMax(x.member) {
		return nil
	}
	return x
}

// LastInLexRange returns the highest element within r, or nil.
func (z *ZSet) LastInLexRange(r LexRange) *ZElem {
	if !z.inLexBounds(r) {
		return nil
	}
	var x *ZElem
	if z.listpack {
		for x = z.Last(); x != nil && !r.LteMax(x.member); x = x.Prev() {
		}
	} else {
		x = z.zsl.lastWithin(func(e *ZElem) bool { return r.LteMax(e.member) })
	}
	if x == nil || !r.GteMin(x.member) {
		return nil
	}
	return x
}

// CountInRange counts the elements within r in O(log n).
func (z *ZSet) CountInRange(r ScoreRange) int {
	f := z.FirstInRange(r)
	if f == nil {
		return 0
	}
	return z.RankOf(z.LastInRange(r)) - z.RankOf(f) + 1
}

// CountInLexRange counts the elements within r in O(log n) (a listpack
// set is walked from the first element in range, as Redis does).
func (z *ZSet) CountInLexRange(r LexRange) int {
	f := z.FirstInLexRange(r)
	if f == nil {
		return 0
	}
	if z.listpack {
		n := 0
		for ; f != nil && r.LteMax(f.member); f = f.Next() {
			n++
		}
		return n
	}
	return z.RankOf(z.LastInLexRange(r)) - z.RankOf(f) + 1
}

func (z *ZSet) forget(x *ZElem) { delete(z.dict, x.member) }

// DeleteRangeByRank removes the elements with 0-based ranks start..end
// (inclusive, already clamped) and returns how many it removed.
func (z *ZSet) DeleteRangeByRank(start, end int) int {
	n := z.zsl.deleteRankRange(start+1, end+1, z.forget)
	if n > 0 {
		z.scan = nil
	}
	return n
}

// DeleteRangeByScore removes the elements within r.
func (z *ZSet) DeleteRangeByScore(r ScoreRange) int {
	if !z.inRangeBounds(r) {
		return 0
	}
	n := z.zsl.deleteWhile(func(e *ZElem) bool { return !r.GteMin(e.score) },
		func(e *ZElem) bool { return r.LteMax(e.score) }, z.forget)
	if n > 0 {
		z.scan = nil
	}
	return n
}

// DeleteRangeByLex removes the elements within r.
func (z *ZSet) DeleteRangeByLex(r LexRange) int {
	if !z.inLexBounds(r) {
		return 0
	}
	if z.listpack {
		var doomed []string
		for x := z.FirstInLexRange(r); x != nil && r.LteMax(x.member); x = x.Next() {
			doomed = append(doomed, x.member)
		}
		for _, m := range doomed {
			z.Delete(m)
		}
		return len(doomed)
	}
	n := z.zsl.deleteWhile(func(e *ZElem) bool { return !r.GteMin(e.member) },
		func(e *ZElem) bool { return r.LteMax(e.member) }, z.forget)
	if n > 0 {
		z.scan = nil
	}
	return n
}

// ConvertToListpackIfFits gives a skiplist set the listpack encoding when
// it is within the limits, as Redis does for the results of ZUNIONSTORE,
// ZINTERSTORE and ZDIFFSTORE and for loaded values.
func (z *ZSet) ConvertToListpackIfFits(lim Limits) {
	if z.listpack || z.zsl.length > lim.ZsetMaxListpackEntries {
		return
	}
	for x := z.First(); x != nil; x = x.Next() {
		if len(x.member) > lim.ZsetMaxListpackValue {
			return
		}
	}
	z.listpack = true
	for x := z.First(); x != nil; x = x.Next() {
		x.score = z.normScore(x.score)
	}
}

// Object implements the conversion to rdb's neutral form (entries in
// ascending order).
func (z *ZSet) Object() rdb.Object {
	entries := make([]rdb.ZEntry, 0, z.zsl.length)
	for x := z.First(); x != nil; x = x.Next() {
		entries = append(entries, rdb.ZEntry{Member: []byte(x.member), Score: x.score})
	}
	return rdb.Object{Kind: rdb.KindZSet, ZSet: entries}
}

// ZSetFromObject builds a sorted set from rdb's neutral form, choosing the
// encoding as Redis does when loading. Entries out of order are sorted; a
// repeated member keeps its last score. NaN scores are read as 0.
func ZSetFromObject(o rdb.Object, lim Limits) *ZSet {
	entries := o.ZSet
	sorted := true
	for i := 1; i < len(entries); i++ {
		a, b := entries[i-1], entries[i]
		if !zslLess(a.Score, string(a.Member), b.Score, string(b.Member)) {
			sorted = false
			break
		}
	}
	z := NewZSet(false)
	if sorted {
		b := newZslBuilder(&z.zsl)
		for _, e := range entries {
			s := e.Score
			if math.IsNaN(s) {
				s = 0
			}
			m := string(e.Member)
			z.dict[m] = b.add(s, m)
		}
	} else {
		for _, e := range entries {
			s := e.Score
			if math.IsNaN(s) {
				s = 0
			}
			m := string(e.Member)
			if _, ok := z.dict[m]; ok {
				z.SetScore(m, s)
			} else {
				z.dict[m] = z.zsl.insert(s, m)
			}
		}
	}
	z.ConvertToListpackIfFits(lim)
	return z
}

// zscanEntry is one member in ZSCAN's hash order.
type zscanEntry struct {
	hash   uint64
	member string
}

// zscanHash is FNV-1a; ZSCAN cursors are positions in this hash space.
func zscanHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Scan implements ZSCAN's iteration. A listpack set is returned whole, in
// order, with cursor 0, as Redis does. Otherwise members are visited in the
// order of a fixed hash of their name, the cursor being the next hash value
// to visit: a member present for the whole iteration is returned exactly
// once whatever changes in between, the guarantee SCAN gives. It calls fn
// for at least count members (all members sharing a hash go together) and
// returns the next cursor, 0 when done.
func (z *ZSet) Scan(cursor uint64, count int, fn func(member string, score float64)) uint64 {
	if z.listpack {
		for x := z.First(); x != nil; x = x.Next() {
			fn(x.member, x.score)
		}
		return 0
	}
	if z.scan == nil {
		z.scan = make([]zscanEntry, 0, len(z.dict))
		for m := range z.dict {
			z.scan = append(z.scan, zscanEntry{zscanHash(m), m})
		}
		sort.Slice(z.scan, func(i, j int) bool {
			a, b := z.scan[i], z.scan[j]
			return a.hash < b.hash || (a.hash == b.hash && a.member < b.member)
		})
	}
	i := sort.Search(len(z.scan), func(i int) bool { return z.scan[i].hash >= cursor })
	n := 0
	for ; i < len(z.scan); i++ {
		e := z.scan[i]
		if n >= count && e.hash != z.scan[i-1].hash {
			return e.hash
		}
		fn(e.member, z.dict[e.member].score)
		n++
	}
	return 0
}

// Random returns a uniformly chosen element; the set must not be empty.
func (z *ZSet) Random(intn func(int) int) *ZElem {
	return z.zsl.byRank(intn(z.zsl.length) + 1)
}
