// Package slots maps keys to Redis Cluster hash slots: CRC16 (XMODEM), hash
// tags and slot ranges, exactly as the Redis Cluster specification defines
// them. It depends on the standard library only.
package slots

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Count is the number of hash slots in a cluster.
const Count = 16384

// crc16tab is the byte-at-a-time table; crc16x8[k][n] is the CRC of byte
// n followed by k zero bytes, for eight bytes per step (slicing-by-8: the
// CRC is linear, so the eight bytes' contributions are XORed together).
var (
	crc16tab [256]uint16
	crc16x8  [8][256]uint16
)

func init() {
	// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0.
	for i := 0; i < 256; i++ {
		crc := uint16(i) << 8
		for j := 0; j < 8; j++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		crc16tab[i] = crc
	}
	crc16x8[0] = crc16tab
	for k := 1; k < 8; k++ {
		for n := 0; n < 256; n++ {
			c := crc16x8[k-1][n]
			crc16x8[k][n] = c<<8 ^ crc16tab[c>>8]
		}
	}
}

// CRC16 returns the CRC16-XMODEM checksum Redis Cluster uses for key hashing.
func CRC16(b []byte) uint16 {
	var crc uint16
	for len(b) >= 8 {
		// The running CRC enters as the first two message bytes.
		crc = crc16x8[7][b[0]^byte(crc>>8)] ^ crc16x8[6][b[1]^byte(crc)] ^
			crc16x8[5][b[2]] ^ crc16x8[4][b[3]] ^ crc16x8[3][b[4]] ^
			crc16x8[2][b[5]] ^ crc16x8[1][b[6]] ^ crc16x8[0][b[7]]
		b = b[8:]
	}
	for _, c := range b {
		crc = crc<<8 ^ crc16tab[byte(crc>>8)^c]
	}
	return crc
}

// crc16String is CRC16 of a string, without copying it.
func crc16String(b string) uint16 {
	var crc uint16
	for len(b) >= 8 {
		crc = crc16x8[7][b[0]^byte(crc>>8)] ^ crc16x8[6][b[1]^byte(crc)] ^
			crc16x8[5][b[2]] ^ crc16x8[4][b[3]] ^ crc16x8[3][b[4]] ^
			crc16x8[2][b[5]] ^ crc16x8[1][b[6]] ^ crc16x8[0][b[7]]
		b = b[8:]
	}
	for i := 0; i < len(b); i++ {
		crc = crc<<8 ^ crc16tab[byte(crc>>8)^b[i]]
	}
	return crc
}

// HashTag returns the part of key that is hashed: the bytes between the first
// '{' and the first '}' after it, when that part is non-empty; otherwise the
// whole key.
func HashTag(key []byte) []byte {
	s := bytes.IndexByte(key, '{')
	if s < 0 {
		return key
	}
	if e := bytes.IndexByte(key[s+1:], '}'); e > 0 {
		return key[s+1 : s+1+e]
	}
	return key
}

// KeySlot returns the hash slot of key.
func KeySlot(key []byte) int {
	return int(CRC16(HashTag(key)) & (Count - 1))
}

// KeySlotString is KeySlot for a string key, without copying it.
func KeySlotString(key string) int {
	s := strings.IndexByte(key, '{')
	if s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16String(key) & (Count - 1))
}

// Range is an inclusive range of slots.
type Range struct {
	Start, End int
}

func (r Range) String() string {
	if r.Start == r.End {
		return strconv.Itoa(r.Start)
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End)
}

// Valid reports whether r lies within [0, Count) and Start <= End.
func (r Range) Valid() bool {
	return r.Start >= 0 && r.End < Count && r.Start <= r.End
}

// Set is a bitmap of slots.
type Set [Count / 64]uint64

// Add marks slot s as a member.
func (s *Set) Add(slot int) { s[slot>>6] |= 1 << (slot & 63) }

// Remove clears slot s.
func (s *Set) Remove(slot int) { s[slot>>6] &^= 1 << (slot & 63) }

// Has reports whether slot s is a member.
func (s *Set) Has(slot int) bool { return s[slot>>6]&(1<<(slot&63)) != 0 }

// Len returns the number of member slots.
func (s *Set) Len() int {
	n := 0
	for _, w := range s {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}

// Ranges returns the members as sorted, maximal ranges.
func (s *Set) Ranges() []Range {
	var out []Range
	start := -1
	for i := 0; i <= Count; i++ {
		in := i < Count && s.Has(i)
		if in && start < 0 {
			start = i
		} else if !in && start >= 0 {
			out = append(out, Range{start, i - 1})
			start = -1
		}
	}
	return out
}

// ParseRange parses "N" or "N-M" as a slot range.
func ParseRange(s string) (Range, error) {
	a, b, found := strings.Cut(s, "-")
	start, err := strconv.Atoi(a)
	if err != nil {
		return Range{}, fmt.Errorf("slots: invalid slot range %q", s)
	}
	end := start
	if found {
		if end, err = strconv.Atoi(b); err != nil {
			return Range{}, fmt.Errorf("slots: invalid slot range %q", s)
		}
	}
	r := Range{start, end}
	if !r.Valid() {
		return Range{}, fmt.Errorf("slots: slot range %q out of bounds", s)
	}
	return r, nil
}

// Normalize sorts ranges and merges overlapping or adjacent ones.
func Normalize(rs []Range) []Range {
	if len(rs) == 0 {
		return nil
	}
	c := append([]Range(nil), rs...)
	sort.Slice(c, func(i, j int) bool { return c[i].Start < c[j].Start })
	out := c[:1]
	for _, r := range c[1:] {
		last := &out[len(out)-1]
		if r.Start <= last.End+1 {
			if r.End > last.End {
				last.End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
