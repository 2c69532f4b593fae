package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func strVal(s string) *String { return &String{B: []byte(s)} }

// collect returns a SlotFunc recording key → value for a view.
func collect(into map[string]string, slotsSeen map[int]int) SlotFunc {
	return func(slot int, keys SlotKeys) {
		slotsSeen[slot]++
		keys.Range(func(k string, e *Entry) bool {
			if _, dup := into[k]; dup {
				panic("key delivered twice: " + k)
			}
			into[k] = string(e.Value.(*String).B)
			return true
		})
	}
}

func TestViewIsPointInTime(t *testing.T) {
	db := NewDB(func() int64 { return 1000 })
	want := map[string]string{}
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("key:%d", i)
		db.Set(k, strVal("v0"), 0)
		want[k] = "v0"
	}
	got, seen := map[string]string{}, map[int]int{}
	v := db.StartView(collect(got, seen))
	other, otherSeen := map[string]string{}, map[int]int{}
	v2 := db.StartView(collect(other, otherSeen))
	r := rand.New(rand.NewPCG(1, 2))
	for v.Step(50) {
		// Interleave writes: in-place modification after Lookup, Set,
		// Delete, new keys.
		for j := 0; j < 20; j++ {
			k := fmt.Sprintf("key:%d", r.IntN(6000))
			switch r.IntN(4) {
			case 0:
				if e := db.Lookup(k); e != nil {
					e.Value.(*String).B = []byte("changed")
				}
			case 1:
				db.Set(k, strVal("new"), 0)
			case 2:
				db.Delete(k)
			case 3:
				db.SetExpire(k, 5)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("view has %d keys, want %d", len(got), len(want))
	}
	for k, val := range want {
		if got[k] != val {
			t.Fatalf("key %s: view has %q, want %q", k, got[k], val)
		}
	}
	for s, n := range seen {
		if n != 1 {
			t.Fatalf("slot %d delivered %d times", s, n)
		}
	}
	// The second view, still pending, sees the same point.
	db.Flush()
	if v2.Pending() != 0 || len(other) != len(want) {
		t.Fatalf("second view: pending %d, %d keys", v2.Pending(), len(other))
	}
	if len(db.views) != 0 {
		t.Fatalf("views not released: %d", len(db.views))
	}
}

func TestViewEmptyAndClose(t *testing.T) {
	db := NewDB(func() int64 { return 0 })
	v := db.StartView(func(int, SlotKeys) { t.Fatal("delivered from an empty db") })
	if v.Step(10) || v.Pending() != 0 {
		t.Fatal("empty view has pending slots")
	}
	db.Set("a", strVal("1"), 0)
	n := 0
	v = db.StartView(func(int, SlotKeys) { n++ })
	v.Close()
	db.Set("a", strVal("2"), 0)
	if n != 0 || len(db.views) != 0 {
		t.Fatal("closed view still delivers")
	}
	// A key added to a slot empty at the start is not in the view.
	got, seen := map[string]string{}, map[int]int{}
	v = db.StartView(collect(got, seen))
	db.Set("b", strVal("x"), 0)
	v.Finish()
	if len(got) != 1 || got["a"] != "2" {
		t.Fatalf("view %v", got)
	}
}
