package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// maxLogObjectRaw bounds the records of one log object; a log object is
// built in memory because its name carries its checksum.
const maxLogObjectRaw = 16 << 20

var errObjectFull = errors.New("backup: log object full")

// FullBackup takes one full backup: it opens a consistent snapshot,
// uploads it and writes the manifest last. On failure it deletes what it
// uploaded, so no partial backup stays behind.
func FullBackup(ctx context.Context, st ObjectStore, key *Key, src SnapshotSource, ident Identity, now func() time.Time, log *slog.Logger) (*Manifest, error) {
	if now == nil {
		now = time.Now
	}
	start := now()
	snap, err := src.OpenSnapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: open snapshot: %w", err)
	}
	defer snap.Close()
	info := ident()
	if info.NodeID == "" {
		return nil, errors.New("backup: node has no ID")
	}
	m := &Manifest{
		Format: ManifestFormat, FormatVersion: ManifestVersion,
		BackupID: newBackupID(start, info.NodeID), NodeID: info.NodeID, ShardID: info.ShardID,
		Role: info.Role, Slots: info.Slots, ConfigEpoch: info.ConfigEpoch, CurrentEpoch: info.CurrentEpoch,
		Replication: Replication{ID: info.ReplID, Offset: info.ReplOffset},
		SnapshotSeq: snap.Seq(), DBs: snap.DBs(), Compression: "zstd",
		TimeRange: TimeRange{Start: start.UTC(), Snapshot: snap.Time().UTC()},
	}
	if m.Slots == nil {
		m.Slots = [][2]int{}
	}
	if key != nil {
		m.Encryption = &EncryptInfo{Scheme: encScheme, KeyID: key.ID()}
	}
	dir := m.Dir()
	var keys int64
	ref, err := uploadStream(ctx, st, dir+snapshotName, key, true, func(w io.Writer) error {
		sw, err := newStreamWriter(w, magicSnapshot)
		if err != nil {
			return err
		}
		for {
			e, err := snap.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("backup: reading snapshot: %w", err)
			}
			if err := sw.WriteEntry(e); err != nil {
				return err
			}
			keys++
		}
		return sw.Close(snap.Seq())
	})
	if err != nil {
		cleanupBackup(st, dir, log)
		return nil, err
	}
	ref.Name = snapshotName
	ref.Kind = "snapshot"
	ref.Records = uint64(keys)
	m.Keys = keys
	m.Objects = []ObjectRef{ref}
	m.TimeRange.End = now().UTC()
	body, err := encodeManifest(m, key)
	if err != nil {
		cleanupBackup(st, dir, log)
		return nil, err
	}
	if _, err := st.Put(ctx, dir+manifestName, bytes.NewReader(body)); err != nil {
		cleanupBackup(st, dir, log)
		return nil, fmt.Errorf("backup: writing manifest: %w", err)
	}
	return m, nil
}

// cleanupBackup deletes the data objects of a failed backup (best effort:
// retention removes what stays behind).
func cleanupBackup(st ObjectStore, dir string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	objs, err := st.List(ctx, dir)
	if err != nil {
		if log != nil {
			log.Warn("backup: cannot list a failed backup's objects; retention will remove them", "dir", dir, "err", err)
		}
		return
	}
	for _, o := range objs {
		st.Delete(ctx, o.Key)
	}
	if c, ok := st.(IncompleteCleaner); ok {
		c.CleanIncomplete(ctx, dir, time.Now().Add(time.Minute))
	}
}

// memSink is an ObjectStore that keeps the one object Put gives it.
type memSink struct{ buf bytes.Buffer }

func (s *memSink) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	return io.Copy(&s.buf, r)
}
func (s *memSink) Get(context.Context, string) (io.ReadCloser, error) { return nil, ErrNotFound }
func (s *memSink) List(context.Context, string) ([]ObjectInfo, error) { return nil, nil }
func (s *memSink) Delete(context.Context, string) error               { return nil }

// ShipLog uploads the records in (after, upTo] of src as log objects of at
// most maxLogObjectRaw bytes of records each. It returns the last sequence
// shipped (after, when nothing was) and the stored bytes.
func ShipLog(ctx context.Context, st ObjectStore, key *Key, src LogSource, nodeID string, after, upTo uint64) (uint64, int64, error) {
	var total int64
	for after < upTo {
		var first, last uint64
		sink := &memSink{}
		ref, err := uploadStream(ctx, sink, "", key, true, func(w io.Writer) error {
			sw, err := newStreamWriter(w, magicLog)
			if err != nil {
				return err
			}
			cw := &countWriter{w: io.Discard}
			err = src.ReadLog(after, upTo, func(r LogRecord) error {
				if r.Seq != after+1 && first == 0 || first != 0 && r.Seq != last+1 {
					return fmt.Errorf("%w: log record %d follows %d", ErrLogGap, r.Seq, max(last, after))
				}
				if err := sw.WriteLog(r); err != nil {
					return err
				}
				if first == 0 {
					first = r.Seq
				}
				last = r.Seq
				cw.n += int64(len(r.Argv)*4 + 32)
				for _, a := range r.Argv {
					cw.n += int64(len(a))
				}
				if cw.n >= maxLogObjectRaw {
					return errObjectFull
				}
				return nil
			})
			if err != nil && !errors.Is(err, errObjectFull) {
				return err
			}
			return sw.Close(last)
		})
		if err != nil {
			return after, total, err
		}
		if first == 0 {
			// The source had nothing after all.
			return after, total, nil
		}
		name := logObjectName(nodeID, first, last, ref.SHA256)
		n, err := st.Put(ctx, name, bytes.NewReader(sink.buf.Bytes()))
		if err != nil {
			return after, total, err
		}
		total += n
		after = last
	}
	return after, total, nil
}

// topologyRecord is one topology history record.
type topologyRecord struct {
	FormatVersion int       `json:"format_version"`
	Time          time.Time `json:"time"`
	NodeID        string    `json:"node_id"`
	Topology
}

// WriteTopology stores one topology history record.
func WriteTopology(ctx context.Context, st ObjectStore, nodeID string, t Topology, at time.Time) error {
	rec := topologyRecord{FormatVersion: 1, Time: at.UTC(), NodeID: nodeID, Topology: t}
	if rec.Nodes == nil {
		rec.Nodes = []TopologyNode{}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	name := fmt.Sprintf("topology/%013d-%s.json", at.UnixMilli(), nodeID)
	_, err = st.Put(ctx, name, bytes.NewReader(append(b, '\n')))
	return err
}

// ReadTopology reads the topology history, oldest first.
func ReadTopology(ctx context.Context, st ObjectStore) ([]TopologyRecord, error) {
	objs, err := st.List(ctx, "topology/")
	if err != nil {
		return nil, err
	}
	var out []TopologyRecord
	for _, o := range objs {
		rc, err := st.Get(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		var rec topologyRecord
		err = json.NewDecoder(io.LimitReader(rc, maxManifest)).Decode(&rec)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: topology record %s: %v", ErrCorrupt, o.Key, err)
		}
		out = append(out, TopologyRecord{Time: rec.Time, NodeID: rec.NodeID, Topology: rec.Topology})
	}
	return out, nil
}

// TopologyRecord is one entry of the topology history.
type TopologyRecord struct {
	Time     time.Time
	NodeID   string
	Topology Topology
}
