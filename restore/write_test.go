package restore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/persistence"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/restore"
	"github.com/slotvault/slotvault/slots"
)

// entrySource is a SnapshotSource yielding fixed entries in the given
// order (a node yields snapshot order; any order is allowed).
type entrySource struct {
	es []backup.Entry
	i  int
}

func (s *entrySource) OpenSnapshot(context.Context) (backup.SnapshotReader, error) {
	s.i = 0
	return s, nil
}
func (s *entrySource) Seq() uint64     { return 7 }
func (s *entrySource) Time() time.Time { return time.Now() }
func (s *entrySource) DBs() int        { return 16 }
func (s *entrySource) Close() error    { return nil }
func (s *entrySource) Next() (backup.Entry, error) {
	if s.i == len(s.es) {
		return backup.Entry{}, io.EOF
	}
	s.i++
	return s.es[s.i-1], nil
}

func strEntry(db int, key, val string, expire int64) backup.Entry {
	p, err := rdb.EncodePayload(&rdb.Object{Kind: rdb.KindString, Str: []byte(val)})
	if err != nil {
		panic(err)
	}
	return backup.Entry{DB: db, Slot: slots.KeySlotString(key), Key: []byte(key), Expire: expire, Value: p}
}

func fetchEntries(t *testing.T, es []backup.Entry) (*restore.NodeData, error) {
	t.Helper()
	st := backup.NewMemStore()
	ident := backup.StaticIdentity(backup.NodeInfo{NodeID: nodeID, Role: "master", Slots: [][2]int{{0, 16383}}})
	if _, err := backup.FullBackup(context.Background(), st, nil, &entrySource{es: es}, ident, time.Now, nil); err != nil {
		t.Fatal(err)
	}
	inv, err := restore.Discover(context.Background(), restore.Source{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return restore.Fetch(context.Background(), restore.Source{Store: st}, inv.Node(nodeID), time.Time{}, nil)
}

// TestWriteDataDir: the snapshot keys of the kept slots land in the data
// directory as a complete snapshot in the node's order, whatever order the
// backup stream had, values copied byte for byte.
func TestWriteDataDir(t *testing.T) {
	var es []backup.Entry
	for i := 200; i > 0; i-- { // reverse: not snapshot order
		es = append(es, strEntry(i%3, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), int64(i%2)*4102444800000))
	}
	d, err := fetchEntries(t, es)
	if err != nil {
		t.Fatal(err)
	}
	if d.NeedsReplay() {
		t.Fatal("no log records, yet NeedsReplay")
	}
	keep := restore.NewSlotSet([][2]int{{0, 8191}})
	dir := filepath.Join(t.TempDir(), "node")
	n, err := restore.WriteDataDir(dir, d, keep)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]backup.Entry{}
	for _, e := range es {
		if e.Slot <= 8191 {
			want[fmt.Sprintf("%d/%s", e.DB, e.Key)] = e
		}
	}
	if int(n) != len(want) {
		t.Fatalf("wrote %d keys, want %d", n, len(want))
	}
	st, err := persistence.OpenSnapshotStore(nil, filepath.Join(dir, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, err := st.Complete()
	if err != nil || len(ms) != 1 {
		t.Fatalf("snapshots %+v %v", ms, err)
	}
	got := 0
	err = st.Load(ms[0], func(e persistence.SnapshotEntry) error {
		w, ok := want[fmt.Sprintf("%d/%s", e.DB, e.Key)]
		if !ok || w.Slot != e.Slot || w.Expire != e.Expire || string(w.Value) != string(e.Payload) {
			return fmt.Errorf("unexpected key %d/%s slot %d expire %d", e.DB, e.Key, e.Slot, e.Expire)
		}
		got++
		return nil
	}, nil)
	if err != nil || got != len(want) {
		t.Fatalf("load: %v (%d keys, want %d)", err, got, len(want))
	}
	// The output is written once: a second write into it is refused.
	if _, err := restore.WriteDataDir(dir, d, nil); err == nil {
		t.Fatal("a second WriteDataDir into the same folder succeeded")
	}
}

// TestFetchChecksPayloads: what the stream's CRC does not cover is checked
// before anything is returned: each DUMP payload's own CRC64 and the slot
// recorded for each key.
func TestFetchChecksPayloads(t *testing.T) {
	bad := strEntry(0, "k1", "v", 0)
	bad.Value = append([]byte(nil), bad.Value...)
	bad.Value[1] ^= 0x40
	_, err := fetchEntries(t, []backup.Entry{strEntry(0, "k0", "v", 0), bad})
	if !errors.Is(err, backup.ErrCorrupt) || !strings.Contains(err.Error(), "DUMP payload") {
		t.Fatalf("corrupt payload: err = %v", err)
	}
	wrong := strEntry(0, "k2", "v", 0)
	wrong.Slot = (wrong.Slot + 1) % slots.Count
	_, err = fetchEntries(t, []backup.Entry{wrong})
	if !errors.Is(err, backup.ErrCorrupt) || !strings.Contains(err.Error(), "slot") {
		t.Fatalf("wrong slot: err = %v", err)
	}
}
