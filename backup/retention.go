package backup

import (
	"context"
	"time"
)

// RetentionPolicy says which full backups to keep.
type RetentionPolicy struct {
	KeepLast int           // keep the N newest complete backups; 0 = no count limit
	MaxAge   time.Duration // remove complete backups older than this; 0 = no age limit
	// IncompleteGrace is how old a backup without a manifest must be before
	// it is removed (it may still be uploading); 0 means an hour.
	IncompleteGrace time.Duration
}

// PruneResult is what Prune removed.
type PruneResult struct {
	Backups    []string // backup IDs removed
	Incomplete []string // incomplete backups removed
	LogObjects int
	Kept       []string // complete backups kept, oldest first
}

// Prune applies the policy to one node's backups and log objects. The
// newest complete backup is always kept, and so is every log object that a
// kept backup needs to be rolled forward (its records after the oldest kept
// backup's snapshot sequence). skip names a backup ID in progress, never
// touched.
func Prune(ctx context.Context, st ObjectStore, key *Key, nodeID string, p RetentionPolicy, now time.Time, skip string) (*PruneResult, error) {
	cat, err := readCatalogPrefix(ctx, st, nodeDir(nodeID), key)
	if err != nil {
		return nil, err
	}
	grace := p.IncompleteGrace
	if grace <= 0 {
		grace = time.Hour
	}
	res := &PruneResult{}
	var complete []BackupEntry
	for _, b := range cat.Backups {
		if b.BackupID == skip {
			continue
		}
		if b.Complete {
			complete = append(complete, b)
			continue
		}
		newest := time.Time{}
		for _, o := range b.Objects {
			if o.ModTime.After(newest) {
				newest = o.ModTime
			}
		}
		if now.Sub(newest) < grace {
			continue
		}
		for _, o := range b.Objects {
			if err := st.Delete(ctx, o.Key); err != nil {
				return res, err
			}
		}
		res.Incomplete = append(res.Incomplete, b.BackupID)
	}
	if c, ok := st.(IncompleteCleaner); ok {
		c.CleanIncomplete(ctx, nodeDir(nodeID), now.Add(-grace))
	}
	// complete is sorted oldest first (IDs sort by time).
	keep := make([]bool, len(complete))
	for i, b := range complete {
		k := true
		if p.KeepLast > 0 && i < len(complete)-p.KeepLast {
			k = false
		}
		if p.MaxAge > 0 {
			t, ok := BackupTime(b.BackupID)
			if ok && now.Sub(t) > p.MaxAge {
				k = false
			}
		}
		keep[i] = k
	}
	if len(complete) > 0 {
		keep[len(complete)-1] = true
	}
	var floor uint64
	floorSet := false
	for i, b := range complete {
		if !keep[i] {
			continue
		}
		res.Kept = append(res.Kept, b.BackupID)
		if b.Manifest == nil {
			// Unreadable (for example encrypted without the key): keep its
			// log, it may be needed.
			floor, floorSet = 0, true
			continue
		}
		if !floorSet || b.Manifest.SnapshotSeq < floor {
			floor, floorSet = b.Manifest.SnapshotSeq, true
		}
	}
	for i, b := range complete {
		if keep[i] {
			continue
		}
		// The manifest goes first: without it the backup no longer exists
		// even if deleting its data objects fails half-way.
		dir := backupDir(nodeID, b.BackupID)
		if err := st.Delete(ctx, dir+manifestName); err != nil {
			return res, err
		}
		for _, o := range b.Objects {
			if o.Key != dir+manifestName {
				if err := st.Delete(ctx, o.Key); err != nil {
					return res, err
				}
			}
		}
		res.Backups = append(res.Backups, b.BackupID)
	}
	if floorSet {
		for _, lo := range cat.Log[nodeID] {
			if lo.LastSeq <= floor {
				if err := st.Delete(ctx, lo.Name); err != nil {
					return res, err
				}
				res.LogObjects++
			}
		}
	}
	return res, nil
}
