package node

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/slotvault/slotvault/internal/longdouble"
	"github.com/slotvault/slotvault/store"
)

// hashCommands: the hash type (t_hash.c).
func hashCommands() []*Command {
	w := FlagWrite | FlagDenyOOM | FlagFast
	rf := FlagReadonly | FlagFast
	wcat := []string{"write", "hash", "fast"}
	rcat := []string{"read", "hash", "fast"}
	rslow := []string{"read", "hash", "slow"}
	cmd := func(name string, arity int, flags CmdFlag, cats []string, since, summary string, h func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1,
			Categories: cats, Summary: summary, Since: since, Group: "hash", Handler: h}
	}
	return []*Command{
		cmd("hset", -4, w, wcat, "2.0.0", "Set the string value of a hash field", cmdHset),
		cmd("hsetnx", 4, w, wcat, "2.0.0", "Set the value of a hash field, only if the field does not exist", cmdHsetnx),
		cmd("hget", 3, rf, rcat, "2.0.0", "Get the value of a hash field", cmdHget),
		cmd("hmset", -4, w, wcat, "2.0.0", "Set multiple hash fields to multiple values", cmdHset),
		cmd("hmget", -3, rf, rcat, "2.0.0", "Get the values of all the given hash fields", cmdHmget),
		cmd("hdel", -3, FlagWrite|FlagFast, wcat, "2.0.0", "Delete one or more hash fields", cmdHdel),
		cmd("hlen", 2, rf, rcat, "2.0.0", "Get the number of fields in a hash", cmdHlen),
		cmd("hstrlen", 3, rf, rcat, "3.2.0", "Get the length of the value of a hash field", cmdHstrlen),
		cmd("hexists", 3, rf, rcat, "2.0.0", "Determine if a hash field exists", cmdHexists),
		cmd("hkeys", 2, FlagReadonly, rslow, "2.0.0", "Get all the fields in a hash", cmdHkeys),
		cmd("hvals", 2, FlagReadonly, rslow, "2.0.0", "Get all the values in a hash", cmdHvals),
		cmd("hgetall", 2, FlagReadonly, rslow, "2.0.0", "Get all the fields and values in a hash", cmdHgetall),
		cmd("hincrby", 4, w, wcat, "2.0.0", "Increment the integer value of a hash field by the given number", cmdHincrby),
		cmd("hincrbyfloat", 4, w, wcat, "2.6.0", "Increment the float value of a hash field by the given amount", cmdHincrbyfloat),
		cmd("hrandfield", -2, FlagReadonly, rslow, "6.2.0", "Get one or multiple random fields from a hash", cmdHrandfield),
		cmd("hscan", -3, FlagReadonly, rslow, "2.8.0", "Incrementally iterate hash fields and associated values", cmdHscan),
	}
}

// hashRead returns the hash at key (nil when missing). It writes
// WRONGTYPE and returns false when key holds another type.
func hashRead(c *Ctx, key []byte) (*store.Hash, bool) {
	e := c.Lookup(string(key))
	if e == nil {
		return nil, true
	}
	h, ok := e.Value.(*store.Hash)
	if !ok {
		c.ErrWrongType()
		return nil, false
	}
	return h, true
}

// hashWrite returns the hash at key, creating an empty one when missing
// (as Redis's hashTypeLookupWriteOrCreate). It writes WRONGTYPE and returns
// nil when key holds another type.
func hashWrite(c *Ctx, key []byte) *store.Hash {
	h, ok := hashRead(c, key)
	if !ok {
		return nil
	}
	if h == nil {
		h = store.NewHash()
		c.DB.Set(string(key), h, 0)
	}
	return h
}

// hashDropIfEmpty deletes key when its hash became empty (Redis never
// keeps empty aggregates).
func hashDropIfEmpty(c *Ctx, key []byte, h *store.Hash) {
	if h.Len() == 0 {
		c.DB.Delete(string(key))
	}
}

// HSET / HMSET key field value [field value ...]
func cmdHset(c *Ctx) {
	if len(c.Args)%2 != 0 {
		c.ErrArity()
		return
	}
	h := hashWrite(c, c.Args[1])
	if h == nil {
		return
	}
	l := c.Limits()
	created := 0
	for i := 2; i < len(c.Args); i += 2 {
		if h.Set(string(c.Args[i]), string(c.Args[i+1]), l) {
			created++
		}
	}
	c.Dirty((len(c.Args) - 2) / 2)
	if c.ArgIs(0, "hmset") {
		c.R.OK()
		return
	}
	c.R.Int(int64(created))
}

func cmdHsetnx(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h != nil && h.Has(string(c.Args[2])) {
		c.R.Int(0)
		return
	}
	h = hashWrite(c, c.Args[1])
	h.Set(string(c.Args[2]), string(c.Args[3]), c.Limits())
	c.Dirty(1)
	c.R.Int(1)
}

func cmdHget(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.R.Null()
		return
	}
	if v, ok := h.Get(string(c.Args[2])); ok {
		c.R.BulkString(v)
		return
	}
	c.R.Null()
}

func cmdHmget(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	c.R.Array(len(c.Args) - 2)
	for _, f := range c.Args[2:] {
		if h != nil {
			if v, ok := h.Get(string(f)); ok {
				c.R.BulkString(v)
				continue
			}
		}
		c.R.Null()
	}
}

func cmdHdel(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.R.Int(0)
		return
	}
	deleted := 0
	for _, f := range c.Args[2:] {
		if h.Delete(string(f)) {
			deleted++
			if h.Len() == 0 {
				break
			}
		}
	}
	hashDropIfEmpty(c, c.Args[1], h)
	c.Dirty(deleted)
	c.R.Int(int64(deleted))
}

func cmdHlen(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.R.Int(0)
		return
	}
	c.R.Int(int64(h.Len()))
}

func cmdHstrlen(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	n := 0
	if h != nil {
		v, _ := h.Get(string(c.Args[2]))
		n = len(v)
	}
	c.R.Int(int64(n))
}

func cmdHexists(c *Ctx) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h != nil && h.Has(string(c.Args[2])) {
		c.R.Int(1)
		return
	}
	c.R.Int(0)
}

func cmdHkeys(c *Ctx) { hashGetAll(c, true, false) }
func cmdHvals(c *Ctx) { hashGetAll(c, false, true) }

func cmdHgetall(c *Ctx) { hashGetAll(c, true, true) }

// hashGetAll replies with a hash's fields, values or both (a map in RESP3),
// in iteration order.
func hashGetAll(c *Ctx, fields, values bool) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	n := 0
	if h != nil {
		n = h.Len()
	}
	if fields && values {
		c.R.Map(n)
	} else {
		c.R.Array(n)
	}
	if h == nil {
		return
	}
	h.Range(func(f, v string) bool {
		if fields {
			c.R.BulkString(f)
		}
		if values {
			c.R.BulkString(v)
		}
		return true
	})
}

func cmdHincrby(c *Ctx) {
	incr, ok := c.ParseInt(3)
	if !ok {
		return
	}
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	var cur int64
	if h != nil {
		if v, ok := h.Get(string(c.Args[2])); ok {
			if cur, ok = store.ParseStrictInt([]byte(v)); !ok {
				c.Error("ERR hash value is not an integer")
				return
			}
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		c.Error(ErrOverflow)
		return
	}
	cur += incr
	if h == nil {
		h = hashWrite(c, c.Args[1])
	}
	h.Set(string(c.Args[2]), strconv.FormatInt(cur, 10), c.Limits())
	c.Dirty(1)
	c.R.Int(cur)
}

// HINCRBYFLOAT computes in long double precision like Redis on amd64 and
// is propagated as HSET key field <result>, so replicas and the log never
// redo the float arithmetic.
func cmdHincrbyfloat(c *Ctx) {
	incr, ok := longdouble.Parse(c.Args[3])
	if !ok {
		c.Error(ErrNotFloat)
		return
	}
	if incr.IsInf() {
		c.Error("ERR value is NaN or Infinity")
		return
	}
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	cur := longdouble.FromInt64(0)
	if h != nil {
		if v, ok := h.Get(string(c.Args[2])); ok {
			if cur, ok = longdouble.Parse([]byte(v)); !ok {
				c.Error("ERR hash value is not a float")
				return
			}
		}
	}
	sum, ok := longdouble.Add(cur, incr)
	if !ok {
		c.Error("ERR increment would produce NaN or Infinity")
		return
	}
	s := longdouble.Format(sum)
	if h == nil {
		h = hashWrite(c, c.Args[1])
	}
	h.Set(string(c.Args[2]), s, c.Limits())
	c.Dirty(1)
	c.Propagate([]byte("HSET"), c.Args[1], c.Args[2], []byte(s))
	c.R.BulkString(s)
}

// HRANDFIELD key [count [WITHVALUES]]
func cmdHrandfield(c *Ctx) {
	if len(c.Args) >= 3 {
		n, ok := ParseInt(c.Args[2])
		if !ok {
			c.Error(ErrNotInt)
			return
		}
		if n < -math.MaxInt64 {
			c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
			return
		}
		withValues := false
		if len(c.Args) > 4 || (len(c.Args) == 4 && !c.ArgIs(3, "withvalues")) {
			c.ErrSyntax()
			return
		} else if len(c.Args) == 4 {
			withValues = true
			if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
				c.Error("ERR value is out of range")
				return
			}
		}
		hashRandWithCount(c, n, withValues)
		return
	}
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.R.Null()
		return
	}
	c.R.BulkString(h.Random().Field)
}

func hashRandWithCount(c *Ctx, n int64, withValues bool) {
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil || n == 0 {
		c.R.Array(0)
		return
	}
	resp3 := c.R.resp3
	emit := func(p store.HashPair) {
		if withValues && resp3 {
			c.R.Array(2)
		}
		c.R.BulkString(p.Field)
		if withValues {
			c.R.BulkString(p.Value)
		}
	}
	header := func(count int) {
		if withValues && !resp3 {
			c.R.Array(2 * count)
		} else {
			c.R.Array(count)
		}
	}
	// Negative count: count picks, repetitions allowed.
	if n < 0 {
		header(int(-n))
		for i := int64(0); i < -n; i++ {
			emit(h.Random())
		}
		return
	}
	size := h.Len()
	if n >= int64(size) {
		header(size)
		h.Range(func(f, v string) bool {
			emit(store.HashPair{Field: f, Value: v})
			return true
		})
		return
	}
	count := int(n)
	header(count)
	if count*3 > size {
		// Close to the whole hash: a partial shuffle of every pair.
		pairs := h.Pairs()
		for i := 0; i < count; i++ {
			j := i + rand.IntN(len(pairs)-i)
			pairs[i], pairs[j] = pairs[j], pairs[i]
			emit(pairs[i])
		}
		return
	}
	// Far fewer than the hash holds: draw until count distinct fields.
	seen := make(map[string]bool, count)
	for len(seen) < count {
		p := h.Random()
		if seen[p.Field] {
			continue
		}
		seen[p.Field] = true
		emit(p)
	}
}

// HSCAN key cursor [MATCH pattern] [COUNT count]
func cmdHscan(c *Ctx) {
	cursor, ok := hsParseScanCursor(c, c.Args[2])
	if !ok {
		return
	}
	h, ok := hashRead(c, c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		hsReplyScan(c, 0, nil)
		return
	}
	opts, ok := hsParseScanOpts(c, 3)
	if !ok {
		return
	}
	var items []string
	next := uint64(0)
	if h.IsListpack() {
		h.Scan(0, func(f, v string) {
			if opts.match(f) {
				items = append(items, f, v)
			}
		})
	} else {
		next = hsScanLoop(cursor, opts.count, func(cur uint64) (uint64, int) {
			visited := 0
			next := h.Scan(cur, func(f, v string) {
				visited += 2
				if opts.match(f) {
					items = append(items, f, v)
				}
			})
			return next, visited
		})
	}
	hsReplyScan(c, next, items)
}
