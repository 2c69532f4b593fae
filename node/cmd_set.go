package node

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/slotvault/slotvault/internal/glob"
	"github.com/slotvault/slotvault/store"
)

// setCommands: the set type (t_set.c).
func setCommands() []*Command {
	cmd := func(name string, arity int, flags CmdFlag, first, last int, cats []string, since, summary string, h func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Step: 1,
			Categories: cats, Summary: summary, Since: since, Group: "set", Handler: h}
	}
	wfast := []string{"write", "set", "fast"}
	rfast := []string{"read", "set", "fast"}
	rslow := []string{"read", "set", "slow"}
	wslow := []string{"write", "set", "slow"}
	w, r := FlagWrite, FlagReadonly
	sintercard := cmd("sintercard", -3, r, 0, 0, rslow, "7.0.0", "Intersect multiple sets and return the cardinality of the result", cmdSintercard)
	sintercard.Keys, sintercard.Step = setIntercardKeys, 0
	return []*Command{
		cmd("sadd", -3, w|FlagDenyOOM|FlagFast, 1, 1, wfast, "1.0.0", "Add one or more members to a set", cmdSadd),
		cmd("srem", -3, w|FlagFast, 1, 1, wfast, "1.0.0", "Remove one or more members from a set", cmdSrem),
		cmd("sismember", 3, r|FlagFast, 1, 1, rfast, "1.0.0", "Determine if a given value is a member of a set", cmdSismember),
		cmd("smismember", -3, r|FlagFast, 1, 1, rfast, "6.2.0", "Returns the membership associated with the given elements for a set", cmdSmismember),
		cmd("smembers", 2, r, 1, 1, rslow, "1.0.0", "Get all the members in a set", cmdSmembers),
		cmd("scard", 2, r|FlagFast, 1, 1, rfast, "1.0.0", "Get the number of members in a set", cmdScard),
		cmd("spop", -2, w|FlagFast, 1, 1, wfast, "1.0.0", "Remove and return one or multiple random members from a set", cmdSpop),
		cmd("srandmember", -2, r, 1, 1, rslow, "1.0.0", "Get one or multiple random members from a set", cmdSrandmember),
		cmd("smove", 4, w|FlagFast, 1, 2, wfast, "1.0.0", "Move a member from one set to another", cmdSmove),
		cmd("sinter", -2, r, 1, -1, rslow, "1.0.0", "Intersect multiple sets", cmdSinter),
		sintercard,
		cmd("sinterstore", -3, w|FlagDenyOOM, 1, -1, wslow, "1.0.0", "Intersect multiple sets and store the resulting set in a key", cmdSinterstore),
		cmd("sunion", -2, r, 1, -1, rslow, "1.0.0", "Add multiple sets", cmdSunion),
		cmd("sunionstore", -3, w|FlagDenyOOM, 1, -1, wslow, "1.0.0", "Add multiple sets and store the resulting set in a key", cmdSunionstore),
		cmd("sdiff", -2, r, 1, -1, rslow, "1.0.0", "Subtract multiple sets", cmdSdiff),
		cmd("sdiffstore", -3, w|FlagDenyOOM, 1, -1, wslow, "1.0.0", "Subtract multiple sets and store the resulting set in a key", cmdSdiffstore),
		cmd("sscan", -3, r, 1, 1, rslow, "2.8.0", "Incrementally iterate Set elements", cmdSscan),
	}
}

// setIntercardKeys returns the key positions of SINTERCARD numkeys key
// [key ...] [LIMIT n], or none when numkeys is not valid.
func setIntercardKeys(args [][]byte) []int {
	if len(args) < 2 {
		return nil
	}
	n, ok := ParseInt(args[1])
	if !ok || n < 1 || n > int64(len(args)-2) {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = 2 + i
	}
	return out
}

// setRead returns the set at key (nil when missing). It writes WRONGTYPE
// and returns false when key holds another type.
func setRead(c *Ctx, key []byte) (*store.Set, bool) {
	e := c.Lookup(string(key))
	if e == nil {
		return nil, true
	}
	s, ok := e.Value.(*store.Set)
	if !ok {
		c.ErrWrongType()
		return nil, false
	}
	return s, true
}

// setPropagateSrem logs removed members as SREM commands of bounded size.
func setPropagateSrem(c *Ctx, key []byte, members []string) {
	const batch = 1024
	for len(members) > 0 {
		n := min(len(members), batch)
		argv := make([][]byte, 0, n+2)
		argv = append(argv, []byte("SREM"), key)
		for _, m := range members[:n] {
			argv = append(argv, []byte(m))
		}
		c.Propagate(argv...)
		members = members[n:]
	}
}

func cmdSadd(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		s = store.NewSet()
		c.DB.Set(string(c.Args[1]), s, 0)
	}
	l := c.Limits()
	added := 0
	for _, m := range c.Args[2:] {
		if s.Add(string(m), l) {
			added++
		}
	}
	c.Dirty(added)
	c.R.Int(int64(added))
}

func cmdSrem(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.R.Int(0)
		return
	}
	removed := 0
	for _, m := range c.Args[2:] {
		if s.Remove(string(m)) {
			removed++
			if s.Len() == 0 {
				break
			}
		}
	}
	if s.Len() == 0 {
		c.DB.Delete(string(c.Args[1]))
	}
	c.Dirty(removed)
	c.R.Int(int64(removed))
}

func cmdSismember(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s != nil && s.Has(string(c.Args[2])) {
		c.R.Int(1)
		return
	}
	c.R.Int(0)
}

func cmdSmismember(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	c.R.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if s != nil && s.Has(string(m)) {
			c.R.Int(1)
		} else {
			c.R.Int(0)
		}
	}
}

func cmdScard(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.R.Int(0)
		return
	}
	c.R.Int(int64(s.Len()))
}

func cmdSmembers(c *Ctx) {
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.R.Set(0)
		return
	}
	c.R.Set(s.Len())
	s.Range(func(m string) bool {
		c.R.BulkString(m)
		return true
	})
}

func cmdSpop(c *Ctx) {
	if len(c.Args) == 3 {
		setPopWithCount(c)
		return
	}
	if len(c.Args) > 3 {
		c.ErrSyntax()
		return
	}
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.R.Null()
		return
	}
	m := s.Random()
	s.Remove(m)
	if s.Len() == 0 {
		c.DB.Delete(string(c.Args[1]))
	}
	c.Dirty(1)
	c.Propagate([]byte("SREM"), c.Args[1], []byte(m))
	c.R.BulkString(m)
}

// setPopMoveStrategyMul is Redis's SPOP_MOVE_STRATEGY_MUL: when fewer than
// count/5 members would remain, SPOP picks the survivors instead of the
// victims and rebuilds the set from them.
const setPopMoveStrategyMul = 5

// setPopWithCount is SPOP key count. It propagates as SREMs of the popped
// members, or as DEL when the whole set is popped, as Redis does.
func setPopWithCount(c *Ctx) {
	n, ok := ParseInt(c.Args[2])
	if !ok || n < 0 {
		c.Error("ERR value is out of range, must be positive")
		return
	}
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil || n == 0 {
		c.R.Set(0)
		return
	}
	key := c.Args[1]
	size := s.Len()
	if n >= int64(size) {
		// Redis replies through SUNION of the one set: an intset-sized set
		// of integers comes back sorted even when it is a hashtable.
		members := setUnionOrder(s, c.Limits())
		c.R.Set(len(members))
		for _, m := range members {
			c.R.BulkString(m)
		}
		c.DB.Delete(string(key))
		c.Dirty(size)
		c.Propagate([]byte("DEL"), key)
		return
	}
	count := int(n)
	remaining := size - count
	popped := make([]string, 0, count)
	if remaining*setPopMoveStrategyMul > count {
		for i := 0; i < count; i++ {
			m := s.Random()
			s.Remove(m)
			popped = append(popped, m)
		}
	} else {
		// Keep a random subset of remaining members in a new set; reply
		// with everything else in the old set's order.
		members := s.Members()
		keep := make(map[string]bool, remaining)
		kept := make([]string, 0, remaining)
		for len(kept) < remaining {
			j := len(kept) + rand.IntN(len(members)-len(kept))
			members[len(kept)], members[j] = members[j], members[len(kept)]
			keep[members[len(kept)]] = true
			kept = append(kept, members[len(kept)])
		}
		s.Range(func(m string) bool {
			if !keep[m] {
				popped = append(popped, m)
			}
			return true
		})
		s.Rebuild(kept, c.Limits())
	}
	c.R.Set(len(popped))
	for _, m := range popped {
		c.R.BulkString(m)
	}
	c.Dirty(count)
	setPropagateSrem(c, key, popped)
}

// setUnionOrder returns s's members in the order Redis's SUNION of s alone
// replies with: through a temporary set, so a small hashtable holding only
// integers comes back as a sorted intset.
func setUnionOrder(s *store.Set, l store.Limits) []string {
	if !s.IsIntset() && s.Len() <= l.SetMaxIntsetEntries {
		tmp := store.NewSet()
		s.Range(func(m string) bool {
			tmp.Add(m, l)
			return true
		})
		s = tmp
	}
	return s.Members()
}

func cmdSrandmember(c *Ctx) {
	if len(c.Args) == 3 {
		setRandWithCount(c)
		return
	}
	if len(c.Args) > 3 {
		c.ErrSyntax()
		return
	}
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.R.Null()
		return
	}
	c.R.BulkString(s.Random())
}

func setRandWithCount(c *Ctx) {
	n, ok := ParseInt(c.Args[2])
	if !ok {
		c.Error(ErrNotInt)
		return
	}
	if n < -math.MaxInt64 {
		c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil || n == 0 {
		c.R.Array(0)
		return
	}
	if n < 0 {
		c.R.Array(int(-n))
		for i := int64(0); i < -n; i++ {
			c.R.BulkString(s.Random())
		}
		return
	}
	size := s.Len()
	if n >= int64(size) {
		c.R.Array(size)
		s.Range(func(m string) bool {
			c.R.BulkString(m)
			return true
		})
		return
	}
	count := int(n)
	c.R.Array(count)
	if count*3 > size {
		members := s.Members()
		for i := 0; i < count; i++ {
			j := i + rand.IntN(len(members)-i)
			members[i], members[j] = members[j], members[i]
			c.R.BulkString(members[i])
		}
		return
	}
	seen := make(map[string]bool, count)
	for len(seen) < count {
		m := s.Random()
		if !seen[m] {
			seen[m] = true
			c.R.BulkString(m)
		}
	}
}

func cmdSmove(c *Ctx) {
	src, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if src == nil {
		// Redis answers 0 for a missing source before checking the
		// destination's type.
		c.R.Int(0)
		return
	}
	dst, ok := setRead(c, c.Args[2])
	if !ok {
		return
	}
	m := string(c.Args[3])
	if src == dst {
		if src.Has(m) {
			c.R.Int(1)
		} else {
			c.R.Int(0)
		}
		return
	}
	if !src.Remove(m) {
		c.R.Int(0)
		return
	}
	if src.Len() == 0 {
		c.DB.Delete(string(c.Args[1]))
	}
	if dst == nil {
		dst = store.NewSet()
		c.DB.Set(string(c.Args[2]), dst, 0)
	}
	c.Dirty(1)
	if dst.Add(m, c.Limits()) {
		c.Dirty(1)
	}
	c.R.Int(1)
}

func cmdSinter(c *Ctx) { setInter(c, c.Args[1:], nil, false, 0) }

func cmdSinterstore(c *Ctx) { setInter(c, c.Args[2:], c.Args[1], false, 0) }

// SINTERCARD numkeys key [key ...] [LIMIT limit]
func cmdSintercard(c *Ctx) {
	numkeys, ok := ParseInt(c.Args[1])
	if !ok || numkeys < 1 {
		c.Error("ERR numkeys should be greater than 0")
		return
	}
	if numkeys > int64(len(c.Args)-2) {
		c.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	var limit int64
	for j := 2 + int(numkeys); j < len(c.Args); j++ {
		if c.ArgIs(j, "limit") && j+1 < len(c.Args) {
			j++
			v, ok := ParseInt(c.Args[j])
			if !ok || v < 0 {
				c.Error("ERR LIMIT can't be negative")
				return
			}
			limit = v
		} else {
			c.ErrSyntax()
			return
		}
	}
	setInter(c, c.Args[2:2+numkeys], nil, true, limit)
}

// setInter implements SINTER, SINTERSTORE (dst != nil) and SINTERCARD
// (cardOnly, stopping at limit when limit > 0), as sinterGenericCommand.
func setInter(c *Ctx, keys [][]byte, dst []byte, cardOnly bool, limit int64) {
	sets := make([]*store.Set, 0, len(keys))
	empty := false
	for _, k := range keys {
		s, ok := setRead(c, k)
		if !ok {
			return
		}
		if s == nil {
			empty = true
			continue
		}
		sets = append(sets, s)
	}
	if empty {
		switch {
		case dst != nil:
			if c.DB.Delete(string(dst)) != nil {
				c.Dirty(1)
			}
			c.R.Int(0)
		case cardOnly:
			c.R.Int(0)
		default:
			c.R.Set(0)
		}
		return
	}
	// Smallest first: fewer membership tests.
	slices.SortStableFunc(sets, func(a, b *store.Set) int { return a.Len() - b.Len() })
	var result []string
	card := int64(0)
	sets[0].Range(func(m string) bool {
		for _, o := range sets[1:] {
			if o != sets[0] && !o.Has(m) {
				return true
			}
		}
		card++
		if !cardOnly {
			result = append(result, m)
		}
		return !(cardOnly && limit > 0 && card >= limit)
	})
	switch {
	case cardOnly:
		c.R.Int(card)
	case dst != nil:
		setStore(c, dst, result)
	default:
		c.R.Set(len(result))
		for _, m := range result {
			c.R.BulkString(m)
		}
	}
}

// setStore replaces dst with a set of members (deleting it when there are
// none) and replies with the new cardinality, as the *STORE commands.
func setStore(c *Ctx, dst []byte, members []string) {
	l := c.Limits()
	s := store.NewSet()
	for _, m := range members {
		s.Add(m, l)
	}
	setStoreSet(c, dst, s)
}

func setStoreSet(c *Ctx, dst []byte, s *store.Set) {
	c.DB.Delete(string(dst))
	if s.Len() > 0 {
		c.DB.Set(string(dst), s, 0)
	}
	c.Dirty(1)
	c.R.Int(int64(s.Len()))
}

func cmdSunion(c *Ctx)      { setUnionDiff(c, c.Args[1:], nil, false) }
func cmdSunionstore(c *Ctx) { setUnionDiff(c, c.Args[2:], c.Args[1], false) }
func cmdSdiff(c *Ctx)       { setUnionDiff(c, c.Args[1:], nil, true) }
func cmdSdiffstore(c *Ctx)  { setUnionDiff(c, c.Args[2:], c.Args[1], true) }

// setUnionDiff implements SUNION, SDIFF and their STORE forms as Redis's
// sunionDiffGenericCommand: the result is accumulated in a temporary set
// (so integer results come back sorted, as an intset), and SDIFF picks the
// same one of its two algorithms, which decides the stored encoding.
func setUnionDiff(c *Ctx, keys [][]byte, dst []byte, diff bool) {
	sets := make([]*store.Set, len(keys))
	for i, k := range keys {
		s, ok := setRead(c, k)
		if !ok {
			return
		}
		sets[i] = s
	}
	l := c.Limits()
	res := store.NewSet()
	add := func(m string) bool {
		res.Add(m, l)
		return true
	}
	switch {
	case !diff:
		for _, s := range sets {
			if s != nil {
				s.Range(add)
			}
		}
	case sets[0] == nil:
	default:
		oneWork, twoWork := 0, 0
		for _, s := range sets {
			if s != nil {
				oneWork += sets[0].Len()
				twoWork += s.Len()
			}
		}
		oneWork /= 2
		if oneWork <= twoWork {
			// Algorithm 1: keep members of the first set found in no
			// other set.
			others := slices.Clone(sets[1:])
			slices.SortStableFunc(others, func(a, b *store.Set) int { return setLen(b) - setLen(a) })
			sets[0].Range(func(m string) bool {
				for _, o := range others {
					if o != nil && (o == sets[0] || o.Has(m)) {
						return true
					}
				}
				return add(m)
			})
		} else {
			// Algorithm 2: add the first set, remove the others.
			sets[0].Range(add)
			for _, o := range sets[1:] {
				if o == nil {
					continue
				}
				if res.Len() == 0 {
					break
				}
				o.Range(func(m string) bool {
					res.Remove(m)
					return true
				})
			}
		}
	}
	if dst != nil {
		setStoreSet(c, dst, res)
		return
	}
	c.R.Set(res.Len())
	res.Range(func(m string) bool {
		c.R.BulkString(m)
		return true
	})
}

func setLen(s *store.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

// SSCAN key cursor [MATCH pattern] [COUNT count]
func cmdSscan(c *Ctx) {
	cursor, ok := hsParseScanCursor(c, c.Args[2])
	if !ok {
		return
	}
	s, ok := setRead(c, c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		hsReplyScan(c, 0, nil)
		return
	}
	opts, ok := hsParseScanOpts(c, 3)
	if !ok {
		return
	}
	var items []string
	next := uint64(0)
	if s.IsIntset() {
		s.Scan(0, func(m string) {
			if opts.match(m) {
				items = append(items, m)
			}
		})
	} else {
		next = hsScanLoop(cursor, opts.count, func(cur uint64) (uint64, int) {
			visited := 0
			next := s.Scan(cur, func(m string) {
				visited++
				if opts.match(m) {
					items = append(items, m)
				}
			})
			return next, visited
		})
	}
	hsReplyScan(c, next, items)
}

// Scanning helpers shared by HSCAN and SSCAN (Redis's scanGenericCommand).

// hsScanOpts are the MATCH and COUNT options of a key-level SCAN.
type hsScanOpts struct {
	count   int64
	pattern []byte // nil: no filtering
}

func (o hsScanOpts) match(s string) bool {
	return o.pattern == nil || glob.Match(o.pattern, []byte(s), false)
}

// hsParseScanOpts parses MATCH/COUNT from argument i on, writing the error
// reply when they are invalid.
func hsParseScanOpts(c *Ctx, i int) (hsScanOpts, bool) {
	o := hsScanOpts{count: 10}
	for i < len(c.Args) {
		more := len(c.Args) - i
		switch {
		case c.ArgIs(i, "count") && more >= 2:
			n, ok := c.ParseInt(i + 1)
			if !ok {
				return o, false
			}
			if n < 1 {
				c.ErrSyntax()
				return o, false
			}
			o.count = n
			i += 2
		case c.ArgIs(i, "match") && more >= 2:
			if p := c.Args[i+1]; len(p) == 1 && p[0] == '*' {
				o.pattern = nil
			} else {
				o.pattern = append([]byte{}, p...)
			}
			i += 2
		default:
			c.ErrSyntax()
			return o, false
		}
	}
	return o, true
}

// hsParseScanCursor parses a SCAN cursor as Redis does with strtoul: an
// optional sign and decimal digits (a negative value wraps), no spaces;
// the empty string is cursor 0.
func hsParseScanCursor(c *Ctx, b []byte) (uint64, bool) {
	s := b
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
		if len(s) == 0 {
			c.Error("ERR invalid cursor")
			return 0, false
		}
	}
	v, err := strconv.ParseUint(string(s), 10, 64)
	if len(s) > 0 && (err != nil || s[0] < '0' || s[0] > '9') {
		c.Error("ERR invalid cursor")
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// hsScanLoop calls step (one hashtable bucket scan returning the next
// cursor and how many items it produced) as Redis's scanGenericCommand
// does: until the scan completes, count items were produced, or count*10
// buckets were visited.
func hsScanLoop(cursor uint64, count int64, step func(uint64) (uint64, int)) uint64 {
	maxIter := count * 10
	if count > math.MaxInt64/10 {
		maxIter = math.MaxInt64
	}
	produced := int64(0)
	for {
		var n int
		cursor, n = step(cursor)
		produced += int64(n)
		if cursor == 0 || maxIter == 0 || produced >= count {
			return cursor
		}
		maxIter--
	}
}

func hsReplyScan(c *Ctx, cursor uint64, items []string) {
	c.R.Array(2)
	c.R.BulkString(strconv.FormatUint(cursor, 10))
	c.R.Array(len(items))
	for _, it := range items {
		c.R.BulkString(it)
	}
}
