package dict

import (
	"strconv"
	"testing"
)

func TestSetGetDelete(t *testing.T) {
	d := New[int](0)
	for i := 0; i < 10000; i++ {
		if !d.Set(strconv.Itoa(i), i) {
			t.Fatalf("key %d reported as existing", i)
		}
	}
	if d.Set("5", 55) {
		t.Fatal("update reported as new")
	}
	if v, ok := d.Get("5"); !ok || v != 55 {
		t.Fatalf("Get(5) = %d, %v", v, ok)
	}
	if d.Len() != 10000 {
		t.Fatalf("Len = %d", d.Len())
	}
	for i := 0; i < 10000; i += 2 {
		if !d.Delete(strconv.Itoa(i)) {
			t.Fatalf("delete %d failed", i)
		}
	}
	if d.Delete("0") {
		t.Fatal("deleted a missing key")
	}
	for i := 0; i < 10000; i++ {
		_, ok := d.Get(strconv.Itoa(i))
		if ok != (i%2 == 1) {
			t.Fatalf("Get(%d) present=%v", i, ok)
		}
	}
	n := 0
	d.Range(func(string, int) bool { n++; return true })
	if n != 5000 {
		t.Fatalf("Range visited %d", n)
	}
	for i := 1; i < 10000; i += 2 {
		d.Delete(strconv.Itoa(i))
	}
	// Shrinking is incremental and may still be in progress: a few more
	// operations finish it.
	for i := 0; i < 1000 && (d.rehashing() || len(d.t[0]) > 64); i++ {
		d.Get("x")
		d.Delete("missing")
	}
	// Like Redis, shrinking happens on deletes (not in a cron here), so the
	// table ends smaller than at its peak, not necessarily minimal.
	if d.Len() != 0 || len(d.t[0]) >= 16384 {
		t.Fatalf("after deleting all: len %d, table %d", d.Len(), len(d.t[0]))
	}
}

// TestScanGuarantee checks that keys present for a whole scan are returned
// even when the table grows and shrinks (and is mid-rehash) between calls.
func TestScanGuarantee(t *testing.T) {
	for _, tc := range []struct {
		name        string
		grow, prune int
	}{{"stable", 0, 0}, {"grow", 200, 0}, {"shrink", 0, 190}, {"both", 300, 250}} {
		t.Run(tc.name, func(t *testing.T) {
			d := New[struct{}](0)
			stable := map[string]bool{}
			for i := 0; i < 1000; i++ {
				k := "s" + strconv.Itoa(i)
				d.Set(k, struct{}{})
				stable[k] = true
			}
			extra := 0
			for i := 0; i < 5000; i++ {
				d.Set("tmp"+strconv.Itoa(i), struct{}{})
				extra++
			}
			seen := map[string]bool{}
			cur := uint64(0)
			calls := 0
			for {
				cur = d.Scan(cur, func(k string, _ struct{}) { seen[k] = true })
				calls++
				// Mutate between calls.
				for j := 0; j < tc.grow && calls < 100; j++ {
					d.Set("g"+strconv.Itoa(calls)+"_"+strconv.Itoa(j), struct{}{})
				}
				for j := 0; j < tc.prune && extra > 0; j++ {
					extra--
					d.Delete("tmp" + strconv.Itoa(extra))
				}
				if cur == 0 {
					break
				}
				if calls > 1<<20 {
					t.Fatal("scan does not terminate")
				}
			}
			for k := range stable {
				if !seen[k] {
					t.Fatalf("key %s missed by scan", k)
				}
			}
		})
	}
}

func TestRandomAndClone(t *testing.T) {
	d := New[string](0)
	for i := 0; i < 300; i++ {
		d.Set(strconv.Itoa(i), "v"+strconv.Itoa(i))
	}
	for i := 0; i < 1000; i++ {
		k, v := d.Random()
		if v != "v"+k {
			t.Fatalf("Random returned %q=%q", k, v)
		}
	}
	c := d.Clone()
	d.Delete("1")
	if _, ok := c.Get("1"); !ok || c.Len() != 300 {
		t.Fatal("clone shares state with the original")
	}
}
