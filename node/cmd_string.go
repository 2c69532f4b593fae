package node

import (
	"math"
	"strconv"
	"strings"

	"github.com/slotvault/slotvault/store"
)

// stringCommands: GET SET SETNX SETEX PSETEX GETSET GETEX GETDEL MGET MSET
// MSETNX INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SUBSTR
// SETRANGE LCS, with Redis 7.0's semantics and propagation rules.
func stringCommands() []*Command {
	w, r, dm, f := FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast
	cat := func(c ...string) []string { return c }
	str := func(name string, arity int, flags CmdFlag, first, last, step int, cats []string, summary, since string, h func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Step: step,
			Categories: cats, Summary: summary, Since: since, Group: "string", Handler: h}
	}
	return []*Command{
		str("get", 2, r|f, 1, 1, 1, cat("read", "string", "fast"), "Get the value of a key", "1.0.0", cmdGet),
		str("set", -3, w|dm, 1, 1, 1, cat("write", "string", "slow"), "Set the string value of a key", "1.0.0", cmdSet),
		str("setnx", 3, w|dm|f, 1, 1, 1, cat("write", "string", "fast"), "Set the value of a key, only if the key does not exist", "1.0.0", cmdSetNX),
		str("setex", 4, w|dm, 1, 1, 1, cat("write", "string", "slow"), "Set the value and expiration of a key", "2.0.0", cmdSetEX),
		str("psetex", 4, w|dm, 1, 1, 1, cat("write", "string", "slow"), "Set the value and expiration in milliseconds of a key", "2.6.0", cmdPSetEX),
		str("getset", 3, w|dm|f, 1, 1, 1, cat("write", "string", "fast"), "Set the string value of a key and return its old value", "1.0.0", cmdGetSet),
		str("getex", -2, w|f, 1, 1, 1, cat("write", "string", "fast"), "Get the value of a key and optionally set its expiration", "6.2.0", cmdGetEx),
		str("getdel", 2, w|f, 1, 1, 1, cat("write", "string", "fast"), "Get the value of a key and delete the key", "6.2.0", cmdGetDel),
		str("mget", -2, r|f, 1, -1, 1, cat("read", "string", "fast"), "Get the values of all the given keys", "1.0.0", cmdMGet),
		str("mset", -3, w|dm, 1, -1, 2, cat("write", "string", "slow"), "Set multiple keys to multiple values", "1.0.1", func(c *Ctx) { msetGeneric(c, false) }),
		str("msetnx", -3, w|dm, 1, -1, 2, cat("write", "string", "slow"), "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1", func(c *Ctx) { msetGeneric(c, true) }),
		str("incr", 2, w|dm|f, 1, 1, 1, cat("write", "string", "fast"), "Increment the integer value of a key by one", "1.0.0", func(c *Ctx) { incrDecr(c, 1) }),
		str("decr", 2, w|dm|f, 1, 1, 1, cat("write", "string", "fast"), "Decrement the integer value of a key by one", "1.0.0", func(c *Ctx) { incrDecr(c, -1) }),
		str("incrby", 3, w|dm|f, 1, 1, 1, cat("write", "string", "fast"), "Increment the integer value of a key by the given amount", "1.0.0", cmdIncrBy),
		str("decrby", 3, w|dm|f, 1, 1, 1, cat("write", "string", "fast"), "Decrement the integer value of a key by the given number", "1.0.0", cmdDecrBy),
		str("incrbyfloat", 3, w|dm|f, 1, 1, 1, cat("write", "string", "fast"), "Increment the float value of a key by the given amount", "2.6.0", cmdIncrByFloat),
		str("append", 3, w|dm|f, 1, 1, 1, cat("write", "string", "fast"), "Append a value to a key", "2.0.0", cmdAppend),
		str("strlen", 2, r|f, 1, 1, 1, cat("read", "string", "fast"), "Get the length of the value stored in a key", "2.2.0", cmdStrlen),
		str("getrange", 4, r, 1, 1, 1, cat("read", "string", "slow"), "Get a substring of the string stored at a key", "2.4.0", cmdGetRange),
		str("substr", 4, r, 1, 1, 1, cat("read", "string", "slow"), "Get a substring of the string stored at a key", "1.0.0", cmdGetRange),
		str("setrange", 4, w|dm, 1, 1, 1, cat("write", "string", "slow"), "Overwrite part of a string at key starting at the specified offset", "2.2.0", cmdSetRange),
		str("lcs", -3, r, 1, 2, 1, cat("read", "string", "slow"), "Find longest common substring", "7.0.0", cmdLCS),
	}
}

// lookupString returns key's string value (nil when the key is missing).
// When the key holds another type it writes WRONGTYPE and returns ok=false.
func lookupString(c *Ctx, key string) (e *store.Entry, s *store.String, ok bool) {
	e = c.Lookup(key)
	if e == nil {
		return nil, nil, true
	}
	s, isStr := e.Value.(*store.String)
	if !isStr {
		c.ErrWrongType()
		return nil, nil, false
	}
	return e, s, true
}

// newString copies a request argument into a keyspace string value.
func newString(b []byte) *store.String {
	return &store.String{B: append([]byte(nil), b...)}
}

// checkStringLength refuses results longer than proto-max-bulk-len (and
// size computations that overflow), as Redis 7.0.15 does.
func checkStringLength(c *Ctx, size, add int64) bool {
	total := int64(uint64(size) + uint64(add))
	if total > c.Node().Config().ProtoMaxBulkLen || total < size || total < add {
		c.Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
		return false
	}
	return true
}

func cmdGet(c *Ctx) {
	getGeneric(c)
}

// getGeneric replies with the value of argv[1] (null when missing); it
// returns false after a WRONGTYPE error.
func getGeneric(c *Ctx) bool {
	_, s, ok := lookupString(c, c.Arg(1))
	if !ok {
		return false
	}
	if s == nil {
		c.R.Null()
	} else {
		c.R.Bulk(s.B)
	}
	return true
}

// SET/GETEX option flags, as parseExtendedStringArgumentsOrReply names them.
const (
	optNX = 1 << iota
	optXX
	optEX
	optPX
	optKeepTTL
	optGet
	optEXAT
	optPXAT
	optPersist
)

// parseExtendedStringArgs parses SET's (isSet) or GETEX's options starting
// at argument from. It returns the flags and the index of the expire
// argument (0 when none); on a syntax error it replies and returns ok=false.
func parseExtendedStringArgs(c *Ctx, from int, isSet bool) (flags, expIdx int, ok bool) {
	for j := from; j < len(c.Args); j++ {
		opt := strings.ToLower(string(c.Args[j]))
		hasNext := j+1 < len(c.Args)
		expireSet := flags&(optEX|optPX|optEXAT|optPXAT) != 0
		switch {
		case opt == "nx" && flags&optXX == 0 && isSet:
			flags |= optNX
		case opt == "xx" && flags&optNX == 0 && isSet:
			flags |= optXX
		case opt == "get" && isSet:
			flags |= optGet
		case opt == "keepttl" && flags&optPersist == 0 && !expireSet && isSet:
			flags |= optKeepTTL
		case opt == "persist" && !isSet && !expireSet && flags&optKeepTTL == 0:
			flags |= optPersist
		case opt == "ex" && flags&(optKeepTTL|optPersist|optEXAT|optPX|optPXAT) == 0 && hasNext:
			flags |= optEX
			expIdx = j + 1
			j++
		case opt == "px" && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPXAT) == 0 && hasNext:
			flags |= optPX
			expIdx = j + 1
			j++
		case opt == "exat" && flags&(optKeepTTL|optPersist|optEX|optPX|optPXAT) == 0 && hasNext:
			flags |= optEXAT
			expIdx = j + 1
			j++
		case opt == "pxat" && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPX) == 0 && hasNext:
			flags |= optPXAT
			expIdx = j + 1
			j++
		default:
			c.ErrSyntax()
			return 0, 0, false
		}
	}
	return flags, expIdx, true
}

// expireMillis converts the expire argument at index i to an absolute Unix
// time in milliseconds: seconds are scaled, relative times (EX/PX) are added
// to the command's clock. Invalid or overflowing values are refused with
// "invalid expire time in '<command>' command".
func expireMillis(c *Ctx, i, flags int) (int64, bool) {
	ms, ok := c.ParseInt(i)
	if !ok {
		return 0, false
	}
	seconds := flags&(optEX|optEXAT) != 0
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		c.errExpireTime()
		return 0, false
	}
	if seconds {
		ms *= 1000
	}
	if flags&(optEX|optPX) != 0 {
		ms += c.Now // wraps on overflow, caught below as in Redis
	}
	if ms <= 0 {
		c.errExpireTime()
		return 0, false
	}
	return ms, true
}

func (c *Ctx) errExpireTime() {
	c.Error("ERR invalid expire time in '" + c.Cmd.Name + "' command")
}

// setGeneric implements SET and its variants (setGenericCommand). okReply
// and abortReply write the replies for the performed and the aborted
// (NX/XX) cases; nil means +OK and a null.
func setGeneric(c *Ctx, flags int, key string, val []byte, expIdx int, okReply, abortReply func()) {
	var ms int64
	if expIdx > 0 {
		var ok bool
		if ms, ok = expireMillis(c, expIdx, flags); !ok {
			return
		}
	}
	if flags&optGet != 0 && !getGeneric(c) {
		return
	}
	e := c.Lookup(key)
	found := e != nil
	if (flags&optNX != 0 && found) || (flags&optXX != 0 && !found) {
		if flags&optGet == 0 {
			if abortReply != nil {
				abortReply()
			} else {
				c.R.Null()
			}
		}
		return
	}
	var expire int64
	if found && (flags&optKeepTTL != 0) {
		expire = e.Expire
	}
	if expIdx > 0 {
		expire = ms
	}
	c.DB.Set(key, newString(val), expire)
	c.Dirty(1)
	if expIdx > 0 {
		// Relative and second-based expiries replay as an absolute PXAT.
		c.PropagateStrings("SET", key, string(val), "PXAT", strconv.FormatInt(ms, 10))
	} else if flags&optGet != 0 {
		argv := make([][]byte, 0, len(c.Args))
		for j, a := range c.Args {
			if j >= 3 && strings.EqualFold(string(a), "get") {
				continue
			}
			argv = append(argv, a)
		}
		c.Propagate(argv...)
	}
	if flags&optGet == 0 {
		if okReply != nil {
			okReply()
		} else {
			c.R.OK()
		}
	}
}

func cmdSet(c *Ctx) {
	flags, expIdx, ok := parseExtendedStringArgs(c, 3, true)
	if !ok {
		return
	}
	setGeneric(c, flags, c.Arg(1), c.Args[2], expIdx, nil, nil)
}

func cmdSetNX(c *Ctx) {
	setGeneric(c, optNX, c.Arg(1), c.Args[2], 0, func() { c.R.Int(1) }, func() { c.R.Int(0) })
}

func cmdSetEX(c *Ctx) {
	setGeneric(c, optEX, c.Arg(1), c.Args[3], 2, nil, nil)
}

func cmdPSetEX(c *Ctx) {
	setGeneric(c, optPX, c.Arg(1), c.Args[3], 2, nil, nil)
}

func cmdGetSet(c *Ctx) {
	if !getGeneric(c) {
		return
	}
	key := c.Arg(1)
	c.DB.Set(key, newString(c.Args[2]), 0)
	c.Dirty(1)
	c.Propagate([]byte("SET"), c.Args[1], c.Args[2])
}

func cmdGetEx(c *Ctx) {
	flags, expIdx, ok := parseExtendedStringArgs(c, 2, false)
	if !ok {
		return
	}
	key := c.Arg(1)
	e, s, ok := lookupString(c, key)
	if !ok {
		return
	}
	if s == nil {
		c.R.Null()
		return
	}
	var ms int64
	if expIdx > 0 {
		if ms, ok = expireMillis(c, expIdx, flags); !ok {
			return
		}
	}
	c.R.Bulk(s.B)
	switch {
	case flags&(optEXAT|optPXAT) != 0 && ms <= c.Now:
		// An absolute time already in the past deletes the key.
		c.DB.Delete(key)
		c.Dirty(1)
		c.PropagateStrings("DEL", key)
	case expIdx > 0:
		c.DB.SetExpire(key, ms)
		c.Dirty(1)
		c.PropagateStrings("PEXPIREAT", key, strconv.FormatInt(ms, 10))
	case flags&optPersist != 0:
		if e.Expire != 0 {
			c.DB.SetExpire(key, 0)
			c.Dirty(1)
			c.PropagateStrings("PERSIST", key)
		}
	}
}

func cmdGetDel(c *Ctx) {
	key := c.Arg(1)
	_, s, ok := lookupString(c, key)
	if !ok {
		return
	}
	if s == nil {
		c.R.Null()
		return
	}
	c.R.Bulk(s.B)
	c.DB.Delete(key)
	c.Dirty(1)
	c.PropagateStrings("DEL", key)
}

func cmdMGet(c *Ctx) {
	c.R.Array(len(c.Args) - 1)
	for _, k := range c.Args[1:] {
		e := c.Lookup(string(k))
		if e == nil {
			c.R.Null()
			continue
		}
		if s, ok := e.Value.(*store.String); ok {
			c.R.Bulk(s.B)
		} else {
			c.R.Null()
		}
	}
}

func msetGeneric(c *Ctx, nx bool) {
	if len(c.Args)%2 == 0 {
		c.ErrArity()
		return
	}
	if nx {
		for j := 1; j < len(c.Args); j += 2 {
			if c.Lookup(string(c.Args[j])) != nil {
				c.R.Int(0)
				return
			}
		}
	}
	for j := 1; j < len(c.Args); j += 2 {
		c.DB.Set(string(c.Args[j]), newString(c.Args[j+1]), 0)
	}
	c.Dirty((len(c.Args) - 1) / 2)
	if nx {
		c.R.Int(1)
	} else {
		c.R.OK()
	}
}

// incrDecr adds incr to the integer at argv[1], keeping its TTL.
func incrDecr(c *Ctx, incr int64) {
	key := c.Arg(1)
	e, s, ok := lookupString(c, key)
	if !ok {
		return
	}
	var value int64
	if s != nil {
		if value, ok = ParseInt(s.B); !ok {
			c.Error(ErrNotInt)
			return
		}
	}
	if (incr < 0 && value < 0 && incr < math.MinInt64-value) ||
		(incr > 0 && value > 0 && incr > math.MaxInt64-value) {
		c.Error(ErrOverflow)
		return
	}
	value += incr
	nv := &store.String{B: strconv.AppendInt(nil, value, 10)}
	if e != nil {
		e.Value = nv
	} else {
		c.DB.Set(key, nv, 0)
	}
	c.Dirty(1)
	c.R.Int(value)
}

func cmdIncrBy(c *Ctx) {
	incr, ok := c.ParseInt(2)
	if !ok {
		return
	}
	incrDecr(c, incr)
}

func cmdDecrBy(c *Ctx) {
	incr, ok := c.ParseInt(2)
	if !ok {
		return
	}
	if incr == math.MinInt64 {
		c.Error("ERR decrement would overflow")
		return
	}
	incrDecr(c, -incr)
}

func cmdIncrByFloat(c *Ctx) {
	key := c.Arg(1)
	e, s, ok := lookupString(c, key)
	if !ok {
		return
	}
	var value store.LongDouble
	if s != nil {
		if value, ok = store.ParseLongDouble(s.B); !ok {
			c.Error(ErrNotFloat)
			return
		}
	}
	incr, ok := store.ParseLongDouble(c.Args[2])
	if !ok {
		c.Error(ErrNotFloat)
		return
	}
	sum, ok := value.Add(incr)
	if !ok {
		c.Error("ERR increment would produce NaN or Infinity")
		return
	}
	out := sum.HumanString()
	nv := &store.String{B: []byte(out), NotInt: true}
	if e != nil {
		e.Value = nv
	} else {
		c.DB.Set(key, nv, 0)
	}
	c.Dirty(1)
	c.R.BulkString(out)
	// Replicas and the log get the result, never the float arithmetic.
	c.PropagateStrings("SET", key, out, "KEEPTTL")
}

func cmdAppend(c *Ctx) {
	key := c.Arg(1)
	_, s, ok := lookupString(c, key)
	if !ok {
		return
	}
	var total int
	if s == nil {
		c.DB.Set(key, newString(c.Args[2]), 0)
		total = len(c.Args[2])
	} else {
		if !checkStringLength(c, int64(len(s.B)), int64(len(c.Args[2]))) {
			return
		}
		s.B = append(s.B, c.Args[2]...)
		s.Raw = true
		total = len(s.B)
	}
	c.Dirty(1)
	c.R.Int(int64(total))
}

func cmdStrlen(c *Ctx) {
	_, s, ok := lookupString(c, c.Arg(1))
	if !ok {
		return
	}
	if s == nil {
		c.R.Int(0)
		return
	}
	c.R.Int(int64(len(s.B)))
}

func cmdGetRange(c *Ctx) {
	start, ok := c.ParseInt(2)
	if !ok {
		return
	}
	end, ok := c.ParseInt(3)
	if !ok {
		return
	}
	_, s, ok := lookupString(c, c.Arg(1))
	if !ok {
		return
	}
	if s == nil {
		c.R.BulkString("")
		return
	}
	strlen := int64(len(s.B))
	if start < 0 && end < 0 && start > end {
		c.R.BulkString("")
		return
	}
	if start < 0 {
		start += strlen
	}
	if end < 0 {
		end += strlen
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= strlen {
		end = strlen - 1
	}
	if start > end || strlen == 0 {
		c.R.BulkString("")
		return
	}
	c.R.Bulk(s.B[start : end+1])
}

func cmdSetRange(c *Ctx) {
	offset, ok := c.ParseInt(2)
	if !ok {
		return
	}
	if offset < 0 {
		c.Error("ERR offset is out of range")
		return
	}
	key := c.Arg(1)
	value := c.Args[3]
	_, s, ok := lookupString(c, key)
	if !ok {
		return
	}
	if s == nil {
		if len(value) == 0 {
			c.R.Int(0)
			return
		}
		if !checkStringLength(c, offset, int64(len(value))) {
			return
		}
		s = &store.String{B: make([]byte, offset+int64(len(value))), Raw: true}
		copy(s.B[offset:], value)
		c.DB.Set(key, s, 0)
		c.Dirty(1)
		c.R.Int(int64(len(s.B)))
		return
	}
	if len(value) == 0 {
		c.R.Int(int64(len(s.B)))
		return
	}
	if !checkStringLength(c, offset, int64(len(value))) {
		return
	}
	need := int(offset) + len(value)
	if need > len(s.B) {
		s.B = append(s.B, make([]byte, need-len(s.B))...)
	}
	copy(s.B[offset:], value)
	s.Raw = true
	c.Dirty(1)
	c.R.Int(int64(len(s.B)))
}

func cmdLCS(c *Ctx) {
	ea, eb := c.Lookup(c.Arg(1)), c.Lookup(c.Arg(2))
	var a, b []byte
	for i, e := range []*store.Entry{ea, eb} {
		if e == nil {
			continue
		}
		s, ok := e.Value.(*store.String)
		if !ok {
			c.Error("ERR The specified keys must contain string values")
			return
		}
		if i == 0 {
			a = s.B
		} else {
			b = s.B
		}
	}
	var getLen, getIdx, withMatchLen bool
	var minMatchLen int64
	for j := 3; j < len(c.Args); j++ {
		opt := strings.ToLower(string(c.Args[j]))
		more := len(c.Args) - 1 - j
		switch {
		case opt == "idx":
			getIdx = true
		case opt == "len":
			getLen = true
		case opt == "withmatchlen":
			withMatchLen = true
		case opt == "minmatchlen" && more > 0:
			v, ok := c.ParseInt(j + 1)
			if !ok {
				return
			}
			if v < 0 {
				v = 0
			}
			minMatchLen = v
			j++
		default:
			c.ErrSyntax()
			return
		}
	}
	if getLen && getIdx {
		c.Error("ERR If you want both the length and indexes, please just use IDX.")
		return
	}
	alen, blen := len(a), len(b)
	cells := uint64(alen+1) * uint64(blen+1)
	if cells*4 > uint64(c.Node().Config().ProtoMaxBulkLen) {
		c.Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
		return
	}
	// lcs[i*(blen+1)+j] is the LCS length of a[:i] and b[:j].
	lcs := make([]uint32, cells)
	at := func(i, j int) uint32 { return lcs[j+i*(blen+1)] }
	for i := 1; i <= alen; i++ {
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				lcs[j+i*(blen+1)] = at(i-1, j-1) + 1
			} else {
				l1, l2 := at(i-1, j), at(i, j-1)
				lcs[j+i*(blen+1)] = max(l1, l2)
			}
		}
	}
	total := at(alen, blen)
	if getLen {
		c.R.Int(int64(total))
		return
	}
	// Walk back from the end, building the LCS string and the ranges of
	// contiguous matches (emitted from the end of the strings backwards).
	type match struct{ a0, a1, b0, b1 int }
	var matches []match
	result := make([]byte, total)
	idx := int(total)
	aStart, aEnd, bStart, bEnd := alen, 0, 0, 0 // aStart == alen: no range
	i, j := alen, blen
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if aStart == alen {
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if at(i-1, j) > at(i, j-1) {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			if minMatchLen == 0 || int64(aEnd-aStart+1) >= minMatchLen {
				matches = append(matches, match{aStart, aEnd, bStart, bEnd})
			}
			aStart = alen
		}
	}
	if !getIdx {
		c.R.Bulk(result)
		return
	}
	c.R.Map(2)
	c.R.BulkString("matches")
	c.R.Array(len(matches))
	for _, m := range matches {
		if withMatchLen {
			c.R.Array(3)
		} else {
			c.R.Array(2)
		}
		c.R.Array(2)
		c.R.Int(int64(m.a0))
		c.R.Int(int64(m.a1))
		c.R.Array(2)
		c.R.Int(int64(m.b0))
		c.R.Int(int64(m.b1))
		if withMatchLen {
			c.R.Int(int64(m.a1 - m.a0 + 1))
		}
	}
	c.R.BulkString("len")
	c.R.Int(int64(total))
}
