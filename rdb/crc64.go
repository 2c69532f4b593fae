package rdb

import (
	"encoding/binary"
	"hash/crc64"
)

// jonesReflected is the CRC-64-Jones polynomial (0xad93d23594c935a9) in the
// bit-reflected form Go's crc64 tables take.
const jonesReflected = 0x95AC9329AC4BC9B5

var jonesTable = crc64.MakeTable(jonesReflected)

// jonesSlicing8 holds the slicing-by-8 tables for the Jones polynomial. Go's
// hash/crc64 uses slicing-by-8 only for its ISO and ECMA tables (and for
// other polynomials only on inputs of 2 KiB or more, rebuilding the tables
// each call), so typical values — a few hundred bytes — went through the
// byte-at-a-time loop; every DUMP payload, snapshot and backup pays this.
var jonesSlicing8 = func() *[8][256]uint64 {
	var t [8][256]uint64
	t[0] = *jonesTable
	for i := 0; i < 256; i++ {
		crc := t[0][i]
		for j := 1; j < 8; j++ {
			crc = t[0][crc&0xff] ^ (crc >> 8)
			t[j][i] = crc
		}
	}
	return &t
}()

// CRC64 computes the checksum Redis puts in DUMP payloads and RDB files:
// CRC-64-Jones, reflected, initial value 0, no final xor (Redis crc64.c).
// crc64("123456789") == 0xe9c6d914c4b8d9ca.
func CRC64(crc uint64, p []byte) uint64 {
	// Redis's variant has no inversion before or after (Go's crc64.Update
	// inverts both; this loop is Go's slicing-by-8 without them).
	t := jonesSlicing8
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][(crc>>8)&0xff] ^ t[5][(crc>>16)&0xff] ^ t[4][(crc>>24)&0xff] ^
			t[3][(crc>>32)&0xff] ^ t[2][(crc>>40)&0xff] ^ t[1][(crc>>48)&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, v := range p {
		crc = t[0][byte(crc)^v] ^ (crc >> 8)
	}
	return crc
}
