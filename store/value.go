package store

import "strconv"

// Value is a Redis data type held under a key.
type Value interface {
	// Type is the name TYPE replies with: "string", "list", "hash", "set", "zset".
	Type() string
	// Encoding is the name OBJECT ENCODING replies with, following Redis 7.0's
	// encoding-conversion thresholds.
	Encoding() string
	// Clone returns a deep copy (COPY, snapshots).
	Clone() Value
}

// Limits are the encoding-conversion thresholds from the config
// (hash-max-listpack-entries and friends). Types use them to decide the
// encoding OBJECT ENCODING reports, as Redis converts encodings.
type Limits struct {
	HashMaxListpackEntries int
	HashMaxListpackValue   int
	SetMaxIntsetEntries    int
	ZsetMaxListpackEntries int
	ZsetMaxListpackValue   int
	ListMaxListpackSize    int
}

// Entry is one key's record.
type Entry struct {
	Value Value
	// Expire is the absolute expiry time in Unix milliseconds; 0 means none.
	Expire int64
	// LRU is the time of the last access in Unix seconds (OBJECT IDLETIME).
	LRU uint32
}

// String is a Redis string. Raw marks values modified in place (APPEND,
// SETRANGE, SETBIT ...), which Redis always reports as "raw".
type String struct {
	B   []byte
	Raw bool
	// NotInt marks values Redis creates as plain strings even when they
	// read as integers (INCRBYFLOAT's result): "embstr"/"raw", never "int".
	NotInt bool
}

// Type implements Value.
func (*String) Type() string { return "string" }

// Clone implements Value.
func (s *String) Clone() Value {
	return &String{B: append([]byte(nil), s.B...), Raw: s.Raw, NotInt: s.NotInt}
}

// Encoding implements Value.
func (s *String) Encoding() string {
	if !s.Raw {
		if len(s.B) <= 20 && !s.NotInt {
			if _, ok := ParseStrictInt(s.B); ok {
				return "int"
			}
		}
		if len(s.B) <= 44 {
			return "embstr"
		}
	}
	return "raw"
}

// ParseStrictInt parses b as Redis's string2ll does: an optional '-', digits,
// no leading zeros (except "0"), no '+', no spaces, within int64.
func ParseStrictInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	i := 0
	if b[0] == '-' {
		i = 1
		if len(b) == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	for j := i; j < len(b); j++ {
		if b[j] < '0' || b[j] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}
