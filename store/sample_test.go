package store

import (
	"strconv"
	"testing"
)

func TestSampleKeys(t *testing.T) {
	db := NewDB(func() int64 { return 1000 })
	if n := db.SampleKeys(5, false, func(string, *Entry) {}); n != 0 {
		t.Fatalf("empty DB sampled %d", n)
	}
	for i := 0; i < 100; i++ {
		exp := int64(0)
		if i%10 == 0 {
			exp = 1_000_000 + int64(i)
		}
		db.Set("k"+strconv.Itoa(i), &String{B: []byte("v")}, exp)
	}
	seen := map[string]bool{}
	for round := 0; round < 200; round++ {
		n := db.SampleKeys(5, false, func(k string, e *Entry) {
			if db.Peek(k) != e {
				t.Fatalf("sampled %q with a stale entry", k)
			}
			seen[k] = true
		})
		if n != 5 {
			t.Fatalf("sampled %d keys, want 5", n)
		}
	}
	if len(seen) < 50 {
		t.Fatalf("sampling reached only %d of 100 keys", len(seen))
	}
	for round := 0; round < 50; round++ {
		n := db.SampleKeys(20, true, func(k string, e *Entry) {
			if e.Expire == 0 {
				t.Fatalf("volatile sample returned %q without expiry", k)
			}
		})
		if n != 10 {
			t.Fatalf("volatile sample of 20 gave %d keys, want all 10", n)
		}
	}
	if k, ok := db.RandomVolatileKey(); !ok || db.Peek(k).Expire == 0 {
		t.Fatalf("RandomVolatileKey = %q %v", k, ok)
	}
}
