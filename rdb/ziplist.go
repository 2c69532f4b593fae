package rdb

// Ziplist (Redis < 7 compact container), decoded only: zlbytes uint32 LE,
// zltail uint32 LE, zllen uint16 LE, entries, 0xFF. An entry is
// <prevlen: 1 byte, or 0xFE + uint32 LE><encoding><data>:
//
//	00pppppp                 string up to 63 bytes
//	01pppppp qqqqqqqq        string up to 16383 bytes (length big-endian)
//	10000000 <len:4 BE>      string
//	0xC0 / 0xD0 / 0xE0       int16 / int32 / int64, LE
//	0xF0                     int24 LE
//	0xFE                     int8
//	0xF1..0xFD               immediate 0..12
func parseZiplist(b []byte) ([][]byte, error) { return collect(b, walkZiplist) }

// walkZiplist validates a ziplist and calls fn for each element in order:
// a string (s, aliasing b) or, when isInt, the integer v.
func walkZiplist(b []byte, fn elemFunc) error {
	if len(b) < 11 || int(le32(b)) != len(b) || b[len(b)-1] != 0xFF {
		return corrupt("ziplist header or terminator mismatch")
	}
	count := int(le16(b[8:]))
	if int(le32(b[4:])) > len(b)-1 {
		return corrupt("ziplist tail offset out of range")
	}
	n := 0
	p, end := 10, len(b)-1
	prev := 0
	for p < end {
		start := p
		// prevlen
		var pl int
		if b[p] < 0xFE {
			pl = int(b[p])
			p++
		} else if b[p] == 0xFE {
			if p+5 > end {
				return corrupt("ziplist truncated prevlen")
			}
			pl = int(le32(b[p+1:]))
			p += 5
		} else {
			return corrupt("ziplist bad prevlen")
		}
		if pl != prev {
			return corrupt("ziplist prevlen mismatch")
		}
		if p >= end {
			return corrupt("ziplist truncated entry")
		}
		enc := b[p]
		need := func(n int) error {
			if p+n > end {
				return corrupt("ziplist truncated entry")
			}
			return nil
		}
		switch {
		case enc>>6 != 3:
			var hdr, l int
			switch enc >> 6 {
			case 0:
				hdr, l = 1, int(enc&0x3F)
			case 1:
				if err := need(2); err != nil {
					return err
				}
				hdr, l = 2, int(enc&0x3F)<<8|int(b[p+1])
			default:
				if enc != 0x80 {
					return corrupt("ziplist bad string encoding")
				}
				if err := need(5); err != nil {
					return err
				}
				u := uint64(b[p+1])<<24 | uint64(b[p+2])<<16 | uint64(b[p+3])<<8 | uint64(b[p+4])
				if u > uint64(end) {
					return corrupt("ziplist string overflows")
				}
				hdr, l = 5, int(u)
			}
			if err := need(hdr + l); err != nil {
				return err
			}
			fn(b[p+hdr:p+hdr+l], 0, false)
			p += hdr + l
		default:
			var v int64
			var size int
			switch {
			case enc == 0xC0:
				size = 2
			case enc == 0xD0:
				size = 4
			case enc == 0xE0:
				size = 8
			case enc == 0xF0:
				size = 3
			case enc == 0xFE:
				size = 1
			case enc >= 0xF1 && enc <= 0xFD:
				size = 0
				v = int64(enc&0x0F) - 1
			default:
				return corrupt("ziplist bad integer encoding")
			}
			if err := need(1 + size); err != nil {
				return err
			}
			d := b[p+1:]
			switch size {
			case 1:
				v = int64(int8(d[0]))
			case 2:
				v = int64(int16(le16(d)))
			case 3:
				u := uint32(d[0]) | uint32(d[1])<<8 | uint32(d[2])<<16
				v = int64(int32(u<<8) >> 8)
			case 4:
				v = int64(int32(le32(d)))
			case 8:
				v = int64(le64(d))
			}
			fn(nil, v, true)
			p += 1 + size
		}
		prev = p - start
		n++
	}
	if count != 65535 && count != n {
		return corrupt("ziplist element count mismatch")
	}
	return nil
}
