package store

import "math/rand/v2"

// The skiplist below is Redis's zskiplist: nodes ordered by (score, member
// bytes), each level link carrying a span (how many level-0 steps it jumps),
// so the rank of a node and the node at a rank are found in O(log n). Level
// 0 is doubly linked (backward) so ranges can be walked in both directions.

const (
	zslMaxLevel = 32   // enough for 2^64 elements with p = 1/4
	zslP        = 0.25 // probability of promoting a node one level up

	zslThreshold = 0x4000 // zslP as a threshold on a 16-bit random number
)

// ZElem is one member of a sorted set, as stored in its skiplist. The
// pointer stays valid until the member is removed or its score changes.
type ZElem struct {
	member   string
	score    float64
	backward *ZElem
	level    []zslLevel
}

type zslLevel struct {
	forward *ZElem
	span    int
}

// Member returns the member name.
func (e *ZElem) Member() string { return e.member }

// Score returns the member's score.
func (e *ZElem) Score() float64 { return e.score }

// Next returns the following element in ascending order, or nil.
func (e *ZElem) Next() *ZElem { return e.level[0].forward }

// Prev returns the preceding element, or nil.
func (e *ZElem) Prev() *ZElem { return e.backward }

type skiplist struct {
	header *ZElem
	tail   *ZElem
	length int
	level  int
}

func newSkiplist() skiplist {
	return skiplist{header: &ZElem{level: make([]zslLevel, zslMaxLevel)}, level: 1}
}

func zslRandomLevel() int {
	level := 1
	for level < zslMaxLevel && rand.Uint32()&0xFFFF < zslThreshold {
		level++
	}
	return level
}

// zslLess reports whether (s1, m1) sorts before (s2, m2).
func zslLess(s1 float64, m1 string, s2 float64, m2 string) bool {
	return s1 < s2 || (s1 == s2 && m1 < m2)
}

// insert adds a member that is not already present.
func (zsl *skiplist) insert(score float64, member string) *ZElem {
	var update [zslMaxLevel]*ZElem
	var rank [zslMaxLevel]int
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		if i < zsl.level-1 {
			rank[i] = rank[i+1]
		}
		for f := x.level[i].forward; f != nil && zslLess(f.score, f.member, score, member); f = x.level[i].forward {
			rank[i] += x.level[i].span
			x = f
		}
		update[i] = x
	}
	level := zslRandomLevel()
	if level > zsl.level {
		for i := zsl.level; i < level; i++ {
			rank[i] = 0
			update[i] = zsl.header
			update[i].level[i].span = zsl.length
		}
		zsl.level = level
	}
	x = &ZElem{member: member, score: score, level: make([]zslLevel, level)}
	for i := 0; i < level; i++ {
		x.level[i].forward = update[i].level[i].forward
		update[i].level[i].forward = x
		x.level[i].span = update[i].level[i].span - (rank[0] - rank[i])
		update[i].level[i].span = rank[0] - rank[i] + 1
	}
	for i := level; i < zsl.level; i++ {
		update[i].level[i].span++
	}
	if update[0] != zsl.header {
		x.backward = update[0]
	}
	if x.level[0].forward != nil {
		x.level[0].forward.backward = x
	} else {
		zsl.tail = x
	}
	zsl.length++
	return x
}

// unlink removes x given the rightmost node before it on every level.
func (zsl *skiplist) unlink(x *ZElem, update *[zslMaxLevel]*ZElem) {
	for i := 0; i < zsl.level; i++ {
		if update[i].level[i].forward == x {
			update[i].level[i].span += x.level[i].span - 1
			update[i].level[i].forward = x.level[i].forward
		} else {
			update[i].level[i].span--
		}
	}
	if f := x.level[0].forward; f != nil {
		f.backward = x.backward
	} else {
		zsl.tail = x.backward
	}
	for zsl.level > 1 && zsl.header.level[zsl.level-1].forward == nil {
		zsl.level--
	}
	zsl.length--
}

// delete removes the node with exactly this score and member.
func (zsl *skiplist) delete(score float64, member string) bool {
	var update [zslMaxLevel]*ZElem
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && zslLess(f.score, f.member, score, member); f = x.level[i].forward {
			x = f
		}
		update[i] = x
	}
	x = x.level[0].forward
	if x != nil && x.score == score && x.member == member {
		zsl.unlink(x, &update)
		return true
	}
	return false
}

// rank returns the 1-based rank of (score, member), 0 when absent.
func (zsl *skiplist) rank(score float64, member string) int {
	r := 0
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && (zslLess(f.score, f.member, score, member) || (f.score == score && f.member == member)); f = x.level[i].forward {
			r += x.level[i].span
			x = f
		}
		if x != zsl.header && x.member == member && x.score == score {
			return r
		}
	}
	return 0
}

// byRank returns the node at 1-based rank r, or nil.
func (zsl *skiplist) byRank(r int) *ZElem {
	traversed := 0
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && traversed+x.level[i].span <= r {
			traversed += x.level[i].span
			x = x.level[i].forward
		}
		if traversed == r {
			if x == zsl.header {
				return nil
			}
			return x
		}
	}
	return nil
}

// first returns the first node for which past reports false (past must be
// monotonic: true for a prefix of the list).
func (zsl *skiplist) firstNotBefore(before func(*ZElem) bool) *ZElem {
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && before(f); f = x.level[i].forward {
			x = f
		}
	}
	return x.level[0].forward
}

// lastWithin returns the last node for which within reports true (within
// must be true for a prefix of the list), or nil.
func (zsl *skiplist) lastWithin(within func(*ZElem) bool) *ZElem {
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && within(f); f = x.level[i].forward {
			x = f
		}
	}
	if x == zsl.header {
		return nil
	}
	return x
}

// deleteWhile removes consecutive nodes starting at the first node for
// which before is false, while inRange holds. It calls removed for each.
func (zsl *skiplist) deleteWhile(before, inRange func(*ZElem) bool, removed func(*ZElem)) int {
	var update [zslMaxLevel]*ZElem
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && before(f); f = x.level[i].forward {
			x = f
		}
		update[i] = x
	}
	n := 0
	x = x.level[0].forward
	for x != nil && inRange(x) {
		next := x.level[0].forward
		zsl.unlink(x, &update)
		removed(x)
		n++
		x = next
	}
	return n
}

// deleteRankRange removes nodes with 1-based ranks start..end inclusive.
func (zsl *skiplist) deleteRankRange(start, end int, removed func(*ZElem)) int {
	var update [zslMaxLevel]*ZElem
	traversed := 0
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && traversed+x.level[i].span < start {
			traversed += x.level[i].span
			x = x.level[i].forward
		}
		update[i] = x
	}
	traversed++
	n := 0
	x = x.level[0].forward
	for x != nil && traversed <= end {
		next := x.level[0].forward
		zsl.unlink(x, &update)
		removed(x)
		n++
		traversed++
		x = next
	}
	return n
}

// zslBuilder appends nodes in ascending order in O(1) expected time each,
// to build a skiplist from sorted input (Clone, snapshots, RESTORE).
type zslBuilder struct {
	zsl      *skiplist
	last     [zslMaxLevel]*ZElem // rightmost node per level
	lastRank [zslMaxLevel]int    // its rank (header: 0)
}

func newZslBuilder(zsl *skiplist) *zslBuilder {
	b := &zslBuilder{zsl: zsl}
	for i := range b.last {
		b.last[i] = zsl.header
	}
	return b
}

// add appends a node that sorts after every node present. Spans of links
// with no forward node count the nodes after their origin, as insert keeps
// them.
func (b *zslBuilder) add(score float64, member string) *ZElem {
	zsl := b.zsl
	level := zslRandomLevel()
	if level > zsl.level {
		zsl.level = level
	}
	x := &ZElem{member: member, score: score, level: make([]zslLevel, level)}
	r := zsl.length + 1
	for i := 0; i < level; i++ {
		b.last[i].level[i].forward = x
		b.last[i].level[i].span = r - b.lastRank[i]
		b.last[i] = x
		b.lastRank[i] = r
	}
	for i := level; i < zsl.level; i++ {
		b.last[i].level[i].span = r - b.lastRank[i]
	}
	x.backward = zsl.tail
	zsl.tail = x
	zsl.length = r
	return x
}
