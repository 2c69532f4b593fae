package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/slotvault/slotvault/rdb"
)

var zlim = Limits{ZsetMaxListpackEntries: 128, ZsetMaxListpackValue: 64}

type zref struct {
	m string
	s float64
}

// zmodel is the reference: a sorted slice.
type zmodel []zref

func (m zmodel) sorted() zmodel {
	c := append(zmodel(nil), m...)
	sort.Slice(c, func(i, j int) bool { return zslLess(c[i].s, c[i].m, c[j].s, c[j].m) })
	return c
}

func (m zmodel) find(member string) int {
	for i, e := range m {
		if e.m == member {
			return i
		}
	}
	return -1
}

// checkZSet verifies the set against the model: order, ranks (spans),
// backward links, dict and length.
func checkZSet(t *testing.T, z *ZSet, m zmodel) {
	t.Helper()
	want := m.sorted()
	if z.Len() != len(want) || len(z.dict) != len(want) {
		t.Fatalf("len %d dict %d, want %d", z.Len(), len(z.dict), len(want))
	}
	i := 0
	var prev *ZElem
	for x := z.First(); x != nil; x = x.Next() {
		if x.member != want[i].m || x.score != want[i].s {
			t.Fatalf("pos %d: %q %v, want %q %v", i, x.member, x.score, want[i].m, want[i].s)
		}
		if x.Prev() != prev {
			t.Fatalf("pos %d: bad backward link", i)
		}
		if r, ok := z.Rank(x.member, false); !ok || r != i {
			t.Fatalf("rank of %q = %d, want %d", x.member, r, i)
		}
		if r, _ := z.Rank(x.member, true); r != len(want)-1-i {
			t.Fatalf("revrank of %q = %d", x.member, r)
		}
		if z.ByRank(i) != x {
			t.Fatalf("ByRank(%d) mismatch", i)
		}
		if z.dict[x.member] != x {
			t.Fatalf("dict entry of %q stale", x.member)
		}
		prev = x
		i++
	}
	if z.Last() != prev {
		t.Fatal("tail mismatch")
	}
	if z.ByRank(len(want)) != nil || z.ByRank(-1) != nil {
		t.Fatal("ByRank out of range returned an element")
	}
}

func TestZSetRandomOpsAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	z := NewZSet(false)
	var m zmodel
	scores := []float64{math.Inf(-1), -2, -1, 0, 0.5, 1, 1, 2, 3, math.Inf(1)}
	for step := 0; step < 6000; step++ {
		member := fmt.Sprintf("m%03d", r.IntN(300))
		score := scores[r.IntN(len(scores))]
		switch op := r.IntN(10); {
		case op < 5:
			if i := m.find(member); i >= 0 {
				z.SetScore(member, score)
				m[i].s = score
			} else {
				z.Insert(member, score, zlim)
				m = append(m, zref{member, score})
			}
		case op < 8:
			i := m.find(member)
			if z.Delete(member) != (i >= 0) {
				t.Fatalf("Delete(%q) disagrees", member)
			}
			if i >= 0 {
				m = append(m[:i], m[i+1:]...)
			}
		case op == 8 && len(m) > 0:
			// Delete a rank range.
			start := r.IntN(len(m))
			end := start + r.IntN(5)
			if end >= len(m) {
				end = len(m) - 1
			}
			s := m.sorted()
			n := z.DeleteRangeByRank(start, end)
			if n != end-start+1 {
				t.Fatalf("DeleteRangeByRank removed %d", n)
			}
			m = append(s[:start], s[end+1:]...)
		case op == 9:
			rg := ScoreRange{Min: scores[r.IntN(len(scores))], Max: scores[r.IntN(len(scores))], MinEx: r.IntN(2) == 0, MaxEx: r.IntN(2) == 0}
			var keep zmodel
			for _, e := range m {
				if !(rg.GteMin(e.s) && rg.LteMax(e.s)) {
					keep = append(keep, e)
				}
			}
			if cnt := z.CountInRange(rg); cnt != len(m)-len(keep) {
				t.Fatalf("CountInRange %+v = %d, want %d", rg, cnt, len(m)-len(keep))
			}
			if r.IntN(3) == 0 {
				if n := z.DeleteRangeByScore(rg); n != len(m)-len(keep) {
					t.Fatalf("DeleteRangeByScore %+v removed %d, want %d", rg, n, len(m)-len(keep))
				}
				m = keep
			}
		}
		if step%97 == 0 {
			checkZSet(t, z, m)
		}
	}
	checkZSet(t, z, m)
	c := z.Clone().(*ZSet)
	checkZSet(t, c, m)
	c.Insert("zzz", 1, zlim)
	checkZSet(t, z, m)
}

func TestZSetLexRanges(t *testing.T) {
	z := NewZSet(true)
	var m zmodel
	for _, s := range []string{"", "a", "aa", "ab", "b", "ba", "c", "\xff"} {
		z.Insert(s, 0, zlim)
		m = append(m, zref{s, 0})
	}
	bounds := []LexBound{{Inf: -1, Ex: true}, {Inf: 1, Ex: true}, {S: ""}, {S: "", Ex: true}, {S: "a"}, {S: "a", Ex: true}, {S: "ab"}, {S: "b", Ex: true}, {S: "zz"}}
	for _, lo := range bounds {
		for _, hi := range bounds {
			rg := LexRange{Min: lo, Max: hi}
			var in []string
			for _, e := range m.sorted() {
				if rg.GteMin(e.m) && rg.LteMax(e.m) {
					in = append(in, e.m)
				}
			}
			if got := z.CountInLexRange(rg); got != len(in) {
				t.Errorf("%+v: count %d, want %d", rg, got, len(in))
			}
			f, l := z.FirstInLexRange(rg), z.LastInLexRange(rg)
			if len(in) == 0 {
				if f != nil || l != nil {
					t.Errorf("%+v: expected no bounds", rg)
				}
				continue
			}
			if f == nil || l == nil || f.member != in[0] || l.member != in[len(in)-1] {
				t.Errorf("%+v: first/last wrong", rg)
			}
		}
	}
	c := z.Clone().(*ZSet)
	if n := c.DeleteRangeByLex(LexRange{Min: LexBound{S: "a"}, Max: LexBound{S: "b", Ex: true}}); n != 3 {
		t.Fatalf("DeleteRangeByLex removed %d, want 3", n)
	}
	if c.Len() != 5 {
		t.Fatalf("len %d", c.Len())
	}
}

func TestZSetEncodingTransitions(t *testing.T) {
	lim := Limits{ZsetMaxListpackEntries: 3, ZsetMaxListpackValue: 4}
	z := NewZSetFor(lim, 1)
	if z.Encoding() != "listpack" {
		t.Fatal("small set should start as listpack")
	}
	z.Insert("a", math.Copysign(0, -1), lim)
	if s, _ := z.Score("a"); math.Signbit(s) {
		t.Fatal("a listpack stores -0 as 0")
	}
	z.Insert("b", 1, lim)
	z.Insert("c", 2, lim)
	if z.Encoding() != "listpack" {
		t.Fatal("3 entries fit")
	}
	z.Insert("d", math.Copysign(0, -1), lim)
	if z.Encoding() != "skiplist" {
		t.Fatal("4th entry converts")
	}
	if s, _ := z.Score("d"); !math.Signbit(s) {
		t.Fatal("a skiplist keeps -0")
	}
	z.Delete("d")
	if z.Encoding() != "skiplist" {
		t.Fatal("conversion is one-way")
	}
	if NewZSetFor(lim, 5).Encoding() != "skiplist" {
		t.Fatal("long first member starts as skiplist")
	}
	if NewZSetFor(Limits{ZsetMaxListpackValue: 64}, 1).Encoding() != "skiplist" {
		t.Fatal("zero entries limit starts as skiplist")
	}
	y := NewZSet(true)
	y.Insert("short", 1, Limits{ZsetMaxListpackEntries: 10, ZsetMaxListpackValue: 4})
	if y.Encoding() != "skiplist" {
		t.Fatal("long member converts")
	}
	y.ConvertToListpackIfFits(lim)
	if y.Encoding() != "skiplist" {
		t.Fatal("long member cannot be a listpack")
	}
	y.Delete("short")
	y.Insert("ok", math.Copysign(0, -1), lim)
	y.ConvertToListpackIfFits(lim)
	if s, _ := y.Score("ok"); y.Encoding() != "listpack" || math.Signbit(s) {
		t.Fatal("ConvertToListpackIfFits converts and normalizes -0")
	}
}

func TestZSetObjectRoundTrip(t *testing.T) {
	z := NewZSet(false)
	for i := 0; i < 300; i++ {
		z.Insert(fmt.Sprintf("k%d", i), float64(i%7), zlim)
	}
	o := z.Object()
	if o.Kind != rdb.KindZSet || len(o.ZSet) != 300 {
		t.Fatal("bad object")
	}
	for i := 1; i < len(o.ZSet); i++ {
		a, b := o.ZSet[i-1], o.ZSet[i]
		if !zslLess(a.Score, string(a.Member), b.Score, string(b.Member)) {
			t.Fatal("object entries not ascending")
		}
	}
	back := ZSetFromObject(o, zlim)
	if back.Encoding() != "skiplist" {
		t.Fatal("300 entries load as skiplist")
	}
	var m zmodel
	for _, e := range o.ZSet {
		m = append(m, zref{string(e.Member), e.Score})
	}
	checkZSet(t, back, m)

	// Unsorted input with a repeated member: last score wins.
	small := ZSetFromObject(rdb.Object{Kind: rdb.KindZSet, ZSet: []rdb.ZEntry{
		{Member: []byte("b"), Score: 2}, {Member: []byte("a"), Score: 1}, {Member: []byte("b"), Score: 0},
	}}, zlim)
	if small.Encoding() != "listpack" {
		t.Fatal("small load is a listpack")
	}
	checkZSet(t, small, zmodel{{"a", 1}, {"b", 0}})
}

func TestZSetScanReturnsStableMembersOnce(t *testing.T) {
	z := NewZSet(false)
	for i := 0; i < 1000; i++ {
		z.Insert(fmt.Sprintf("s%d", i), float64(i), zlim)
	}
	seen := map[string]int{}
	var cursor uint64
	calls := 0
	for {
		cursor = z.Scan(cursor, 10, func(m string, _ float64) { seen[m]++ })
		calls++
		// Churn: members added and removed between calls.
		z.Insert(fmt.Sprintf("tmp%d", calls), 0, zlim)
		z.Delete(fmt.Sprintf("tmp%d", calls-1))
		if cursor == 0 {
			break
		}
		if calls > 1000 {
			t.Fatal("scan does not terminate")
		}
	}
	for i := 0; i < 1000; i++ {
		if n := seen[fmt.Sprintf("s%d", i)]; n != 1 {
			t.Fatalf("s%d seen %d times", i, n)
		}
	}
	if calls < 50 {
		t.Fatalf("only %d calls: COUNT not honoured", calls)
	}
	lp := NewZSet(true)
	lp.Insert("b", 2, zlim)
	lp.Insert("a", 1, zlim)
	var got []string
	if c := lp.Scan(12345, 1, func(m string, _ float64) { got = append(got, m) }); c != 0 || len(got) != 2 || got[0] != "a" {
		t.Fatalf("listpack scan: cursor %d members %v", c, got)
	}
}

func TestZSetRandomCoversAll(t *testing.T) {
	z := NewZSet(true)
	for _, s := range []string{"a", "b", "c"} {
		z.Insert(s, 1, zlim)
	}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		seen[z.Random(rand.IntN).Member()] = true
	}
	if len(seen) != 3 {
		t.Fatalf("random saw %v", seen)
	}
}
