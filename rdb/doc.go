// Package rdb encodes and decodes values in the Redis RDB object format:
// the DUMP/RESTORE payload and the per-value encoding slotvault's snapshots
// use. The codec works on Object, a neutral form of a Redis value, so it
// does not depend on how package store represents data in memory.
//
// # DUMP payload
//
//	[type:1][object][rdb version:uint16 LE][crc64:uint64 LE]
//
// The CRC64 is CRC-64-Jones as Redis's crc64.c computes it (reflected,
// polynomial 0xad93d23594c935a9, initial value 0, no final xor) over every
// byte before it. EncodePayload writes version 10 (Redis 7.0), so Redis 7.0
// RESTOREs slotvault's payloads; VerifyPayload accepts versions up to 11
// (Redis 7.2, which Redis 7.0 itself refuses) and refuses short payloads,
// newer versions and checksum mismatches with ErrPayload.
//
// # Lengths and strings
//
// A length is 00xxxxxx (6 bits), 01xxxxxx xxxxxxxx (14 bits, big-endian),
// 0x80 + uint32 BE, or 0x81 + uint64 BE. 11xxxxxx introduces a special
// string encoding: 0 int8, 1 int16 LE, 2 int32 LE, 3 LZF
// ([compressed len][uncompressed len][data]). The encoder follows
// rdbSaveRawString exactly: strings of at most 11 bytes that are canonical
// 32-bit integers are stored as integers; strings longer than 20 bytes are
// LZF-compressed (a port of liblzf 3.6's compressor, so output matches
// Redis byte for byte) when that saves at least 4 bytes; others are raw.
//
// # Object types
//
//	0  string                 length-prefixed string (above)
//	1  list                   count, then strings (decode only)
//	2  set                    count, then members
//	3  zset                   count, member + score as text (decode only)
//	4  hash                   count, field + value
//	5  zset (ZSET_2)          count, member + score as float64 LE; written
//	                          from the highest score down, as Redis does
//	9  hash zipmap            string holding a zipmap (decode only)
//	10 list ziplist           string holding a ziplist (decode only)
//	11 set intset             string holding an intset
//	12 zset ziplist           member, score pairs (decode only)
//	13 hash ziplist           field, value pairs (decode only)
//	14 list quicklist         count, then ziplist strings (decode only)
//	16 hash listpack          string holding a listpack of field, value
//	17 zset listpack          member, score pairs, ascending; scores as
//	                          Redis 7.0's d2string renders them
//	18 list quicklist2        count, then per node a container (1 plain:
//	                          the string is one element; 2 packed: the
//	                          string is a listpack)
//	20 set listpack           Redis 7.2, decode only
//
// Streams (15, 19, 21) and module values (6, 7) are valid RDB but not
// representable as Object: decoding them returns ErrUnsupportedType.
//
// The container formats (listpack, ziplist, intset, zipmap) are described
// in their files. The encoder picks what Redis 7.0 writes for the value's
// encoding (Object.Encoding, or Redis's default thresholds when unset):
// listpack hashes and sorted sets, intset sets, plain sets otherwise (RDB
// 10 has no listpack sets), skiplist sorted sets as ZSET_2, and lists as
// quicklist2 split into nodes where Redis's list-max-listpack-size -2
// (8 KiB, entry cost estimated as length + 8) would split them. For these
// values DUMP output is byte-identical to Redis 7.0's (the tests compare
// against a real redis-server); hashtable-encoded sets and hashes differ
// only in element order.
//
// # Robustness
//
// The decoder bounds every read by the input, caps LZF output at what the
// input can expand to, and validates containers (header sizes, entry
// bounds, back-lengths, terminators, counts). It refuses what Redis
// refuses (empty aggregates: ErrEmpty; NaN scores; duplicate members or
// fields, which Redis detects only with deep sanitisation) with errors
// wrapping ErrCorrupt, and never panics (FuzzDecode). As in Redis, the
// object is read from the whole payload: bytes after it are ignored, and
// an object that runs into the footer takes footer bytes as its data.
//
// Decoding work and memory are linear in the payload, but the factor is
// large: an LZF back reference of 3 bytes stands for up to 264, and a
// listpack or ziplist entry takes 2 bytes, so one payload byte can carry
// some 44 list elements (as a DUMP of a long list of small repeated values
// legitimately does). The decoder therefore never does more than constant
// work per expanded byte, and collects the elements of each compact
// container (and of a whole quicklist) in two passes: the first validates
// and measures, the second copies the elements into one exactly sized
// backing array, so an element costs its bytes plus its slice header and
// nothing is reallocated while growing.
package rdb
