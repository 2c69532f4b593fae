package store

import (
	"testing"

	"github.com/slotvault/slotvault/slots"
)

// TestReserve: sizing a slot before a bulk load changes nothing visible,
// and a slot that holds keys keeps them.
func TestReserve(t *testing.T) {
	db := NewDB(func() int64 { return 1 })
	s := slots.KeySlotString("a")
	db.Reserve(s, 100)
	if db.Size() != 0 || db.NextNonEmptySlot(0) != -1 {
		t.Fatalf("reserve made the slot look used: size %d", db.Size())
	}
	db.Set("a", str("1"), 0)
	db.Reserve(s, 1000) // holds a key: no-op
	if e := db.Peek("a"); e == nil || string(e.Value.(*String).B) != "1" || db.Size() != 1 {
		t.Fatalf("reserve on a used slot lost its key")
	}
	db.Delete("a")
	db.Reserve(s, 100) // empty again
	db.Set("a", str("2"), 0)
	if e := db.Lookup("a"); e == nil || db.Size() != 1 || db.NextNonEmptySlot(0) != s {
		t.Fatalf("after delete and reserve: size %d", db.Size())
	}
}
