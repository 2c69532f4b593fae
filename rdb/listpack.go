package rdb

import "encoding/binary"

// Listpack (Redis 7 compact container): a 6-byte header (total bytes
// uint32 LE, element count uint16 LE, 65535 = unknown), the entries, and a
// 0xFF terminator. An entry is <encoding><data><backlen>, backlen being the
// size of <encoding><data> in 1-5 bytes, readable right to left.
//
//	0xxxxxxx                     7-bit unsigned integer
//	10xxxxxx <data>              string up to 63 bytes
//	110xxxxx yyyyyyyy            13-bit signed integer
//	1110xxxx yyyyyyyy <data>     string up to 4095 bytes
//	11110000 <len:4 LE> <data>   string up to 4 GiB
//	0xF1 / 0xF2 / 0xF3 / 0xF4    16/24/32/64-bit signed integer, LE
const (
	lpHeaderSize = 6
	lpEOF        = 0xFF
)

// listpackWriter builds a listpack the way lpAppend does.
type listpackWriter struct {
	b []byte
	n int
}

func newListpack() *listpackWriter {
	return &listpackWriter{b: make([]byte, lpHeaderSize, 64)}
}

// add appends an element, storing canonical integer strings as integers.
func (w *listpackWriter) add(s []byte) {
	if v, ok := parseInt(s); ok {
		w.addInt(v)
		return
	}
	start := len(w.b)
	switch n := len(s); {
	case n < 64:
		w.b = append(w.b, 0x80|byte(n))
	case n < 4096:
		w.b = append(w.b, 0xE0|byte(n>>8), byte(n))
	default:
		w.b = append(w.b, 0xF0)
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(n))
	}
	w.b = append(w.b, s...)
	w.backlen(len(w.b) - start)
}

func (w *listpackWriter) addInt(v int64) {
	start := len(w.b)
	switch {
	case v >= 0 && v <= 127:
		w.b = append(w.b, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v)
		if v < 0 {
			u = uint64((1 << 13) + v)
		}
		w.b = append(w.b, 0xC0|byte(u>>8), byte(u))
	case v >= -32768 && v <= 32767:
		w.b = append(w.b, 0xF1)
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(v))
	case v >= -8388608 && v <= 8388607:
		u := uint32(v)
		w.b = append(w.b, 0xF2, byte(u), byte(u>>8), byte(u>>16))
	case v >= -2147483648 && v <= 2147483647:
		w.b = append(w.b, 0xF3)
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(v))
	default:
		w.b = append(w.b, 0xF4)
		w.b = binary.LittleEndian.AppendUint64(w.b, uint64(v))
	}
	w.backlen(len(w.b) - start)
}

func (w *listpackWriter) backlen(l int) {
	switch {
	case l <= 127:
		w.b = append(w.b, byte(l))
	case l < 16383:
		w.b = append(w.b, byte(l>>7), byte(l&127)|128)
	case l < 2097151:
		w.b = append(w.b, byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128)
	case l < 268435455:
		w.b = append(w.b, byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	default:
		w.b = append(w.b, byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	}
	w.n++
}

// size is the listpack's size once finished.
func (w *listpackWriter) size() int { return len(w.b) + 1 }

func (w *listpackWriter) finish() []byte {
	w.b = append(w.b, lpEOF)
	binary.LittleEndian.PutUint32(w.b, uint32(len(w.b)))
	n := w.n
	if n > 65535 {
		n = 65535
	}
	binary.LittleEndian.PutUint16(w.b[4:], uint16(n))
	return w.b
}

func backlenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// parseListpack returns the elements of a listpack, integers rendered in
// decimal. It validates the header, every entry's bounds and back-length,
// and the terminator.
func parseListpack(b []byte) ([][]byte, error) { return collect(b, walkListpack) }

// walkListpack validates a listpack and calls fn for each element in order:
// a string (s, aliasing b) or, when isInt, the integer v.
func walkListpack(b []byte, fn elemFunc) error {
	if len(b) < lpHeaderSize+1 {
		return corrupt("listpack too short")
	}
	if int(le32(b)) != len(b) || b[len(b)-1] != lpEOF {
		return corrupt("listpack header or terminator mismatch")
	}
	count := int(le16(b[4:]))
	n := 0
	p := lpHeaderSize
	end := len(b) - 1
	for p < end {
		enc := b[p]
		var hdr, data int
		var iv int64
		isInt := true
		need := func(n int) bool { return p+n <= end }
		switch {
		case enc&0x80 == 0:
			hdr, iv = 1, int64(enc)
		case enc&0xC0 == 0x80:
			hdr, data, isInt = 1, int(enc&0x3F), false
		case enc&0xE0 == 0xC0:
			if !need(2) {
				return corrupt("listpack truncated entry")
			}
			u := int64(enc&0x1F)<<8 | int64(b[p+1])
			if u >= 1<<12 {
				u -= 1 << 13
			}
			hdr, iv = 2, u
		case enc&0xF0 == 0xE0:
			if !need(2) {
				return corrupt("listpack truncated entry")
			}
			hdr, data, isInt = 2, int(enc&0x0F)<<8|int(b[p+1]), false
		case enc == 0xF0:
			if !need(5) {
				return corrupt("listpack truncated entry")
			}
			l := le32(b[p+1:])
			if uint64(l) > uint64(end-p) {
				return corrupt("listpack string overflows")
			}
			hdr, data, isInt = 5, int(l), false
		case enc == 0xF1:
			if !need(3) {
				return corrupt("listpack truncated entry")
			}
			hdr, iv = 3, int64(int16(le16(b[p+1:])))
		case enc == 0xF2:
			if !need(4) {
				return corrupt("listpack truncated entry")
			}
			u := uint32(b[p+1]) | uint32(b[p+2])<<8 | uint32(b[p+3])<<16
			hdr, iv = 4, int64(int32(u<<8)>>8)
		case enc == 0xF3:
			if !need(5) {
				return corrupt("listpack truncated entry")
			}
			hdr, iv = 5, int64(int32(le32(b[p+1:])))
		case enc == 0xF4:
			if !need(9) {
				return corrupt("listpack truncated entry")
			}
			hdr, iv = 9, int64(le64(b[p+1:]))
		default:
			return corrupt("listpack bad encoding byte")
		}
		l := hdr + data
		bl := backlenSize(l)
		if l+bl > end-p {
			return corrupt("listpack entry overflows")
		}
		if !backlenOK(b[p+l:p+l+bl], l) {
			return corrupt("listpack bad back-length")
		}
		if isInt {
			fn(nil, iv, true)
		} else {
			fn(b[p+hdr:p+l], 0, false)
		}
		n++
		p += l + bl
	}
	if count != 65535 && count != n {
		return corrupt("listpack element count mismatch")
	}
	return nil
}

// backlenOK reports whether b, backlenSize(l) bytes long, is the
// back-length encoding of l that listpackWriter.backlen writes: 7 bits per
// byte, most significant first, every byte but the first with bit 7 set.
func backlenOK(b []byte, l int) bool {
	for i := len(b) - 1; i >= 0; i-- {
		want := byte(l & 127)
		if i > 0 {
			want |= 128
		}
		if b[i] != want {
			return false
		}
		l >>= 7
	}
	return l == 0
}
