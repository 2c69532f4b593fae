package persistence

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/vfs"
)

// SegmentInfo describes one log segment file.
type SegmentInfo struct {
	Name     string // base name
	Path     string
	FirstSeq uint64 // from the name (verified against the header on read)
	Size     int64
}

// segmentName returns the base name of the segment starting at seq.
func segmentName(prefix string, first uint64) string {
	return fmt.Sprintf("%s.%020d.seg", prefix, first)
}

// parseSegmentName extracts the first sequence number from a base name.
func parseSegmentName(prefix, name string) (uint64, bool) {
	if !strings.HasPrefix(name, prefix+".") || !strings.HasSuffix(name, ".seg") {
		return 0, false
	}
	mid := strings.TrimSuffix(strings.TrimPrefix(name, prefix+"."), ".seg")
	if len(mid) != 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(mid, 10, 64)
	return v, err == nil
}

// ListSegments returns the segments in dir in log order. A missing
// directory holds no segments. A nil fs means vfs.Default.
func ListSegments(fs vfs.FS, dir, prefix string) ([]SegmentInfo, error) {
	if fs == nil {
		fs = vfs.Default
	}
	names, err := fs.List(dir)
	if err != nil {
		if errors.Is(err, errNotExist) || isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("persistence: list %s: %w", dir, err)
	}
	var out []SegmentInfo
	for _, n := range names {
		first, ok := parseSegmentName(prefix, n)
		if !ok {
			continue
		}
		p := fs.PathJoin(dir, n)
		st, err := fs.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("persistence: stat %s: %w", p, err)
		}
		out = append(out, SegmentInfo{Name: n, Path: p, FirstSeq: first, Size: st.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FirstSeq < out[j].FirstSeq })
	return out, nil
}

// ScanResult summarises a read of the whole log.
type ScanResult struct {
	Segments []SegmentInfo
	// Records is the number of good records read.
	Records int64
	// FirstSeq and LastSeq bound the good records (0 when none).
	FirstSeq, LastSeq uint64
	// Bytes is the number of bytes read (headers and good records).
	Bytes int64
	// Torn is set when the newest segment ends in a torn record; ValidLen
	// is the length of its good prefix.
	Torn *CorruptError
	// TornSegment is the segment holding the torn tail.
	TornSegment SegmentInfo
	ValidLen    int64
}

// RecordFunc receives each good record in log order with the segment and
// offset it was read at. The record's argv aliases a buffer reused after fn
// returns. Returning an error stops the scan with that error.
type RecordFunc func(r Record, seg SegmentInfo, off int64) error

// ScanLog reads every segment in order, calling fn for each good record.
// Corruption returns a *CorruptError wrapping ErrCorrupt. A torn tail in the
// newest segment is not an error: it is reported in ScanResult.Torn and the
// scan ends there.
func ScanLog(fs vfs.FS, dir, prefix string, fn RecordFunc) (*ScanResult, error) {
	if fs == nil {
		fs = vfs.Default
	}
	segs, err := ListSegments(fs, dir, prefix)
	if err != nil {
		return nil, err
	}
	res := &ScanResult{Segments: segs}
	var prevLast uint64
	for i, s := range segs {
		last := i == len(segs)-1
		if prevLast != 0 && s.FirstSeq <= prevLast {
			return res, &CorruptError{File: s.Path, Offset: 0, Seq: s.FirstSeq,
				Reason: fmt.Sprintf("segment starts at seq %d, not after the previous segment's last seq %d", s.FirstSeq, prevLast)}
		}
		segLast, err := scanSegment(fs, s, last, res, fn)
		if err != nil {
			return res, err
		}
		if segLast != 0 {
			prevLast = segLast
		} else if s.FirstSeq > 0 {
			prevLast = s.FirstSeq - 1
		}
		if res.Torn != nil {
			break
		}
	}
	return res, nil
}

// scanSegment reads one segment. It returns the last good sequence number
// (0 for none).
func scanSegment(fs vfs.FS, s SegmentInfo, last bool, res *ScanResult, fn RecordFunc) (uint64, error) {
	f, err := fs.Open(s.Path)
	if err != nil {
		return 0, fmt.Errorf("persistence: open %s: %w", s.Path, err)
	}
	defer f.Close()
	size := s.Size
	br := bufio.NewReaderSize(f, 256<<10)
	torn := func(off int64, seq uint64, reason string) (uint64, error) {
		ce := &CorruptError{File: s.Path, Offset: off, Seq: seq, Reason: reason, Torn: true}
		if !last {
			ce.Torn = false
			return 0, ce
		}
		// A cut write leaves nothing valid after it; a damaged record in
		// the middle does. Trimming the latter would drop good records.
		if p, ok := findValidRecord(f, off+1, size, seq); ok {
			ce.Torn = false
			ce.Reason = fmt.Sprintf("%s; a valid record follows at offset %d", reason, p)
			return 0, ce
		}
		res.Torn = ce
		res.TornSegment = s
		res.ValidLen = off
		return 0, nil
	}
	hdr := make([]byte, headerSize)
	if n, err := io.ReadFull(br, hdr); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return torn(0, s.FirstSeq, fmt.Sprintf("segment header cut after %d bytes", n))
		}
		return 0, fmt.Errorf("persistence: read %s: %w", s.Path, err)
	}
	first, err := parseHeader(hdr)
	if err != nil {
		if last && allZero(hdr) {
			return torn(0, s.FirstSeq, "zeroed segment header")
		}
		return 0, &CorruptError{File: s.Path, Offset: 0, Seq: s.FirstSeq, Reason: err.Error()}
	}
	if first != s.FirstSeq {
		return 0, &CorruptError{File: s.Path, Offset: 0, Seq: s.FirstSeq,
			Reason: fmt.Sprintf("header says first seq %d, file name says %d", first, s.FirstSeq)}
	}
	res.Bytes += headerSize
	off := int64(headerSize)
	expect := first
	var lastSeq uint64
	var prefix [recordPrefix]byte
	var body []byte
	// restIsZero reports whether everything from off to the end is zero, in
	// which case a bad record there is a torn tail (file system zero fill).
	restIsZero := func(consumed []byte) bool {
		if !allZero(consumed) {
			return false
		}
		buf := make([]byte, 32<<10)
		for {
			n, err := br.Read(buf)
			if !allZero(buf[:n]) {
				return false
			}
			if err != nil {
				return true
			}
		}
	}
	for {
		n, err := io.ReadFull(br, prefix[:])
		if err == io.EOF {
			return lastSeq, nil
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				return torn(off, expect, fmt.Sprintf("record header cut after %d bytes", n))
			}
			return 0, fmt.Errorf("persistence: read %s: %w", s.Path, err)
		}
		l := int64(binary.LittleEndian.Uint32(prefix[0:]))
		sum := binary.LittleEndian.Uint32(prefix[4:])
		if l < recordFixed {
			if restIsZero(prefix[:]) {
				return torn(off, expect, "zero-filled tail")
			}
			return 0, &CorruptError{File: s.Path, Offset: off, Seq: expect, Reason: fmt.Sprintf("impossible record length %d", l)}
		}
		if off+recordPrefix+l > size {
			if last {
				return torn(off, expect, fmt.Sprintf("record of %d bytes extends past the end of the file (%d bytes)", l, size))
			}
			return 0, &CorruptError{File: s.Path, Offset: off, Seq: expect,
				Reason: fmt.Sprintf("record of %d bytes extends past the end of the file (%d bytes)", l, size)}
		}
		if int64(cap(body)) < l {
			body = make([]byte, l)
		}
		body = body[:l]
		if _, err := io.ReadFull(br, body); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return torn(off, expect, "record body cut")
			}
			return 0, fmt.Errorf("persistence: read %s: %w", s.Path, err)
		}
		if crc32c(body) != sum {
			end := off + recordPrefix + l
			if end == size || restIsZero(nil) {
				return torn(off, expect, "checksum mismatch in the last record")
			}
			return 0, &CorruptError{File: s.Path, Offset: off, Seq: expect, Reason: "checksum mismatch"}
		}
		rec, err := decodeBody(body)
		if err != nil {
			return 0, &CorruptError{File: s.Path, Offset: off, Seq: expect, Reason: err.Error()}
		}
		if rec.Seq != expect {
			return 0, &CorruptError{File: s.Path, Offset: off, Seq: rec.Seq,
				Reason: fmt.Sprintf("sequence %d where %d was expected", rec.Seq, expect)}
		}
		if fn != nil {
			if err := fn(rec, s, off); err != nil {
				return 0, err
			}
		}
		if res.FirstSeq == 0 {
			res.FirstSeq = rec.Seq
		}
		res.LastSeq = rec.Seq
		res.Records++
		lastSeq = rec.Seq
		expect++
		off += recordPrefix + l
		res.Bytes += recordPrefix + l
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// TrimSegment rewrites the segment at path keeping only its first validLen
// bytes (a fresh header when validLen is shorter than one), through a temp
// file, fsync, rename and a directory fsync.
func TrimSegment(fs vfs.FS, s SegmentInfo, validLen int64) error {
	tmp := s.Path + ".tmp"
	out, err := fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("persistence: trim %s: %w", s.Path, err)
	}
	ok := false
	defer func() {
		if !ok {
			out.Close()
			fs.Remove(tmp)
		}
	}()
	if validLen < headerSize {
		if _, err := out.Write(segmentHeader(s.FirstSeq)); err != nil {
			return fmt.Errorf("persistence: trim %s: %w", s.Path, err)
		}
	} else {
		in, err := fs.Open(s.Path)
		if err != nil {
			return fmt.Errorf("persistence: trim %s: %w", s.Path, err)
		}
		_, err = io.Copy(out, io.LimitReader(in, validLen))
		in.Close()
		if err != nil {
			return fmt.Errorf("persistence: trim %s: %w", s.Path, err)
		}
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("persistence: trim %s: sync: %w", s.Path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("persistence: trim %s: %w", s.Path, err)
	}
	ok = true
	if err := fs.Rename(tmp, s.Path); err != nil {
		return fmt.Errorf("persistence: trim %s: rename: %w", s.Path, err)
	}
	return syncDir(fs, fs.PathDir(s.Path))
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("persistence: open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("persistence: sync dir %s: %w", dir, err)
	}
	return nil
}

// findValidRecord looks for a record with a good checksum and a sequence
// number >= minSeq anywhere in [from, size) of f.
func findValidRecord(f vfs.File, from, size int64, minSeq uint64) (int64, bool) {
	if from >= size {
		return 0, false
	}
	buf := make([]byte, size-from)
	n, _ := f.ReadAt(buf, from)
	buf = buf[:n]
	maxSeq := minSeq + uint64(len(buf))/(recordPrefix+recordFixed) + 1
	for i := 0; i+recordPrefix+recordFixed <= len(buf); i++ {
		l := int(binary.LittleEndian.Uint32(buf[i:]))
		if l < recordFixed || i+recordPrefix+l > len(buf) {
			continue
		}
		seq := binary.LittleEndian.Uint64(buf[i+recordPrefix:])
		if seq < minSeq || seq > maxSeq {
			continue
		}
		body := buf[i+recordPrefix : i+recordPrefix+l]
		if crc32c(body) == binary.LittleEndian.Uint32(buf[i+4:]) {
			return from + int64(i), true
		}
	}
	return 0, false
}
