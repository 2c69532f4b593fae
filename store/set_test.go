package store

import (
	"strconv"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/rdb"
)

func TestSetIntsetOrderAndRules(t *testing.T) {
	s := NewSet()
	for _, m := range []string{"3", "-1", "10", "3"} {
		s.Add(m, testLimits)
	}
	if got := strings.Join(s.Members(), " "); got != "-1 3 10" || s.Encoding() != "intset" {
		t.Fatalf("members %q encoding %s", got, s.Encoding())
	}
	if s.Has("03") || s.Has("+3") || !s.Has("3") || s.Has("x") {
		t.Fatal("membership must follow string2ll")
	}
	if s.Remove("03") || !s.Remove("3") {
		t.Fatal("remove must follow string2ll")
	}
	for _, m := range []string{"01", "-0", "+1", "1.0", " 1", "9223372036854775808", "a"} {
		n := NewSet()
		n.Add("1", testLimits)
		n.Add(m, testLimits)
		if n.Encoding() != "hashtable" || !n.Has(m) || !n.Has("1") {
			t.Errorf("adding %q: encoding %s", m, n.Encoding())
		}
	}
	n := NewSet()
	n.Add("-9223372036854775808", testLimits)
	n.Add("9223372036854775807", testLimits)
	if n.Encoding() != "intset" {
		t.Fatal("int64 bounds are integers")
	}
}

func TestSetConversionAndRebuild(t *testing.T) {
	s := NewSet()
	for i := 1; i <= 4; i++ {
		s.Add(strconv.Itoa(i), testLimits)
	}
	if s.Encoding() != "intset" {
		t.Fatal("4 ints should fit")
	}
	s.Add("5", testLimits)
	if s.Encoding() != "hashtable" {
		t.Fatal("5 ints exceed the limit")
	}
	s.Remove("5")
	if s.Encoding() != "hashtable" {
		t.Fatal("no conversion back")
	}
	s.Rebuild([]string{"2", "1"}, testLimits)
	if s.Encoding() != "intset" || strings.Join(s.Members(), " ") != "1 2" {
		t.Fatalf("rebuild: %s %v", s.Encoding(), s.Members())
	}
	c := s.Clone().(*Set)
	s.Remove("1")
	if !c.Has("1") {
		t.Fatal("clone shares state")
	}
}

func TestSetObject(t *testing.T) {
	o := rdb.Object{Kind: rdb.KindSet, Set: [][]byte{[]byte("3"), []byte("1"), []byte("2")}}
	s := SetFromObject(o, testLimits)
	if s.Encoding() != "intset" || strings.Join(s.Members(), " ") != "1 2 3" {
		t.Fatalf("%s %v", s.Encoding(), s.Members())
	}
	o.Set = append(o.Set, []byte("x"))
	if s := SetFromObject(o, testLimits); s.Encoding() != "hashtable" || s.Len() != 4 {
		t.Fatal("non-integer member must give a hashtable")
	}
	back := s.Object()
	if back.Kind != rdb.KindSet || len(back.Set) != 3 {
		t.Fatalf("%+v", back)
	}
	big := rdb.Object{Kind: rdb.KindSet}
	for i := 0; i < 10; i++ {
		big.Set = append(big.Set, []byte(strconv.Itoa(i)))
	}
	if s := SetFromObject(big, testLimits); s.Encoding() != "hashtable" || s.Len() != 10 {
		t.Fatal("too many members for an intset")
	}
}

func TestSetRandomAndScan(t *testing.T) {
	s := NewSet()
	for i := 0; i < 100; i++ {
		s.Add("m"+strconv.Itoa(i), testLimits)
	}
	for i := 0; i < 200; i++ {
		if m := s.Random(); !s.Has(m) {
			t.Fatalf("Random returned %q", m)
		}
	}
	seen := map[string]bool{}
	cur := uint64(0)
	for {
		cur = s.Scan(cur, func(m string) { seen[m] = true })
		if cur == 0 {
			break
		}
	}
	if len(seen) != 100 {
		t.Fatalf("scan saw %d", len(seen))
	}
}
