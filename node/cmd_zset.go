package node

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/internal/glob"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/store"
)

// Sorted-set commands, following Redis 7.0's t_zset.c: argument checks in
// the same order, the same replies in RESP2 and RESP3, the same encoding
// transitions, and propagation of blocking and multi-key pops as plain
// ZPOPMIN/ZPOPMAX so a replayed log reproduces the same state.

const (
	errZNaN        = "ERR resulting score is not a number (NaN)"
	errZMinMax     = "ERR min or max is not a float"
	errZLexRange   = "ERR min or max not valid string range item"
	errZPositive   = "ERR value is out of range, must be positive"
	errZNumkeys    = "ERR numkeys should be greater than 0"
	errZCount      = "ERR count should be greater than 0"
	errZWeight     = "ERR weight value is not a float"
	errZLimitNeg   = "ERR LIMIT can't be negative"
	errZOutOfRange = "ERR value is out of range"
)

func zsetCommands() []*Command {
	const g = "sorted-set"
	rd := []string{"read", "sortedset", "fast"}
	rs := []string{"read", "sortedset", "slow"}
	wf := []string{"write", "sortedset", "fast"}
	ws := []string{"write", "sortedset", "slow"}
	one := func(name string, arity int, flags CmdFlag, cats []string, since, summary string, h func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1,
			Categories: cats, Summary: summary, Since: since, Group: g, Handler: h}
	}
	numkeys := func(name string, arity int, flags CmdFlag, cats []string, since, summary string, h func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Keys: zNumkeysKeys(1),
			Categories: cats, Summary: summary, Since: since, Group: g, Handler: h}
	}
	store3 := func(name, since, summary string, h func(*Ctx)) *Command {
		return &Command{Name: name, Arity: -4, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 1, Step: 1,
			Keys: zStoreKeys, Categories: ws, Summary: summary, Since: since, Group: g, Handler: h}
	}
	return []*Command{
		one("zadd", -4, FlagWrite|FlagDenyOOM|FlagFast, wf, "1.2.0",
			"Add one or more members to a sorted set, or update its score if it already exists",
			func(c *Ctx) { zaddGeneric(c, false) }),
		one("zincrby", 4, FlagWrite|FlagDenyOOM|FlagFast, wf, "1.2.0",
			"Increment the score of a member in a sorted set", func(c *Ctx) { zaddGeneric(c, true) }),
		one("zrem", -3, FlagWrite|FlagFast, wf, "1.2.0", "Remove one or more members from a sorted set", cmdZrem),
		one("zcard", 2, FlagReadonly|FlagFast, rd, "1.2.0", "Get the number of members in a sorted set", cmdZcard),
		one("zcount", 4, FlagReadonly|FlagFast, rd, "2.0.0",
			"Count the members in a sorted set with scores within the given values", cmdZcount),
		one("zlexcount", 4, FlagReadonly|FlagFast, rd, "2.8.9",
			"Count the number of members in a sorted set between a given lexicographical range", cmdZlexcount),
		one("zscore", 3, FlagReadonly|FlagFast, rd, "1.2.0",
			"Get the score associated with the given member in a sorted set", cmdZscore),
		one("zmscore", -3, FlagReadonly|FlagFast, rd, "6.2.0",
			"Get the score associated with the given members in a sorted set", cmdZmscore),
		one("zrank", 3, FlagReadonly|FlagFast, rd, "2.0.0",
			"Determine the index of a member in a sorted set", func(c *Ctx) { zrankGeneric(c, false) }),
		one("zrevrank", 3, FlagReadonly|FlagFast, rd, "2.0.0",
			"Determine the index of a member in a sorted set, with scores ordered from high to low",
			func(c *Ctx) { zrankGeneric(c, true) }),
		one("zrange", -4, FlagReadonly, rs, "1.2.0", "Return a range of members in a sorted set",
			func(c *Ctx) { zrangeGeneric(c, 1, false, zrangeAuto, zdirAuto) }),
		one("zrangebyscore", -4, FlagReadonly, rs, "1.0.5", "Return a range of members in a sorted set, by score",
			func(c *Ctx) { zrangeGeneric(c, 1, false, zrangeScore, zdirForward) }),
		one("zrevrangebyscore", -4, FlagReadonly, rs, "2.2.0",
			"Return a range of members in a sorted set, by score, with scores ordered from high to low",
			func(c *Ctx) { zrangeGeneric(c, 1, false, zrangeScore, zdirReverse) }),
		one("zrangebylex", -4, FlagReadonly, rs, "2.8.9",
			"Return a range of members in a sorted set, by lexicographical range",
			func(c *Ctx) { zrangeGeneric(c, 1, false, zrangeLex, zdirForward) }),
		one("zrevrangebylex", -4, FlagReadonly, rs, "2.8.9",
			"Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
			func(c *Ctx) { zrangeGeneric(c, 1, false, zrangeLex, zdirReverse) }),
		one("zrevrange", -4, FlagReadonly, rs, "1.2.0",
			"Return a range of members in a sorted set, by index, with scores ordered from high to low",
			func(c *Ctx) { zrangeGeneric(c, 1, false, zrangeRank, zdirReverse) }),
		{Name: "zrangestore", Arity: -5, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 2, Step: 1,
			Categories: ws, Summary: "Store a range of members from sorted set into another key", Since: "6.2.0", Group: g,
			Handler: func(c *Ctx) { zrangeGeneric(c, 2, true, zrangeAuto, zdirAuto) }},
		one("zremrangebyrank", 4, FlagWrite, ws, "2.0.0",
			"Remove all members in a sorted set within the given indexes", func(c *Ctx) { zremrangeGeneric(c, zrangeRank) }),
		one("zremrangebyscore", 4, FlagWrite, ws, "1.2.0",
			"Remove all members in a sorted set within the given scores", func(c *Ctx) { zremrangeGeneric(c, zrangeScore) }),
		one("zremrangebylex", 4, FlagWrite, ws, "2.8.9",
			"Remove all members in a sorted set between the given lexicographical range",
			func(c *Ctx) { zremrangeGeneric(c, zrangeLex) }),
		one("zpopmin", -2, FlagWrite|FlagFast, wf, "5.0.0",
			"Remove and return members with the lowest scores in a sorted set", func(c *Ctx) { zpopMinMax(c, false) }),
		one("zpopmax", -2, FlagWrite|FlagFast, wf, "5.0.0",
			"Remove and return members with the highest scores in a sorted set", func(c *Ctx) { zpopMinMax(c, true) }),
		{Name: "bzpopmin", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking | FlagFast, FirstKey: 1, LastKey: -2, Step: 1,
			Categories: []string{"write", "sortedset", "fast", "blocking"}, Since: "5.0.0", Group: g,
			Summary: "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
			Handler: func(c *Ctx) { bzpopMinMax(c, false) }},
		{Name: "bzpopmax", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking | FlagFast, FirstKey: 1, LastKey: -2, Step: 1,
			Categories: []string{"write", "sortedset", "fast", "blocking"}, Since: "5.0.0", Group: g,
			Summary: "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
			Handler: func(c *Ctx) { bzpopMinMax(c, true) }},
		{Name: "zmpop", Arity: -4, Flags: FlagWrite, Keys: zNumkeysKeys(1), Categories: ws, Since: "7.0.0", Group: g,
			Summary: "Remove and return members with scores in a sorted set", Handler: func(c *Ctx) { zmpopGeneric(c, 1, false) }},
		{Name: "bzmpop", Arity: -5, Flags: FlagWrite | FlagBlocking, Keys: zNumkeysKeys(2), Since: "7.0.0", Group: g,
			Categories: []string{"write", "sortedset", "slow", "blocking"},
			Summary:    "Remove and return members with scores in a sorted set or block until one is available",
			Handler:    func(c *Ctx) { zmpopGeneric(c, 2, true) }},
		one("zrandmember", -2, FlagReadonly, rs, "6.2.0", "Get one or multiple random elements from a sorted set", cmdZrandmember),
		numkeys("zunion", -3, FlagReadonly, rs, "6.2.0", "Add multiple sorted sets",
			func(c *Ctx) { zsetOpGeneric(c, false, 1, zopUnion, false) }),
		numkeys("zinter", -3, FlagReadonly, rs, "6.2.0", "Intersect multiple sorted sets",
			func(c *Ctx) { zsetOpGeneric(c, false, 1, zopInter, false) }),
		numkeys("zdiff", -3, FlagReadonly, rs, "6.2.0", "Subtract multiple sorted sets",
			func(c *Ctx) { zsetOpGeneric(c, false, 1, zopDiff, false) }),
		store3("zunionstore", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key",
			func(c *Ctx) { zsetOpGeneric(c, true, 2, zopUnion, false) }),
		store3("zinterstore", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key",
			func(c *Ctx) { zsetOpGeneric(c, true, 2, zopInter, false) }),
		store3("zdiffstore", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key",
			func(c *Ctx) { zsetOpGeneric(c, true, 2, zopDiff, false) }),
		numkeys("zintercard", -3, FlagReadonly, rs, "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result",
			func(c *Ctx) { zsetOpGeneric(c, false, 1, zopInter, true) }),
		one("zscan", -3, FlagReadonly, rs, "2.8.0", "Incrementally iterate sorted sets elements and associated scores", cmdZscan),
	}
}

// zNumkeysKeys returns the key positions of a command whose numkeys
// argument is at idx and whose keys follow it.
func zNumkeysKeys(idx int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if idx >= len(args) {
			return nil
		}
		n, ok := ParseInt(args[idx])
		if !ok || n <= 0 || n > int64(len(args)-idx-1) {
			return nil
		}
		out := make([]int, 0, n)
		for i := idx + 1; i <= idx+int(n); i++ {
			out = append(out, i)
		}
		return out
	}
}

// zStoreKeys: destination, then numkeys source keys (Z*STORE).
func zStoreKeys(args [][]byte) []int {
	if len(args) < 2 {
		return nil
	}
	return append([]int{1}, zNumkeysKeys(2)(args)...)
}

// ---- argument parsing -------------------------------------------------

// zStrtod parses s as C's strtod in the C locale must consume all of it:
// optional leading white space, sign, decimal or hexadecimal digits with an
// optional exponent, "inf"/"infinity", "nan". ok reports that the whole
// string was consumed (an empty string is accepted as 0, as strtod leaves
// the end pointer on the terminator). rangeErr reports strtod's ERANGE: an
// overflow, or an underflow to zero of a non-zero literal.
func zStrtod(s string) (v float64, ok, rangeErr bool) {
	if s == "" {
		return 0, true, false
	}
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	body := s[i:]
	if body == "" {
		return 0, false, false
	}
	neg := false
	j := 0
	if body[0] == '+' || body[0] == '-' {
		neg = body[0] == '-'
		j = 1
	}
	rest := body[j:]
	low := strings.ToLower(rest)
	switch {
	case low == "inf" || low == "infinity":
		if neg {
			return math.Inf(-1), true, false
		}
		return math.Inf(1), true, false
	case strings.HasPrefix(low, "nan"):
		tail := low[3:]
		if tail == "" {
			return math.NaN(), true, false
		}
		if tail[0] == '(' && tail[len(tail)-1] == ')' {
			for k := 1; k < len(tail)-1; k++ {
				ch := tail[k]
				if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_') {
					return 0, false, false
				}
			}
			return math.NaN(), true, false
		}
		return 0, false, false
	}
	hex := len(low) > 2 && low[0] == '0' && low[1] == 'x' && zHexBody(low[2:])
	if !hex && !zDecBody(low) {
		return 0, false, false
	}
	lit := rest
	if hex && !strings.ContainsAny(low, "p") {
		lit += "p0"
	}
	if neg {
		lit = "-" + lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true, true
		}
		return 0, false, false
	}
	if f == 0 && zNonZeroMantissa(low, hex) {
		return f, true, true
	}
	return f, true, false
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// zDecBody reports whether s is digits[.digits][e[sign]digits] with at
// least one mantissa digit.
func zDecBody(s string) bool {
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && s[i] == 'e' {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// zHexBody reports whether s (after "0x") is hexdigits[.hexdigits][p[sign]digits].
func zHexBody(s string) bool {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
	i, digits := 0, 0
	for i < len(s) && isHex(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isHex(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && s[i] == 'p' {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// zNonZeroMantissa reports whether a numeric literal has a non-zero digit
// before its exponent.
func zNonZeroMantissa(low string, hex bool) bool {
	if hex {
		low = low[2:]
	}
	for i := 0; i < len(low); i++ {
		c := low[i]
		if (!hex && c == 'e') || (hex && c == 'p') {
			break
		}
		if c >= '1' && c <= '9' || (hex && c >= 'a' && c <= 'f') {
			return true
		}
	}
	return false
}

// zParseDouble parses a score, increment or weight as Redis's
// getDoubleFromObject: the whole string, no leading space, no NaN, no
// overflow or underflow to zero.
func zParseDouble(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	v, ok, rangeErr := zStrtod(string(b))
	if !ok || math.IsNaN(v) || (rangeErr && (math.IsInf(v, 0) || v == 0)) {
		return 0, false
	}
	return v, true
}

// zParseRangeItem parses one end of a score range: "(1.5", "-inf", "3".
func zParseRangeItem(b []byte) (v float64, ex, ok bool) {
	s := string(b)
	if strings.HasPrefix(s, "(") {
		s, ex = s[1:], true
	}
	v, ok, _ = zStrtod(s)
	if !ok || math.IsNaN(v) {
		return 0, false, false
	}
	return v, ex, true
}

// zParseScoreRange parses min and max as zslParseRange.
func zParseScoreRange(minArg, maxArg []byte) (store.ScoreRange, bool) {
	var r store.ScoreRange
	var ok bool
	if r.Min, r.MinEx, ok = zParseRangeItem(minArg); !ok {
		return r, false
	}
	if r.Max, r.MaxEx, ok = zParseRangeItem(maxArg); !ok {
		return r, false
	}
	return r, true
}

func zParseLexItem(b []byte) (store.LexBound, bool) {
	if len(b) == 0 {
		return store.LexBound{}, false
	}
	switch b[0] {
	case '+':
		return store.LexBound{Inf: 1, Ex: true}, len(b) == 1
	case '-':
		return store.LexBound{Inf: -1, Ex: true}, len(b) == 1
	case '(':
		return store.LexBound{S: string(b[1:]), Ex: true}, true
	case '[':
		return store.LexBound{S: string(b[1:])}, true
	}
	return store.LexBound{}, false
}

// zParseLexRange parses min and max as zslParseLexRange.
func zParseLexRange(minArg, maxArg []byte) (store.LexRange, bool) {
	lo, ok1 := zParseLexItem(minArg)
	hi, ok2 := zParseLexItem(maxArg)
	return store.LexRange{Min: lo, Max: hi}, ok1 && ok2
}

// zParsePositive parses a non-negative count as getPositiveLongFromObject
// with msg as the error for both non-integers and negative values.
func zParsePositive(c *Ctx, b []byte, msg string) (int64, bool) {
	v, ok := ParseInt(b)
	if !ok || v < 0 {
		c.Error(msg)
		return 0, false
	}
	return v, true
}

// zParseRange1 parses an integer that must be at least 1
// (getRangeLongFromObjectOrReply with 1..LONG_MAX and a message).
func zParseRange1(c *Ctx, b []byte, msg string) (int64, bool) {
	v, ok := ParseInt(b)
	if !ok || v < 1 {
		c.Error(msg)
		return 0, false
	}
	return v, true
}

// zParseTimeout parses a blocking timeout in seconds as Redis 7.0's
// getTimeoutFromObjectOrReply: a long double, truncated to milliseconds.
// It returns the wait (0 = forever).
func zParseTimeout(c *Ctx, b []byte) (time.Duration, bool) {
	v, ok, _ := zStrtod(string(b))
	if len(b) == 0 || isCSpace(b[0]) || !ok || math.IsNaN(v) {
		c.Error(ErrTimeout)
		return 0, false
	}
	ms := v * 1000
	// Converting an out-of-range value to long long yields LLONG_MIN on the
	// platforms Redis runs on, which then reads as negative.
	if ms < 0 && ms > -1 {
		ms = 0
	}
	if ms < 0 || ms >= 1<<63 || math.IsInf(ms, 0) {
		c.Error(ErrTimeoutNeg)
		return 0, false
	}
	tval := int64(ms)
	if tval > int64(math.MaxInt64/time.Millisecond) {
		return 0, true // longer than time.Duration can express: forever
	}
	return time.Duration(tval) * time.Millisecond, true
}

// ---- helpers ------------------------------------------------------------

// zLookup returns the sorted set at key, nil when missing; ok is false
// (WRONGTYPE written) when the key holds another type.
func zLookup(c *Ctx, key []byte) (z *store.ZSet, ok bool) {
	e := c.Lookup(string(key))
	if e == nil {
		return nil, true
	}
	z, isZ := e.Value.(*store.ZSet)
	if !isZ {
		c.ErrWrongType()
		return nil, false
	}
	return z, true
}

// zDeleteIfEmpty removes key when z became empty, as Redis does for every
// aggregate type.
func zDeleteIfEmpty(c *Ctx, key []byte, z *store.ZSet) {
	if z.Len() == 0 {
		c.DB.Delete(string(key))
	}
}

func zResp3(c *Ctx) bool { return c.R.resp3 }

// zReplyPairsHeader writes the array header for n member/score pairs:
// flat (2n) in RESP2, n nested pairs in RESP3, n members without scores.
func zReplyPairsHeader(c *Ctx, n int, withScores bool) {
	if withScores && !zResp3(c) {
		c.R.Array(2 * n)
	} else {
		c.R.Array(n)
	}
}

func zReplyPair(c *Ctx, member string, score float64, withScores bool) {
	if withScores && zResp3(c) {
		c.R.Array(2)
	}
	c.R.BulkString(member)
	if withScores {
		c.R.Double(score)
	}
}

// ---- ZADD / ZINCRBY -----------------------------------------------------

func zaddGeneric(c *Ctx, incr bool) {
	var nx, xx, gt, lt, ch bool
	scoreIdx := 2
	for ; scoreIdx < len(c.Args); scoreIdx++ {
		switch strings.ToLower(string(c.Args[scoreIdx])) {
		case "nx":
			nx = true
		case "xx":
			xx = true
		case "ch":
			ch = true
		case "incr":
			incr = true
		case "gt":
			gt = true
		case "lt":
			lt = true
		default:
			goto parsed
		}
	}
parsed:
	elements := len(c.Args) - scoreIdx
	if elements%2 != 0 || elements == 0 {
		c.ErrSyntax()
		return
	}
	elements /= 2
	if nx && xx {
		c.Error("ERR XX and NX options at the same time are not compatible")
		return
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		c.Error("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if incr && elements > 1 {
		c.Error("ERR INCR option supports a single increment-element pair")
		return
	}
	scores := make([]float64, elements)
	for j := range scores {
		v, ok := zParseDouble(c.Args[scoreIdx+2*j])
		if !ok {
			c.Error(ErrNotFloat)
			return
		}
		scores[j] = v
	}
	key := c.Args[1]
	z, ok := zLookup(c, key)
	if !ok {
		return
	}
	added, updated, processed := 0, 0, 0
	var score float64
	if z == nil {
		if xx {
			goto reply
		}
		lim := c.Limits()
		z = store.NewZSetFor(lim, len(c.Args[scoreIdx+1]))
		c.DB.Set(string(key), z, 0)
	}
	{
		lim := c.Limits()
		for j := 0; j < elements; j++ {
			member := c.Args[scoreIdx+1+2*j]
			s := scores[j]
			cur, exists := z.Score(string(member))
			if exists {
				if nx {
					continue
				}
				if incr {
					s += cur
					if math.IsNaN(s) {
						c.Error(errZNaN)
						zDeleteIfEmpty(c, key, z)
						return
					}
				}
				if (lt && s >= cur) || (gt && s <= cur) {
					continue
				}
				if s != cur {
					z.SetScore(string(member), s)
					updated++
				}
				processed++
				score = s
			} else if !xx {
				z.Insert(string(member), s, lim)
				added++
				processed++
				score = s
			}
		}
		c.Dirty(added + updated)
		zDeleteIfEmpty(c, key, z)
	}
reply:
	if incr {
		if processed > 0 {
			c.R.Double(score)
		} else {
			c.R.Null()
		}
		return
	}
	if ch {
		c.R.Int(int64(added + updated))
	} else {
		c.R.Int(int64(added))
	}
}

// ---- simple reads and ZREM ----------------------------------------------

func cmdZrem(c *Ctx) {
	key := c.Args[1]
	z, ok := zLookup(c, key)
	if !ok {
		return
	}
	if z == nil {
		c.R.Int(0)
		return
	}
	deleted := 0
	for _, m := range c.Args[2:] {
		if z.Delete(string(m)) {
			deleted++
		}
		if z.Len() == 0 {
			c.DB.Delete(string(key))
			break
		}
	}
	c.Dirty(deleted)
	c.R.Int(int64(deleted))
}

func cmdZcard(c *Ctx) {
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.R.Int(0)
		return
	}
	c.R.Int(int64(z.Len()))
}

func cmdZcount(c *Ctx) {
	r, ok := zParseScoreRange(c.Args[2], c.Args[3])
	if !ok {
		c.Error(errZMinMax)
		return
	}
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.R.Int(0)
		return
	}
	c.R.Int(int64(z.CountInRange(r)))
}

func cmdZlexcount(c *Ctx) {
	r, ok := zParseLexRange(c.Args[2], c.Args[3])
	if !ok {
		c.Error(errZLexRange)
		return
	}
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.R.Int(0)
		return
	}
	c.R.Int(int64(z.CountInLexRange(r)))
}

func cmdZscore(c *Ctx) {
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.R.Null()
		return
	}
	if s, ok := z.Score(string(c.Args[2])); ok {
		c.R.Double(s)
	} else {
		c.R.Null()
	}
}

func cmdZmscore(c *Ctx) {
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	c.R.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if z == nil {
			c.R.Null()
			continue
		}
		if s, ok := z.Score(string(m)); ok {
			c.R.Double(s)
		} else {
			c.R.Null()
		}
	}
}

func zrankGeneric(c *Ctx, reverse bool) {
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.R.Null()
		return
	}
	if r, ok := z.Rank(string(c.Args[2]), reverse); ok {
		c.R.Int(int64(r))
	} else {
		c.R.Null()
	}
}

// ---- ZRANGE family ------------------------------------------------------

type zrangeType int

const (
	zrangeAuto zrangeType = iota
	zrangeRank
	zrangeScore
	zrangeLex
)

type zrangeDir int

const (
	zdirAuto zrangeDir = iota
	zdirForward
	zdirReverse
)

// zrangeSink receives the elements of a range: the client reply (ZRANGE
// and friends) or a new sorted set (ZRANGESTORE).
type zrangeSink struct {
	c          *Ctx
	withScores bool
	store      bool
	dst        *store.ZSet
	lim        store.Limits
	members    []string
	scores     []float64
}

func (s *zrangeSink) emit(member string, score float64) {
	if s.store {
		s.dst.Insert(member, score, s.lim)
		return
	}
	s.members = append(s.members, member)
	s.scores = append(s.scores, score)
}

// finish writes the reply (and, for ZRANGESTORE, stores the result).
func (s *zrangeSink) finish(dstKey []byte) {
	c := s.c
	if !s.store {
		zReplyPairsHeader(c, len(s.members), s.withScores)
		for i, m := range s.members {
			zReplyPair(c, m, s.scores[i], s.withScores)
		}
		return
	}
	if s.dst.Len() > 0 {
		c.DB.Set(string(dstKey), s.dst, 0)
		c.R.Int(int64(s.dst.Len()))
		c.Dirty(1)
		return
	}
	c.R.Int(0)
	if c.DB.Delete(string(dstKey)) != nil {
		c.Dirty(1)
	}
}

// zrangeGeneric implements ZRANGE, ZRANGESTORE and the older
// Z[REV]RANGE[BYSCORE|BYLEX] commands, as zrangeGenericCommand. argStart
// is the position of the source key.
func zrangeGeneric(c *Ctx, argStart int, isStore bool, rt zrangeType, dir zrangeDir) {
	key := c.Args[argStart]
	minIdx, maxIdx := argStart+1, argStart+2
	withScores := false
	var offset, limit int64 = 0, -1
	for j := argStart + 3; j < len(c.Args); j++ {
		left := len(c.Args) - j - 1
		arg := c.Args[j]
		switch {
		case !isStore && strings.EqualFold(string(arg), "withscores"):
			withScores = true
		case strings.EqualFold(string(arg), "limit") && left >= 2:
			var ok bool
			if offset, ok = c.ParseInt(j + 1); !ok {
				return
			}
			if limit, ok = c.ParseInt(j + 2); !ok {
				return
			}
			j += 2
		case dir == zdirAuto && strings.EqualFold(string(arg), "rev"):
			dir = zdirReverse
		case rt == zrangeAuto && strings.EqualFold(string(arg), "bylex"):
			rt = zrangeLex
		case rt == zrangeAuto && strings.EqualFold(string(arg), "byscore"):
			rt = zrangeScore
		default:
			c.ErrSyntax()
			return
		}
	}
	if dir == zdirAuto {
		dir = zdirForward
	}
	if rt == zrangeAuto {
		rt = zrangeRank
	}
	if limit != -1 && rt == zrangeRank {
		c.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && rt == zrangeLex {
		c.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	reverse := dir == zdirReverse
	if reverse && (rt == zrangeScore || rt == zrangeLex) {
		minIdx, maxIdx = maxIdx, minIdx
	}
	var start, end int64
	var sr store.ScoreRange
	var lr store.LexRange
	switch rt {
	case zrangeRank:
		var ok bool
		if start, ok = c.ParseInt(minIdx); !ok {
			return
		}
		if end, ok = c.ParseInt(maxIdx); !ok {
			return
		}
	case zrangeScore:
		var ok bool
		if sr, ok = zParseScoreRange(c.Args[minIdx], c.Args[maxIdx]); !ok {
			c.Error(errZMinMax)
			return
		}
	case zrangeLex:
		var ok bool
		if lr, ok = zParseLexRange(c.Args[minIdx], c.Args[maxIdx]); !ok {
			c.Error(errZLexRange)
			return
		}
	}
	sink := &zrangeSink{c: c, withScores: withScores || isStore, store: isStore}
	if isStore {
		sink.lim = c.Limits()
		sink.dst = store.NewZSet(true)
	}
	z, ok := zLookup(c, key)
	if !ok {
		return
	}
	if z == nil {
		if isStore {
			sink.finish(c.Args[1])
		} else {
			c.R.Array(0)
		}
		return
	}
	switch rt {
	case zrangeRank:
		zrangeByRank(sink, z, start, end, reverse)
	case zrangeScore:
		zrangeByScore(sink, z, sr, offset, limit, reverse)
	case zrangeLex:
		zrangeByLex(sink, z, lr, offset, limit, reverse)
	}
	sink.finish(c.Args[1])
}

func zrangeByRank(sink *zrangeSink, z *store.ZSet, start, end int64, reverse bool) {
	n := int64(z.Len())
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= n {
		return
	}
	if end >= n {
		end = n - 1
	}
	count := end - start + 1
	var x *store.ZElem
	if reverse {
		x = z.ByRank(int(n - 1 - start))
	} else {
		x = z.ByRank(int(start))
	}
	for ; count > 0 && x != nil; count-- {
		sink.emit(x.Member(), x.Score())
		if reverse {
			x = x.Prev()
		} else {
			x = x.Next()
		}
	}
}

// zrangeWalk skips offset elements from x, then emits up to limit
// elements (all when negative) while inRange holds. A negative offset
// skips everything, as Redis's "while (offset--)" loop does.
func zrangeWalk(sink *zrangeSink, x *store.ZElem, offset, limit int64, reverse bool, inRange func(*store.ZElem) bool) {
	step := func(e *store.ZElem) *store.ZElem {
		if reverse {
			return e.Prev()
		}
		return e.Next()
	}
	if offset < 0 {
		return
	}
	for ; x != nil && offset > 0; offset-- {
		x = step(x)
	}
	for ; x != nil && limit != 0; limit-- {
		if !inRange(x) {
			break
		}
		sink.emit(x.Member(), x.Score())
		x = step(x)
	}
}

func zrangeByScore(sink *zrangeSink, z *store.ZSet, r store.ScoreRange, offset, limit int64, reverse bool) {
	if offset > 0 && offset >= int64(z.Len()) {
		return
	}
	if reverse {
		zrangeWalk(sink, z.LastInRange(r), offset, limit, true, func(e *store.ZElem) bool { return r.GteMin(e.Score()) })
	} else {
		zrangeWalk(sink, z.FirstInRange(r), offset, limit, false, func(e *store.ZElem) bool { return r.LteMax(e.Score()) })
	}
}

func zrangeByLex(sink *zrangeSink, z *store.ZSet, r store.LexRange, offset, limit int64, reverse bool) {
	if reverse {
		zrangeWalk(sink, z.LastInLexRange(r), offset, limit, true, func(e *store.ZElem) bool { return r.GteMin(e.Member()) })
	} else {
		zrangeWalk(sink, z.FirstInLexRange(r), offset, limit, false, func(e *store.ZElem) bool { return r.LteMax(e.Member()) })
	}
}

// ---- ZREMRANGEBY* ---------------------------------------------------------

func zremrangeGeneric(c *Ctx, rt zrangeType) {
	key := c.Args[1]
	var start, end int64
	var sr store.ScoreRange
	var lr store.LexRange
	switch rt {
	case zrangeRank:
		var ok bool
		if start, ok = c.ParseInt(2); !ok {
			return
		}
		if end, ok = c.ParseInt(3); !ok {
			return
		}
	case zrangeScore:
		var ok bool
		if sr, ok = zParseScoreRange(c.Args[2], c.Args[3]); !ok {
			c.Error(errZMinMax)
			return
		}
	case zrangeLex:
		var ok bool
		if lr, ok = zParseLexRange(c.Args[2], c.Args[3]); !ok {
			c.Error(errZLexRange)
			return
		}
	}
	z, ok := zLookup(c, key)
	if !ok {
		return
	}
	if z == nil {
		c.R.Int(0)
		return
	}
	deleted := 0
	switch rt {
	case zrangeRank:
		n := int64(z.Len())
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		if start < 0 {
			start = 0
		}
		if start > end || start >= n {
			c.R.Int(0)
			return
		}
		if end >= n {
			end = n - 1
		}
		deleted = z.DeleteRangeByRank(int(start), int(end))
	case zrangeScore:
		deleted = z.DeleteRangeByScore(sr)
	case zrangeLex:
		deleted = z.DeleteRangeByLex(lr)
	}
	zDeleteIfEmpty(c, key, z)
	c.Dirty(deleted)
	c.R.Int(int64(deleted))
}

// ---- pops ---------------------------------------------------------------

// zpopOpts selects the reply shape of genericZpopCommand.
type zpopOpts struct {
	max        bool
	emitKey    bool
	nested     bool
	nilIfEmpty bool
}

// zpopGeneric pops up to count elements (-1: a single pop) from the first
// existing key among keys, as genericZpopCommand. It returns the key
// popped from and how many elements were removed (0 when none).
func zpopGeneric(c *Ctx, keys [][]byte, count int64, o zpopOpts) (popped []byte, n int) {
	var z *store.ZSet
	var key []byte
	for _, k := range keys {
		var ok bool
		if z, ok = zLookup(c, k); !ok {
			return nil, 0
		}
		if z != nil {
			key = k
			break
		}
	}
	if z == nil {
		if o.nilIfEmpty {
			c.R.NullArray()
		} else {
			c.R.Array(0)
		}
		return nil, 0
	}
	if count == 0 {
		c.R.Array(0)
		return nil, 0
	}
	if count == -1 {
		count = 1
	}
	rangeLen := int64(z.Len())
	if count < rangeLen {
		rangeLen = count
	}
	switch {
	case !o.nested && !o.emitKey:
		c.R.Array(int(rangeLen) * 2)
	case o.nested && !o.emitKey:
		c.R.Array(int(rangeLen))
	case !o.nested && o.emitKey:
		c.R.Array(int(rangeLen)*2 + 1)
		c.R.Bulk(key)
	default:
		c.R.Array(2)
		c.R.Bulk(key)
		c.R.Array(int(rangeLen))
	}
	for i := int64(0); i < rangeLen; i++ {
		var x *store.ZElem
		if o.max {
			x = z.Last()
		} else {
			x = z.First()
		}
		member, score := x.Member(), x.Score()
		z.Delete(member)
		if o.nested {
			c.R.Array(2)
		}
		c.R.BulkString(member)
		c.R.Double(score)
	}
	zDeleteIfEmpty(c, key, z)
	c.Dirty(int(rangeLen))
	return key, int(rangeLen)
}

func zpopName(max bool) string {
	if max {
		return "ZPOPMAX"
	}
	return "ZPOPMIN"
}

func zpopMinMax(c *Ctx, max bool) {
	if len(c.Args) > 3 {
		c.ErrSyntax()
		return
	}
	count := int64(-1)
	if len(c.Args) == 3 {
		var ok bool
		if count, ok = zParsePositive(c, c.Args[2], errZPositive); !ok {
			return
		}
	}
	zpopGeneric(c, c.Args[1:2], count, zpopOpts{max: max, nested: zResp3(c) && count != -1})
}

// zblockingPop implements blockingGenericZpopCommand once the timeout is
// parsed: pop from the first non-empty key, or block on all of them.
func zblockingPop(c *Ctx, keys [][]byte, max bool, timeout time.Duration, count int64, nested bool) {
	o := zpopOpts{max: max, emitKey: true, nested: nested, nilIfEmpty: nested}
	for _, k := range keys {
		z, ok := zLookup(c, k)
		if !ok {
			return
		}
		if z == nil || z.Len() == 0 {
			continue
		}
		zpopServe(c, k, count, o)
		return
	}
	if c.InMulti() {
		c.R.NullArray()
		return
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = string(k)
	}
	c.Block(names, timeout, func(c *Ctx) bool {
		key := []byte(c.ReadyKey())
		e := c.Lookup(string(key))
		if e == nil {
			return false
		}
		if z, ok := e.Value.(*store.ZSet); !ok || z.Len() == 0 {
			return false
		}
		zpopServe(c, key, count, o)
		return true
	}, func(c *Ctx) { c.R.NullArray() })
}

// zpopServe pops from key (known to hold a non-empty sorted set) and
// propagates the pop as ZPOPMIN/ZPOPMAX, with the effective count when
// one was given.
func zpopServe(c *Ctx, key []byte, count int64, o zpopOpts) {
	_, n := zpopGeneric(c, [][]byte{key}, count, o)
	if count == -1 {
		c.PropagateStrings(zpopName(o.max), string(key))
	} else {
		c.PropagateStrings(zpopName(o.max), string(key), strconv.Itoa(n))
	}
}

func bzpopMinMax(c *Ctx, max bool) {
	timeout, ok := zParseTimeout(c, c.Args[len(c.Args)-1])
	if !ok {
		return
	}
	zblockingPop(c, c.Args[1:len(c.Args)-1], max, timeout, -1, false)
}

// zmpopGeneric implements ZMPOP (numkeys at 1) and BZMPOP (timeout at 1,
// numkeys at 2).
func zmpopGeneric(c *Ctx, numkeysIdx int, blocking bool) {
	numkeys, ok := zParseRange1(c, c.Args[numkeysIdx], errZNumkeys)
	if !ok {
		return
	}
	if numkeys >= int64(len(c.Args)-numkeysIdx-1) {
		c.ErrSyntax()
		return
	}
	whereIdx := numkeysIdx + int(numkeys) + 1
	var max bool
	switch strings.ToLower(string(c.Args[whereIdx])) {
	case "min":
	case "max":
		max = true
	default:
		c.ErrSyntax()
		return
	}
	count := int64(-1)
	for j := whereIdx + 1; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		if count == -1 && strings.EqualFold(string(c.Args[j]), "count") && more > 0 {
			j++
			if count, ok = zParseRange1(c, c.Args[j], errZCount); !ok {
				return
			}
			continue
		}
		c.ErrSyntax()
		return
	}
	if count == -1 {
		count = 1
	}
	keys := c.Args[numkeysIdx+1 : whereIdx]
	if blocking {
		timeout, ok := zParseTimeout(c, c.Args[1])
		if !ok {
			return
		}
		zblockingPop(c, keys, max, timeout, count, true)
		return
	}
	key, n := zpopGeneric(c, keys, count, zpopOpts{max: max, emitKey: true, nested: true, nilIfEmpty: true})
	if n > 0 {
		c.PropagateStrings(zpopName(max), string(key), strconv.Itoa(n))
	}
}

// ---- ZRANDMEMBER ----------------------------------------------------------

// zrandSubStrategyMul: below this ratio of set size to count, ZRANDMEMBER
// copies the set and removes random elements instead of picking them.
const zrandSubStrategyMul = 3

func cmdZrandmember(c *Ctx) {
	if len(c.Args) >= 3 {
		l, ok := ParseInt(c.Args[2])
		if !ok {
			c.Error(ErrNotInt)
			return
		}
		if l < -math.MaxInt64 {
			c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
			return
		}
		withScores := false
		if len(c.Args) > 4 || (len(c.Args) == 4 && !strings.EqualFold(string(c.Args[3]), "withscores")) {
			c.ErrSyntax()
			return
		} else if len(c.Args) == 4 {
			withScores = true
			if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
				c.Error(errZOutOfRange)
				return
			}
		}
		zrandmemberWithCount(c, l, withScores)
		return
	}
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.R.Null()
		return
	}
	c.R.BulkString(z.Random(rand.IntN).Member())
}

func zrandmemberWithCount(c *Ctx, l int64, withScores bool) {
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.R.Array(0)
		return
	}
	size := int64(z.Len())
	uniq := true
	count := l
	if l < 0 {
		count, uniq = -l, false
	}
	if count == 0 {
		c.R.Array(0)
		return
	}
	// Case 1: repetitions allowed, or a single element.
	if !uniq || count == 1 {
		zReplyPairsHeader(c, int(count), withScores)
		for ; count > 0; count-- {
			x := z.Random(rand.IntN)
			zReplyPair(c, x.Member(), x.Score(), withScores)
		}
		return
	}
	// Case 2: the whole set, walked from the highest element as Redis's
	// zset iterator does.
	if count >= size {
		zReplyPairsHeader(c, int(size), withScores)
		for x := z.Last(); x != nil; x = x.Prev() {
			zReplyPair(c, x.Member(), x.Score(), withScores)
		}
		return
	}
	zReplyPairsHeader(c, int(count), withScores)
	// Case 3: most of the set: drop random elements from a copy.
	if count*zrandSubStrategyMul > size {
		members := make([]*store.ZElem, 0, size)
		for x := z.Last(); x != nil; x = x.Prev() {
			members = append(members, x)
		}
		for int64(len(members)) > count {
			i := rand.IntN(len(members))
			members[i] = members[len(members)-1]
			members = members[:len(members)-1]
		}
		for _, x := range members {
			zReplyPair(c, x.Member(), x.Score(), withScores)
		}
		return
	}
	// Case 4: few elements of a big set: pick until count distinct.
	seen := make(map[*store.ZElem]struct{}, count)
	for int64(len(seen)) < count {
		x := z.Random(rand.IntN)
		if _, dup := seen[x]; dup {
			continue
		}
		seen[x] = struct{}{}
		zReplyPair(c, x.Member(), x.Score(), withScores)
	}
}

// ---- ZUNION / ZINTER / ZDIFF ----------------------------------------------

type zsetOp int

const (
	zopUnion zsetOp = iota
	zopInter
	zopDiff
)

const (
	zaggSum = iota
	zaggMin
	zaggMax
)

// zsetSetInput is what the set-algebra commands need from a plain set
// input (Redis accepts sets there, every member scoring 1).
type zsetSetInput interface {
	Len() int
	Has(member string) bool
	Range(fn func(member string) bool)
}

// zopSrc is one input of a set operation: a sorted set, a set, or nothing
// (a missing key).
type zopSrc struct {
	v      store.Value // identity, to detect a key given twice
	z      *store.ZSet
	set    zsetSetInput
	weight float64
}

func (s *zopSrc) length() int {
	switch {
	case s.z != nil:
		return s.z.Len()
	case s.set != nil:
		return s.set.Len()
	}
	return 0
}

// each visits the members (sorted sets from the highest element, as
// Redis's iterator does) until fn returns false.
func (s *zopSrc) each(fn func(member string, score float64) bool) {
	switch {
	case s.z != nil:
		for x := s.z.Last(); x != nil; x = x.Prev() {
			if !fn(x.Member(), x.Score()) {
				return
			}
		}
	case s.set != nil:
		s.set.Range(func(m string) bool { return fn(m, 1) })
	}
}

func (s *zopSrc) find(member string) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.Score(member)
	case s.set != nil:
		if s.set.Has(member) {
			return 1, true
		}
	}
	return 0, false
}

// zsetAsSetInput adapts a set value to zsetSetInput, through its neutral
// rdb form when it lacks the methods.
func zsetAsSetInput(v store.Value) zsetSetInput {
	if si, ok := v.(zsetSetInput); ok {
		return si
	}
	if o, ok := v.(interface{ Object() rdb.Object }); ok {
		m := make(zmemberSet)
		for _, b := range o.Object().Set {
			m[string(b)] = struct{}{}
		}
		return m
	}
	return zmemberSet{}
}

type zmemberSet map[string]struct{}

func (m zmemberSet) Len() int { return len(m) }
func (m zmemberSet) Has(s string) bool {
	_, ok := m[s]
	return ok
}
func (m zmemberSet) Range(fn func(string) bool) {
	for s := range m {
		if !fn(s) {
			return
		}
	}
}

func zAggregate(target *float64, val float64, agg int) {
	switch agg {
	case zaggSum:
		*target += val
		if math.IsNaN(*target) {
			*target = 0
		}
	case zaggMin:
		if val < *target {
			*target = val
		}
	case zaggMax:
		if val > *target {
			*target = val
		}
	}
}

// zsetOpGeneric implements ZUNION, ZINTER, ZDIFF, their STORE forms and
// ZINTERCARD, as zunionInterDiffGenericCommand.
func zsetOpGeneric(c *Ctx, isStore bool, numkeysIdx int, op zsetOp, cardOnly bool) {
	setnum, ok := c.ParseInt(numkeysIdx)
	if !ok {
		return
	}
	if setnum < 1 {
		c.Error("ERR at least 1 input key is needed for '" + c.Cmd.Name + "' command")
		return
	}
	if setnum > int64(len(c.Args)-numkeysIdx-1) {
		c.ErrSyntax()
		return
	}
	src := make([]zopSrc, setnum)
	j := numkeysIdx + 1
	for i := range src {
		src[i].weight = 1
		if e := c.Lookup(string(c.Args[j])); e != nil {
			switch v := e.Value.(type) {
			case *store.ZSet:
				src[i].v, src[i].z = v, v
			default:
				if v.Type() != "set" {
					c.ErrWrongType()
					return
				}
				src[i].v, src[i].set = v, zsetAsSetInput(v)
			}
		}
		j++
	}
	agg := zaggSum
	withScores := false
	var limit int64
	for remaining := len(c.Args) - j; remaining > 0; remaining = len(c.Args) - j {
		arg := string(c.Args[j])
		switch {
		case op != zopDiff && !cardOnly && remaining >= int(setnum)+1 && strings.EqualFold(arg, "weights"):
			j++
			for i := range src {
				w, ok := zParseDouble(c.Args[j])
				if !ok {
					c.Error(errZWeight)
					return
				}
				src[i].weight = w
				j++
			}
		case op != zopDiff && !cardOnly && remaining >= 2 && strings.EqualFold(arg, "aggregate"):
			switch strings.ToLower(string(c.Args[j+1])) {
			case "sum":
				agg = zaggSum
			case "min":
				agg = zaggMin
			case "max":
				agg = zaggMax
			default:
				c.ErrSyntax()
				return
			}
			j += 2
		case !isStore && !cardOnly && strings.EqualFold(arg, "withscores"):
			withScores = true
			j++
		case cardOnly && remaining >= 2 && strings.EqualFold(arg, "limit"):
			l, ok := zParsePositive(c, c.Args[j+1], errZLimitNeg)
			if !ok {
				return
			}
			limit = l
			j += 2
		default:
			c.ErrSyntax()
			return
		}
	}
	if op != zopDiff {
		sort.SliceStable(src, func(a, b int) bool { return src[a].length() < src[b].length() })
	}

	dst := store.NewZSet(false)
	lim := c.Limits()
	cardinality := int64(0)
	switch op {
	case zopInter:
		if src[0].length() > 0 {
			src[0].each(func(member string, s0 float64) bool {
				score := src[0].weight * s0
				if math.IsNaN(score) {
					score = 0
				}
				k := 1
				for ; k < len(src); k++ {
					var value float64
					if src[k].v == src[0].v {
						value = s0 * src[k].weight
					} else if v, ok := src[k].find(member); ok {
						value = v * src[k].weight
					} else {
						break
					}
					zAggregate(&score, value, agg)
				}
				if k == len(src) {
					if cardOnly {
						cardinality++
						if limit > 0 && cardinality >= limit {
							return false
						}
					} else {
						dst.Insert(member, score, lim)
					}
				}
				return true
			})
		}
	case zopUnion:
		acc := make(map[string]float64)
		var order []string
		for i := range src {
			src[i].each(func(member string, s float64) bool {
				score := src[i].weight * s
				if math.IsNaN(score) {
					score = 0
				}
				if cur, ok := acc[member]; ok {
					zAggregate(&cur, score, agg)
					acc[member] = cur
				} else {
					acc[member] = score
					order = append(order, member)
				}
				return true
			})
		}
		for _, m := range order {
			dst.Insert(m, acc[m], lim)
		}
	case zopDiff:
		if src[0].length() > 0 {
			dup := false
			for k := 1; k < len(src); k++ {
				if src[k].v == src[0].v {
					dup = true
				}
			}
			if !dup {
				src[0].each(func(member string, s float64) bool {
					for k := 1; k < len(src); k++ {
						if _, ok := src[k].find(member); ok {
							return true
						}
					}
					dst.Insert(member, s, lim)
					return true
				})
			}
		}
	}

	switch {
	case isStore:
		dstKey := c.Args[1]
		if dst.Len() > 0 {
			dst.ConvertToListpackIfFits(lim)
			c.DB.Set(string(dstKey), dst, 0)
			c.R.Int(int64(dst.Len()))
			c.Dirty(1)
		} else {
			c.R.Int(0)
			if c.DB.Delete(string(dstKey)) != nil {
				c.Dirty(1)
			}
		}
	case cardOnly:
		c.R.Int(cardinality)
	default:
		zReplyPairsHeader(c, dst.Len(), withScores)
		for x := dst.First(); x != nil; x = x.Next() {
			zReplyPair(c, x.Member(), x.Score(), withScores)
		}
	}
}

// ---- ZSCAN --------------------------------------------------------------

// zParseCursor parses a SCAN cursor as Redis's strtoul-based parser.
func zParseCursor(b []byte) (uint64, bool) {
	s := string(b)
	if s == "" {
		return 0, true
	}
	if isCSpace(s[0]) {
		return 0, false
	}
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func cmdZscan(c *Ctx) {
	cursor, ok := zParseCursor(c.Args[2])
	if !ok {
		c.Error("ERR invalid cursor")
		return
	}
	z, ok := zLookup(c, c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.R.Array(2)
		c.R.BulkString("0")
		c.R.Array(0)
		return
	}
	count := int64(10)
	var pattern []byte
	usePattern := false
	for i := 3; i < len(c.Args); {
		left := len(c.Args) - i
		switch {
		case strings.EqualFold(string(c.Args[i]), "count") && left >= 2:
			var ok bool
			if count, ok = c.ParseInt(i + 1); !ok {
				return
			}
			if count < 1 {
				c.ErrSyntax()
				return
			}
			i += 2
		case strings.EqualFold(string(c.Args[i]), "match") && left >= 2:
			pattern = c.Args[i+1]
			usePattern = !(len(pattern) == 1 && pattern[0] == '*')
			i += 2
		default:
			c.ErrSyntax()
			return
		}
	}
	var out []string
	listpack := z.IsListpack()
	if count > math.MaxInt32 {
		count = math.MaxInt32
	}
	next := z.Scan(cursor, int(count), func(member string, score float64) {
		if usePattern && !glob.Match(pattern, []byte(member), false) {
			return
		}
		out = append(out, member, string(zScanScore(score, listpack)))
	})
	c.R.Array(2)
	c.R.BulkString(strconv.FormatUint(next, 10))
	c.R.StringArray(out)
}

// zScanScore formats a score as ZSCAN shows it: a listpack holds integral
// scores within ±2^62 as integers and others as "%.17g" strings; a
// skiplist set's scores are formatted with "%.17g".
func zScanScore(score float64, listpack bool) []byte {
	if listpack && score >= -(1<<62) && score <= 1<<62 && score == math.Trunc(score) {
		return strconv.AppendInt(nil, int64(score), 10)
	}
	return AppendDouble(nil, score)
}
