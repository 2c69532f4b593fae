package store

import (
	"strconv"
	"testing"
)

func str(s string) *String { return &String{B: []byte(s)} }

func TestVolatileIndex(t *testing.T) {
	now := int64(10_000)
	db := NewDB(func() int64 { return now })
	db.Set("a", str("1"), now+10)
	db.Set("b", str("1"), 0)
	db.Set("a", str("2"), now+20) // overwrite keeps one volatile entry
	if db.Volatile() != 1 || db.Size() != 2 {
		t.Fatalf("volatile %d size %d", db.Volatile(), db.Size())
	}
	db.SetExpire("b", now+5)
	db.SetExpire("a", 0)
	if db.Volatile() != 1 {
		t.Fatalf("volatile %d", db.Volatile())
	}
	now += 6
	if n := db.ActiveExpireCycle(100); n != 1 {
		t.Fatalf("removed %d", n)
	}
	if db.Peek("b") != nil || db.Peek("a") == nil || db.Volatile() != 0 {
		t.Fatal("wrong key expired")
	}
}

func TestLookupExpiresLazily(t *testing.T) {
	now := int64(10_000)
	db := NewDB(func() int64 { return now })
	var expired []string
	db.OnExpire = func(k string) { expired = append(expired, k) }
	db.Set("k", str("v"), now+1)
	if db.Lookup("k") == nil {
		t.Fatal("live key missing")
	}
	now++
	if db.LookupNoExpire("k") != nil || db.Peek("k") == nil {
		t.Fatal("LookupNoExpire must hide but keep an expired key")
	}
	if db.LookupNoTouch("k") != nil || db.Size() != 0 || len(expired) != 1 {
		t.Fatalf("expired key not removed: size %d, %v", db.Size(), expired)
	}
}

func TestRandomKey(t *testing.T) {
	now := int64(10_000)
	db := NewDB(func() int64 { return now })
	if _, ok := db.RandomKey(); ok {
		t.Fatal("empty DB returned a key")
	}
	for i := 0; i < 100; i++ {
		db.Set("k"+strconv.Itoa(i), str("v"), now+1)
	}
	db.Set("live", str("v"), 0)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		k, ok := db.RandomKey()
		if !ok {
			t.Fatal("no key")
		}
		seen[k] = true
	}
	if len(seen) < 5 {
		t.Fatalf("RandomKey is not random: %v", seen)
	}
	now += 2
	for i := 0; i < 10; i++ {
		if k, ok := db.RandomKey(); !ok || k != "live" {
			t.Fatalf("got %q %v, want the only live key", k, ok)
		}
	}
}

func TestAccessTracking(t *testing.T) {
	now := int64(100_000_000)
	db := NewDB(func() int64 { return now })
	e := db.Set("k", str("v"), 0)
	now += 5000
	if got := db.IdleSeconds(e); got != 5 {
		t.Fatalf("idle %d", got)
	}
	db.LookupNoTouch("k")
	if got := db.IdleSeconds(e); got != 5 {
		t.Fatalf("LookupNoTouch touched: idle %d", got)
	}
	db.Lookup("k")
	if got := db.IdleSeconds(e); got != 0 {
		t.Fatalf("Lookup did not touch: idle %d", got)
	}
	db.SetIdle(e, 1000)
	if got := db.IdleSeconds(e); got != 1000 {
		t.Fatalf("SetIdle: idle %d", got)
	}
	// An idle time beyond the clock wraps to half the clock range.
	db.SetIdle(e, 1<<40)
	if got := db.IdleSeconds(e); got != LRUClockMax/2+1 && got != LRUClockMax/2 {
		t.Fatalf("wrapped idle %d", got)
	}

	db.LFU = true
	f := db.Set("f", str("v"), 0)
	if c := db.LFUCounter(f); c != LFUInitVal {
		t.Fatalf("new key counter %d", c)
	}
	db.Lookup("f") // at the initial value the increment is certain
	if c := db.LFUCounter(f); c != LFUInitVal+1 {
		t.Fatalf("counter after access %d", c)
	}
	db.SetFreq(f, 100)
	if c := db.LFUCounter(f); c != 100 {
		t.Fatalf("SetFreq: %d", c)
	}
	now += 3 * 60_000 // three decay periods of one minute
	if c := db.LFUCounter(f); c != 97 {
		t.Fatalf("decayed counter %d", c)
	}
	db.Set("f", str("w"), 0) // overwrite keeps the counter under LFU
	if c := db.LFUCounter(f); c != 97 {
		t.Fatalf("counter after overwrite %d", c)
	}
}
