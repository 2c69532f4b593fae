package persistence

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// snapshotFormat is the version written in manifests.
const snapshotFormat = 1

// Manifest describes one snapshot (see doc.go).
type Manifest struct {
	Version  int    `json:"version"`
	ID       uint64 `json:"id"`
	Seq      uint64 `json:"seq"`
	StartMs  int64  `json:"start_ms"`
	EndMs    int64  `json:"end_ms"`
	DBs      int    `json:"dbs"`
	Keys     int64  `json:"keys"`
	Bytes    int64  `json:"bytes"`
	Sum      uint64 `json:"sum"`
	Complete bool   `json:"complete"`
}

// SnapshotStore keeps snapshots in a Pebble database.
type SnapshotStore struct {
	db  *pebble.DB
	dir string
	// compactions are the background compactions Prune starts; Close
	// waits for them (Pebble panics on a compaction of a closed DB).
	compactions sync.WaitGroup
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{})      {}
func (quietLogger) Fatalf(f string, a ...interface{}) { panic(fmt.Sprintf(f, a...)) }

// OpenSnapshotStore opens (creating if needed) the snapshot store in dir
// and deletes the keys of snapshots that never completed.
func OpenSnapshotStore(fs vfs.FS, dir string) (*SnapshotStore, error) {
	if fs == nil {
		fs = vfs.Default
	}
	opts := &pebble.Options{FS: fs, DisableWAL: true, Logger: quietLogger{}}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("persistence: open snapshot store %s: %w", dir, err)
	}
	s := &SnapshotStore{db: db, dir: dir}
	if err := s.dropIncomplete(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the store.
func (s *SnapshotStore) Close() error {
	s.compactions.Wait()
	return s.db.Close()
}

func manifestKey(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = 'M'
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func dataPrefix(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = 'K'
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func dataKey(dst []byte, id uint64, db, slot int, key string) []byte {
	dst = append(dst, 'K')
	dst = binary.BigEndian.AppendUint64(dst, id)
	dst = binary.BigEndian.AppendUint16(dst, uint16(db))
	dst = binary.BigEndian.AppendUint16(dst, uint16(slot))
	return append(dst, key...)
}

// Manifests returns every manifest, newest first, complete or not.
func (s *SnapshotStore) Manifests() ([]Manifest, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'M'}, UpperBound: []byte{'N'}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Manifest
	for it.First(); it.Valid(); it.Next() {
		var m Manifest
		if err := json.Unmarshal(it.Value(), &m); err != nil || len(it.Key()) != 9 {
			return nil, fmt.Errorf("%w: snapshot manifest %x: %v", ErrCorrupt, it.Key(), err)
		}
		out = append(out, m)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// Complete returns the complete snapshots, newest first.
func (s *SnapshotStore) Complete() ([]Manifest, error) {
	all, err := s.Manifests()
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, m := range all {
		if m.Complete {
			out = append(out, m)
		}
	}
	return out, nil
}

// nextID returns an id above every snapshot's, complete or not.
func (s *SnapshotStore) nextID() (uint64, error) {
	var max uint64
	all, err := s.Manifests()
	if err != nil {
		return 0, err
	}
	for _, m := range all {
		if m.ID > max {
			max = m.ID
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'K'}, UpperBound: []byte{'L'}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if it.Last() && len(it.Key()) >= 9 {
		if id := binary.BigEndian.Uint64(it.Key()[1:9]); id > max {
			max = id
		}
	}
	return max + 1, it.Error()
}

// dropIncomplete deletes the data of snapshots without a complete manifest.
func (s *SnapshotStore) dropIncomplete() error {
	all, err := s.Manifests()
	if err != nil {
		return err
	}
	complete := map[uint64]bool{}
	for _, m := range all {
		if m.Complete {
			complete[m.ID] = true
		} else if err := s.Delete(m.ID); err != nil {
			return err
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'K'}, UpperBound: []byte{'L'}})
	if err != nil {
		return err
	}
	var stale []uint64
	for ok := it.First(); ok; {
		if len(it.Key()) < 9 {
			ok = it.Next()
			continue
		}
		id := binary.BigEndian.Uint64(it.Key()[1:9])
		if !complete[id] {
			stale = append(stale, id)
		}
		ok = it.SeekGE(dataPrefix(id + 1))
	}
	err = it.Error()
	it.Close()
	if err != nil {
		return err
	}
	for _, id := range stale {
		if err := s.Delete(id); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes a snapshot's manifest and data.
func (s *SnapshotStore) Delete(id uint64) error {
	b := s.db.NewBatch()
	b.Delete(manifestKey(id), nil)
	b.DeleteRange(dataPrefix(id), dataPrefix(id+1), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("persistence: delete snapshot %d: %w", id, err)
	}
	return nil
}

// Prune keeps the keep newest complete snapshots and deletes older ones.
func (s *SnapshotStore) Prune(keep int) error {
	c, err := s.Complete()
	if err != nil {
		return err
	}
	if len(c) <= keep {
		return nil
	}
	for _, m := range c[keep:] {
		if err := s.Delete(m.ID); err != nil {
			return err
		}
	}
	// Reclaim the space of deleted ranges in the background of Pebble.
	oldest := c[len(c)-1].ID
	s.compactions.Add(1)
	go func() {
		defer s.compactions.Done()
		s.db.Compact(dataPrefix(oldest), dataPrefix(c[keep-1].ID), false)
	}()
	return s.db.Flush()
}

// SnapshotEntry is one key read back from a snapshot.
type SnapshotEntry struct {
	DB, Slot int
	Key      []byte // valid during the callback
	Expire   int64
	Payload  []byte // valid during the callback
}

// Load reads snapshot m in key order, calling fn for every key, and then
// verifies the key count and checksum against the manifest. progress, when
// set, is called with the bytes read so far.
func (s *SnapshotStore) Load(m Manifest, fn func(e SnapshotEntry) error, progress func(bytes int64)) error {
	if !m.Complete || m.Version != snapshotFormat {
		return fmt.Errorf("%w: snapshot %d is incomplete or of unknown version %d", ErrCorrupt, m.ID, m.Version)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: dataPrefix(m.ID), UpperBound: dataPrefix(m.ID + 1)})
	if err != nil {
		return err
	}
	defer it.Close()
	var keys, bytes int64
	var sum uint64
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) < 13 || len(v) < 8 {
			return fmt.Errorf("%w: snapshot %d: malformed entry %x", ErrCorrupt, m.ID, k)
		}
		sum += uint64(crc32c(k)) ^ uint64(crc32c(v))<<32
		keys++
		bytes += int64(len(k) + len(v))
		if fn != nil {
			e := SnapshotEntry{
				DB:      int(binary.BigEndian.Uint16(k[9:])),
				Slot:    int(binary.BigEndian.Uint16(k[11:])),
				Key:     k[13:],
				Expire:  int64(binary.BigEndian.Uint64(v)),
				Payload: v[8:],
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if progress != nil && keys%1024 == 0 {
			progress(bytes)
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("%w: snapshot %d: %v", ErrCorrupt, m.ID, err)
	}
	if progress != nil {
		progress(bytes)
	}
	if keys != m.Keys || sum != m.Sum {
		return fmt.Errorf("%w: snapshot %d: %d keys (checksum %x), manifest says %d (checksum %x)", ErrCorrupt, m.ID, keys, sum, m.Keys, m.Sum)
	}
	return nil
}

// snapshotWriter accumulates one snapshot's entries and writes them to
// Pebble in batches.
type snapshotWriter struct {
	store *SnapshotStore
	m     Manifest
	batch *pebble.Batch
	kbuf  []byte
	vbuf  []byte
}

func (s *SnapshotStore) newWriter(seq uint64, dbs int, startMs int64) (*snapshotWriter, error) {
	id, err := s.nextID()
	if err != nil {
		return nil, err
	}
	m := Manifest{Version: snapshotFormat, ID: id, Seq: seq, StartMs: startMs, DBs: dbs}
	w := &snapshotWriter{store: s, m: m, batch: s.db.NewBatch()}
	// An incomplete manifest first, so an interrupted snapshot is found and
	// removed at the next open.
	raw, _ := json.Marshal(m)
	if err := s.db.Set(manifestKey(id), raw, pebble.NoSync); err != nil {
		return nil, err
	}
	return w, nil
}

// add encodes one entry into the pending batch.
func (w *snapshotWriter) add(db, slot int, key string, expire int64, payload []byte) {
	w.kbuf = dataKey(w.kbuf[:0], w.m.ID, db, slot, key)
	w.vbuf = binary.BigEndian.AppendUint64(w.vbuf[:0], uint64(expire))
	w.vbuf = append(w.vbuf, payload...)
	w.m.Sum += uint64(crc32c(w.kbuf)) ^ uint64(crc32c(w.vbuf))<<32
	w.m.Keys++
	w.m.Bytes += int64(len(w.kbuf) + len(w.vbuf))
	w.batch.Set(w.kbuf, w.vbuf, nil)
}

// fork returns a writer for the same snapshot with its own batch and
// counters, for encoding outside the node lock; merge adds its counters
// back before finish.
func (w *snapshotWriter) fork() *snapshotWriter {
	f := &snapshotWriter{store: w.store, batch: w.store.db.NewBatch()}
	f.m.ID = w.m.ID
	return f
}

// merge adds the counters of a forked writer (the sum is order-independent).
func (w *snapshotWriter) merge(f *snapshotWriter) {
	w.m.Keys += f.m.Keys
	w.m.Bytes += f.m.Bytes
	w.m.Sum += f.m.Sum
}

// pending returns the size of the batch not yet written.
func (w *snapshotWriter) pending() int { return w.batch.Len() }

// takeBatch returns the pending batch and starts a new one.
func (w *snapshotWriter) takeBatch() *pebble.Batch {
	b := w.batch
	w.batch = w.store.db.NewBatch()
	return b
}

func commitBatch(b *pebble.Batch) error {
	defer b.Close()
	if b.Empty() {
		return nil
	}
	return b.Commit(pebble.NoSync)
}

// finish writes the rest, the complete manifest, and makes it all durable.
func (w *snapshotWriter) finish(endMs int64) (Manifest, error) {
	if err := commitBatch(w.takeBatch()); err != nil {
		return Manifest{}, err
	}
	w.m.EndMs = endMs
	w.m.Complete = true
	raw, _ := json.Marshal(w.m)
	if err := w.store.db.Set(manifestKey(w.m.ID), raw, pebble.NoSync); err != nil {
		return Manifest{}, err
	}
	// With the WAL off, a flush is what makes the memtables durable.
	if err := w.store.db.Flush(); err != nil {
		return Manifest{}, err
	}
	return w.m, nil
}

// abort discards the snapshot.
func (w *snapshotWriter) abort() {
	w.batch.Close()
	w.store.Delete(w.m.ID)
}

// DiskSize returns the bytes the store occupies on disk.
func (s *SnapshotStore) DiskSize() int64 {
	m := s.db.Metrics()
	return int64(m.DiskSpaceUsage())
}

var _ io.Closer = (*SnapshotStore)(nil)

// errStop stops a Load early without error.
var errStop = errors.New("stop")
