package persistence

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/slotvault/slotvault/slots"
)

// importEntries returns n string keys spread over databases 0 and 2, in
// snapshot order (db, slot, key), with stringCodec payloads.
func importEntries(n int) []SnapshotEntry {
	var es []SnapshotEntry
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("key:%d", i)
		var exp int64
		if i%7 == 0 {
			exp = 4102444800000 // 2100-01-01
		}
		es = append(es, SnapshotEntry{DB: (i % 2) * 2, Slot: slots.KeySlotString(k), Key: []byte(k), Expire: exp, Payload: []byte("S" + k)})
	}
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.DB != b.DB {
			return a.DB < b.DB
		}
		if a.Slot != b.Slot {
			return a.Slot < b.Slot
		}
		return string(a.Key) < string(b.Key)
	})
	return es
}

func feed(es []SnapshotEntry) func() (SnapshotEntry, bool, error) {
	i := 0
	return func() (SnapshotEntry, bool, error) {
		if i == len(es) {
			return SnapshotEntry{}, false, nil
		}
		i++
		return es[i-1], true, nil
	}
}

// TestImportSnapshotLoadsAtStart: a store written by ImportSnapshot is
// loaded by Recover like one the node saved, TTLs included, and the log
// continues after the imported sequence.
func TestImportSnapshotLoadsAtStart(t *testing.T) {
	mem := vfs.NewStrictMem()
	es := importEntries(3000)
	m, err := ImportSnapshot(ImportOptions{FS: mem, Dir: "data", Seq: 41, DBs: 4, StartMs: 1, EndMs: 2}, feed(es))
	if err != nil {
		t.Fatal(err)
	}
	if m.Keys != 3000 || !m.Complete || m.Seq != 41 {
		t.Fatalf("manifest %+v", m)
	}
	// Only what was synced counts.
	mem.SetIgnoreSyncs(true)
	mem.ResetToSyncedState()
	mem.SetIgnoreSyncs(false)
	n := mustStart(t, mem, nil)
	defer n.m.Close()
	if n.res.Snapshot == nil || n.res.Snapshot.ID != m.ID || n.res.Keys != 3000 || n.res.NextSeq != 42 {
		t.Fatalf("recover: %+v snapshot %+v", n.res, n.res.Snapshot)
	}
	var want []string
	for _, e := range es {
		want = append(want, fmt.Sprintf("%d:%s=%s@%d", e.DB, e.Key, e.Payload[1:], e.Expire))
	}
	sort.Strings(want)
	if got := n.h.dumpState(); got != strings.Join(want, "\n") {
		t.Fatalf("loaded state differs:\n%.300s\nwant\n%.300s", got, strings.Join(want, "\n"))
	}
	// The node's own snapshots go on from there.
	n.h.exec(t, 0, "SET", "after", "1")
	if err := n.m.SaveLocked(); err != nil {
		t.Fatal(err)
	}
	c, _ := n.m.Store().Complete()
	if len(c) != 2 || c[0].ID <= m.ID || c[0].Keys != 3001 {
		t.Fatalf("snapshots after a save: %+v", c)
	}
}

func TestImportSnapshotRefuses(t *testing.T) {
	es := importEntries(50)
	cases := []struct {
		name string
		es   []SnapshotEntry
		want string
	}{
		{"out of order", append([]SnapshotEntry{es[1]}, es[0]), "out of order"},
		{"duplicate", []SnapshotEntry{es[0], es[0]}, "out of order"},
		{"database", []SnapshotEntry{{DB: 4, Slot: 1, Key: []byte("k"), Payload: []byte("Sv")}}, "database 4 of 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := vfs.NewMem()
			_, err := ImportSnapshot(ImportOptions{FS: mem, Dir: "data", DBs: 4}, feed(c.es))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			// Nothing usable was left behind.
			st, err := OpenSnapshotStore(mem, "data/snapshots")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if c, _ := st.Complete(); len(c) != 0 {
				t.Fatalf("a failed import left snapshots %+v", c)
			}
		})
	}
	t.Run("source error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := ImportSnapshot(ImportOptions{FS: vfs.NewMem(), Dir: "data", DBs: 4}, func() (SnapshotEntry, bool, error) { return SnapshotEntry{}, false, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("existing store", func(t *testing.T) {
		mem := vfs.NewMem()
		if _, err := ImportSnapshot(ImportOptions{FS: mem, Dir: "data", DBs: 4}, feed(es)); err != nil {
			t.Fatal(err)
		}
		_, err := ImportSnapshot(ImportOptions{FS: mem, Dir: "data", DBs: 4}, feed(es))
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("err = %v", err)
		}
	})
}
