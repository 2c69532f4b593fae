package persistence

import (
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// CheckOptions configure Check.
type CheckOptions struct {
	FS     vfs.FS
	Dir    string // data directory
	LogDir string // append dir name inside Dir
	Prefix string // appendfilename
	// Codec, when Decode is set, decodes every snapshot value.
	Codec Codec
}

// SnapshotCheck is the verdict on one snapshot.
type SnapshotCheck struct {
	Manifest Manifest
	Err      error
}

// CheckReport is what Check found.
type CheckReport struct {
	Scan      *ScanResult
	LogErr    error // corruption in the log (a *CorruptError) or I/O error
	Snapshots []SnapshotCheck
	StoreErr  error
	// Usable is the newest snapshot that verified, nil if none.
	Usable *Manifest
	// CoverageErr is set when the log does not continue the usable
	// snapshot (records missing between them).
	CoverageErr error
	// BadAt locates the first bad record in the log, for --fix.
	BadAt *CorruptError
}

// OK reports whether the directory would load cleanly (a torn tail counts
// as a problem that start-up trims with aof-load-truncated yes).
func (r *CheckReport) OK() bool {
	if r.LogErr != nil || r.StoreErr != nil || r.CoverageErr != nil || (r.Scan != nil && r.Scan.Torn != nil) {
		return false
	}
	for _, s := range r.Snapshots {
		if s.Err != nil && s.Manifest.Complete {
			return false
		}
	}
	return true
}

// Check verifies a data directory without changing it: every log segment
// and record checksum, the sequence order, every complete snapshot (key
// count, checksum, and value decoding when a codec is given), and that the
// log continues the newest usable snapshot.
func Check(opts CheckOptions) *CheckReport {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	r := &CheckReport{}
	logDir := opts.FS.PathJoin(opts.Dir, opts.LogDir)
	var firstAfter uint64
	var snapSeq uint64
	snapDir := opts.FS.PathJoin(opts.Dir, "snapshots")
	if _, err := opts.FS.Stat(snapDir); err == nil {
		db, err := pebble.Open(snapDir, &pebble.Options{FS: opts.FS, ReadOnly: true, Logger: quietLogger{}})
		if err != nil {
			r.StoreErr = err
		} else {
			st := &SnapshotStore{db: db, dir: snapDir}
			ms, err := st.Manifests()
			if err != nil {
				r.StoreErr = err
			}
			for _, m := range ms {
				sc := SnapshotCheck{Manifest: m}
				if m.Complete {
					sc.Err = st.Load(m, func(e SnapshotEntry) error {
						if opts.Codec.Decode != nil {
							if _, err := opts.Codec.Decode(e.Payload); err != nil {
								return fmt.Errorf("%w: key %q: %v", ErrCorrupt, e.Key, err)
							}
						}
						return nil
					}, nil)
					if sc.Err == nil && r.Usable == nil {
						mm := m
						r.Usable = &mm
						snapSeq = m.Seq
					}
				}
				r.Snapshots = append(r.Snapshots, sc)
			}
			db.Close()
		}
	}
	scan, err := ScanLog(opts.FS, logDir, opts.Prefix, func(rec Record, seg SegmentInfo, off int64) error {
		if rec.Seq > snapSeq && firstAfter == 0 {
			firstAfter = rec.Seq
		}
		return nil
	})
	r.Scan = scan
	if err != nil {
		r.LogErr = err
		var ce *CorruptError
		if errors.As(err, &ce) {
			r.BadAt = ce
		}
	} else if scan.Torn != nil {
		r.BadAt = scan.Torn
	}
	if scan != nil && firstAfter > snapSeq+1 {
		r.CoverageErr = fmt.Errorf("%w: records %d..%d are in neither the snapshot nor the log", ErrCorrupt, snapSeq+1, firstAfter-1)
	}
	return r
}

// Print writes the report for people.
func (r *CheckReport) Print(w io.Writer) {
	fmt.Fprintln(w, "Snapshots:")
	if r.StoreErr != nil {
		fmt.Fprintf(w, "  store error: %v\n", r.StoreErr)
	}
	if len(r.Snapshots) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, s := range r.Snapshots {
		m := s.Manifest
		state := "ok"
		switch {
		case !m.Complete:
			state = "incomplete (interrupted; removed at next start)"
		case s.Err != nil:
			state = "BAD: " + s.Err.Error()
		}
		fmt.Fprintf(w, "  #%d seq=%d keys=%d bytes=%d dbs=%d taken=%dms: %s\n", m.ID, m.Seq, m.Keys, m.Bytes, m.DBs, m.EndMs-m.StartMs, state)
	}
	fmt.Fprintln(w, "Log:")
	if r.Scan != nil {
		if len(r.Scan.Segments) == 0 {
			fmt.Fprintln(w, "  no segments")
		}
		for _, s := range r.Scan.Segments {
			fmt.Fprintf(w, "  %s first-seq=%d size=%d\n", s.Name, s.FirstSeq, s.Size)
		}
		fmt.Fprintf(w, "  %d good records, seq %d..%d, %d bytes\n", r.Scan.Records, r.Scan.FirstSeq, r.Scan.LastSeq, r.Scan.Bytes)
		if r.Scan.Torn != nil {
			fmt.Fprintf(w, "  TORN TAIL: %v\n", r.Scan.Torn)
		}
	}
	if r.LogErr != nil {
		fmt.Fprintf(w, "  CORRUPT: %v\n", r.LogErr)
	}
	if r.CoverageErr != nil {
		fmt.Fprintf(w, "  GAP: %v\n", r.CoverageErr)
	}
	if r.Usable != nil {
		fmt.Fprintf(w, "Recovery would load snapshot #%d (seq %d) and replay the log after it.\n", r.Usable.ID, r.Usable.Seq)
	} else {
		fmt.Fprintln(w, "Recovery would replay the log from the start (no usable snapshot).")
	}
	if r.OK() {
		fmt.Fprintln(w, "Result: OK")
	} else {
		fmt.Fprintln(w, "Result: PROBLEMS FOUND")
	}
}

// FixLoss describes what Fix would cut.
func (r *CheckReport) FixLoss() (file string, offset int64, records string, ok bool) {
	if r.BadAt == nil {
		return "", 0, "", false
	}
	return r.BadAt.File, r.BadAt.Offset, fmt.Sprintf("every record from seq %d on", r.BadAt.Seq), true
}

// Fix cuts the log at the first bad record: that segment is trimmed there
// and every later segment is deleted.
func Fix(opts CheckOptions, r *CheckReport) error {
	if r.BadAt == nil {
		return nil
	}
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	logDir := opts.FS.PathJoin(opts.Dir, opts.LogDir)
	segs, err := ListSegments(opts.FS, logDir, opts.Prefix)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s.Path == r.BadAt.File {
			return trimFrom(opts.FS, logDir, opts.Prefix, s, r.BadAt.Offset)
		}
	}
	return fmt.Errorf("persistence: segment %s not found", r.BadAt.File)
}
