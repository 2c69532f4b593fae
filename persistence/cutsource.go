package persistence

// Consumers other than the snapshot writer (backups) take their own cut of
// the dataset through the Manager, so they need neither the Host nor a
// local snapshot.

// NewCutLocked starts a cut of every database at the last logged sequence
// number (see Cut): fn receives each key exactly once, under the node
// lock. The caller steps the cut with Cut.StepLocked and must finish or
// close it. Node lock held.
func (m *Manager) NewCutLocked(fn KeyFunc) *Cut {
	return NewCutLocked(m.host, m.wal.LastSeq(), fn)
}

// Codec returns the value codec (DUMP payloads) the snapshots use.
func (m *Manager) Codec() Codec { return m.codec }

// DBs returns the number of databases the cut covers.
func (c *Cut) DBs() int { return len(c.views) }
