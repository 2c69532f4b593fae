package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// HyperLogLogs are plain strings holding Redis's exact HLL representation,
// so that GET/SET/DUMP of an HLL key interoperate with Redis byte for byte.
//
// Layout (all integers little endian):
//
//	+------+---+-----+----------+----------------------------+
//	| HYLL | E | N/U | Cardin.  | registers                  |
//	+------+---+-----+----------+----------------------------+
//	  4 B   1 B  3 B     8 B
//
// E is 0 (dense) or 1 (sparse). Cardin. caches the last computed
// cardinality; its most significant bit set means the cache is stale.
//
// Dense: 16384 6-bit registers packed LSB first (12288 bytes).
// Sparse: run-length opcodes —
//
//	ZERO  00xxxxxx           1..64 zero registers
//	XZERO 01xxxxxx yyyyyyyy  1..16384 zero registers
//	VAL   1vvvvvxx           1..4 registers of value 1..32
//
// A sparse HLL is promoted to dense when a register needs a value above 32
// or when its size would exceed hll-sparse-max-bytes.

// HLL constants, as in Redis's hyperloglog.c.
const (
	HLLRegisters   = 1 << hllP
	HLLHeaderSize  = 16
	HLLDenseSize   = HLLHeaderSize + (HLLRegisters*hllBits+7)/8
	HLLEncDense    = 0
	HLLEncSparse   = 1
	hllP           = 14
	hllQ           = 64 - hllP
	hllPMask       = HLLRegisters - 1
	hllBits        = 6
	hllRegMax      = (1 << hllBits) - 1
	hllMaxEncoding = 1

	hllSparseValMaxValue = 32
	hllSparseValMaxLen   = 4
	hllSparseZeroMaxLen  = 64
	hllSparseXZeroMaxLen = 16384

	hllAlphaInf = 0.721347520444481703680 // 0.5/ln(2)
	hllSeed     = 0xadc83b19
)

// ErrHLLCorrupt reports a sparse HLL whose opcodes do not describe exactly
// 16384 registers (Redis: "INVALIDOBJ Corrupted HLL object detected").
var ErrHLLCorrupt = errors.New("store: corrupted HLL object")

// NewHLL returns an empty HLL: sparse, one XZERO opcode covering every
// register, cached cardinality 0 (valid).
func NewHLL() []byte {
	b := make([]byte, HLLHeaderSize, HLLHeaderSize+2)
	copy(b, "HYLL")
	b[4] = HLLEncSparse
	for aux := HLLRegisters; aux > 0; {
		n := min(aux, hllSparseXZeroMaxLen)
		b = appendXZero(b, n)
		aux -= n
	}
	return b
}

// IsHLL reports whether b is acceptable as an HLL the way Redis's
// isHLLObjectOrReply checks it: the header magic, a known encoding and, for
// dense, the exact size. Sparse bodies are validated lazily.
func IsHLL(b []byte) bool {
	if len(b) < HLLHeaderSize || string(b[:4]) != "HYLL" {
		return false
	}
	if b[4] > hllMaxEncoding {
		return false
	}
	if b[4] == HLLEncDense && len(b) != HLLDenseSize {
		return false
	}
	return true
}

// HLLInvalidateCache marks the cached cardinality stale.
func HLLInvalidateCache(b []byte) { b[15] |= 1 << 7 }

// HLLCachedCard returns the cached cardinality when it is valid.
func HLLCachedCard(b []byte) (uint64, bool) {
	if b[15]&(1<<7) != 0 {
		return 0, false
	}
	var c uint64
	for i := 0; i < 8; i++ {
		c |= uint64(b[8+i]) << (8 * i)
	}
	return c, true
}

// HLLSetCachedCard stores card as the (valid) cached cardinality.
func HLLSetCachedCard(b []byte, card uint64) {
	for i := 0; i < 8; i++ {
		b[8+i] = byte(card >> (8 * i))
	}
}

// MurmurHash64A is the 64-bit MurmurHash2 Redis uses for HLL, endian
// neutral.
func MurmurHash64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ (uint64(len(key)) * m)
	n := len(key) - len(key)&7
	for i := 0; i < n; i += 8 {
		k := uint64(key[i]) | uint64(key[i+1])<<8 | uint64(key[i+2])<<16 | uint64(key[i+3])<<24 |
			uint64(key[i+4])<<32 | uint64(key[i+5])<<40 | uint64(key[i+6])<<48 | uint64(key[i+7])<<56
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
	}
	tail := key[n:]
	switch len(tail) {
	case 7:
		h ^= uint64(tail[6]) << 48
		fallthrough
	case 6:
		h ^= uint64(tail[5]) << 40
		fallthrough
	case 5:
		h ^= uint64(tail[4]) << 32
		fallthrough
	case 4:
		h ^= uint64(tail[3]) << 24
		fallthrough
	case 3:
		h ^= uint64(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint64(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint64(tail[0])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// hllPatLen returns the register index of ele and the length of the
// "000..1" pattern of its hash (1..51).
func hllPatLen(ele []byte) (int, uint8) {
	hash := MurmurHash64A(ele, hllSeed)
	index := int(hash & hllPMask)
	hash >>= hllP
	hash |= 1 << hllQ // make the loop terminate: count <= Q+1
	return index, uint8(bits.TrailingZeros64(hash) + 1)
}

// Dense register access. The last register's second byte lies past the
// array (Redis relies on the sds terminator); it only ever holds zero bits.
func denseGet(regs []byte, i int) uint8 {
	byteIdx := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	b0 := uint(regs[byteIdx])
	var b1 uint
	if byteIdx+1 < len(regs) {
		b1 = uint(regs[byteIdx+1])
	}
	return uint8(((b0 >> fb) | (b1 << (8 - fb))) & hllRegMax)
}

func denseSet(regs []byte, i int, val uint8) {
	byteIdx := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	v := uint(val)
	regs[byteIdx] &^= byte(hllRegMax << fb)
	regs[byteIdx] |= byte(v << fb)
	if byteIdx+1 < len(regs) {
		regs[byteIdx+1] &^= byte(hllRegMax >> (8 - fb))
		regs[byteIdx+1] |= byte(v >> (8 - fb))
	}
}

// denseSetIfGreater implements hllDenseSet: it reports whether the register
// changed.
func denseSetIfGreater(regs []byte, i int, count uint8) bool {
	if count > denseGet(regs, i) {
		denseSet(regs, i, count)
		return true
	}
	return false
}

// Sparse opcode helpers.
func spIsZero(c byte) bool  { return c&0xc0 == 0 }
func spIsXZero(c byte) bool { return c&0xc0 == 0x40 }
func spIsVal(c byte) bool   { return c&0x80 != 0 }
func spZeroLen(c byte) int  { return int(c&0x3f) + 1 }
func spXZeroLen(c, d byte) int {
	return (int(c&0x3f)<<8 | int(d)) + 1
}
func spValValue(c byte) int { return int(c>>2&0x1f) + 1 }
func spValLen(c byte) int   { return int(c&0x3) + 1 }
func spVal(val, n int) byte { return byte((val-1)<<2|(n-1)) | 0x80 }

func appendXZero(b []byte, n int) []byte {
	l := n - 1
	return append(b, byte(l>>8)|0x40, byte(l&0xff))
}

func appendZeroRun(b []byte, n int) []byte {
	if n > hllSparseZeroMaxLen {
		return appendXZero(b, n)
	}
	return append(b, byte(n-1))
}

// HLLSparseToDense converts a sparse HLL to dense, keeping the header
// (magic and cached cardinality). A dense input is returned unchanged.
func HLLSparseToDense(b []byte) ([]byte, error) {
	if b[4] == HLLEncDense {
		return b, nil
	}
	dense := make([]byte, HLLDenseSize)
	copy(dense, b[:HLLHeaderSize])
	dense[4] = HLLEncDense
	regs := dense[HLLHeaderSize:]
	idx := 0
	p := HLLHeaderSize
	for p < len(b) {
		c := b[p]
		switch {
		case spIsZero(c):
			idx += spZeroLen(c)
			p++
		case spIsXZero(c):
			if p+1 >= len(b) {
				// Redis reads the sds terminator (0) as the second byte.
				idx += spXZeroLen(c, 0)
			} else {
				idx += spXZeroLen(c, b[p+1])
			}
			p += 2
		default:
			runlen, val := spValLen(c), spValValue(c)
			if runlen+idx > HLLRegisters {
				return nil, ErrHLLCorrupt // a run past the last register
			}
			for ; runlen > 0; runlen-- {
				denseSet(regs, idx, uint8(val))
				idx++
			}
			p++
		}
	}
	if idx != HLLRegisters {
		return nil, ErrHLLCorrupt
	}
	return dense, nil
}

// hllSparseSet implements Redis's hllSparseSet: set register index to count
// when count is greater, splitting and merging opcodes in place. It returns
// the (possibly reallocated or promoted) HLL and 1 when a register changed,
// 0 when not, -1 when the representation is invalid.
func hllSparseSet(b []byte, index int, count uint8, sparseMax int64) ([]byte, int) {
	if count > hllSparseValMaxValue {
		return hllPromote(b, index, count)
	}
	// Step 1: find the opcode covering index.
	end := len(b)
	p := HLLHeaderSize
	first, span := 0, 0
	prev := -1
	for p < end {
		oplen := 1
		c := b[p]
		switch {
		case spIsZero(c):
			span = spZeroLen(c)
		case spIsVal(c):
			span = spValLen(c)
		default:
			span = spXZeroLen(c, byteAt(b, p+1))
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return b, -1
	}
	c := b[p]
	isZero, isXZero, isVal := false, false, false
	runlen := 0
	switch {
	case spIsZero(c):
		isZero, runlen = true, spZeroLen(c)
	case spIsXZero(c):
		isXZero, runlen = true, spXZeroLen(c, byteAt(b, p+1))
	default:
		isVal, runlen = true, spValLen(c)
	}

	// Step 2: trivial in-place updates.
	updated := false
	if isVal {
		old := spValValue(c)
		if old >= int(count) {
			return b, 0
		}
		if runlen == 1 {
			b[p] = spVal(int(count), 1)
			updated = true
		}
	}
	if !updated && isZero && runlen == 1 {
		b[p] = spVal(int(count), 1)
		updated = true
	}

	if !updated {
		// General case: split the opcode into up to three.
		seq := make([]byte, 0, 5)
		last := first + span - 1
		if isZero || isXZero {
			if index != first {
				seq = appendZeroRun(seq, index-first)
			}
			seq = append(seq, spVal(int(count), 1))
			if index != last {
				seq = appendZeroRun(seq, last-index)
			}
		} else {
			cur := spValValue(c)
			if index != first {
				seq = append(seq, spVal(cur, index-first))
			}
			seq = append(seq, spVal(int(count), 1))
			if index != last {
				seq = append(seq, spVal(cur, last-index))
			}
		}
		// Step 3: substitute the new sequence for the old opcode.
		oldlen := 1
		if isXZero {
			oldlen = 2
		}
		delta := len(seq) - oldlen
		if delta > 0 && int64(len(b)+delta) > sparseMax {
			return hllPromote(b, index, count)
		}
		var tail []byte
		if p+oldlen < len(b) {
			tail = b[p+oldlen:]
		}
		nb := make([]byte, 0, len(b)+len(seq)+len(tail))
		nb = append(nb, b[:p]...)
		nb = append(nb, seq...)
		nb = append(nb, tail...)
		// A truncated final XZERO makes Redis grow the string by delta
		// only, cutting the copied sequence short; do the same.
		b = nb[:len(b)+delta]
		end = len(b)
	}

	// Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5
	// opcodes starting from the one before the change.
	q := HLLHeaderSize
	if prev >= 0 {
		q = prev
	}
	for scan := 5; q < end && scan > 0; scan-- {
		c := b[q]
		if spIsXZero(c) {
			q += 2
			continue
		} else if spIsZero(c) {
			q++
			continue
		}
		if q+1 < end && spIsVal(b[q+1]) {
			v1, v2 := spValValue(c), spValValue(b[q+1])
			if v1 == v2 {
				l := spValLen(c) + spValLen(b[q+1])
				if l <= hllSparseValMaxLen {
					b[q+1] = spVal(v1, l)
					b = append(b[:q], b[q+1:]...)
					end--
					// Re-examine without advancing (the scan budget is
					// still consumed, as in Redis).
					continue
				}
			}
		}
		q++
	}
	HLLInvalidateCache(b)
	return b, 1
}

func byteAt(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func hllPromote(b []byte, index int, count uint8) ([]byte, int) {
	d, err := HLLSparseToDense(b)
	if err != nil {
		return b, -1
	}
	denseSetIfGreater(d[HLLHeaderSize:], index, count)
	return d, 1
}

// HLLAdd adds ele to the HLL b. It returns the HLL (which may have been
// reallocated or promoted to dense) and 1 when a register changed, 0 when
// not, -1 when b is corrupted.
func HLLAdd(b []byte, ele []byte, sparseMax int64) ([]byte, int) {
	index, count := hllPatLen(ele)
	switch b[4] {
	case HLLEncDense:
		if denseSetIfGreater(b[HLLHeaderSize:], index, count) {
			return b, 1
		}
		return b, 0
	case HLLEncSparse:
		return hllSparseSet(b, index, count, sparseMax)
	}
	return b, -1
}

// HLLSetRegister sets register index to count if count is greater, in
// either encoding (PFMERGE's write-back). The result code is ignored by
// Redis there, and so it is here.
func HLLSetRegister(b []byte, index int, count uint8, sparseMax int64) []byte {
	if b[4] == HLLEncDense {
		denseSetIfGreater(b[HLLHeaderSize:], index, count)
		return b
	}
	nb, _ := hllSparseSet(b, index, count, sparseMax)
	return nb
}

// HLLMerge folds the registers of the valid HLL b into max (16384 bytes)
// with max[i] = MAX(max[i], reg[i]).
func HLLMerge(max []uint8, b []byte) error {
	if b[4] == HLLEncDense {
		regs := b[HLLHeaderSize:]
		for i := 0; i < HLLRegisters; i++ {
			if v := denseGet(regs, i); v > max[i] {
				max[i] = v
			}
		}
		return nil
	}
	i := 0
	p := HLLHeaderSize
	for p < len(b) {
		c := b[p]
		switch {
		case spIsZero(c):
			i += spZeroLen(c)
			p++
		case spIsXZero(c):
			i += spXZeroLen(c, byteAt(b, p+1))
			p += 2
		default:
			runlen, val := spValLen(c), uint8(spValValue(c))
			if runlen+i > HLLRegisters {
				return ErrHLLCorrupt // a run past the last register
			}
			for ; runlen > 0; runlen-- {
				if val > max[i] {
					max[i] = val
				}
				i++
			}
			p++
		}
	}
	if i != HLLRegisters {
		return ErrHLLCorrupt
	}
	return nil
}

// HLLCount estimates the cardinality of b (dense or sparse); it reports
// ErrHLLCorrupt for a sparse HLL not covering exactly 16384 registers.
func HLLCount(b []byte) (uint64, error) {
	var histo [64]int
	regs := b[HLLHeaderSize:]
	if b[4] == HLLEncDense {
		for i := 0; i < HLLRegisters; i++ {
			histo[denseGet(regs, i)]++
		}
	} else {
		idx := 0
		for p := 0; p < len(regs); {
			c := regs[p]
			switch {
			case spIsZero(c):
				n := spZeroLen(c)
				idx += n
				histo[0] += n
				p++
			case spIsXZero(c):
				n := spXZeroLen(c, byteAt(regs, p+1))
				idx += n
				histo[0] += n
				p += 2
			default:
				n := spValLen(c)
				idx += n
				histo[spValValue(c)] += n
				p++
			}
		}
		if idx != HLLRegisters {
			return 0, ErrHLLCorrupt
		}
	}
	return hllEstimate(&histo), nil
}

// HLLCountRegisters estimates the cardinality of raw 8-bit registers
// (multi-key PFCOUNT's union).
func HLLCountRegisters(max []uint8) uint64 {
	var histo [64]int
	for _, v := range max {
		histo[v&63]++
	}
	return hllEstimate(&histo)
}

// hllEstimate is the estimator of Otmar Ertl, "New cardinality estimation
// algorithms for HyperLogLog sketches" (arXiv:1702.01284), as Redis 7.0
// computes it. The float64() conversions keep the compiler from fusing
// multiply-adds, so the result is bit-identical to Redis's.
func hllEstimate(histo *[64]int) uint64 {
	m := float64(HLLRegisters)
	z := float64(m * hllTau((m-float64(histo[hllQ+1]))/m))
	for j := hllQ; j >= 1; j-- {
		z += float64(histo[j])
		z *= 0.5
	}
	z += float64(m * hllSigma(float64(histo[0])/m))
	e := math.Round(float64(float64(hllAlphaInf*m)*m) / z)
	return uint64(e)
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y := 1.0
	z := x
	for {
		x = float64(x * x)
		zPrime := z
		z += float64(x * y)
		y += y
		if zPrime == z {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y := 1.0
	z := 1 - x
	for {
		x = math.Sqrt(x)
		zPrime := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y)
		if zPrime == z {
			return z / 3
		}
	}
}

// HLLRegisterValues returns the 16384 register values of a dense HLL
// (PFDEBUG GETREG).
func HLLRegisterValues(b []byte) []uint8 {
	out := make([]uint8, HLLRegisters)
	for i := range out {
		out[i] = denseGet(b[HLLHeaderSize:], i)
	}
	return out
}

// HLLDecodeSparse renders the opcodes of a sparse HLL as PFDEBUG DECODE
// does ("Z:16384", "z:3", "v:2,1", space separated).
func HLLDecodeSparse(b []byte) string {
	var sb strings.Builder
	for p := HLLHeaderSize; p < len(b); {
		c := b[p]
		switch {
		case spIsZero(c):
			sb.WriteString("z:" + strconv.Itoa(spZeroLen(c)) + " ")
			p++
		case spIsXZero(c):
			sb.WriteString("Z:" + strconv.Itoa(spXZeroLen(c, byteAt(b, p+1))) + " ")
			p += 2
		default:
			sb.WriteString("v:" + strconv.Itoa(spValValue(c)) + "," + strconv.Itoa(spValLen(c)) + " ")
			p++
		}
	}
	return strings.TrimRight(sb.String(), " ")
}

// HLLSelfTest exercises the register access and both encodings (PFSELFTEST):
// dense registers must read back what was written without disturbing
// their neighbours, and a sparse and a dense HLL fed the same elements must
// hold the same registers and estimate within the expected error.
func HLLSelfTest() error {
	regs := make([]byte, HLLDenseSize-HLLHeaderSize)
	want := make([]uint8, HLLRegisters)
	seed := uint64(0x9e3779b97f4a7c15)
	for i := range want {
		seed = seed*6364136223846793005 + 1442695040888963407
		want[i] = uint8(seed>>58) & hllRegMax
		denseSet(regs, i, want[i])
	}
	for i, w := range want {
		if got := denseGet(regs, i); got != w {
			return fmt.Errorf("Register %d should be %d but is %d", i, w, got)
		}
	}
	sparse := NewHLL()
	dense, _ := HLLSparseToDense(NewHLL())
	var buf [8]byte
	for j := uint64(1); j <= 20000; j++ {
		binary.LittleEndian.PutUint64(buf[:], j)
		sparse, _ = HLLAdd(sparse, buf[:], HLLDenseSize)
		dense, _ = HLLAdd(dense, buf[:], HLLDenseSize)
		if j&(j-1) != 0 && j%5000 != 0 {
			continue
		}
		a, err1 := HLLCount(sparse)
		b, err2 := HLLCount(dense)
		if err1 != nil || err2 != nil || a != b {
			return fmt.Errorf("Sparse and dense estimates differ at %d: %d vs %d", j, a, b)
		}
		relerr := 1.04 / math.Sqrt(HLLRegisters)
		if diff := math.Abs(float64(b) - float64(j)); diff > float64(j)*relerr*5 && j > 10 {
			return fmt.Errorf("Error is %g for %d elements", diff/float64(j), j)
		}
	}
	return nil
}
