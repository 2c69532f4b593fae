package rdb

import "sync"

// LZF as liblzf 3.6 (the library Redis links) implements it, with Redis's
// build settings (HLOG 16, VERY_FAST): the compressor is reproduced
// decision for decision so that DUMP payloads of compressible strings are
// byte-identical to Redis's.
//
// Compressed stream:
//
//	000LLLLL <L+1 bytes>          literal run of L+1 bytes
//	LLLooooo oooooooo             back reference, length L+2, offset o+1
//	111ooooo LLLLLLLL oooooooo    back reference, length L+9, offset o+1
const (
	lzfHLog   = 16
	lzfHSize  = 1 << lzfHLog
	lzfMaxLit = 1 << 5
	lzfMaxOff = 1 << 13
	lzfMaxRef = (1 << 8) + (1 << 3)
)

// lzfState is the compressor's hash table. liblzf leaves it uninitialised;
// an empty slot (position 0) is never a usable reference there either,
// because a reference must lie after the first input byte. A generation
// stamp stands in for clearing 64K entries on every call.
type lzfState struct {
	pos [lzfHSize]uint32
	gen [lzfHSize]uint32
	cur uint32
}

var lzfPool = sync.Pool{New: func() any { return new(lzfState) }}

func lzfIdx(h uint32) uint32 {
	return ((h >> (3*8 - lzfHLog)) - h*5) & (lzfHSize - 1)
}

func (s *lzfState) get(i uint32) int {
	if s.gen[i] != s.cur {
		return 0
	}
	return int(s.pos[i])
}

func (s *lzfState) put(i uint32, p int) {
	s.gen[i] = s.cur
	s.pos[i] = uint32(p)
}

// lzfCompress compresses in into at most outLen bytes. It returns nil when
// the result would not fit (Redis then stores the string uncompressed).
func lzfCompress(in []byte, outLen int) []byte {
	inLen := len(in)
	if inLen == 0 || outLen <= 0 {
		return nil
	}
	s := lzfPool.Get().(*lzfState)
	defer lzfPool.Put(s)
	s.cur++
	if s.cur == 0 {
		s.gen = [lzfHSize]uint32{}
		s.cur = 1
	}
	out := make([]byte, outLen+1) // one spare byte: the run header may be reserved at out_end
	op, ip, lit := 1, 0, 0        // op starts after the first run's header
	hval := uint32(in[0])<<8 | uint32(in[1%inLen])
	if inLen < 2 {
		hval = uint32(in[0]) << 8
	}
	for ip < inLen-2 {
		hval = hval<<8 | uint32(in[ip+2])
		slot := lzfIdx(hval)
		ref := s.get(slot)
		s.put(slot, ip)
		off := ip - ref - 1
		if ref < ip && off < lzfMaxOff && ref > 0 &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			length := 2
			maxLen := inLen - ip - length
			if maxLen > lzfMaxRef {
				maxLen = lzfMaxRef
			}
			if op+3+1 >= outLen {
				back := 0
				if lit == 0 {
					back = 1
				}
				if op-back+3+1 >= outLen {
					return nil
				}
			}
			out[op-lit-1] = byte(lit - 1)
			if lit == 0 {
				op--
			}
			length = lzfMatchLen(in, ref, ip, maxLen)
			length -= 2
			ip++
			if length < 7 {
				out[op] = byte(off>>8) + byte(length<<5)
				op++
			} else {
				out[op] = byte(off>>8) + 7<<5
				out[op+1] = byte(length - 7)
				op += 2
			}
			out[op] = byte(off)
			op++
			lit = 0
			op++
			ip += length + 1
			if ip >= inLen-2 {
				break
			}
			ip -= 2
			hval = uint32(in[ip])<<8 | uint32(in[ip+1])
			hval = hval<<8 | uint32(in[ip+2])
			s.put(lzfIdx(hval), ip)
			ip++
			hval = hval<<8 | uint32(in[ip+2])
			s.put(lzfIdx(hval), ip)
			ip++
			continue
		}
		if op >= outLen {
			return nil
		}
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	if op+3 > outLen {
		return nil
	}
	for ip < inLen {
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	out[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	if op > outLen {
		return nil
	}
	return out[:op]
}

// lzfMatchLen extends a 3-byte match at ref/ip the way liblzf does,
// including its unrolled first 16 steps, which do not stop at maxLen: the
// resulting length (and so the output) must be the same as Redis's.
func lzfMatchLen(in []byte, ref, ip, maxLen int) int {
	n := 2
	if maxLen > 16 {
		for k := 0; k < 16; k++ {
			n++
			if in[ref+n] != in[ip+n] {
				return n
			}
		}
	}
	for {
		n++
		if n >= maxLen || in[ref+n] != in[ip+n] {
			return n
		}
	}
}

// lzfDecompress expands in, which must produce exactly outLen bytes.
func lzfDecompress(in []byte, outLen int) ([]byte, error) {
	out := make([]byte, 0, outLen)
	ip := 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 1<<5 {
			n := ctrl + 1
			if len(out)+n > outLen || ip+n > len(in) {
				return nil, corrupt("lzf literal run overflows")
			}
			out = append(out, in[ip:ip+n]...)
			ip += n
			continue
		}
		n := ctrl >> 5
		if ip >= len(in) {
			return nil, corrupt("lzf truncated back reference")
		}
		if n == 7 {
			n += int(in[ip])
			ip++
			if ip >= len(in) {
				return nil, corrupt("lzf truncated back reference")
			}
		}
		ref := len(out) - ((ctrl & 0x1f) << 8) - 1 - int(in[ip])
		ip++
		n += 2
		if len(out)+n > outLen || ref < 0 {
			return nil, corrupt("lzf back reference out of range")
		}
		for i := 0; i < n; i++ { // may overlap: copy byte by byte
			out = append(out, out[ref+i])
		}
	}
	if len(out) != outLen {
		return nil, corrupt("lzf length mismatch")
	}
	return out, nil
}
