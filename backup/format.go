package backup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Stream kinds (the header magic).
const (
	magicSnapshot = "SVBKSNAP"
	magicLog      = "SVBKLOG\x00"
	streamVersion = 1
	headerLen     = 16
	// maxRecord bounds a record body so a corrupt length cannot make a
	// reader allocate gigabytes (Redis's proto-max-bulk-len is 512 MiB).
	maxRecord = 1 << 30
)

const (
	recKey = 'K'
	recLog = 'R'
	recEnd = 'E'
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Entry is one key of a snapshot.
type Entry struct {
	DB     int
	Slot   int
	Key    []byte
	Expire int64  // absolute Unix ms, 0 = none
	Value  []byte // DUMP payload
}

// LogRecord is one mutation of the write log.
type LogRecord struct {
	Seq  uint64
	Time int64 // Unix ms
	DB   int
	Argv [][]byte
}

// streamWriter writes a record stream (see the package doc).
type streamWriter struct {
	w       *bufio.Writer
	buf     []byte
	records uint64
}

func newStreamWriter(w io.Writer, magic string) (*streamWriter, error) {
	sw := &streamWriter{w: bufio.NewWriterSize(w, 256<<10)}
	var h [headerLen]byte
	copy(h[:], magic)
	binary.LittleEndian.PutUint32(h[8:], streamVersion)
	if _, err := sw.w.Write(h[:]); err != nil {
		return nil, err
	}
	return sw, nil
}

func (sw *streamWriter) writeBody(body []byte) error {
	var pre [8]byte
	binary.LittleEndian.PutUint32(pre[0:], uint32(len(body)))
	binary.LittleEndian.PutUint32(pre[4:], crc32.Checksum(body, crcTable))
	if _, err := sw.w.Write(pre[:]); err != nil {
		return err
	}
	_, err := sw.w.Write(body)
	return err
}

func appendBytes(b, p []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
	return append(b, p...)
}

func (sw *streamWriter) WriteEntry(e Entry) error {
	// The body is written in two pieces, its CRC computed over both, so
	// the value (the bulk of a snapshot) is copied once less.
	b := append(sw.buf[:0], 0, 0, 0, 0, 0, 0, 0, 0, recKey)
	b = binary.LittleEndian.AppendUint16(b, uint16(e.DB))
	b = binary.LittleEndian.AppendUint16(b, uint16(e.Slot))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Expire))
	b = appendBytes(b, e.Key)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Value)))
	binary.LittleEndian.PutUint32(b[0:], uint32(len(b)-8+len(e.Value)))
	crc := crc32.Update(crc32.Checksum(b[8:], crcTable), crcTable, e.Value)
	binary.LittleEndian.PutUint32(b[4:], crc)
	sw.buf = b
	sw.records++
	if _, err := sw.w.Write(b); err != nil {
		return err
	}
	_, err := sw.w.Write(e.Value)
	return err
}

func (sw *streamWriter) WriteLog(r LogRecord) error {
	b := append(sw.buf[:0], recLog)
	b = binary.LittleEndian.AppendUint64(b, r.Seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Time))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.DB))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Argv)))
	for _, a := range r.Argv {
		b = appendBytes(b, a)
	}
	sw.buf = b
	sw.records++
	return sw.writeBody(b)
}

// Close writes the end record and flushes; seq is the snapshot's sequence
// or the log object's last sequence.
func (sw *streamWriter) Close(seq uint64) error {
	b := append(sw.buf[:0], recEnd)
	b = binary.LittleEndian.AppendUint64(b, sw.records)
	b = binary.LittleEndian.AppendUint64(b, seq)
	if err := sw.writeBody(b); err != nil {
		return err
	}
	return sw.w.Flush()
}

// streamReader reads a record stream, checking every CRC.
type streamReader struct {
	r       *bufio.Reader
	magic   string
	off     int64
	records uint64
	buf     []byte
	slab    []byte // see carve
	// set by the end record
	ended  bool
	endSeq uint64
}

func newStreamReader(r io.Reader) (*streamReader, error) {
	sr := &streamReader{r: bufio.NewReaderSize(r, 256<<10)}
	var h [headerLen]byte
	if _, err := io.ReadFull(sr.r, h[:]); err != nil {
		return nil, fmt.Errorf("%w: short stream header: %v", ErrCorrupt, err)
	}
	sr.magic = string(h[:8])
	if sr.magic != magicSnapshot && sr.magic != magicLog {
		return nil, fmt.Errorf("%w: bad stream magic %q", ErrCorrupt, h[:8])
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != streamVersion {
		return nil, fmt.Errorf("%w: unsupported stream version %d", ErrCorrupt, v)
	}
	sr.off = headerLen
	return sr, nil
}

// next returns the body of the next record (valid until the next call), or
// io.EOF after the end record.
func (sr *streamReader) next() ([]byte, error) {
	if sr.ended {
		// Anything after the end record is corruption.
		if _, err := sr.r.ReadByte(); err != io.EOF {
			return nil, fmt.Errorf("%w: data after the end record at offset %d", ErrCorrupt, sr.off)
		}
		return nil, io.EOF
	}
	var pre [8]byte
	if _, err := io.ReadFull(sr.r, pre[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: stream truncated at offset %d (no end record)", ErrCorrupt, sr.off)
		}
		return nil, err
	}
	n := binary.LittleEndian.Uint32(pre[0:])
	if n == 0 || n > maxRecord {
		return nil, fmt.Errorf("%w: impossible record length %d at offset %d", ErrCorrupt, n, sr.off)
	}
	if cap(sr.buf) < int(n) {
		sr.buf = make([]byte, n)
	}
	body := sr.buf[:n]
	if _, err := io.ReadFull(sr.r, body); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: stream truncated at offset %d", ErrCorrupt, sr.off)
		}
		return nil, err
	}
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(pre[4:]) {
		return nil, fmt.Errorf("%w: record CRC mismatch at offset %d", ErrCorrupt, sr.off)
	}
	sr.off += 8 + int64(n)
	if body[0] == recEnd {
		if len(body) != 17 {
			return nil, fmt.Errorf("%w: bad end record at offset %d", ErrCorrupt, sr.off)
		}
		if cnt := binary.LittleEndian.Uint64(body[1:]); cnt != sr.records {
			return nil, fmt.Errorf("%w: end record counts %d records, stream has %d", ErrCorrupt, cnt, sr.records)
		}
		sr.endSeq = binary.LittleEndian.Uint64(body[9:])
		sr.ended = true
		return sr.next()
	}
	sr.records++
	return body, nil
}

type bodyReader struct {
	b   []byte
	err bool
	// carve, when set, gives the memory bytes copies into.
	carve func(n int) []byte
}

// slabSize is the chunk snapshot keys and values are copied into: a
// restore holds millions of small keys, and two allocations per key cost
// more than the copying.
const slabSize = 256 << 10

// carve returns n bytes from the current chunk; the slices handed out
// never overlap and stay valid (a chunk lives while any key uses it).
func (sr *streamReader) carve(n int) []byte {
	if n > slabSize/8 {
		return make([]byte, n)
	}
	if cap(sr.slab)-len(sr.slab) < n {
		sr.slab = make([]byte, 0, slabSize)
	}
	l := len(sr.slab)
	sr.slab = sr.slab[:l+n]
	return sr.slab[l : l+n : l+n]
}

func (r *bodyReader) u16() uint16 {
	if len(r.b) < 2 {
		r.err = true
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *bodyReader) u32() uint32 {
	if len(r.b) < 4 {
		r.err = true
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *bodyReader) u64() uint64 {
	if len(r.b) < 8 {
		r.err = true
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *bodyReader) bytes() []byte {
	n := r.u32()
	if r.err || uint64(len(r.b)) < uint64(n) {
		r.err = true
		return nil
	}
	var v []byte
	if r.carve != nil {
		v = r.carve(int(n))
		copy(v, r.b[:n])
	} else {
		v = append([]byte(nil), r.b[:n]...)
	}
	r.b = r.b[n:]
	return v
}

// NextEntry returns the next key of a snapshot stream, or io.EOF.
func (sr *streamReader) NextEntry() (Entry, error) {
	body, err := sr.next()
	if err != nil {
		return Entry{}, err
	}
	if body[0] != recKey {
		return Entry{}, fmt.Errorf("%w: unexpected record type %q in a snapshot", ErrCorrupt, body[0])
	}
	r := bodyReader{b: body[1:], carve: sr.carve}
	e := Entry{DB: int(r.u16()), Slot: int(r.u16()), Expire: int64(r.u64())}
	e.Key = r.bytes()
	e.Value = r.bytes()
	if r.err || len(r.b) != 0 {
		return Entry{}, fmt.Errorf("%w: malformed key record at offset %d", ErrCorrupt, sr.off)
	}
	if e.Slot >= 16384 {
		return Entry{}, fmt.Errorf("%w: slot %d out of range", ErrCorrupt, e.Slot)
	}
	return e, nil
}

// NextLog returns the next record of a log stream, or io.EOF.
func (sr *streamReader) NextLog() (LogRecord, error) {
	body, err := sr.next()
	if err != nil {
		return LogRecord{}, err
	}
	if body[0] != recLog {
		return LogRecord{}, fmt.Errorf("%w: unexpected record type %q in a log object", ErrCorrupt, body[0])
	}
	r := bodyReader{b: body[1:]}
	rec := LogRecord{Seq: r.u64(), Time: int64(r.u64()), DB: int(r.u32())}
	argc := r.u32()
	if uint64(argc) > uint64(len(r.b))/4 {
		return LogRecord{}, fmt.Errorf("%w: impossible argc %d at offset %d", ErrCorrupt, argc, sr.off)
	}
	rec.Argv = make([][]byte, 0, argc)
	for i := uint32(0); i < argc && !r.err; i++ {
		rec.Argv = append(rec.Argv, r.bytes())
	}
	if r.err || len(r.b) != 0 || argc == 0 {
		return LogRecord{}, fmt.Errorf("%w: malformed log record at offset %d", ErrCorrupt, sr.off)
	}
	return rec, nil
}
