package persistence

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Format constants; see doc.go.
const (
	segmentMagic   = "SVLOG\x00\r\n"
	segmentVersion = 1
	headerSize     = 32
	recordPrefix   = 8  // length + CRC32C
	recordFixed    = 24 // seq + timestamp + db + argc
	// maxRecordBody bounds a record body so that a corrupt length cannot
	// make the reader allocate without limit (proto-max-bulk-len is at most
	// a few GiB per argument; a record above 4 GiB is not representable).
	maxRecordBody = 1<<32 - 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// Record is one logged mutation.
type Record struct {
	Seq  uint64
	Time int64 // Unix milliseconds
	DB   int
	Argv [][]byte
}

// appendRecord encodes r onto dst.
func appendRecord(dst []byte, seq uint64, ts int64, db int, argv [][]byte) []byte {
	body := recordFixed
	for _, a := range argv {
		body += 4 + len(a)
	}
	start := len(dst)
	dst = append(dst, make([]byte, recordPrefix+body)...)
	b := dst[start:]
	binary.LittleEndian.PutUint32(b[0:], uint32(body))
	p := b[recordPrefix:]
	binary.LittleEndian.PutUint64(p[0:], seq)
	binary.LittleEndian.PutUint64(p[8:], uint64(ts))
	binary.LittleEndian.PutUint32(p[16:], uint32(db))
	binary.LittleEndian.PutUint32(p[20:], uint32(len(argv)))
	o := recordFixed
	for _, a := range argv {
		binary.LittleEndian.PutUint32(p[o:], uint32(len(a)))
		o += 4
		o += copy(p[o:], a)
	}
	binary.LittleEndian.PutUint32(b[4:], crc32c(p))
	return dst
}

var errBadBody = errors.New("malformed record body")

// decodeBody parses a record body whose CRC has been checked. The argv
// slices alias body.
func decodeBody(body []byte) (Record, error) {
	if len(body) < recordFixed {
		return Record{}, errBadBody
	}
	r := Record{
		Seq:  binary.LittleEndian.Uint64(body[0:]),
		Time: int64(binary.LittleEndian.Uint64(body[8:])),
		DB:   int(binary.LittleEndian.Uint32(body[16:])),
	}
	argc := binary.LittleEndian.Uint32(body[20:])
	if uint64(argc)*4 > uint64(len(body)-recordFixed) {
		return Record{}, errBadBody
	}
	r.Argv = make([][]byte, 0, argc)
	o := recordFixed
	for i := uint32(0); i < argc; i++ {
		if o+4 > len(body) {
			return Record{}, errBadBody
		}
		n := int(binary.LittleEndian.Uint32(body[o:]))
		o += 4
		if n < 0 || o+n > len(body) {
			return Record{}, errBadBody
		}
		r.Argv = append(r.Argv, body[o:o+n:o+n])
		o += n
	}
	if o != len(body) {
		return Record{}, errBadBody
	}
	return r, nil
}

// segmentHeader encodes a segment header.
func segmentHeader(firstSeq uint64) []byte {
	b := make([]byte, headerSize)
	copy(b, segmentMagic)
	binary.LittleEndian.PutUint32(b[8:], segmentVersion)
	binary.LittleEndian.PutUint64(b[16:], firstSeq)
	binary.LittleEndian.PutUint32(b[28:], crc32c(b[:28]))
	return b
}

// parseHeader validates a segment header and returns its first sequence.
func parseHeader(b []byte) (uint64, error) {
	if len(b) < headerSize {
		return 0, errors.New("short segment header")
	}
	if string(b[:8]) != segmentMagic {
		return 0, errors.New("bad segment magic")
	}
	if crc32c(b[:28]) != binary.LittleEndian.Uint32(b[28:]) {
		return 0, errors.New("segment header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != segmentVersion {
		return 0, errors.New("unsupported segment version")
	}
	return binary.LittleEndian.Uint64(b[16:]), nil
}
