package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/slotvault/slotvault/rdb"
)

// VerifyOptions select what Verify checks.
type VerifyOptions struct {
	// BackupID limits the check to one backup and the log objects that
	// roll it forward; "" checks every backup and every log object.
	BackupID string
	// Key decrypts encrypted objects.
	Key *Key
	// Progress, when set, is told about each object checked.
	Progress func(name string, err error)
}

// Problem is one thing wrong in a store.
type Problem struct {
	Object string
	Err    error
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Backups    int   // complete backups checked
	Incomplete int   // backups without a manifest (interrupted; not restorable)
	Objects    int   // objects downloaded and checked
	Keys       int64 // snapshot keys decoded
	LogRecords int64 // log records decoded
	Bytes      int64 // stored bytes read
	Problems   []Problem
	Notes      []string // facts worth knowing that are not damage
}

// OK reports whether nothing is wrong.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Print writes a human-readable report.
func (r *VerifyReport) Print(w io.Writer) {
	fmt.Fprintf(w, "checked %d backup(s), %d object(s), %d bytes: %d keys and %d log records decoded\n",
		r.Backups, r.Objects, r.Bytes, r.Keys, r.LogRecords)
	if r.Incomplete > 0 {
		fmt.Fprintf(w, "%d incomplete backup(s) without a manifest (ignored; retention removes them)\n", r.Incomplete)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "PROBLEM %s: %v\n", p.Object, p.Err)
	}
	if r.OK() {
		fmt.Fprintln(w, "verify: OK")
	} else {
		fmt.Fprintf(w, "verify: FAILED (%d problem(s))\n", len(r.Problems))
	}
}

func (r *VerifyReport) problem(name string, err error) {
	r.Problems = append(r.Problems, Problem{Object: name, Err: err})
}

// ErrBackupNotFound is returned by Verify when the backup asked for has no
// manifest in the store.
var ErrBackupNotFound = errors.New("backup: no such backup (no manifest)")

// Verify downloads backups and log objects, checks every size and SHA-256
// against the manifest (or the log object's name), decrypts, decompresses,
// decodes every record (every snapshot value through the RDB decoder) and
// checks that the log objects of each node form an unbroken sequence after
// each checked backup's snapshot. Problems are collected, not returned as
// errors; the error is for failures to list the store at all.
func Verify(ctx context.Context, st ObjectStore, opts VerifyOptions) (*VerifyReport, error) {
	cat, err := ReadCatalog(ctx, st, opts.Key)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{}
	// minSeq per node: log objects ending after it are checked.
	minSeq := map[string]uint64{}
	// every complete backup's snapshot sequence per node: a log gap that a
	// later backup starts after is a limit on point-in-time restore, not
	// damage.
	seqs := map[string][]uint64{}
	for _, b := range cat.Backups {
		if b.Manifest != nil {
			seqs[b.NodeID] = append(seqs[b.NodeID], b.Manifest.SnapshotSeq)
		}
	}
	found := false
	for _, b := range cat.Backups {
		if opts.BackupID != "" && b.BackupID != opts.BackupID {
			continue
		}
		found = true
		if !b.Complete {
			rep.Incomplete++
			continue
		}
		rep.Backups++
		dir := backupDir(b.NodeID, b.BackupID)
		if b.Err != nil {
			rep.problem(dir+manifestName, b.Err)
			continue
		}
		m := b.Manifest
		if m.NodeID != b.NodeID || m.BackupID != b.BackupID {
			rep.problem(dir+manifestName, fmt.Errorf("%w: manifest names backup %s of node %s", ErrCorrupt, m.BackupID, m.NodeID))
		}
		if s, ok := minSeq[b.NodeID]; !ok || m.SnapshotSeq < s {
			minSeq[b.NodeID] = m.SnapshotSeq
		}
		for _, o := range m.Objects {
			err := verifySnapshotObject(ctx, st, dir+o.Name, o, m.SnapshotSeq, opts.Key, rep)
			rep.Objects++
			if err != nil {
				rep.problem(dir+o.Name, err)
			}
			if opts.Progress != nil {
				opts.Progress(dir+o.Name, err)
			}
		}
	}
	if opts.BackupID != "" && !found {
		return nil, fmt.Errorf("%w: %s", ErrBackupNotFound, opts.BackupID)
	}
	nodes := make([]string, 0, len(cat.Log))
	for n := range cat.Log {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, node := range nodes {
		from, ok := minSeq[node]
		if opts.BackupID != "" && !ok {
			continue
		}
		prev := from
		for _, lo := range cat.Log[node] {
			if lo.LastSeq <= from {
				continue
			}
			if lo.FirstSeq > prev+1 && (ok || prev != from) {
				covered := false
				for _, s := range seqs[node] {
					if s > prev && s+1 >= lo.FirstSeq {
						covered = true
					}
				}
				if covered {
					rep.Notes = append(rep.Notes, fmt.Sprintf("node %s: no log for records %d..%d (a later backup restarts the chain; no point-in-time restore inside that range)", node, prev+1, lo.FirstSeq-1))
				} else {
					rep.problem(lo.Name, fmt.Errorf("%w: log records %d..%d are missing", ErrCorrupt, prev+1, lo.FirstSeq-1))
				}
			}
			err := verifyLogObject(ctx, st, lo, opts.Key, rep)
			rep.Objects++
			if err != nil {
				rep.problem(lo.Name, err)
			}
			if opts.Progress != nil {
				opts.Progress(lo.Name, err)
			}
			if lo.LastSeq > prev {
				prev = lo.LastSeq
			}
		}
	}
	return rep, nil
}

func checkSum(name string, or *objectReader, size int64, sum string, rep *VerifyReport) error {
	n, got, err := or.finish()
	rep.Bytes += n
	if err != nil {
		return err
	}
	if size >= 0 && n != size {
		return fmt.Errorf("%w: size %d, expected %d", ErrCorrupt, n, size)
	}
	if got != sum {
		return fmt.Errorf("%w: SHA-256 %s, expected %s", ErrCorrupt, got, sum)
	}
	return nil
}

func verifySnapshotObject(ctx context.Context, st ObjectStore, name string, ref ObjectRef, seq uint64, key *Key, rep *VerifyReport) error {
	or, err := openObject(ctx, st, name, key, true)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: object listed in the manifest is missing", ErrCorrupt)
		}
		return err
	}
	defer or.Close()
	decodeErr := func() error {
		sr, err := newStreamReader(or)
		if err != nil {
			return err
		}
		if sr.magic != magicSnapshot {
			return fmt.Errorf("%w: not a snapshot stream", ErrCorrupt)
		}
		var n uint64
		for {
			e, err := sr.NextEntry()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if _, err := rdb.DecodePayload(e.Value); err != nil {
				return fmt.Errorf("%w: key %q: value does not decode: %v", ErrCorrupt, e.Key, err)
			}
			n++
			rep.Keys++
		}
		if n != ref.Records {
			return fmt.Errorf("%w: %d keys, manifest says %d", ErrCorrupt, n, ref.Records)
		}
		if sr.endSeq != seq {
			return fmt.Errorf("%w: snapshot sequence %d, manifest says %d", ErrCorrupt, sr.endSeq, seq)
		}
		return nil
	}()
	// The checksum tells whether the stored bytes changed: report that
	// first, it explains any decoding error.
	if err := checkSum(name, or, ref.Size, ref.SHA256, rep); err != nil {
		return err
	}
	return or.classify(decodeErr)
}

func verifyLogObject(ctx context.Context, st ObjectStore, lo LogObject, key *Key, rep *VerifyReport) error {
	or, err := openObject(ctx, st, lo.Name, key, true)
	if err != nil {
		return err
	}
	defer or.Close()
	decodeErr := func() error {
		sr, err := newStreamReader(or)
		if err != nil {
			return err
		}
		if sr.magic != magicLog {
			return fmt.Errorf("%w: not a log stream", ErrCorrupt)
		}
		next := lo.FirstSeq
		for {
			r, err := sr.NextLog()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if r.Seq != next {
				return fmt.Errorf("%w: record %d where %d was expected", ErrCorrupt, r.Seq, next)
			}
			next++
			rep.LogRecords++
		}
		if next-1 != lo.LastSeq || sr.endSeq != lo.LastSeq {
			return fmt.Errorf("%w: records end at %d, name says %d", ErrCorrupt, next-1, lo.LastSeq)
		}
		return nil
	}()
	if err := checkSum(lo.Name, or, -1, lo.SHA256, rep); err != nil {
		return err
	}
	return or.classify(decodeErr)
}

// ReadSnapshot streams a backup's snapshot keys to fn, checking the
// object's checksum at the end (restore uses it).
func ReadSnapshot(ctx context.Context, st ObjectStore, m *Manifest, key *Key, fn func(Entry) error) error {
	for _, o := range m.Objects {
		if o.Kind != "snapshot" {
			continue
		}
		name := m.Dir() + o.Name
		or, err := openObject(ctx, st, name, key, true)
		if err != nil {
			return err
		}
		err = func() error {
			defer or.Close()
			sr, err := newStreamReader(or)
			if err != nil {
				return or.classify(err)
			}
			for {
				e, err := sr.NextEntry()
				if err == io.EOF {
					break
				}
				if err != nil {
					return or.classify(err)
				}
				if err := fn(e); err != nil {
					return err
				}
			}
			var rep VerifyReport
			return checkSum(name, or, o.Size, o.SHA256, &rep)
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// ReadLogObject streams a log object's records to fn, checking its
// checksum at the end.
func ReadLogObject(ctx context.Context, st ObjectStore, lo LogObject, key *Key, fn func(LogRecord) error) error {
	or, err := openObject(ctx, st, lo.Name, key, true)
	if err != nil {
		return err
	}
	defer or.Close()
	sr, err := newStreamReader(or)
	if err != nil {
		return or.classify(err)
	}
	for {
		r, err := sr.NextLog()
		if err == io.EOF {
			break
		}
		if err != nil {
			return or.classify(err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	var rep VerifyReport
	return checkSum(lo.Name, or, -1, lo.SHA256, &rep)
}
