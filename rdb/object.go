// Package rdb encodes and decodes values in the Redis RDB object format:
// the DUMP/RESTORE payload (type byte, encoded object, 2-byte RDB version,
// CRC64) and the per-value encoding slotvault's snapshots use.
//
// The codec works on Object, a neutral form of a Redis value, so it does not
// depend on how package store represents data in memory.
package rdb

// Kind is a Redis data type.
type Kind uint8

// Kinds of Object.
const (
	KindString Kind = iota + 1
	KindList
	KindSet
	KindZSet
	KindHash
)

// Object is a Redis value in neutral form.
type Object struct {
	Kind Kind
	// Str is the value of a string.
	Str []byte
	// List holds list elements head to tail.
	List [][]byte
	// Set holds set members.
	Set [][]byte
	// ZSet holds sorted-set entries in ascending (score, member) order.
	ZSet []ZEntry
	// Hash holds field/value pairs (in listpack order when small).
	Hash []HashField
}

// ZEntry is one sorted-set member.
type ZEntry struct {
	Member []byte
	Score  float64
}

// HashField is one hash field.
type HashField struct {
	Field, Value []byte
}
