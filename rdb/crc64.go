package rdb

import "hash/crc64"

// jonesReflected is the CRC-64-Jones polynomial (0xad93d23594c935a9) in the
// bit-reflected form Go's crc64 tables take.
const jonesReflected = 0x95AC9329AC4BC9B5

var jonesTable = crc64.MakeTable(jonesReflected)

// CRC64 computes the checksum Redis puts in DUMP payloads and RDB files:
// CRC-64-Jones, reflected, initial value 0, no final xor (Redis crc64.c).
// crc64("123456789") == 0xe9c6d914c4b8d9ca.
func CRC64(crc uint64, p []byte) uint64 {
	// Go's Update inverts the register before and after; inverting around
	// it cancels that, leaving Redis's plain (init 0, no xorout) variant.
	return ^crc64.Update(^crc, jonesTable, p)
}
