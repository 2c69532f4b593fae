package rdb

import (
	"encoding/binary"
	"strconv"
)

// parseInt parses b as Redis's string2ll does: optional '-', digits, no
// leading zeros (except "0"), no '+' or spaces, within int64. Listpacks and
// the RDB string encoder store exactly these strings as integers, so that
// the value reads back byte-identical.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	i := 0
	if b[0] == '-' {
		i = 1
		if len(b) == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	for _, c := range b[i:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	return v, err == nil
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func itoa(v int64) []byte { return strconv.AppendInt(nil, v, 10) }
