package rdb

import (
	"encoding/binary"
	"hash/crc64"
)

// jonesReflected is the CRC-64-Jones polynomial (0xad93d23594c935a9) in the
// bit-reflected form Go's crc64 tables take.
const jonesReflected = 0x95AC9329AC4BC9B5

var jonesTable = crc64.MakeTable(jonesReflected)

// jonesSlicing8 are the slicing-by-8 tables of the polynomial: Go's
// hash/crc64 slices by 8 only for its built-in ISO and ECMA tables and
// goes byte by byte for any other, and this checksum is computed for
// every key a snapshot loads or a restore verifies.
var jonesSlicing8 = func() *[8][256]uint64 {
	var t [8][256]uint64
	t[0] = *jonesTable
	for i := 0; i < 256; i++ {
		crc := t[0][i]
		for j := 1; j < 8; j++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[j][i] = crc
		}
	}
	return &t
}()

// CRC64 computes the checksum Redis puts in DUMP payloads and RDB files:
// CRC-64-Jones, reflected, initial value 0, no final xor (Redis crc64.c).
// crc64("123456789") == 0xe9c6d914c4b8d9ca.
func CRC64(crc uint64, p []byte) uint64 {
	t := jonesSlicing8
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}
