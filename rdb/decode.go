package rdb

import (
	"bytes"
	"encoding/binary"
	"math"
	"sort"
	"strconv"
)

// DecodeObject decodes one value in RDB object encoding (type byte and
// encoded value) from the start of p and returns it with the number of
// bytes read. It accepts every type and encoding Redis 7.2 and older write
// for strings, lists, sets, sorted sets and hashes; it never panics on
// malformed input. Sorted-set entries come back in ascending order.
func DecodeObject(p []byte) (Object, int, error) {
	r := reader{b: p}
	t, err := r.byte()
	if err != nil {
		return Object{}, 0, err
	}
	o, err := r.object(Type(t))
	if err != nil {
		return Object{}, 0, err
	}
	return o, r.p, nil
}

type reader struct {
	b []byte
	p int
}

func (r *reader) byte() (byte, error) {
	if r.p >= len(r.b) {
		return 0, corrupt("truncated")
	}
	c := r.b[r.p]
	r.p++
	return c, nil
}

func (r *reader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.p) {
		return nil, corrupt("truncated")
	}
	s := r.b[r.p : r.p+int(n)]
	r.p += int(n)
	return s, nil
}

// len reads an RDB length; encoded reports the 11xxxxxx special string
// encodings, whose 6-bit code is returned as the length.
func (r *reader) len() (n uint64, encoded bool, err error) {
	c, err := r.byte()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case 0:
		return uint64(c & 0x3F), false, nil
	case 1:
		d, err := r.byte()
		if err != nil {
			return 0, false, err
		}
		return uint64(c&0x3F)<<8 | uint64(d), false, nil
	case 2:
		switch c {
		case 0x80:
			b, err := r.take(4)
			if err != nil {
				return 0, false, err
			}
			return uint64(binary.BigEndian.Uint32(b)), false, nil
		case 0x81:
			b, err := r.take(8)
			if err != nil {
				return 0, false, err
			}
			return binary.BigEndian.Uint64(b), false, nil
		}
		return 0, false, corrupt("bad length encoding")
	}
	return uint64(c & 0x3F), true, nil
}

// count reads an aggregate length; zero is ErrEmpty.
func (r *reader) count() (uint64, error) {
	n, enc, err := r.len()
	if err != nil {
		return 0, err
	}
	if enc {
		return 0, corrupt("encoded length where a count was expected")
	}
	if n == 0 {
		return 0, ErrEmpty
	}
	return n, nil
}

// str reads a string: raw, int8/16/32, or LZF-compressed.
func (r *reader) str() ([]byte, error) {
	n, enc, err := r.len()
	if err != nil {
		return nil, err
	}
	if !enc {
		b, err := r.take(n)
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), b...), nil
	}
	switch n {
	case 0:
		b, err := r.take(1)
		if err != nil {
			return nil, err
		}
		return itoa(int64(int8(b[0]))), nil
	case 1:
		b, err := r.take(2)
		if err != nil {
			return nil, err
		}
		return itoa(int64(int16(le16(b)))), nil
	case 2:
		b, err := r.take(4)
		if err != nil {
			return nil, err
		}
		return itoa(int64(int32(le32(b)))), nil
	case 3:
		clen, e1, err := r.len()
		if err != nil {
			return nil, err
		}
		ulen, e2, err := r.len()
		if err != nil {
			return nil, err
		}
		if e1 || e2 {
			return nil, corrupt("bad LZF lengths")
		}
		c, err := r.take(clen)
		if err != nil {
			return nil, err
		}
		// A back reference (2-3 bytes) expands to at most 264 bytes: a
		// larger claim is corrupt, and refusing it bounds the allocation.
		if ulen > 132*clen+32 {
			return nil, corrupt("LZF length implausible")
		}
		return lzfDecompress(c, int(ulen))
	}
	return nil, corrupt("unknown string encoding")
}

// stringDouble reads a score in the pre-RDB-8 text form: a length byte
// (253 nan, 254 +inf, 255 -inf) followed by that many ASCII bytes.
func (r *reader) stringDouble() (float64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch c {
	case 253:
		return 0, corrupt("NaN score")
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	b, err := r.take(uint64(c))
	if err != nil {
		return 0, err
	}
	return parseScore(b)
}

func (r *reader) binaryDouble() (float64, error) {
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	f := math.Float64frombits(le64(b))
	if math.IsNaN(f) {
		return 0, corrupt("NaN score")
	}
	return f, nil
}

func parseScore(b []byte) (float64, error) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !isRangeErr(err) {
		return 0, corrupt("bad score")
	}
	if math.IsNaN(f) {
		return 0, corrupt("NaN score")
	}
	return f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// blob reads a string holding a container (listpack, ziplist, intset,
// zipmap).
func (r *reader) blob() ([]byte, error) { return r.str() }

func (r *reader) object(t Type) (Object, error) {
	switch t {
	case TypeString:
		s, err := r.str()
		return Object{Kind: KindString, Str: s}, err
	case TypeList:
		n, err := r.count()
		if err != nil {
			return Object{}, err
		}
		var l [][]byte
		for i := uint64(0); i < n; i++ {
			s, err := r.str()
			if err != nil {
				return Object{}, err
			}
			l = append(l, s)
		}
		return Object{Kind: KindList, List: l}, nil
	case TypeSet:
		n, err := r.count()
		if err != nil {
			return Object{}, err
		}
		var m [][]byte
		for i := uint64(0); i < n; i++ {
			s, err := r.str()
			if err != nil {
				return Object{}, err
			}
			m = append(m, s)
		}
		return setObject(m)
	case TypeZSet, TypeZSet2:
		n, err := r.count()
		if err != nil {
			return Object{}, err
		}
		var z []ZEntry
		for i := uint64(0); i < n; i++ {
			m, err := r.str()
			if err != nil {
				return Object{}, err
			}
			var f float64
			if t == TypeZSet {
				f, err = r.stringDouble()
			} else {
				f, err = r.binaryDouble()
			}
			if err != nil {
				return Object{}, err
			}
			z = append(z, ZEntry{Member: m, Score: f})
		}
		return zsetObject(z)
	case TypeHash:
		n, err := r.count()
		if err != nil {
			return Object{}, err
		}
		var h []HashField
		for i := uint64(0); i < n; i++ {
			f, err := r.str()
			if err != nil {
				return Object{}, err
			}
			v, err := r.str()
			if err != nil {
				return Object{}, err
			}
			h = append(h, HashField{Field: f, Value: v})
		}
		return hashObject(h)
	case TypeHashZipmap:
		b, err := r.blob()
		if err != nil {
			return Object{}, err
		}
		h, err := parseZipmap(b)
		if err != nil {
			return Object{}, err
		}
		return hashObject(h)
	case TypeListZiplist, TypeListQuicklist, TypeListQuicklist2:
		return r.list(t)
	case TypeSetIntset, TypeSetListpack:
		b, err := r.blob()
		if err != nil {
			return Object{}, err
		}
		var m [][]byte
		if t == TypeSetIntset {
			m, err = parseIntset(b)
		} else {
			m, err = parseListpack(b)
		}
		if err != nil {
			return Object{}, err
		}
		return setObject(m)
	case TypeZSetZiplist, TypeZSetListpack, TypeHashZiplist, TypeHashListpack:
		b, err := r.blob()
		if err != nil {
			return Object{}, err
		}
		var e [][]byte
		if t == TypeZSetZiplist || t == TypeHashZiplist {
			e, err = parseZiplist(b)
		} else {
			e, err = parseListpack(b)
		}
		if err != nil {
			return Object{}, err
		}
		if len(e)%2 != 0 {
			return Object{}, corrupt("odd number of pair elements")
		}
		if t == TypeHashZiplist || t == TypeHashListpack {
			h := make([]HashField, 0, len(e)/2)
			for i := 0; i < len(e); i += 2 {
				h = append(h, HashField{Field: e[i], Value: e[i+1]})
			}
			return hashObject(h)
		}
		z := make([]ZEntry, 0, len(e)/2)
		for i := 0; i < len(e); i += 2 {
			f, err := parseScore(e[i+1])
			if err != nil {
				return Object{}, err
			}
			z = append(z, ZEntry{Member: e[i], Score: f})
		}
		return zsetObject(z)
	case TypeModule, TypeModule2, TypeStreamListpacks, TypeStreamListpacks2, TypeStreamListpacks3:
		return Object{}, ErrUnsupportedType
	}
	return Object{}, corrupt("unknown object type")
}

func (r *reader) list(t Type) (Object, error) {
	if t == TypeListZiplist {
		b, err := r.blob()
		if err != nil {
			return Object{}, err
		}
		l, err := parseZiplist(b)
		if err != nil {
			return Object{}, err
		}
		if len(l) == 0 {
			return Object{}, ErrEmpty
		}
		return Object{Kind: KindList, List: l}, nil
	}
	n, err := r.count()
	if err != nil {
		return Object{}, err
	}
	// Read and validate every node first, then copy all elements into
	// one exactly sized list (see "Decoding cost" in doc.go). A node takes
	// at least 2 bytes of input, so nodes is bounded by the input.
	type node struct {
		b     []byte
		plain bool
	}
	walk := walkListpack
	if t == TypeListQuicklist {
		walk = walkZiplist
	}
	var nodes []node
	var size elemSize
	for i := uint64(0); i < n; i++ {
		container := uint64(containerPacked)
		if t == TypeListQuicklist2 {
			c, enc, err := r.len()
			if err != nil {
				return Object{}, err
			}
			if enc || (c != containerPlain && c != containerPacked) {
				return Object{}, corrupt("bad quicklist container")
			}
			container = c
		}
		b, err := r.blob()
		if err != nil {
			return Object{}, err
		}
		if container == containerPlain {
			size.n++
		} else if err := walk(b, size.add); err != nil {
			return Object{}, err
		}
		// Redis skips empty nodes rather than failing the load.
		nodes = append(nodes, node{b: b, plain: container == containerPlain})
	}
	if size.n == 0 {
		return Object{}, ErrEmpty
	}
	e := newElemBuf(nil, size)
	for _, nd := range nodes {
		if nd.plain {
			// The blob is the decoder's own copy: the element owns it.
			e.out = append(e.out, nd.b)
		} else if err := walk(nd.b, e.add); err != nil {
			return Object{}, err // not reached: the node was validated
		}
	}
	return Object{Kind: KindList, List: e.out}, nil
}

func setObject(m [][]byte) (Object, error) {
	if len(m) == 0 {
		return Object{}, ErrEmpty
	}
	seen := make(map[string]struct{}, len(m))
	for _, s := range m {
		if _, dup := seen[string(s)]; dup {
			return Object{}, corrupt("duplicate set member")
		}
		seen[string(s)] = struct{}{}
	}
	return Object{Kind: KindSet, Set: m}, nil
}

func hashObject(h []HashField) (Object, error) {
	if len(h) == 0 {
		return Object{}, ErrEmpty
	}
	seen := make(map[string]struct{}, len(h))
	for _, f := range h {
		if _, dup := seen[string(f.Field)]; dup {
			return Object{}, corrupt("duplicate hash field")
		}
		seen[string(f.Field)] = struct{}{}
	}
	return Object{Kind: KindHash, Hash: h}, nil
}

func zsetObject(z []ZEntry) (Object, error) {
	if len(z) == 0 {
		return Object{}, ErrEmpty
	}
	seen := make(map[string]struct{}, len(z))
	for _, e := range z {
		if _, dup := seen[string(e.Member)]; dup {
			return Object{}, corrupt("duplicate sorted set member")
		}
		seen[string(e.Member)] = struct{}{}
	}
	sort.SliceStable(z, func(i, j int) bool {
		if z[i].Score != z[j].Score {
			return z[i].Score < z[j].Score
		}
		return bytes.Compare(z[i].Member, z[j].Member) < 0
	})
	return Object{Kind: KindZSet, ZSet: z}, nil
}
