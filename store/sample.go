package store

import (
	"math/rand/v2"

	"github.com/slotvault/slotvault/slots"
)

// SampleKeys calls fn for up to count keys taken from a random place in the
// keyspace (only keys with an expiry when volatile), the way Redis's
// dictGetSomeKeys feeds the eviction pool: keys of consecutive slots
// starting at a random one (a slot's keys in map order, whose start Go
// randomises). Keys that expired but were not removed yet may be among
// them. fn must not modify the DB. It returns the number of keys passed.
func (db *DB) SampleKeys(count int, volatile bool, fn func(key string, e *Entry)) int {
	if count <= 0 || db.size == 0 || (volatile && db.volatile == 0) {
		return 0
	}
	got := 0
	start := rand.IntN(slots.Count)
	for i := 0; i < slots.Count && got < count; i++ {
		t := db.tables[(start+i)%slots.Count]
		if t == nil {
			continue
		}
		m := t.keys
		if volatile {
			m = t.expires
		}
		for k, e := range m {
			fn(k, e)
			if got++; got == count {
				break
			}
		}
	}
	return got
}

// RandomVolatileKey returns a random key with an expiry, or "" and false
// when there is none (volatile-random eviction).
func (db *DB) RandomVolatileKey() (string, bool) {
	var key string
	ok := false
	db.SampleKeys(1, true, func(k string, _ *Entry) { key, ok = k, true })
	return key, ok
}
