package node

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/store"
)

// List commands, with Redis 7.0's semantics (t_list.c): replies, error
// texts and the order in which arguments are checked. Blocking pops are
// served through the blocking framework (blocking.go) and are propagated as
// their non-blocking equivalents.

// Error texts of the list family.
const (
	listErrPositive  = "ERR value is out of range, must be positive"
	listErrRankZero  = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	listErrCountNeg  = "ERR COUNT can't be negative"
	listErrMaxlenNeg = "ERR MAXLEN can't be negative"
	listErrNumkeys   = "ERR numkeys should be greater than 0"
	listErrCountZero = "ERR count should be greater than 0"
)

func listCommands() []*Command {
	w := []string{"write", "list", "fast"}
	ws := []string{"write", "list", "slow"}
	rf := []string{"read", "list", "fast"}
	rs := []string{"read", "list", "slow"}
	wb := []string{"write", "list", "slow", "blocking"}
	return []*Command{
		{Name: "lpush", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Categories: w,
			Summary: "Prepend one or multiple elements to a list", Since: "1.0.0", Group: "list", Handler: listPush(true, false)},
		{Name: "rpush", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Categories: w,
			Summary: "Append one or multiple elements to a list", Since: "1.0.0", Group: "list", Handler: listPush(false, false)},
		{Name: "lpushx", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Categories: w,
			Summary: "Prepend an element to a list, only if the list exists", Since: "2.2.0", Group: "list", Handler: listPush(true, true)},
		{Name: "rpushx", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Categories: w,
			Summary: "Append an element to a list, only if the list exists", Since: "2.2.0", Group: "list", Handler: listPush(false, true)},
		{Name: "lpop", Arity: -2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Categories: w,
			Summary: "Remove and get the first elements in a list", Since: "1.0.0", Group: "list", Handler: listPop(true)},
		{Name: "rpop", Arity: -2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Categories: w,
			Summary: "Remove and get the last elements in a list", Since: "1.0.0", Group: "list", Handler: listPop(false)},
		{Name: "llen", Arity: 2, Flags: FlagReadonly | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Categories: rf,
			Summary: "Get the length of a list", Since: "1.0.0", Group: "list", Handler: cmdLlen},
		{Name: "lindex", Arity: 3, Flags: FlagReadonly, FirstKey: 1, LastKey: 1, Step: 1, Categories: rs,
			Summary: "Get an element from a list by its index", Since: "1.0.0", Group: "list", Handler: cmdLindex},
		{Name: "lset", Arity: 4, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Categories: ws,
			Summary: "Set the value of an element in a list by its index", Since: "1.0.0", Group: "list", Handler: cmdLset},
		{Name: "lrange", Arity: 4, Flags: FlagReadonly, FirstKey: 1, LastKey: 1, Step: 1, Categories: rs,
			Summary: "Get a range of elements from a list", Since: "1.0.0", Group: "list", Handler: cmdLrange},
		{Name: "ltrim", Arity: 4, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, Categories: ws,
			Summary: "Trim a list to the specified range", Since: "1.0.0", Group: "list", Handler: cmdLtrim},
		{Name: "lrem", Arity: 4, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, Categories: ws,
			Summary: "Remove elements from a list", Since: "1.0.0", Group: "list", Handler: cmdLrem},
		{Name: "linsert", Arity: 5, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Categories: ws,
			Summary: "Insert an element before or after another element in a list", Since: "2.2.0", Group: "list", Handler: cmdLinsert},
		{Name: "lpos", Arity: -3, Flags: FlagReadonly, FirstKey: 1, LastKey: 1, Step: 1, Categories: rs,
			Summary: "Return the index of matching elements on a list", Since: "6.0.6", Group: "list", Handler: cmdLpos},
		{Name: "lmove", Arity: 5, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Categories: ws,
			Summary: "Pop an element from a list, push it to another list and return it", Since: "6.2.0", Group: "list", Handler: cmdLmove},
		{Name: "rpoplpush", Arity: 3, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Categories: ws,
			Summary: "Remove the last element in a list, prepend it to another list and return it", Since: "1.2.0", Group: "list", Handler: cmdRpoplpush},
		{Name: "lmpop", Arity: -4, Flags: FlagWrite, Keys: numkeysKeys(1), Categories: ws,
			Summary: "Pop elements from a list", Since: "7.0.0", Group: "list", Handler: cmdLmpop},
		{Name: "blpop", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking, FirstKey: 1, LastKey: -2, Step: 1, Categories: wb,
			Summary: "Remove and get the first element in a list, or block until one is available", Since: "2.0.0", Group: "list", Handler: listBpop(true)},
		{Name: "brpop", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking, FirstKey: 1, LastKey: -2, Step: 1, Categories: wb,
			Summary: "Remove and get the last element in a list, or block until one is available", Since: "2.0.0", Group: "list", Handler: listBpop(false)},
		{Name: "blmove", Arity: 6, Flags: FlagWrite | FlagDenyOOM | FlagNoScript | FlagBlocking, FirstKey: 1, LastKey: 2, Step: 1, Categories: wb,
			Summary: "Pop an element from a list, push it to another list and return it; or block until one is available", Since: "6.2.0", Group: "list", Handler: cmdBlmove},
		{Name: "brpoplpush", Arity: 4, Flags: FlagWrite | FlagDenyOOM | FlagNoScript | FlagBlocking, FirstKey: 1, LastKey: 2, Step: 1, Categories: wb,
			Summary: "Pop an element from a list, push it to another list and return it; or block until one is available", Since: "2.2.0", Group: "list", Handler: cmdBrpoplpush},
		{Name: "blmpop", Arity: -5, Flags: FlagWrite | FlagBlocking, Keys: numkeysKeys(2), Categories: wb,
			Summary: "Pop elements from a list, or block until one is available", Since: "7.0.0", Group: "list", Handler: cmdBlmpop},
	}
}

// numkeysKeys returns the key positions of a command whose argument at idx
// is the number of keys that follow it (LMPOP, BLMPOP).
func numkeysKeys(idx int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if idx >= len(args) {
			return nil
		}
		n, ok := ParseInt(args[idx])
		if !ok || n < 1 || n > int64(len(args)-idx-1) {
			return nil
		}
		out := make([]int, n)
		for i := range out {
			out[i] = idx + 1 + i
		}
		return out
	}
}

// listAt returns the list stored at key: nil and true when the key does not
// exist, nil and false (with WRONGTYPE written) when it holds another type.
func listAt(c *Ctx, key string) (*store.List, bool) {
	e := c.Lookup(key)
	if e == nil {
		return nil, true
	}
	l, ok := e.Value.(*store.List)
	if !ok {
		c.ErrWrongType()
		return nil, false
	}
	return l, true
}

// listOrNil returns the non-empty list at key, or nil when the key is
// missing or holds another type; it writes no reply (blocked clients'
// serve functions).
func listOrNil(c *Ctx, key string) *store.List {
	e := c.Lookup(key)
	if e == nil {
		return nil
	}
	l, _ := e.Value.(*store.List)
	if l == nil || l.Len() == 0 {
		return nil
	}
	return l
}

func listPopEnd(l *store.List, left bool) []byte {
	if left {
		return l.PopFront()
	}
	return l.PopBack()
}

func listPushEnd(l *store.List, v []byte, left bool) {
	if left {
		l.PushFront(v)
	} else {
		l.PushBack(v)
	}
}

// listDeleteIfEmpty removes key once its list has lost its last element,
// as Redis never keeps empty aggregates.
func listDeleteIfEmpty(c *Ctx, key string, l *store.List) {
	if l.Len() == 0 {
		c.DB.Delete(key)
	}
}

// listPopDirty records n changes made to key alone. Multi-key pops (BLPOP
// k1 k2, LMPOP) modify only the key they popped from; c.Dirty would touch
// every key argument and fail WATCHes on keys Redis leaves alone. The
// caller propagates the pop explicitly.
func listPopDirty(c *Ctx, key string, n int) {
	c.n.dirty += int64(n)
	c.Touch(key)
}

func whereName(left bool) string {
	if left {
		return "left"
	}
	return "right"
}

func popName(left bool) string {
	if left {
		return "LPOP"
	}
	return "RPOP"
}

// parseWhere parses LEFT|RIGHT; it writes a syntax error otherwise.
func parseWhere(c *Ctx, i int) (left, ok bool) {
	switch {
	case c.ArgIs(i, "left"):
		return true, true
	case c.ArgIs(i, "right"):
		return false, true
	}
	c.ErrSyntax()
	return false, false
}

// listIndex maps a Redis list index (negative counts from the tail) to a
// position in a list of n elements.
func listIndex(idx int64, n int) (int, bool) {
	if idx < 0 {
		r := -idx - 1 // wraps to MaxInt64 for MinInt64, as in quicklist
		if r < 0 || r >= int64(n) {
			return 0, false
		}
		return n - 1 - int(r), true
	}
	if idx >= int64(n) {
		return 0, false
	}
	return int(idx), true
}

func listPush(left, onlyExisting bool) func(c *Ctx) {
	return func(c *Ctx) {
		key := string(c.Args[1])
		l, ok := listAt(c, key)
		if !ok {
			return
		}
		if l == nil {
			if onlyExisting {
				c.R.Int(0)
				return
			}
			l = store.NewList()
			c.DB.Set(key, l, 0)
		}
		for _, v := range c.Args[2:] {
			listPushEnd(l, append([]byte(nil), v...), left)
		}
		c.R.Int(int64(l.Len()))
		c.Dirty(len(c.Args) - 2)
	}
}

func listPop(left bool) func(c *Ctx) {
	return func(c *Ctx) {
		if len(c.Args) > 3 {
			c.ErrArity()
			return
		}
		hasCount := len(c.Args) == 3
		var count int64
		if hasCount {
			v, ok := ParseInt(c.Args[2])
			if !ok || v < 0 {
				c.Error(listErrPositive)
				return
			}
			count = v
		}
		key := string(c.Args[1])
		l, ok := listAt(c, key)
		if !ok {
			return
		}
		if l == nil {
			if hasCount {
				c.R.NullArray()
			} else {
				c.R.Null()
			}
			return
		}
		if !hasCount {
			c.R.Bulk(listPopEnd(l, left))
			listDeleteIfEmpty(c, key, l)
			c.Dirty(1)
			return
		}
		if count == 0 {
			c.R.Array(0)
			return
		}
		n := min(count, int64(l.Len()))
		c.R.Array(int(n))
		for i := int64(0); i < n; i++ {
			c.R.Bulk(listPopEnd(l, left))
		}
		listDeleteIfEmpty(c, key, l)
		c.Dirty(int(n))
	}
}

func cmdLlen(c *Ctx) {
	l, ok := listAt(c, string(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		c.R.Int(0)
		return
	}
	c.R.Int(int64(l.Len()))
}

func cmdLindex(c *Ctx) {
	l, ok := listAt(c, string(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		c.R.Null()
		return
	}
	idx, ok := c.ParseInt(2)
	if !ok {
		return
	}
	i, ok := listIndex(idx, l.Len())
	if !ok {
		c.R.Null()
		return
	}
	c.R.Bulk(l.Index(i))
}

func cmdLset(c *Ctx) {
	e := c.Lookup(string(c.Args[1]))
	if e == nil {
		c.Error(ErrNoSuchKey)
		return
	}
	l, ok := e.Value.(*store.List)
	if !ok {
		c.ErrWrongType()
		return
	}
	idx, ok := c.ParseInt(2)
	if !ok {
		return
	}
	i, ok := listIndex(idx, l.Len())
	if !ok {
		c.Error(ErrOutOfRange)
		return
	}
	l.Set(i, append([]byte(nil), c.Args[3]...))
	c.R.OK()
	c.Dirty(1)
}

// listRange normalises LRANGE/LTRIM indexes; empty reports an empty range.
func listRange(start, end int64, n int) (s, e int, empty bool) {
	llen := int64(n)
	if start < 0 {
		start += llen
	}
	if end < 0 {
		end += llen
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= llen {
		return 0, 0, true
	}
	if end >= llen {
		end = llen - 1
	}
	return int(start), int(end), false
}

func cmdLrange(c *Ctx) {
	start, ok := c.ParseInt(2)
	if !ok {
		return
	}
	end, ok := c.ParseInt(3)
	if !ok {
		return
	}
	l, ok := listAt(c, string(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		c.R.Array(0)
		return
	}
	s, e, empty := listRange(start, end, l.Len())
	if empty {
		c.R.Array(0)
		return
	}
	c.R.Array(e - s + 1)
	for i := s; i <= e; i++ {
		c.R.Bulk(l.Index(i))
	}
}

func cmdLtrim(c *Ctx) {
	start, ok := c.ParseInt(2)
	if !ok {
		return
	}
	end, ok := c.ParseInt(3)
	if !ok {
		return
	}
	key := string(c.Args[1])
	l, ok := listAt(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.R.OK()
		return
	}
	n := l.Len()
	s, e, empty := listRange(start, end, n)
	removed := n
	if empty {
		l.Trim(1, 0)
	} else {
		removed = n - (e - s + 1)
		l.Trim(s, e)
	}
	listDeleteIfEmpty(c, key, l)
	if removed > 0 {
		c.Dirty(removed)
	} else {
		// Redis signals the key as modified even when nothing was trimmed.
		c.Touch(key)
	}
	c.R.OK()
}

func cmdLrem(c *Ctx) {
	toRemove, ok := c.ParseInt(2)
	if !ok {
		return
	}
	key := string(c.Args[1])
	l, ok := listAt(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.R.Int(0)
		return
	}
	fromTail := toRemove < 0
	limit := toRemove
	if fromTail {
		limit = -toRemove // MinInt64 stays negative: no limit, as in Redis
	}
	if limit < 0 || limit > int64(l.Len()) {
		limit = 0
	}
	removed := l.RemoveEqual(c.Args[3], int(limit), fromTail)
	listDeleteIfEmpty(c, key, l)
	c.R.Int(int64(removed))
	c.Dirty(removed)
}

func cmdLinsert(c *Ctx) {
	var after bool
	switch {
	case c.ArgIs(2, "after"):
		after = true
	case c.ArgIs(2, "before"):
	default:
		c.ErrSyntax()
		return
	}
	l, ok := listAt(c, string(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		c.R.Int(0)
		return
	}
	pivot := string(c.Args[3])
	at := -1
	l.Each(func(i int, v []byte) bool {
		if string(v) == pivot {
			at = i
			return false
		}
		return true
	})
	if at < 0 {
		c.R.Int(-1)
		return
	}
	if after {
		at++
	}
	l.Insert(at, append([]byte(nil), c.Args[4]...))
	c.Dirty(1)
	c.R.Int(int64(l.Len()))
}

func cmdLpos(c *Ctx) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(c.Args); j++ {
		more := j < len(c.Args)-1
		switch {
		case c.ArgIs(j, "rank") && more:
			j++
			v, ok := c.ParseInt(j)
			if !ok {
				return
			}
			if v == 0 {
				c.Error(listErrRankZero)
				return
			}
			rank = v
		case c.ArgIs(j, "count") && more:
			j++
			v, ok := ParseInt(c.Args[j])
			if !ok || v < 0 {
				c.Error(listErrCountNeg)
				return
			}
			count = v
		case c.ArgIs(j, "maxlen") && more:
			j++
			v, ok := ParseInt(c.Args[j])
			if !ok || v < 0 {
				c.Error(listErrMaxlenNeg)
				return
			}
			maxlen = v
		default:
			c.ErrSyntax()
			return
		}
	}
	fromTail := false
	if rank < 0 {
		// -MinInt64 stays negative; the search then takes the first match,
		// as Redis 7.0 does.
		rank = -rank
		fromTail = true
	}
	l, ok := listAt(c, string(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		if count != -1 {
			c.R.Array(0)
		} else {
			c.R.Null()
		}
		return
	}
	ele := string(c.Args[2])
	llen := int64(l.Len())
	var found []int64
	var matches int64
	for index := int64(0); index < llen && (maxlen == 0 || index < maxlen); index++ {
		pos := index
		if fromTail {
			pos = llen - index - 1
		}
		if string(l.Index(int(pos))) != ele {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		found = append(found, pos)
		if count == -1 || (count != 0 && matches-rank+1 >= count) {
			break
		}
	}
	if count != -1 {
		c.R.Array(len(found))
		for _, p := range found {
			c.R.Int(p)
		}
		return
	}
	if len(found) == 0 {
		c.R.Null()
		return
	}
	c.R.Int(found[0])
}

// listMove pops from src and pushes onto dst (LMOVE's core). It replies
// with the element moved, null when src is missing, or WRONGTYPE, and
// reports whether an element moved.
func listMove(c *Ctx, src, dst string, fromLeft, toLeft bool) bool {
	sl, ok := listAt(c, src)
	if !ok {
		return false
	}
	if sl == nil || sl.Len() == 0 {
		c.R.Null()
		return false
	}
	dl, ok := listAt(c, dst)
	if !ok {
		return false
	}
	v := listPopEnd(sl, fromLeft)
	if dl == nil {
		dl = store.NewList()
		c.DB.Set(dst, dl, 0)
	}
	listPushEnd(dl, v, toLeft)
	listDeleteIfEmpty(c, src, sl)
	c.R.Bulk(v)
	return true
}

func cmdLmove(c *Ctx) {
	from, ok := parseWhere(c, 3)
	if !ok {
		return
	}
	to, ok := parseWhere(c, 4)
	if !ok {
		return
	}
	if listMove(c, string(c.Args[1]), string(c.Args[2]), from, to) {
		c.Dirty(1)
	}
}

func cmdRpoplpush(c *Ctx) {
	if listMove(c, string(c.Args[1]), string(c.Args[2]), false, true) {
		c.Dirty(1)
	}
}

// parseListMpop parses LMPOP's arguments from numkeys (at idx) on:
// numkeys key... LEFT|RIGHT [COUNT count]. count is 1 when absent.
func parseListMpop(c *Ctx, idx int) (keys []string, left bool, count int64, ok bool) {
	numkeys, ok := ParseInt(c.Args[idx])
	if !ok || numkeys < 1 {
		c.Error(listErrNumkeys)
		return nil, false, 0, false
	}
	if numkeys > int64(len(c.Args)-idx-2) {
		c.ErrSyntax()
		return nil, false, 0, false
	}
	whereIdx := idx + int(numkeys) + 1
	if left, ok = parseWhere(c, whereIdx); !ok {
		return nil, false, 0, false
	}
	count = -1
	for j := whereIdx + 1; j < len(c.Args); j++ {
		if count == -1 && c.ArgIs(j, "count") && j < len(c.Args)-1 {
			j++
			v, ok := ParseInt(c.Args[j])
			if !ok || v < 1 {
				c.Error(listErrCountZero)
				return nil, false, 0, false
			}
			count = v
			continue
		}
		c.ErrSyntax()
		return nil, false, 0, false
	}
	if count == -1 {
		count = 1
	}
	for _, k := range c.Args[idx+1 : whereIdx] {
		keys = append(keys, string(k))
	}
	return keys, left, count, true
}

// listPopCount pops up to count elements from key's list and replies
// [key, [elements...]] (LMPOP, BLMPOP). It propagates "[LR]POP key n".
func listPopCount(c *Ctx, key string, l *store.List, left bool, count int64) {
	n := int(min(count, int64(l.Len())))
	c.R.Array(2)
	c.R.BulkString(key)
	c.R.Array(n)
	for i := 0; i < n; i++ {
		c.R.Bulk(listPopEnd(l, left))
	}
	listDeleteIfEmpty(c, key, l)
	c.PropagateStrings(popName(left), key, strconv.Itoa(n))
	listPopDirty(c, key, n)
}

// listPopOne pops one element from key's list and replies [key, element]
// (BLPOP, BRPOP), propagating "[LR]POP key".
func listPopOne(c *Ctx, key string, l *store.List, left bool) {
	v := listPopEnd(l, left)
	c.R.Array(2)
	c.R.BulkString(key)
	c.R.Bulk(v)
	listDeleteIfEmpty(c, key, l)
	c.PropagateStrings(popName(left), key)
	listPopDirty(c, key, 1)
}

func cmdLmpop(c *Ctx) {
	keys, left, count, ok := parseListMpop(c, 1)
	if !ok {
		return
	}
	for _, k := range keys {
		l, ok := listAt(c, k)
		if !ok {
			return
		}
		if l == nil || l.Len() == 0 {
			continue
		}
		listPopCount(c, k, l, left, count)
		return
	}
	c.R.NullArray()
}

// listMayBlock reports whether the client may wait. Inside MULTI/EXEC (and
// for the write-log replayer, which has no connection, like Redis's AOF
// client) a blocking command that finds nothing answers at once as if it
// had timed out.
func listMayBlock(c *Ctx) bool {
	return !c.InMulti() && c.Cl.netConn != nil
}

// listBlockingPop is the body of BLPOP, BRPOP and BLMPOP (count > 0 for
// BLMPOP's nested reply): serve at once from the first non-empty list, or
// block on all keys.
func listBlockingPop(c *Ctx, keys []string, left bool, count int64, timeout time.Duration) {
	for _, k := range keys {
		l, ok := listAt(c, k)
		if !ok {
			return
		}
		if l == nil || l.Len() == 0 {
			continue
		}
		if count > 0 {
			listPopCount(c, k, l, left, count)
		} else {
			listPopOne(c, k, l, left)
		}
		return
	}
	if !listMayBlock(c) {
		c.R.NullArray()
		return
	}
	serve := func(c *Ctx) bool {
		try := keys
		if k := c.ReadyKey(); k != "" {
			try = []string{k}
		}
		for _, k := range try {
			l := listOrNil(c, k)
			if l == nil {
				continue
			}
			if count > 0 {
				listPopCount(c, k, l, left, count)
			} else {
				listPopOne(c, k, l, left)
			}
			return true
		}
		return false
	}
	c.Block(keys, timeout, serve, func(c *Ctx) { c.R.NullArray() })
}

func listBpop(left bool) func(c *Ctx) {
	return func(c *Ctx) {
		timeout, ok := parseBlockTimeout(c, len(c.Args)-1)
		if !ok {
			return
		}
		keys := make([]string, 0, len(c.Args)-2)
		for _, k := range c.Args[1 : len(c.Args)-1] {
			keys = append(keys, string(k))
		}
		listBlockingPop(c, keys, left, 0, timeout)
	}
}

func cmdBlmpop(c *Ctx) {
	keys, left, count, ok := parseListMpop(c, 2)
	if !ok {
		return
	}
	timeout, ok := parseBlockTimeout(c, 1)
	if !ok {
		return
	}
	listBlockingPop(c, keys, left, count, timeout)
}

func cmdBlmove(c *Ctx) {
	from, ok := parseWhere(c, 3)
	if !ok {
		return
	}
	to, ok := parseWhere(c, 4)
	if !ok {
		return
	}
	timeout, ok := parseBlockTimeout(c, 5)
	if !ok {
		return
	}
	listBlockingMove(c, from, to, timeout, false)
}

func cmdBrpoplpush(c *Ctx) {
	timeout, ok := parseBlockTimeout(c, 3)
	if !ok {
		return
	}
	listBlockingMove(c, false, true, timeout, true)
}

// listBlockingMove is BLMOVE and BRPOPLPUSH: LMOVE at once when the source
// has elements, otherwise block on the source. The move is propagated as
// LMOVE (RPOPLPUSH for BRPOPLPUSH).
func listBlockingMove(c *Ctx, from, to bool, timeout time.Duration, rpoplpush bool) {
	src, dst := string(c.Args[1]), string(c.Args[2])
	// Served later, the move is logged with "left"/"right"; served at
	// once, with the words as received (both as Redis does).
	propagate := func(c *Ctx) {
		if rpoplpush {
			c.PropagateStrings("RPOPLPUSH", src, dst)
		} else {
			c.PropagateStrings("LMOVE", src, dst, whereName(from), whereName(to))
		}
	}
	sl, ok := listAt(c, src)
	if !ok {
		return
	}
	if sl != nil {
		if listMove(c, src, dst, from, to) {
			if rpoplpush {
				c.PropagateStrings("RPOPLPUSH", src, dst)
			} else {
				c.Propagate([]byte("LMOVE"), c.Args[1], c.Args[2], c.Args[3], c.Args[4])
			}
			c.Dirty(1)
		}
		return
	}
	if !listMayBlock(c) {
		c.R.Null()
		return
	}
	serve := func(c *Ctx) bool {
		if listOrNil(c, src) == nil {
			return false
		}
		// A destination of the wrong type ends the wait with WRONGTYPE and
		// leaves the source untouched (Redis 7.0).
		if !listMove(c, src, dst, from, to) {
			return true
		}
		propagate(c)
		c.Dirty(1)
		return true
	}
	c.Block([]string{src}, timeout, serve, func(c *Ctx) { c.R.NullArray() })
}

// parseBlockTimeout parses a blocking command's timeout in seconds as
// Redis's getTimeoutFromObjectOrReply does: a long double multiplied by
// 1000 and rounded up to whole milliseconds (so 0.0001 waits 1 ms while
// -0.0009 rounds to 0, "forever"), negative values refused, and values
// whose conversion overflows treated as negative, as on x86. 0 means no
// timeout.
func parseBlockTimeout(c *Ctx, i int) (time.Duration, bool) {
	ms, errMsg := timeoutMillis(c.Args[i])
	if errMsg != "" {
		c.Error(errMsg)
		return 0, false
	}
	if ms > int64(math.MaxInt64/time.Millisecond) {
		return 0, true // beyond any real wait: block until served
	}
	return time.Duration(ms) * time.Millisecond, true
}

// timeoutMillis converts a timeout argument in seconds to milliseconds, or
// returns the error reply.
func timeoutMillis(arg []byte) (int64, string) {
	f, ok := parseLongDouble(arg)
	if !ok {
		return 0, ErrTimeout
	}
	ms := int64(math.MinInt64) // the x86 result of an out-of-range conversion
	if f != nil {
		t := new(big.Float).SetPrec(64).Mul(f, big.NewFloat(1000))
		iv, acc := t.Int64() // truncates towards zero
		if acc == big.Exact || (iv != math.MinInt64 && iv != math.MaxInt64) {
			if acc == big.Below && iv < math.MaxInt64 {
				iv++ // ceill
			}
			ms = iv
		}
	}
	if ms < 0 {
		return 0, ErrTimeoutNeg
	}
	return ms, ""
}

// parseLongDouble parses b as Redis's string2ld does (strtold on the whole
// string, no leading space, no ERANGE, no NaN), with the 64-bit mantissa of
// an x87 long double. Infinities return a nil value and true.
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= 5*1024 {
		return nil, false
	}
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return nil, false
	}
	s := strings.ToLower(string(b))
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return nil, false
	}
	switch body {
	case "inf", "infinity":
		return nil, true
	}
	if strings.ContainsRune(body, '_') || strings.HasPrefix(body, "0b") || strings.HasPrefix(body, "0o") {
		return nil, false
	}
	if !strings.HasPrefix(body, "0x") && strings.ContainsRune(body, 'p') {
		return nil, false // a binary exponent needs a hex mantissa
	}
	if strings.HasPrefix(body, "0x") && len(body) > 2 && body[2] == '.' && len(body) == 3 {
		return nil, false
	}
	f, _, err := new(big.Float).SetPrec(64).SetMode(big.ToNearestEven).Parse(s, 0)
	if err != nil || f.IsInf() {
		return nil, false
	}
	if f.Sign() != 0 {
		// Outside long double's normal range strtold reports ERANGE.
		if exp := f.MantExp(nil); exp > 16384 || exp < -16381 {
			return nil, false
		}
	}
	return f, true
}
