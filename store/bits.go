package store

import "math/bits"

// Bit-level helpers for the bitmap commands. Bit 0 is the most significant
// bit of the first byte, as SETBIT, BITFIELD and friends number them.

// Popcount returns the number of set bits in p.
func Popcount(p []byte) int64 {
	var n int64
	for len(p) >= 8 {
		n += int64(bits.OnesCount64(uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
			uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56))
		p = p[8:]
	}
	for _, b := range p {
		n += int64(bits.OnesCount8(b))
	}
	return n
}

// Bitpos returns the position of the first bit equal to bit in p. Looking
// for 0 in a run of ones returns len(p)*8 (the string is taken as padded
// with zeros on the right); looking for 1 in zeros returns -1.
func Bitpos(p []byte, bit int) int64 {
	skip := byte(0)
	if bit == 0 {
		skip = 0xff
	}
	for i, b := range p {
		if b == skip {
			continue
		}
		for j := 0; j < 8; j++ {
			if int(b>>(7-j)&1) == bit {
				return int64(i)*8 + int64(j)
			}
		}
	}
	if bit == 1 {
		return -1
	}
	return int64(len(p)) * 8
}

// GetUnsignedBitfield reads bits (1..64) bits at bit offset off of p as an
// unsigned integer; bytes past the end of p read as zero.
func GetUnsignedBitfield(p []byte, off uint64, nbits int) uint64 {
	var v uint64
	for j := 0; j < nbits; j++ {
		byteIdx := off >> 3
		var bv uint64
		if byteIdx < uint64(len(p)) {
			bv = uint64(p[byteIdx]>>(7-(off&7))) & 1
		}
		v = v<<1 | bv
		off++
	}
	return v
}

// GetSignedBitfield reads a two's complement signed integer.
func GetSignedBitfield(p []byte, off uint64, nbits int) int64 {
	v := int64(GetUnsignedBitfield(p, off, nbits))
	if nbits < 64 && v&(int64(1)<<(nbits-1)) != 0 {
		v |= -1 << nbits
	}
	return v
}

// SetUnsignedBitfield writes the low nbits of v at bit offset off; p must
// be long enough.
func SetUnsignedBitfield(p []byte, off uint64, nbits int, v uint64) {
	for j := 0; j < nbits; j++ {
		bv := byte(v>>(nbits-1-j)) & 1
		byteIdx := off >> 3
		sh := 7 - (off & 7)
		p[byteIdx] = p[byteIdx]&^(1<<sh) | bv<<sh
		off++
	}
}

// Bitfield overflow behaviours (BITFIELD OVERFLOW).
const (
	OverflowWrap = iota
	OverflowSat
	OverflowFail
)

// CheckUnsignedBitfieldOverflow reports whether value+incr leaves the range
// of an nbits unsigned integer: 1 above, -1 below, 0 inside. On overflow it
// returns in limit the value the operation yields under ow (WRAP wraps,
// SAT saturates; FAIL leaves it unset).
func CheckUnsignedBitfieldOverflow(value uint64, incr int64, nbits, ow int) (int, uint64) {
	max := uint64(1)<<nbits - 1
	if nbits == 64 {
		max = ^uint64(0)
	}
	maxincr := int64(max - value)
	minincr := -int64(value)
	wrap := func() uint64 {
		res := value + uint64(incr)
		if nbits < 64 {
			res &= ^(^uint64(0) << nbits)
		}
		return res
	}
	if value > max || (incr > 0 && incr > maxincr) {
		switch ow {
		case OverflowWrap:
			return 1, wrap()
		case OverflowSat:
			return 1, max
		}
		return 1, 0
	} else if incr < 0 && incr < minincr {
		switch ow {
		case OverflowWrap:
			return -1, wrap()
		case OverflowSat:
			return -1, 0
		}
		return -1, 0
	}
	return 0, 0
}

// CheckSignedBitfieldOverflow is CheckUnsignedBitfieldOverflow for signed
// nbits integers.
func CheckSignedBitfieldOverflow(value, incr int64, nbits, ow int) (int, int64) {
	max := int64(1)<<(nbits-1) - 1
	if nbits == 64 {
		max = 1<<63 - 1
	}
	min := -max - 1
	// maxincr and minincr may wrap; they are only used once value is known
	// to be in range, as in Redis.
	maxincr := int64(uint64(max) - uint64(value))
	minincr := min - value
	wrap := func() int64 {
		c := uint64(value) + uint64(incr)
		if nbits < 64 {
			mask := ^uint64(0) << nbits
			if c&(uint64(1)<<(nbits-1)) != 0 {
				c |= mask
			} else {
				c &^= mask
			}
		}
		return int64(c)
	}
	if value > max || (nbits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
		switch ow {
		case OverflowWrap:
			return 1, wrap()
		case OverflowSat:
			return 1, max
		}
		return 1, 0
	} else if value < min || (nbits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
		switch ow {
		case OverflowWrap:
			return -1, wrap()
		case OverflowSat:
			return -1, min
		}
		return -1, 0
	}
	return 0, 0
}
