package node

import (
	"strings"

	"github.com/slotvault/slotvault/store"
)

// bitmapCommands: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.
// Bitmaps are plain strings; bit 0 is the most significant bit of byte 0.
func bitmapCommands() []*Command {
	bm := func(name string, arity int, flags CmdFlag, first, last int, cats []string, summary, since string, h func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Step: 1,
			Categories: cats, Summary: summary, Since: since, Group: "bitmap", Handler: h}
	}
	return []*Command{
		bm("setbit", 4, FlagWrite|FlagDenyOOM, 1, 1, []string{"write", "bitmap", "slow"},
			"Sets or clears the bit at offset in the string value stored at key", "2.2.0", cmdSetBit),
		bm("getbit", 3, FlagReadonly|FlagFast, 1, 1, []string{"read", "bitmap", "fast"},
			"Returns the bit value at offset in the string value stored at key", "2.2.0", cmdGetBit),
		bm("bitcount", -2, FlagReadonly, 1, 1, []string{"read", "bitmap", "slow"},
			"Count set bits in a string", "2.6.0", cmdBitCount),
		bm("bitpos", -3, FlagReadonly, 1, 1, []string{"read", "bitmap", "slow"},
			"Find first bit set or clear in a string", "2.8.7", cmdBitPos),
		bm("bitop", -4, FlagWrite|FlagDenyOOM, 2, -1, []string{"write", "bitmap", "slow"},
			"Perform bitwise operations between strings", "2.6.0", cmdBitOp),
		bm("bitfield", -2, FlagWrite|FlagDenyOOM, 1, 1, []string{"write", "bitmap", "slow"},
			"Perform arbitrary bitfield integer operations on strings", "3.2.0", func(c *Ctx) { bitfieldGeneric(c, false) }),
		bm("bitfield_ro", -2, FlagReadonly|FlagFast, 1, 1, []string{"read", "bitmap", "fast"},
			"Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", "6.0.0", func(c *Ctx) { bitfieldGeneric(c, true) }),
	}
}

const errBitOffset = "ERR bit offset is not an integer or out of range"

// bitOffset parses a bit offset as getBitOffsetFromArgument: with hash and
// nbits > 0, "#N" means N*nbits. Offsets whose byte lies at or beyond
// proto-max-bulk-len are refused.
func bitOffset(c *Ctx, i int, hash bool, nbits int) (uint64, bool) {
	p := c.Args[i]
	useHash := len(p) > 0 && p[0] == '#' && hash && nbits > 0
	if useHash {
		p = p[1:]
	}
	v, ok := ParseInt(p)
	if !ok {
		c.Error(errBitOffset)
		return 0, false
	}
	if useHash {
		v *= int64(nbits) // wraps like Redis's long long multiply
	}
	if v < 0 || v>>3 >= c.Node().Config().ProtoMaxBulkLen {
		c.Error(errBitOffset)
		return 0, false
	}
	return uint64(v), true
}

// stringForBitWrite returns key's string grown with zero bytes to hold bit
// maxbit, creating it when missing (lookupStringForBitCommand). grew reports
// creation or growth. The value becomes "raw", as Redis unshares it.
func stringForBitWrite(c *Ctx, key string, maxbit uint64) (s *store.String, grew bool, ok bool) {
	need := int(maxbit>>3) + 1
	_, s, ok = lookupString(c, key)
	if !ok {
		return nil, false, false
	}
	if s == nil {
		s = &store.String{B: make([]byte, need), Raw: true}
		c.DB.Set(key, s, 0)
		return s, true, true
	}
	s.Raw = true
	if len(s.B) < need {
		s.B = append(s.B, make([]byte, need-len(s.B))...)
		grew = true
	}
	return s, grew, true
}

func cmdSetBit(c *Ctx) {
	off, ok := bitOffset(c, 2, false, 0)
	if !ok {
		return
	}
	const errBit = "ERR bit is not an integer or out of range"
	on, ok := ParseInt(c.Args[3])
	if !ok || on&^1 != 0 {
		c.Error(errBit)
		return
	}
	s, grew, ok := stringForBitWrite(c, c.Arg(1), off)
	if !ok {
		return
	}
	byteIdx := off >> 3
	sh := 7 - off&7
	old := s.B[byteIdx] >> sh & 1
	if grew || int64(old) != on {
		s.B[byteIdx] = s.B[byteIdx]&^(1<<sh) | byte(on)<<sh
		c.Dirty(1)
	}
	c.R.Int(int64(old))
}

func cmdGetBit(c *Ctx) {
	off, ok := bitOffset(c, 2, false, 0)
	if !ok {
		return
	}
	_, s, ok := lookupString(c, c.Arg(1))
	if !ok {
		return
	}
	var bit int64
	if s != nil && off>>3 < uint64(len(s.B)) {
		bit = int64(s.B[off>>3] >> (7 - off&7) & 1)
	}
	c.R.Int(bit)
}

// bitUnit parses an optional BYTE|BIT argument: isBit, ok.
func bitUnit(c *Ctx, i int) (bool, bool) {
	switch strings.ToLower(string(c.Args[i])) {
	case "bit":
		return true, true
	case "byte":
		return false, true
	}
	c.ErrSyntax()
	return false, false
}

// normRange converts a start/end pair (negative from the end) to a clamped
// inclusive range over total units.
func normRange(start, end, total int64) (int64, int64) {
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= total {
		end = total - 1
	}
	return start, end
}

// edgeMasks returns, for a bit range, the masks of the bits of its first
// and last bytes that lie outside it.
func edgeMasks(start, end int64) (first, last byte) {
	first = byte(^((1 << (8 - int(start&7))) - 1) & 0xff)
	last = byte((1 << (7 - int(end&7))) - 1)
	return
}

func cmdBitCount(c *Ctx) {
	// Redis 7.0 looks the key up before parsing the range.
	_, s, ok := lookupString(c, c.Arg(1))
	if !ok {
		return
	}
	if s == nil {
		c.R.Int(0)
		return
	}
	p := s.B
	var start, end int64
	var firstMask, lastMask byte
	switch len(c.Args) {
	case 4, 5:
		if start, ok = c.ParseInt(2); !ok {
			return
		}
		var e int64
		if e, ok = c.ParseInt(3); !ok {
			return
		}
		end = e
		isBit := false
		if len(c.Args) == 5 {
			if isBit, ok = bitUnit(c, 4); !ok {
				return
			}
		}
		total := int64(len(p))
		if isBit {
			total <<= 3
		}
		if start < 0 && end < 0 && start > end {
			c.R.Int(0)
			return
		}
		start, end = normRange(start, end, total)
		if isBit && start <= end {
			firstMask, lastMask = edgeMasks(start, end)
			start >>= 3
			end >>= 3
		}
	case 2:
		start, end = 0, int64(len(p))-1
	default:
		c.ErrSyntax()
		return
	}
	if start > end {
		c.R.Int(0)
		return
	}
	n := store.Popcount(p[start : end+1])
	if firstMask != 0 || lastMask != 0 {
		n -= store.Popcount([]byte{p[start] & firstMask, p[end] & lastMask})
	}
	c.R.Int(n)
}

func cmdBitPos(c *Ctx) {
	bit, ok := c.ParseInt(2)
	if !ok {
		return
	}
	if bit != 0 && bit != 1 {
		c.Error("ERR The bit argument must be 1 or 0.")
		return
	}
	_, s, ok := lookupString(c, c.Arg(1))
	if !ok {
		return
	}
	if s == nil {
		// A missing key is an infinite run of zeros.
		if bit == 1 {
			c.R.Int(-1)
		} else {
			c.R.Int(0)
		}
		return
	}
	p := s.B
	var start, end int64
	var firstMask, lastMask byte
	endGiven := false
	switch len(c.Args) {
	case 4, 5, 6:
		if start, ok = c.ParseInt(3); !ok {
			return
		}
		isBit := false
		if len(c.Args) == 6 {
			if isBit, ok = bitUnit(c, 5); !ok {
				return
			}
		}
		total := int64(len(p))
		if len(c.Args) >= 5 {
			if end, ok = c.ParseInt(4); !ok {
				return
			}
			endGiven = true
		} else if isBit {
			end = total<<3 + 7
		} else {
			end = total - 1
		}
		if isBit {
			total <<= 3
		}
		start, end = normRange(start, end, total)
		if isBit && start <= end {
			firstMask, lastMask = edgeMasks(start, end)
			start >>= 3
			end >>= 3
		}
	case 3:
		start, end = 0, int64(len(p))-1
	default:
		c.ErrSyntax()
		return
	}
	if start > end {
		c.R.Int(-1)
		return
	}
	c.R.Int(bitposRange(p, start, end, firstMask, lastMask, int(bit), endGiven))
}

// bitposRange is the body of bitposCommand over the byte range start..end
// with the out-of-range bits of the edge bytes given by the masks.
func bitposRange(p []byte, start, end int64, firstMask, lastMask byte, bit int, endGiven bool) int64 {
	bytes := end - start + 1
	var pos int64
	masked := func(b, mask byte) byte {
		if bit == 1 {
			return b &^ mask
		}
		return b | mask
	}
	done := false
	if firstMask != 0 {
		t := masked(p[start], firstMask)
		if lastMask != 0 && bytes == 1 {
			t = masked(t, lastMask)
		}
		pos = store.Bitpos([]byte{t}, bit)
		if bytes == 1 || (pos != -1 && pos != 8) {
			done = true
		} else {
			start++
			bytes--
		}
	}
	if !done {
		cur := bytes
		if lastMask != 0 {
			cur--
		}
		if cur > 0 {
			pos = store.Bitpos(p[start:start+cur], bit)
			if bytes == cur || (pos != -1 && pos != cur<<3) {
				done = true
			} else {
				start += cur
				bytes -= cur
			}
		}
	}
	if !done {
		pos = store.Bitpos([]byte{masked(p[end], lastMask)}, bit)
	}
	// With an explicit end, running past the range while looking for a 0
	// means there is none.
	if endGiven && bit == 0 && pos == bytes<<3 {
		return -1
	}
	if pos != -1 {
		pos += start << 3
	}
	return pos
}

func cmdBitOp(c *Ctx) {
	const (
		opAnd = iota
		opOr
		opXor
		opNot
	)
	var op int
	switch strings.ToLower(c.Arg(1)) {
	case "and":
		op = opAnd
	case "or":
		op = opOr
	case "xor":
		op = opXor
	case "not":
		op = opNot
	default:
		c.ErrSyntax()
		return
	}
	if op == opNot && len(c.Args) != 4 {
		c.Error("ERR BITOP NOT must be called with a single source key.")
		return
	}
	srcs := make([][]byte, 0, len(c.Args)-3)
	maxlen := 0
	for _, k := range c.Args[3:] {
		_, s, ok := lookupString(c, string(k))
		if !ok {
			return
		}
		var b []byte
		if s != nil {
			b = s.B
		}
		srcs = append(srcs, b)
		maxlen = max(maxlen, len(b))
	}
	dest := c.Arg(2)
	if maxlen == 0 {
		if c.DB.Delete(dest) != nil {
			c.Dirty(1)
		}
		c.R.Int(0)
		return
	}
	res := make([]byte, maxlen)
	for j := 0; j < maxlen; j++ {
		at := func(b []byte) byte {
			if j < len(b) {
				return b[j]
			}
			return 0
		}
		out := at(srcs[0])
		if op == opNot {
			out = ^out
		}
		for _, b := range srcs[1:] {
			switch op {
			case opAnd:
				out &= at(b)
			case opOr:
				out |= at(b)
			case opXor:
				out ^= at(b)
			}
		}
		res[j] = out
	}
	c.DB.Set(dest, &store.String{B: res, Raw: true}, 0)
	c.Dirty(1)
	c.R.Int(int64(maxlen))
}

type bitfieldOp struct {
	offset uint64
	i64    int64
	opcode int // 0 GET, 1 SET, 2 INCRBY
	ow     int
	bits   int
	sign   bool
}

const errBitfieldType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."

// bitfieldType parses i1..i64 / u1..u63.
func bitfieldType(c *Ctx, i int) (sign bool, nbits int, ok bool) {
	p := c.Args[i]
	if len(p) == 0 || (p[0] != 'i' && p[0] != 'u') {
		c.Error(errBitfieldType)
		return false, 0, false
	}
	sign = p[0] == 'i'
	n, ok := ParseInt(cString(p[1:]))
	if !ok || n < 1 || (sign && n > 64) || (!sign && n > 63) {
		c.Error(errBitfieldType)
		return false, 0, false
	}
	return sign, int(n), true
}

// cString truncates b at its first NUL, as C string functions see it.
func cString(b []byte) []byte {
	for i, ch := range b {
		if ch == 0 {
			return b[:i]
		}
	}
	return b
}

func bitfieldGeneric(c *Ctx, readonlyCmd bool) {
	var ops []bitfieldOp
	ow := store.OverflowWrap
	readonly := true
	var highest uint64
	for j := 2; j < len(c.Args); j++ {
		rem := len(c.Args) - j - 1
		sub := strings.ToLower(c.Arg(j))
		var opcode int
		switch {
		case sub == "get" && rem >= 2:
			opcode = 0
		case sub == "set" && rem >= 3:
			opcode = 1
		case sub == "incrby" && rem >= 3:
			opcode = 2
		case sub == "overflow" && rem >= 1:
			j++
			switch strings.ToLower(c.Arg(j)) {
			case "wrap":
				ow = store.OverflowWrap
			case "sat":
				ow = store.OverflowSat
			case "fail":
				ow = store.OverflowFail
			default:
				c.Error("ERR Invalid OVERFLOW type specified")
				return
			}
			continue
		default:
			c.ErrSyntax()
			return
		}
		sign, nbits, ok := bitfieldType(c, j+1)
		if !ok {
			return
		}
		off, ok := bitOffset(c, j+2, true, nbits)
		if !ok {
			return
		}
		var i64 int64
		if opcode != 0 {
			readonly = false
			if highest < off+uint64(nbits)-1 {
				highest = off + uint64(nbits) - 1
			}
			if i64, ok = c.ParseInt(j + 3); !ok {
				return
			}
		}
		ops = append(ops, bitfieldOp{offset: off, i64: i64, opcode: opcode, ow: ow, bits: nbits, sign: sign})
		if opcode == 0 {
			j += 2
		} else {
			j += 3
		}
	}

	key := c.Arg(1)
	var s *store.String
	grew := false
	if readonly {
		var ok bool
		if _, s, ok = lookupString(c, key); !ok {
			return
		}
	} else {
		if readonlyCmd {
			c.Error("ERR BITFIELD_RO only supports the GET subcommand")
			return
		}
		var ok bool
		if s, grew, ok = stringForBitWrite(c, key, highest); !ok {
			return
		}
	}

	changes := 0
	c.R.Array(len(ops))
	for _, op := range ops {
		if op.opcode == 0 {
			var src []byte
			if s != nil {
				src = s.B
			}
			if op.sign {
				c.R.Int(store.GetSignedBitfield(src, op.offset, op.bits))
			} else {
				c.R.Int(int64(store.GetUnsignedBitfield(src, op.offset, op.bits)))
			}
			continue
		}
		if op.sign {
			oldv := store.GetSignedBitfield(s.B, op.offset, op.bits)
			var newv, ret int64
			var overflow int
			if op.opcode == 2 {
				var wrapped int64
				overflow, wrapped = store.CheckSignedBitfieldOverflow(oldv, op.i64, op.bits, op.ow)
				if overflow != 0 {
					newv = wrapped
				} else {
					newv = oldv + op.i64
				}
				ret = newv
			} else {
				newv = op.i64
				var wrapped int64
				overflow, wrapped = store.CheckSignedBitfieldOverflow(newv, 0, op.bits, op.ow)
				if overflow != 0 {
					newv = wrapped
				}
				ret = oldv
			}
			if overflow != 0 && op.ow == store.OverflowFail {
				c.R.Null()
				continue
			}
			c.R.Int(ret)
			store.SetUnsignedBitfield(s.B, op.offset, op.bits, uint64(newv))
			if grew || oldv != newv {
				changes++
			}
			continue
		}
		oldv := store.GetUnsignedBitfield(s.B, op.offset, op.bits)
		var newv, ret uint64
		var overflow int
		if op.opcode == 2 {
			newv = oldv + uint64(op.i64)
			var wrapped uint64
			overflow, wrapped = store.CheckUnsignedBitfieldOverflow(oldv, op.i64, op.bits, op.ow)
			if overflow != 0 {
				newv = wrapped
			}
			ret = newv
		} else {
			newv = uint64(op.i64)
			var wrapped uint64
			overflow, wrapped = store.CheckUnsignedBitfieldOverflow(newv, 0, op.bits, op.ow)
			if overflow != 0 {
				newv = wrapped
			}
			ret = oldv
		}
		if overflow != 0 && op.ow == store.OverflowFail {
			c.R.Null()
			continue
		}
		c.R.Int(int64(ret))
		store.SetUnsignedBitfield(s.B, op.offset, op.bits, newv)
		if grew || oldv != newv {
			changes++
		}
	}
	if changes > 0 {
		c.Dirty(changes)
	} else if grew {
		// Redis leaves a created or grown string unpropagated when every
		// write failed (OVERFLOW FAIL); propagating keeps replicas and the
		// log identical to this node.
		c.Dirty(1)
	}
}
