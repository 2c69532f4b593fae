package rdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Redis 7.0's default encoding thresholds, used when Object.Encoding does
// not say which encoding a value has.
const (
	defaultListpackEntries = 128
	defaultListpackValue   = 64
	defaultIntsetEntries   = 512
	// quicklistNodeBytes is the node size limit of list-max-listpack-size -2.
	quicklistNodeBytes = 8192
	// largeElement is the size from which Redis keeps a list element in a
	// plain (non-listpack) quicklist node.
	largeElement = 1 << 30
)

// quicklist2 node containers.
const (
	containerPlain  = 1
	containerPacked = 2
)

// AppendObject appends o in RDB object encoding — the type byte followed
// by the encoded value — choosing the encodings Redis 7.0 writes (RDB
// version 10): listpack hashes and sorted sets, intsets, quicklist2 lists.
func AppendObject(dst []byte, o *Object) ([]byte, error) {
	w := writer{b: dst}
	switch o.Kind {
	case KindString:
		w.b = append(w.b, byte(TypeString))
		w.str(o.Str)
	case KindList:
		if len(o.List) == 0 {
			return dst, ErrEmpty
		}
		w.b = append(w.b, byte(TypeListQuicklist2))
		w.quicklist(o.List)
	case KindSet:
		if len(o.Set) == 0 {
			return dst, ErrEmpty
		}
		w.set(o)
	case KindZSet:
		if len(o.ZSet) == 0 {
			return dst, ErrEmpty
		}
		w.zset(o)
	case KindHash:
		if len(o.Hash) == 0 {
			return dst, ErrEmpty
		}
		w.hash(o)
	default:
		return dst, fmt.Errorf("rdb: cannot encode object kind %d", o.Kind)
	}
	return w.b, nil
}

type writer struct{ b []byte }

// len writes an RDB length: 6 bits, 14 bits, or 0x80 + 32-bit / 0x81 +
// 64-bit big-endian.
func (w *writer) len(n uint64) {
	switch {
	case n < 1<<6:
		w.b = append(w.b, byte(n))
	case n < 1<<14:
		w.b = append(w.b, 0x40|byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		w.b = append(w.b, 0x80)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(n))
	default:
		w.b = append(w.b, 0x81)
		w.b = binary.BigEndian.AppendUint64(w.b, n)
	}
}

// str writes a string as rdbSaveRawString does: strings of up to 11 bytes
// that are canonical 32-bit integers as int8/16/32; strings over 20 bytes
// LZF-compressed when that saves at least 4 bytes; otherwise raw.
func (w *writer) str(s []byte) {
	if len(s) > 20 {
		if c := lzfCompress(s, len(s)-4); c != nil {
			w.b = append(w.b, 0xC3)
			w.len(uint64(len(c)))
			w.len(uint64(len(s)))
			w.b = append(w.b, c...)
			return
		}
	}
	w.strUncompressed(s)
}

// strUncompressed writes s as str does, except never LZF-compressed.
func (w *writer) strUncompressed(s []byte) {
	if len(s) <= 11 {
		if v, ok := parseInt(s); ok && v >= math.MinInt32 && v <= math.MaxInt32 {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				w.b = append(w.b, 0xC0, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				w.b = append(w.b, 0xC1)
				w.b = binary.LittleEndian.AppendUint16(w.b, uint16(v))
			default:
				w.b = append(w.b, 0xC2)
				w.b = binary.LittleEndian.AppendUint32(w.b, uint32(v))
			}
			return
		}
	}
	w.len(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *writer) binaryDouble(f float64) {
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(f))
}

// quicklist writes a list as quicklist2 nodes of at most 8 KiB, split
// where pushing the elements one by one into a Redis list with the
// default list-max-listpack-size would split it.
func (w *writer) quicklist(elems [][]byte) {
	var nodes [][]byte
	var plain []bool
	var cur *listpackWriter
	flush := func() {
		if cur != nil {
			nodes = append(nodes, cur.finish())
			plain = append(plain, false)
			cur = nil
		}
	}
	for _, e := range elems {
		if len(e) >= largeElement {
			flush()
			nodes = append(nodes, e)
			plain = append(plain, true)
			continue
		}
		// Redis estimates an entry's cost as its length plus 8 bytes and
		// starts a new node when the estimate would pass the limit.
		if cur != nil && cur.size()+len(e)+8 > quicklistNodeBytes {
			flush()
		}
		if cur == nil {
			cur = newListpack()
		}
		cur.add(e)
	}
	flush()
	w.len(uint64(len(nodes)))
	for i, n := range nodes {
		if plain[i] {
			w.len(containerPlain)
		} else {
			w.len(containerPacked)
		}
		w.str(n)
	}
}

func (w *writer) set(o *Object) {
	enc := o.Encoding
	if enc == "" && len(o.Set) <= defaultIntsetEntries {
		enc = "intset"
	}
	if enc == "intset" {
		vals := make([]int64, 0, len(o.Set))
		for _, m := range o.Set {
			v, ok := parseInt(m)
			if !ok {
				vals = nil
				break
			}
			vals = append(vals, v)
		}
		if vals != nil {
			w.b = append(w.b, byte(TypeSetIntset))
			w.str(buildIntset(vals))
			return
		}
	}
	// RDB version 10 has no listpack sets (Redis 7.2's type 20): small
	// non-integer sets are written as plain sets, which 7.0 loads as a
	// hashtable and 7.2 converts back to a listpack.
	w.b = append(w.b, byte(TypeSet))
	w.len(uint64(len(o.Set)))
	for _, m := range o.Set {
		w.str(m)
	}
}

func (w *writer) zset(o *Object) {
	small := o.Encoding == "listpack" || o.Encoding == "ziplist"
	if o.Encoding == "" && len(o.ZSet) <= defaultListpackEntries {
		small = true
		for _, e := range o.ZSet {
			if len(e.Member) > defaultListpackValue {
				small = false
				break
			}
		}
	}
	if small {
		lp := newListpack()
		for _, e := range o.ZSet {
			lp.add(e.Member)
			lp.add(FormatScore(e.Score))
		}
		w.b = append(w.b, byte(TypeZSetListpack))
		w.str(lp.finish())
		return
	}
	// Redis writes skiplists from the highest score down, so that loading
	// inserts each element at the head.
	w.b = append(w.b, byte(TypeZSet2))
	w.len(uint64(len(o.ZSet)))
	for i := len(o.ZSet) - 1; i >= 0; i-- {
		w.str(o.ZSet[i].Member)
		w.binaryDouble(o.ZSet[i].Score)
	}
}

func (w *writer) hash(o *Object) {
	small := o.Encoding == "listpack" || o.Encoding == "ziplist"
	if o.Encoding == "" && len(o.Hash) <= defaultListpackEntries {
		small = true
		for _, f := range o.Hash {
			if len(f.Field) > defaultListpackValue || len(f.Value) > defaultListpackValue {
				small = false
				break
			}
		}
	}
	if small {
		lp := newListpack()
		for _, f := range o.Hash {
			lp.add(f.Field)
			lp.add(f.Value)
		}
		w.b = append(w.b, byte(TypeHashListpack))
		w.str(lp.finish())
		return
	}
	w.b = append(w.b, byte(TypeHash))
	w.len(uint64(len(o.Hash)))
	for _, f := range o.Hash {
		w.str(f.Field)
		w.str(f.Value)
	}
}

// FormatScore renders a sorted-set score as Redis 7.0's d2string does for
// listpack entries: integers below 2^52 in decimal, other values "%.17g",
// and "inf"/"-inf".
func FormatScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	case math.IsNaN(f):
		return []byte("nan")
	}
	if f > -4503599627370495 && f < 4503599627370496 && f == math.Trunc(f) {
		return strconv.AppendInt(nil, int64(f), 10)
	}
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}
