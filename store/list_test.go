package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/slotvault/slotvault/rdb"
)

func listElems(l *List) []string {
	var out []string
	l.Each(func(_ int, v []byte) bool {
		out = append(out, string(v))
		return true
	})
	return out
}

func requireList(t *testing.T, step string, l *List, model []string) {
	t.Helper()
	got := listElems(l)
	if l.Len() != len(model) || fmt.Sprint(got) != fmt.Sprint(model) {
		t.Fatalf("%s: list %q (len %d), want %q", step, got, l.Len(), model)
	}
	for i, m := range model {
		if string(l.Index(i)) != m {
			t.Fatalf("%s: Index(%d) = %q, want %q", step, i, l.Index(i), m)
		}
	}
}

func TestListBasics(t *testing.T) {
	l := NewList()
	if l.Type() != "list" || l.Encoding() != "quicklist" {
		t.Fatalf("type/encoding %s/%s", l.Type(), l.Encoding())
	}
	if l.PopFront() != nil || l.PopBack() != nil {
		t.Fatal("pop from empty list returned an element")
	}
	l.PushBack([]byte("b"))
	l.PushFront([]byte("a"))
	l.PushBack([]byte("c"))
	requireList(t, "push", l, []string{"a", "b", "c"})
	l.Insert(1, []byte("x"))
	requireList(t, "insert", l, []string{"a", "x", "b", "c"})
	l.Delete(2)
	requireList(t, "delete", l, []string{"a", "x", "c"})
	l.Set(0, []byte("z"))
	requireList(t, "set", l, []string{"z", "x", "c"})
	if r := l.Range(1, 2); len(r) != 2 || string(r[0]) != "x" || string(r[1]) != "c" {
		t.Fatalf("range %q", r)
	}
	l.Trim(5, 1)
	requireList(t, "trim empty", l, nil)
}

func TestListCloneAndObject(t *testing.T) {
	l := NewList()
	for i := 0; i < 100; i++ {
		l.PushFront([]byte(fmt.Sprint(i)))
	}
	c := l.Clone().(*List)
	c.Index(0)[0] = 'X'
	if string(l.Index(0)) != "99" {
		t.Fatal("Clone shares element memory")
	}
	o := l.Object()
	if o.Kind != rdb.KindList || len(o.List) != 100 || string(o.List[99]) != "0" {
		t.Fatalf("Object: %v %d", o.Kind, len(o.List))
	}
	back := ListFromObject(o, Limits{})
	if fmt.Sprint(listElems(back)) != fmt.Sprint(listElems(l)) {
		t.Fatal("ListFromObject does not round-trip")
	}
}

// TestListModel drives the ring buffer and a plain slice with the same
// random operations, across growth, wrap-around and shrinking.
func TestListModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := NewList()
	var model []string
	vals := []string{"a", "b", "c", "", "dd"}
	for step := 0; step < 20000; step++ {
		v := vals[rng.IntN(len(vals))]
		name := ""
		switch op := rng.IntN(10); {
		case op < 2:
			name = "PushFront"
			l.PushFront([]byte(v))
			model = append([]string{v}, model...)
		case op < 4:
			name = "PushBack"
			l.PushBack([]byte(v))
			model = append(model, v)
		case op == 4 && len(model) > 0:
			name = "PopFront"
			if got := l.PopFront(); string(got) != model[0] {
				t.Fatalf("step %d PopFront %q want %q", step, got, model[0])
			}
			model = model[1:]
		case op == 5 && len(model) > 0:
			name = "PopBack"
			if got := l.PopBack(); string(got) != model[len(model)-1] {
				t.Fatalf("step %d PopBack %q want %q", step, got, model[len(model)-1])
			}
			model = model[:len(model)-1]
		case op == 6:
			i := rng.IntN(len(model) + 1)
			name = fmt.Sprintf("Insert(%d)", i)
			l.Insert(i, []byte(v))
			model = append(model[:i], append([]string{v}, model[i:]...)...)
		case op == 7 && len(model) > 0:
			i := rng.IntN(len(model))
			name = fmt.Sprintf("Delete(%d)", i)
			l.Delete(i)
			model = append(model[:i], model[i+1:]...)
		case op == 8 && rng.IntN(20) == 0:
			s, e := rng.IntN(len(model)+2)-1, rng.IntN(len(model)+2)-1
			name = fmt.Sprintf("Trim(%d,%d)", s, e)
			l.Trim(s, e)
			if s < 0 {
				s = 0
			}
			if e >= len(model) {
				e = len(model) - 1
			}
			if s > e {
				model = nil
			} else {
				model = append([]string(nil), model[s:e+1]...)
			}
		case op == 9 && rng.IntN(5) == 0:
			limit, fromTail := rng.IntN(3), rng.IntN(2) == 0
			name = fmt.Sprintf("RemoveEqual(%q,%d,%v)", v, limit, fromTail)
			got := l.RemoveEqual([]byte(v), limit, fromTail)
			want := 0
			var kept []string
			if fromTail {
				for i := len(model) - 1; i >= 0; i-- {
					if model[i] == v && (limit == 0 || want < limit) {
						want++
						continue
					}
					kept = append([]string{model[i]}, kept...)
				}
			} else {
				for _, m := range model {
					if m == v && (limit == 0 || want < limit) {
						want++
						continue
					}
					kept = append(kept, m)
				}
			}
			model = kept
			if got != want {
				t.Fatalf("step %d %s removed %d want %d", step, name, got, want)
			}
		default:
			continue
		}
		requireList(t, fmt.Sprintf("step %d %s", step, name), l, model)
	}
}

func TestListShrinks(t *testing.T) {
	l := NewList()
	for i := 0; i < 10000; i++ {
		l.PushBack(bytes.Repeat([]byte{'x'}, 1))
	}
	for i := 0; i < 9990; i++ {
		l.PopFront()
	}
	if len(l.buf) > 128 {
		t.Fatalf("buffer of %d slots kept for %d elements", len(l.buf), l.n)
	}
	for l.Len() > 0 {
		l.PopBack()
	}
	if l.buf != nil {
		t.Fatal("empty list keeps its buffer")
	}
}

func BenchmarkListPushPop(b *testing.B) {
	l := NewList()
	v := []byte("value")
	for i := 0; i < b.N; i++ {
		l.PushBack(v)
		l.PushFront(v)
		l.PopBack()
	}
}
