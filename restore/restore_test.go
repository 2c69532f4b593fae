package restore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/restore"
)

const nodeID = "0123456789abcdef0123456789abcdef01234567"

type chainFixture struct {
	st    *backup.MemStore
	src   *backup.FakeSource
	times []time.Time // time after each shipped phase
	logs  []string    // log object names in order
}

// build: backup of {a,b}; then three shipped phases c, d, e, one log
// object each, with a noted time after each.
func build(t *testing.T) *chainFixture {
	t.Helper()
	ctx := context.Background()
	f := &chainFixture{st: backup.NewMemStore(), src: backup.NewFakeSource()}
	f.src.Set("a", "1", 0)
	f.src.Set("b", "2", 0)
	ident := backup.StaticIdentity(backup.NodeInfo{NodeID: nodeID, Role: "master", Slots: [][2]int{{0, 16383}}})
	m, err := backup.FullBackup(ctx, f.st, nil, f.src, ident, time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	after := m.SnapshotSeq
	for _, k := range []string{"c", "d", "e"} {
		time.Sleep(3 * time.Millisecond)
		f.src.Set(k, "v"+k, 0)
		last, _, err := backup.ShipLog(ctx, f.st, nil, f.src, nodeID, after, f.src.LastSeq())
		if err != nil {
			t.Fatal(err)
		}
		after = last
		time.Sleep(3 * time.Millisecond)
		f.times = append(f.times, time.Now())
	}
	for _, k := range f.st.Keys() {
		if strings.HasSuffix(k, ".svl") {
			f.logs = append(f.logs, k)
		}
	}
	if len(f.logs) != 3 {
		t.Fatalf("want 3 log objects, got %v", f.logs)
	}
	return f
}

func fetch(t *testing.T, f *chainFixture, at time.Time) (*restore.NodeData, error) {
	t.Helper()
	inv, err := restore.Discover(context.Background(), restore.Source{Store: f.st})
	if err != nil {
		t.Fatal(err)
	}
	return restore.Fetch(context.Background(), restore.Source{Store: f.st}, inv.Node(nodeID), at, nil)
}

func keysOf(d *restore.NodeData) string {
	var s []string
	for _, e := range d.Entries {
		s = append(s, string(e.Key))
	}
	s = append(s, "|")
	for _, r := range d.Log {
		s = append(s, string(r.Argv[1]))
	}
	return strings.Join(s, " ")
}

func TestFetchPointInTime(t *testing.T) {
	f := build(t)
	for i, want := range []string{"a b | c", "a b | c d", "a b | c d e"} {
		d, err := fetch(t, f, f.times[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := keysOf(d); got != want {
			t.Errorf("at phase %d: %q, want %q", i, got, want)
		}
	}
	d, err := fetch(t, f, time.Time{})
	if err != nil || keysOf(d) != "a b | c d e" {
		t.Fatalf("latest: %v %v", d, err)
	}
	// Before the oldest backup: nothing.
	if _, err := fetch(t, f, time.Now().Add(-time.Hour)); err == nil {
		t.Fatal("restore before the first backup accepted")
	}
}

func TestFetchRefusesPastGap(t *testing.T) {
	f := build(t)
	f.st.Delete(context.Background(), f.logs[1])
	_, err := fetch(t, f, f.times[2])
	var ue *restore.UnreachableError
	if !errors.As(err, &ue) || !errors.Is(err, restore.ErrUnreachable) {
		t.Fatalf("gap not refused: %v", err)
	}
	if !strings.Contains(err.Error(), "missing") || ue.Latest.After(f.times[0]) || ue.Latest.IsZero() {
		t.Fatalf("error %v, latest %v (phase 0 ends %v)", err, ue.Latest, f.times[0])
	}
	// Up to the last record before the gap still works.
	if d, err := fetch(t, f, ue.Latest); err != nil || keysOf(d) != "a b | c" {
		t.Fatalf("before the gap: %v %v", d, err)
	}
}

func TestFetchRefusesTamperedObject(t *testing.T) {
	f := build(t)
	b := f.st.Bytes(f.logs[2])
	b[len(b)-3] ^= 1
	f.st.SetBytes(f.logs[2], b)
	_, err := fetch(t, f, f.times[2])
	if !errors.Is(err, restore.ErrUnreachable) || !strings.Contains(err.Error(), "unusable") {
		t.Fatalf("tampered object not refused: %v", err)
	}
	if _, err := fetch(t, f, time.Time{}); err != nil {
		t.Fatalf("latest should stop before the damaged object: %v", err)
	}
	// A tampered snapshot with no older backup: refused.
	for _, k := range f.st.Keys() {
		if strings.HasSuffix(k, "snapshot.svs") {
			b := f.st.Bytes(k)
			b[len(b)/2] ^= 1
			f.st.SetBytes(k, b)
		}
	}
	if _, err := fetch(t, f, time.Time{}); err == nil || !errors.Is(err, backup.ErrCorrupt) {
		t.Fatalf("tampered snapshot not refused: %v", err)
	}
}

func TestClusterAt(t *testing.T) {
	inv := &restore.Inventory{Topology: []backup.TopologyRecord{
		{Time: time.Unix(100, 0), Topology: backup.Topology{CurrentEpoch: 3, Nodes: []backup.TopologyNode{
			{ID: "a", Role: "master", ConfigEpoch: 1, Slots: [][2]int{{0, 8191}}},
			{ID: "b", Role: "master", ConfigEpoch: 2, Slots: [][2]int{{8192, 16383}}},
			{ID: "c", Role: "replica", MasterID: "a"}}}},
		{Time: time.Unix(200, 0), Topology: backup.Topology{CurrentEpoch: 4, Nodes: []backup.TopologyNode{
			{ID: "a", Role: "replica", MasterID: "c"},
			{ID: "b", Role: "master", ConfigEpoch: 2, Slots: [][2]int{{8192, 16383}}},
			{ID: "c", Role: "master", ConfigEpoch: 4, Slots: [][2]int{{0, 8191}}}}}},
		// a late record from a node that had not seen the failover yet
		{Time: time.Unix(210, 0), Topology: backup.Topology{CurrentEpoch: 3, Nodes: []backup.TopologyNode{
			{ID: "a", Role: "master", ConfigEpoch: 1, Slots: [][2]int{{0, 8191}}}}}},
	}}
	masters := func(t0 int64) string {
		var s []string
		for _, m := range inv.ClusterAt(time.Unix(t0, 0)).Masters() {
			s = append(s, m.ID)
		}
		return strings.Join(s, ",")
	}
	if got := masters(150); got != "a,b" {
		t.Errorf("at 150: %s", got)
	}
	if got := masters(250); got != "b,c" {
		t.Errorf("at 250: %s", got)
	}
	if inv.ClusterAt(time.Unix(150, 0)).Standalone {
		t.Error("a cluster taken for a standalone node")
	}
}
