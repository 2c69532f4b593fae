package restore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/slots"
)

// Errors of this package. Match them with errors.Is.
var (
	// ErrUnreachable is wrapped by an *UnreachableError: the backups cannot
	// deliver the time asked for.
	ErrUnreachable = errors.New("restore: time not reachable from the backups")
	// ErrNoBackup: a node has no complete backup at or before the time.
	ErrNoBackup = errors.New("restore: no complete backup at or before the time")
)

// UnreachableError says why a time cannot be restored and which is the
// latest that can.
type UnreachableError struct {
	NodeID string
	At     time.Time
	Latest time.Time // zero when nothing is reachable
	Reason string
}

func (e *UnreachableError) Error() string {
	latest := "nothing is reachable"
	if !e.Latest.IsZero() {
		latest = "latest reachable time is " + FormatTime(e.Latest)
	}
	return fmt.Sprintf("restore: node %s: cannot restore to %s: %s; %s", e.NodeID, FormatTime(e.At), e.Reason, latest)
}

func (e *UnreachableError) Unwrap() error { return ErrUnreachable }

// FormatTime renders a time as restore prints and parses it (RFC 3339,
// UTC, milliseconds).
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// Source is where backups are read from.
type Source struct {
	Store backup.ObjectStore
	Key   *backup.Key // nil when the backups are not encrypted
}

// NodeChain is what the store holds for one node.
type NodeChain struct {
	NodeID  string
	Backups []*backup.Manifest // complete backups, oldest snapshot first
	Broken  []backup.BackupEntry
	Log     []backup.LogObject // sequence order
}

// Inventory is everything restorable in a store.
type Inventory struct {
	Nodes    []*NodeChain // sorted by node ID
	Topology []backup.TopologyRecord
}

// Node returns the chain of one node, or nil.
func (inv *Inventory) Node(id string) *NodeChain {
	for _, n := range inv.Nodes {
		if n.NodeID == id {
			return n
		}
	}
	return nil
}

// Discover reads the catalog and the topology history.
func Discover(ctx context.Context, src Source) (*Inventory, error) {
	cat, err := backup.ReadCatalog(ctx, src.Store, src.Key)
	if err != nil {
		return nil, err
	}
	byID := map[string]*NodeChain{}
	get := func(id string) *NodeChain {
		if byID[id] == nil {
			byID[id] = &NodeChain{NodeID: id}
		}
		return byID[id]
	}
	for _, b := range cat.Backups {
		c := get(b.NodeID)
		if b.Complete && b.Manifest != nil && b.Err == nil {
			c.Backups = append(c.Backups, b.Manifest)
		} else if b.Complete {
			c.Broken = append(c.Broken, b)
		}
	}
	for id, l := range cat.Log {
		get(id).Log = l
	}
	inv := &Inventory{}
	for _, c := range byID {
		sort.Slice(c.Backups, func(i, j int) bool {
			return c.Backups[i].TimeRange.Snapshot.Before(c.Backups[j].TimeRange.Snapshot)
		})
		inv.Nodes = append(inv.Nodes, c)
	}
	sort.Slice(inv.Nodes, func(i, j int) bool { return inv.Nodes[i].NodeID < inv.Nodes[j].NodeID })
	if inv.Topology, err = backup.ReadTopology(ctx, src.Store); err != nil {
		return nil, err
	}
	return inv, nil
}

// Gap is a range of log records missing from the store.
type Gap struct{ First, Last uint64 }

// Gaps returns the missing log ranges after the oldest backup's snapshot.
func (c *NodeChain) Gaps() []Gap {
	if len(c.Backups) == 0 {
		return nil
	}
	next := c.Backups[0].SnapshotSeq + 1
	var out []Gap
	for _, lo := range c.Log {
		if lo.LastSeq < next {
			continue
		}
		if lo.FirstSeq > next {
			out = append(out, Gap{next, lo.FirstSeq - 1})
		}
		next = lo.LastSeq + 1
	}
	return out
}

// NodeData is one node's dataset at a time, every object verified.
type NodeData struct {
	NodeID   string
	Manifest *backup.Manifest
	Entries  []backup.Entry
	Log      []backup.LogRecord // records after the snapshot with Time <= At
	At       time.Time          // the time restored
	Latest   time.Time          // the latest reachable time of this chain
	Bytes    int64              // stored bytes read
	Skipped  []string           // backups or objects passed over, and why
	Notes    []string           // warnings about the result
}

// Progress receives one line per object read (nil: none).
type Progress func(nodeID, object string, bytes int64)

// Fetch reads node id's dataset as of at (zero: the latest reachable
// time), verifying every object it uses. Nothing is returned unless all
// of it checked out.
func Fetch(ctx context.Context, src Source, c *NodeChain, at time.Time, progress Progress) (*NodeData, error) {
	if len(c.Backups) == 0 {
		return nil, fmt.Errorf("%w: node %s has none", ErrNoBackup, c.NodeID)
	}
	var skipped []string
	var firstErr error
	for i := len(c.Backups) - 1; i >= 0; i-- {
		m := c.Backups[i]
		if !at.IsZero() && m.TimeRange.Snapshot.After(at) {
			continue
		}
		d, err := fetchFrom(ctx, src, c, m, at, progress)
		if err == nil {
			d.Skipped = append(skipped, d.Skipped...)
			return d, nil
		}
		var ue *UnreachableError
		if errors.As(err, &ue) || ctx.Err() != nil {
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil {
				return nil, err
			}
			// An older backup cannot reach further along the same log.
			return nil, firstErr
		}
		skipped = append(skipped, fmt.Sprintf("backup %s: %v", m.BackupID, err))
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("restore: node %s: no usable backup at or before %s: %w", c.NodeID, FormatTime(at), firstErr)
	}
	return nil, &UnreachableError{NodeID: c.NodeID, At: at, Latest: time.Time{}, Reason: "the oldest backup is newer than that"}
}

// logReadAhead is how many log objects are downloaded and verified at
// once ahead of the one being applied.
const logReadAhead = 4

// logFetch is one log object read ahead: its records from seq on.
type logFetch struct {
	recs []backup.LogRecord
	err  error
	done chan struct{}
}

func fetchFrom(ctx context.Context, src Source, c *NodeChain, m *backup.Manifest, at time.Time, progress Progress) (*NodeData, error) {
	d := &NodeData{NodeID: c.NodeID, Manifest: m}

	// The log objects that continue the snapshot, up to the first gap;
	// their names give their ranges, so they download (a few at a time,
	// each verified as it streams) while the snapshot does.
	var chain []backup.LogObject
	var from []uint64 // first record wanted from each
	gapReason := ""
	next := m.SnapshotSeq + 1
	for _, lo := range c.Log {
		if lo.LastSeq < next {
			continue
		}
		if lo.FirstSeq > next {
			gapReason = fmt.Sprintf("log records %d..%d are missing", next, lo.FirstSeq-1)
			break
		}
		chain = append(chain, lo)
		from = append(from, next)
		next = lo.LastSeq + 1
	}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	fetches := make([]*logFetch, len(chain))
	readAhead := func(upTo int) {
		for i := 0; i < len(chain) && i <= upTo; i++ {
			if fetches[i] != nil {
				continue
			}
			f := &logFetch{done: make(chan struct{})}
			fetches[i] = f
			wg.Add(1)
			go func(lo backup.LogObject, seq uint64) {
				defer wg.Done()
				defer close(f.done)
				f.err = backup.ReadLogObject(lctx, src.Store, lo, src.Key, func(r backup.LogRecord) error {
					if r.Seq >= seq {
						f.recs = append(f.recs, r)
					}
					return nil
				})
			}(chain[i], from[i])
		}
	}
	readAhead(logReadAhead - 1)

	if m.Keys > 0 && m.Keys < 1<<28 {
		d.Entries = make([]backup.Entry, 0, m.Keys)
	}
	err := backup.ReadSnapshot(ctx, src.Store, m, src.Key, func(e backup.Entry) error {
		if err := checkEntry(&e); err != nil {
			return err
		}
		d.Entries = append(d.Entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.Bytes += m.Size()
	if progress != nil {
		progress(c.NodeID, m.Dir()+"snapshot.svs", m.Size())
	}
	latest := m.TimeRange.Snapshot
	reason := ""
	complete := true
	atMs := at.UnixMilli()
	var lastMod time.Time
	stopped := false
	for i, lo := range chain {
		readAhead(i + logReadAhead - 1)
		f := fetches[i]
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			reason = fmt.Sprintf("log object %s is unusable (%v)", lo.Name, f.err)
			d.Skipped = append(d.Skipped, reason)
			complete = false
			stopped = true
			break
		}
		d.Bytes += lo.Size
		if progress != nil {
			progress(c.NodeID, lo.Name, lo.Size)
		}
		passed := false
		for _, r := range f.recs {
			if r.Time > latest.UnixMilli() {
				latest = time.UnixMilli(r.Time).UTC()
			}
			if !at.IsZero() && r.Time > atMs {
				passed = true
				continue
			}
			d.Log = append(d.Log, r)
		}
		f.recs = nil
		lastMod = lo.ModTime
		if passed {
			// Every record after this one is later than at: T is inside
			// the chain.
			stopped = true
			break
		}
	}
	if !stopped && gapReason != "" {
		reason = gapReason
		complete = false
	}
	if complete && lastMod.After(latest) {
		latest = lastMod.UTC()
	}
	d.Latest = latest
	if at.IsZero() {
		at = latest
	} else if at.After(latest) {
		if !complete {
			return nil, &UnreachableError{NodeID: c.NodeID, At: at, Latest: latest, Reason: reason}
		}
		// The whole shipped log is used; writes after the last shipped
		// record, if any, never reached the store.
		d.Notes = append(d.Notes, fmt.Sprintf("%s is after the last shipped log (%s): writes made after that, if any, were not shipped", FormatTime(at), FormatTime(latest)))
	}
	d.At = at
	return d, nil
}

// Reach returns the earliest and latest restorable times of a chain and
// why the chain stops, reading only what it must (the log objects of the
// newest backup's chain).
func Reach(ctx context.Context, src Source, c *NodeChain) (earliest, latest time.Time, why string, err error) {
	if len(c.Backups) == 0 {
		return time.Time{}, time.Time{}, "no complete backup", nil
	}
	earliest = c.Backups[0].TimeRange.Snapshot
	d, err := fetchFrom(ctx, src, c, c.Backups[len(c.Backups)-1], time.Time{}, nil)
	if err != nil {
		return earliest, time.Time{}, "", err
	}
	if len(d.Skipped) > 0 {
		why = d.Skipped[0]
	}
	return earliest, d.Latest, why, nil
}

// SlotMap is the cluster's shape at one time.
type SlotMap struct {
	Time         time.Time // when the record describing it was written
	CurrentEpoch uint64
	Nodes        []backup.TopologyNode
	// Standalone: the backups come from nodes outside a cluster (no slot
	// map); each is restored as a standalone node.
	Standalone bool
}

// Masters returns the nodes serving slots.
func (s *SlotMap) Masters() []backup.TopologyNode {
	var out []backup.TopologyNode
	for _, n := range s.Nodes {
		if n.Role == "master" && (len(n.Slots) > 0 || s.Standalone) {
			out = append(out, n)
		}
	}
	return out
}

// ClusterAt returns the slot map in force at t (zero: the newest). When
// the store has no topology history, it is built from the newest manifest
// of every node at or before t.
func (inv *Inventory) ClusterAt(t time.Time) *SlotMap {
	var best *backup.TopologyRecord
	for i := range inv.Topology {
		r := &inv.Topology[i]
		if !t.IsZero() && r.Time.After(t) {
			continue
		}
		if best == nil || r.Topology.CurrentEpoch > best.Topology.CurrentEpoch ||
			(r.Topology.CurrentEpoch == best.Topology.CurrentEpoch && !r.Time.Before(best.Time)) {
			best = r
		}
	}
	if best != nil && len(best.Topology.Nodes) > 0 {
		nodes := append([]backup.TopologyNode(nil), best.Topology.Nodes...)
		sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
		sm := &SlotMap{Time: best.Time, CurrentEpoch: best.Topology.CurrentEpoch, Nodes: nodes}
		sm.Standalone = looksStandalone(sm)
		return sm
	}
	sm := &SlotMap{}
	for _, c := range inv.Nodes {
		var m *backup.Manifest
		for _, b := range c.Backups {
			if t.IsZero() || !b.TimeRange.Snapshot.After(t) {
				m = b
			}
		}
		if m == nil {
			continue
		}
		role := m.Role
		if role == "" {
			role = "master"
		}
		sm.Nodes = append(sm.Nodes, backup.TopologyNode{ID: m.NodeID, Role: role, ConfigEpoch: m.ConfigEpoch, Slots: m.Slots})
		if m.CurrentEpoch > sm.CurrentEpoch {
			sm.CurrentEpoch = m.CurrentEpoch
		}
	}
	sm.Standalone = looksStandalone(sm)
	return sm
}

// looksStandalone: a node outside a cluster records itself as the only
// master, owning every slot, with epoch 0 (a cluster's masters get config
// epochs when it is created).
func looksStandalone(sm *SlotMap) bool {
	if len(sm.Nodes) != 1 || sm.CurrentEpoch != 0 {
		return false
	}
	n := sm.Nodes[0]
	return n.ConfigEpoch == 0 && len(n.Slots) == 1 && n.Slots[0] == [2]int{0, slots.Count - 1}
}

// SlotSet is a set of slots.
type SlotSet [slots.Count]bool

// NewSlotSet returns the set of the given ranges (inclusive).
func NewSlotSet(ranges [][2]int) *SlotSet {
	var s SlotSet
	for _, r := range ranges {
		for i := r[0]; i <= r[1] && i < slots.Count; i++ {
			if i >= 0 {
				s[i] = true
			}
		}
	}
	return &s
}

// Has reports whether slot i is in the set.
func (s *SlotSet) Has(i int) bool { return i >= 0 && i < slots.Count && s[i] }
