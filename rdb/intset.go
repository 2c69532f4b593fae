package rdb

import (
	"encoding/binary"
	"sort"
)

// Intset: encoding uint32 LE (2, 4 or 8 bytes per value), length uint32
// LE, then the values ascending, little-endian, all of the same width.

// buildIntset encodes vals (any order) with the narrowest width that
// holds them all, as an intset grown by SADD would be.
func buildIntset(vals []int64) []byte {
	sorted := append([]int64(nil), vals...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	width := 2
	for _, v := range sorted {
		switch {
		case v < -2147483648 || v > 2147483647:
			width = 8
		case (v < -32768 || v > 32767) && width < 4:
			width = 4
		}
	}
	b := make([]byte, 0, 8+width*len(sorted))
	b = binary.LittleEndian.AppendUint32(b, uint32(width))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(sorted)))
	for _, v := range sorted {
		switch width {
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

func parseIntset(b []byte) ([][]byte, error) { return collect(b, walkIntset) }

// walkIntset validates an intset (width, length, strictly ascending
// values) and calls fn for each value.
func walkIntset(b []byte, fn elemFunc) error {
	if len(b) < 8 {
		return corrupt("intset too short")
	}
	width := int(le32(b))
	n := uint64(le32(b[4:]))
	if width != 2 && width != 4 && width != 8 {
		return corrupt("intset bad encoding")
	}
	if uint64(len(b)-8) != n*uint64(width) {
		return corrupt("intset length mismatch")
	}
	var last int64
	for i := 0; i < int(n); i++ {
		d := b[8+i*width:]
		var v int64
		switch width {
		case 2:
			v = int64(int16(le16(d)))
		case 4:
			v = int64(int32(le32(d)))
		default:
			v = int64(le64(d))
		}
		if i > 0 && v <= last {
			return corrupt("intset not sorted or has duplicates")
		}
		last = v
		fn(nil, v, true)
	}
	return nil
}
