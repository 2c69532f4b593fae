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

	// Encoding optionally names the in-memory encoding the value has (the
	// OBJECT ENCODING reply: "listpack", "intset", "hashtable", "skiplist",
	// "quicklist", ...). The encoder uses it to pick the compact RDB form
	// Redis itself would write; empty means "decide from Redis 7.0's
	// default thresholds". The decoder leaves it empty: the loading side
	// chooses the encoding from its own limits, as Redis does.
	Encoding string
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
