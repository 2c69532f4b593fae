package store

import (
	"github.com/slotvault/slotvault/internal/dict"
	"github.com/slotvault/slotvault/rdb"
)

// Hash is a Redis hash. Like Redis 7.0 it starts as a "listpack": field/value
// pairs in insertion order (an update keeps the field's position), searched
// linearly, which is what makes HGETALL of a small hash reply in exactly
// Redis's order. It converts, once and for good, to a "hashtable" when it
// holds more than hash-max-listpack-entries fields or a field or value
// longer than hash-max-listpack-value bytes.
//
// Fields and values are Go strings: immutable, so clones share them.
type Hash struct {
	lp []HashPair         // listpack encoding, when ht is nil
	ht *dict.Dict[string] // hashtable encoding
}

// HashPair is one field of a hash.
type HashPair struct {
	Field, Value string
}

var _ Value = (*Hash)(nil)

// NewHash returns an empty listpack-encoded hash.
func NewHash() *Hash { return &Hash{} }

// Type implements Value.
func (*Hash) Type() string { return "hash" }

// Encoding implements Value.
func (h *Hash) Encoding() string {
	if h.ht != nil {
		return "hashtable"
	}
	return "listpack"
}

// IsListpack reports whether h still has the compact encoding, in which
// iteration order is insertion order (and HSCAN returns everything at once).
func (h *Hash) IsListpack() bool { return h.ht == nil }

// Clone implements Value.
func (h *Hash) Clone() Value {
	if h.ht != nil {
		return &Hash{ht: h.ht.Clone()}
	}
	return &Hash{lp: append([]HashPair(nil), h.lp...)}
}

// Len returns the number of fields.
func (h *Hash) Len() int {
	if h.ht != nil {
		return h.ht.Len()
	}
	return len(h.lp)
}

func (h *Hash) lpIndex(field string) int {
	for i := range h.lp {
		if h.lp[i].Field == field {
			return i
		}
	}
	return -1
}

// Get returns the value of field.
func (h *Hash) Get(field string) (string, bool) {
	if h.ht != nil {
		return h.ht.Get(field)
	}
	if i := h.lpIndex(field); i >= 0 {
		return h.lp[i].Value, true
	}
	return "", false
}

// Has reports whether field exists.
func (h *Hash) Has(field string) bool {
	_, ok := h.Get(field)
	return ok
}

// Set stores value under field and reports whether the field is new. The
// encoding converts as Redis's hashTypeSet does: before the write when the
// field or value is too long for a listpack, after it when the hash has too
// many fields.
func (h *Hash) Set(field, value string, l Limits) bool {
	if h.ht == nil && (len(field) > l.HashMaxListpackValue || len(value) > l.HashMaxListpackValue) {
		h.convert()
	}
	if h.ht != nil {
		return h.ht.Set(field, value)
	}
	if i := h.lpIndex(field); i >= 0 {
		h.lp[i].Value = value
		return false
	}
	h.lp = append(h.lp, HashPair{field, value})
	if len(h.lp) > l.HashMaxListpackEntries {
		h.convert()
	}
	return true
}

// Delete removes field and reports whether it existed. A hashtable never
// converts back to a listpack.
func (h *Hash) Delete(field string) bool {
	if h.ht != nil {
		return h.ht.Delete(field)
	}
	i := h.lpIndex(field)
	if i < 0 {
		return false
	}
	copy(h.lp[i:], h.lp[i+1:])
	h.lp[len(h.lp)-1] = HashPair{}
	h.lp = h.lp[:len(h.lp)-1]
	return true
}

func (h *Hash) convert() {
	d := dict.New[string](len(h.lp))
	for _, p := range h.lp {
		d.Set(p.Field, p.Value)
	}
	h.ht, h.lp = d, nil
}

// Range calls fn for every field in the encoding's order (insertion order
// for a listpack) until fn returns false. fn must not modify h.
func (h *Hash) Range(fn func(field, value string) bool) {
	if h.ht != nil {
		h.ht.Range(fn)
		return
	}
	for _, p := range h.lp {
		if !fn(p.Field, p.Value) {
			return
		}
	}
}

// Pairs returns every field in iteration order.
func (h *Hash) Pairs() []HashPair {
	if h.ht == nil {
		return append([]HashPair(nil), h.lp...)
	}
	out := make([]HashPair, 0, h.Len())
	h.ht.Range(func(f, v string) bool {
		out = append(out, HashPair{f, v})
		return true
	})
	return out
}

// Random returns a random field. h must not be empty.
func (h *Hash) Random() HashPair {
	if h.ht != nil {
		f, v := h.ht.Random()
		return HashPair{f, v}
	}
	return h.lp[randIntN(len(h.lp))]
}

// Scan continues a hashtable scan from cursor, calling fn for the fields of
// the visited buckets, and returns the next cursor (0 when done). A
// listpack is returned whole with cursor 0, as Redis does.
//
// The cursor is the table's reverse-binary bucket cursor (package dict):
// it needs no memory between calls, and every field present for the whole
// scan is returned at least once however the table is resized meanwhile.
// A sorted snapshot would give the same guarantee at the cost of a copy of
// every key per scan, which huge hashes cannot afford.
func (h *Hash) Scan(cursor uint64, fn func(field, value string)) uint64 {
	if h.ht == nil {
		for _, p := range h.lp {
			fn(p.Field, p.Value)
		}
		return 0
	}
	return h.ht.Scan(cursor, fn)
}

// Object returns h in rdb's neutral form (fields in iteration order).
func (h *Hash) Object() rdb.Object {
	o := rdb.Object{Kind: rdb.KindHash, Hash: make([]rdb.HashField, 0, h.Len())}
	h.Range(func(f, v string) bool {
		o.Hash = append(o.Hash, rdb.HashField{Field: []byte(f), Value: []byte(v)})
		return true
	})
	return o
}

// HashFromObject builds a hash from rdb's neutral form, choosing the
// encoding as Redis does when loading: a listpack when the limits allow it.
func HashFromObject(o rdb.Object, l Limits) *Hash {
	h := NewHash()
	if len(o.Hash) > l.HashMaxListpackEntries {
		h.ht = dict.New[string](len(o.Hash))
	} else {
		h.lp = make([]HashPair, 0, len(o.Hash))
	}
	for _, f := range o.Hash {
		h.Set(string(f.Field), string(f.Value), l)
	}
	return h
}
