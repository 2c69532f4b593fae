package restore

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/slotvault/slotvault/backup"
	"github.com/slotvault/slotvault/persistence"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/slots"
)

// NeedsReplay reports whether d has log records to apply on top of its
// snapshot. Without any, WriteDataDir alone rebuilds the node.
func (d *NodeData) NeedsReplay() bool { return len(d.Log) > 0 }

// checkEntry verifies what the stream's CRC32C does not: the key's slot
// is the one recorded, and the DUMP payload's own footer (RDB version,
// CRC64) is intact, so a written data directory always loads.
//
// This CRC64 is the one check of a payload from the node that encoded it
// (it was computed there, before the bytes went through the node's
// snapshot store and the backup pipeline) to the restore: the object's
// SHA-256 only covers them from the upload on. The node that loads the
// written table does not compute it again (node.LoadPayload): Pebble's
// block checksums cover the bytes from here on. The slot is checked here
// for the same reason: the node takes the slot stored with each key.
func checkEntry(e *backup.Entry) error {
	if s := slots.KeySlot(e.Key); s != e.Slot {
		return fmt.Errorf("%w: key %q is recorded in slot %d, belongs to slot %d", backup.ErrCorrupt, e.Key, e.Slot, s)
	}
	if _, _, err := rdb.VerifyPayload(e.Value); err != nil {
		return fmt.Errorf("%w: key %q: bad DUMP payload: %v", backup.ErrCorrupt, e.Key, err)
	}
	return nil
}

// entryLess orders entries as the node's snapshot store does: database,
// slot, key bytes.
func entryLess(a, b *backup.Entry) bool {
	if a.DB != b.DB {
		return a.DB < b.DB
	}
	if a.Slot != b.Slot {
		return a.Slot < b.Slot
	}
	return bytes.Compare(a.Key, b.Key) < 0
}

// WriteDataDir writes the snapshot keys of d whose slot is in keep (nil:
// every key) into the data directory dir as a complete snapshot, in the
// format the server loads at start (persistence.ImportSnapshot), without
// decoding a single value: the verified DUMP payloads are copied through.
// Log records (d.Log) are not applied; a caller with NeedsReplay true
// replays them into a node loaded from dir and saves again. dir must not
// hold a snapshot store yet. It returns the number of keys written.
func WriteDataDir(dir string, d *NodeData, keep *SlotSet) (int64, error) {
	es := d.Entries
	sorted := true
	for i := 1; i < len(es); i++ {
		if !entryLess(&es[i-1], &es[i]) {
			sorted = false
			break
		}
	}
	if !sorted {
		// Snapshot streams written from a node's snapshot come in this
		// order already; any other order is sorted here (a duplicate key
		// is then caught by ImportSnapshot).
		es = append([]backup.Entry(nil), es...)
		sort.Slice(es, func(i, j int) bool { return entryLess(&es[i], &es[j]) })
	}
	dbs := d.Manifest.DBs
	if dbs <= 0 {
		dbs = 16
	}
	i := 0
	snapMs := d.Manifest.TimeRange.Snapshot.UnixMilli()
	m, err := persistence.ImportSnapshot(persistence.ImportOptions{Dir: dir, DBs: dbs, StartMs: snapMs, EndMs: snapMs},
		func() (persistence.SnapshotEntry, bool, error) {
			for ; i < len(es); i++ {
				e := &es[i]
				if keep != nil && !keep.Has(e.Slot) {
					continue
				}
				i++
				return persistence.SnapshotEntry{DB: e.DB, Slot: e.Slot, Key: e.Key, Expire: e.Expire, Payload: e.Value}, true, nil
			}
			return persistence.SnapshotEntry{}, false, nil
		})
	if err != nil {
		return 0, fmt.Errorf("restore: node %s: %w", d.NodeID, err)
	}
	return m.Keys, nil
}
