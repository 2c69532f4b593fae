package node

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/slotvault/slotvault/internal/glob"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/slots"
	"github.com/slotvault/slotvault/store"
)

// keyspaceCommands: the generic key commands (DEL, EXISTS, TYPE, RENAME,
// COPY, MOVE, the EXPIRE and TTL families, PERSIST, KEYS, SCAN, RANDOMKEY,
// TOUCH, OBJECT, DUMP, RESTORE).
func keyspaceCommands() []*Command {
	cat := func(c ...string) []string { return append([]string{"keyspace"}, c...) }
	gen := func(cmd *Command) *Command { cmd.Group = "generic"; return cmd }
	expire := func(name, summary, since string, unit int64, relative bool) *Command {
		return gen(&Command{Name: name, Arity: -3, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1,
			Categories: cat("write", "fast"), Summary: summary, Since: since,
			Handler: func(c *Ctx) { cmdExpire(c, unit, relative) }})
	}
	ttl := func(name, summary, since string, ms, abs bool) *Command {
		return gen(&Command{Name: name, Arity: 2, Flags: FlagReadonly | FlagFast, FirstKey: 1, LastKey: 1,
			Categories: cat("read", "fast"), Summary: summary, Since: since,
			Handler: func(c *Ctx) { cmdTTL(c, ms, abs) }})
	}
	objSub := func(summary string, h func(c *Ctx, e *store.Entry)) *Command {
		return &Command{Arity: 3, Flags: FlagReadonly, FirstKey: 2, LastKey: 2, Categories: cat("read", "slow"),
			Summary: summary, Since: "2.2.3", Group: "generic", Handler: func(c *Ctx) {
				e := c.DB.LookupNoTouch(string(c.Args[2]))
				if e == nil {
					c.R.Null()
					return
				}
				h(c, e)
			}}
	}
	return []*Command{
		gen(&Command{Name: "del", Arity: -2, Flags: FlagWrite, FirstKey: 1, LastKey: -1, Categories: cat("write", "slow"),
			Summary: "Delete a key", Since: "1.0.0", Handler: cmdDel}),
		gen(&Command{Name: "unlink", Arity: -2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: -1, Categories: cat("write", "fast"),
			Summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", Since: "4.0.0", Handler: cmdDel}),
		gen(&Command{Name: "exists", Arity: -2, Flags: FlagReadonly | FlagFast, FirstKey: 1, LastKey: -1, Categories: cat("read", "fast"),
			Summary: "Determine if a key exists", Since: "1.0.0", Handler: cmdExists}),
		gen(&Command{Name: "type", Arity: 2, Flags: FlagReadonly | FlagFast, FirstKey: 1, LastKey: 1, Categories: cat("read", "fast"),
			Summary: "Determine the type stored at key", Since: "1.0.0", Handler: cmdType}),
		gen(&Command{Name: "rename", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 2, Categories: cat("write", "slow"),
			Summary: "Rename a key", Since: "1.0.0", Handler: func(c *Ctx) { cmdRename(c, false) }}),
		gen(&Command{Name: "renamenx", Arity: 3, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 2, Categories: cat("write", "fast"),
			Summary: "Rename a key, only if the new key does not exist", Since: "1.0.0", Handler: func(c *Ctx) { cmdRename(c, true) }}),
		gen(&Command{Name: "copy", Arity: -3, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 2, Categories: cat("write", "slow"),
			Summary: "Copy a key", Since: "6.2.0", Handler: cmdCopy}),
		gen(&Command{Name: "move", Arity: 3, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Categories: cat("write", "fast"),
			Summary: "Move a key to another database", Since: "1.0.0", Handler: cmdMove}),
		expire("expire", "Set a key's time to live in seconds", "1.0.0", 1000, true),
		expire("pexpire", "Set a key's time to live in milliseconds", "2.6.0", 1, true),
		expire("expireat", "Set the expiration for a key as a UNIX timestamp", "1.2.0", 1000, false),
		expire("pexpireat", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", 1, false),
		ttl("ttl", "Get the time to live for a key in seconds", "1.0.0", false, false),
		ttl("pttl", "Get the time to live for a key in milliseconds", "2.6.0", true, false),
		ttl("expiretime", "Get the expiration Unix timestamp for a key", "7.0.0", false, true),
		ttl("pexpiretime", "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", true, true),
		gen(&Command{Name: "persist", Arity: 2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Categories: cat("write", "fast"),
			Summary: "Remove the expiration from a key", Since: "2.2.0", Handler: cmdPersist}),
		gen(&Command{Name: "keys", Arity: 2, Flags: FlagReadonly, Categories: cat("read", "slow", "dangerous"),
			Summary: "Find all keys matching the given pattern", Since: "1.0.0", Handler: cmdKeys}),
		gen(&Command{Name: "scan", Arity: -2, Flags: FlagReadonly, Categories: cat("read", "slow"),
			Summary: "Incrementally iterate the keys space", Since: "2.8.0", Handler: cmdScan}),
		gen(&Command{Name: "randomkey", Arity: 1, Flags: FlagReadonly, Categories: cat("read", "slow"),
			Summary: "Return a random key from the keyspace", Since: "1.0.0", Handler: cmdRandomKey}),
		gen(&Command{Name: "touch", Arity: -2, Flags: FlagReadonly | FlagFast, FirstKey: 1, LastKey: -1, Categories: cat("read", "fast"),
			Summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.", Since: "3.2.1", Handler: cmdTouch}),
		gen(&Command{Name: "object", Arity: -2, Categories: []string{"slow"},
			Summary: "A container for object introspection commands", Since: "2.2.3", Handler: cmdObjectUnknown,
			Subcommands: map[string]*Command{
				"encoding": objSub("Inspect the internal encoding of a Redis object", func(c *Ctx, e *store.Entry) {
					c.R.BulkString(e.Value.Encoding())
				}),
				"refcount": objSub("Get the number of references to the value of the key", func(c *Ctx, e *store.Entry) {
					c.R.Int(refCount(c, e))
				}),
				"idletime": objSub("Get the time since a Redis object was last accessed", func(c *Ctx, e *store.Entry) {
					if lfuPolicy(c.n.cfg.MaxMemoryPolicy) {
						c.Error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
						return
					}
					c.R.Int(c.DB.IdleSeconds(e))
				}),
				"freq": objSub("Get the logarithmic access frequency counter of a Redis object", func(c *Ctx, e *store.Entry) {
					if !lfuPolicy(c.n.cfg.MaxMemoryPolicy) {
						c.Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
						return
					}
					c.R.Int(int64(c.DB.LFUCounter(e)))
				}),
				"help": {Arity: 2, Flags: FlagLoading | FlagStale, Categories: cat("slow"), Summary: "Show helpful text about the different subcommands",
					Since: "6.2.0", Group: "generic", Handler: cmdObjectHelp},
			}}),
		gen(&Command{Name: "dump", Arity: 2, Flags: FlagReadonly, FirstKey: 1, LastKey: 1, Categories: cat("read", "slow"),
			Summary: "Return a serialized version of the value stored at the specified key.", Since: "2.6.0", Handler: cmdDump}),
		gen(&Command{Name: "restore", Arity: -4, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 1, Categories: cat("write", "slow", "dangerous"),
			Summary: "Create a key using the provided serialized value, previously obtained using DUMP.", Since: "2.6.0", Handler: cmdRestore}),
	}
}

const errSameObject = "ERR source and destination objects are the same"

func lfuPolicy(policy string) bool { return strings.HasSuffix(policy, "-lfu") }

// syncAccessPolicyLocked makes every DB track accesses the way
// maxmemory-policy asks (LRU clock or LFU counter). Called when DBs are
// created and from the cron, so CONFIG SET takes effect within a tick.
func (n *Node) syncAccessPolicyLocked() {
	lfu := lfuPolicy(n.cfg.MaxMemoryPolicy)
	for _, db := range n.dbs {
		if db != nil {
			db.LFU = lfu
		}
	}
}

func cmdDel(c *Ctx) {
	deleted := 0
	for _, k := range c.Args[1:] {
		if c.DB.Delete(string(k)) != nil {
			deleted++
		}
	}
	c.Dirty(deleted)
	c.R.Int(int64(deleted))
}

func cmdExists(c *Ctx) {
	n := 0
	for _, k := range c.Args[1:] {
		if c.DB.LookupNoTouch(string(k)) != nil {
			n++
		}
	}
	c.R.Int(int64(n))
}

func cmdType(c *Ctx) {
	e := c.DB.LookupNoTouch(string(c.Args[1]))
	if e == nil {
		c.R.Simple("none")
		return
	}
	c.R.Simple(e.Value.Type())
}

func cmdTouch(c *Ctx) {
	n := 0
	for _, k := range c.Args[1:] {
		if c.Lookup(string(k)) != nil {
			n++
		}
	}
	c.R.Int(int64(n))
}

func cmdRename(c *Ctx, nx bool) {
	src, dst := string(c.Args[1]), string(c.Args[2])
	e := c.Lookup(src)
	if e == nil {
		c.Error(ErrNoSuchKey)
		return
	}
	if src == dst {
		if nx {
			c.R.Int(0)
		} else {
			c.R.OK()
		}
		return
	}
	if c.Lookup(dst) != nil {
		if nx {
			c.R.Int(0)
			return
		}
		c.DB.Delete(dst)
	}
	// The value object moves: it keeps its TTL and access record.
	v, expire, lru := e.Value, e.Expire, e.LRU
	c.DB.Delete(src)
	c.DB.Set(dst, v, expire).LRU = lru
	c.Dirty(1)
	if nx {
		c.R.Int(1)
	} else {
		c.R.OK()
	}
}

// parseDBIndex parses a database number as getIntFromObjectOrReply does
// and checks it exists, writing the error reply on failure.
func parseDBIndex(c *Ctx, i int) (int, bool) {
	v, ok := ParseInt(c.Args[i])
	if !ok {
		c.Error(ErrNotInt)
		return 0, false
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		c.Error("ERR value is out of range, value must between -2147483648 and 2147483647")
		return 0, false
	}
	if v < 0 || v >= int64(len(c.n.dbs)) {
		c.Error(ErrDBIndex)
		return 0, false
	}
	return int(v), true
}

func cmdCopy(c *Ctx) {
	srcID, dstID := c.Cl.DB, c.Cl.DB
	replace := false
	for j := 3; j < len(c.Args); j++ {
		switch {
		case c.ArgIs(j, "replace"):
			replace = true
		case c.ArgIs(j, "db") && j+1 < len(c.Args):
			id, ok := parseDBIndex(c, j+1)
			if !ok {
				return
			}
			dstID = id
			j++
		default:
			c.ErrSyntax()
			return
		}
	}
	if c.n.cfg.ClusterEnabled && (srcID != 0 || dstID != 0) {
		c.Error("ERR Copying to another database is not allowed in cluster mode")
		return
	}
	src, dst := string(c.Args[1]), string(c.Args[2])
	if srcID == dstID && src == dst {
		c.Error(errSameObject)
		return
	}
	e := c.Lookup(src)
	if e == nil {
		c.R.Int(0)
		return
	}
	ddb := c.n.dbs[dstID]
	if ddb.Lookup(dst) != nil {
		if !replace {
			c.R.Int(0)
			return
		}
		ddb.Delete(dst)
	}
	ddb.Set(dst, e.Value.Clone(), e.Expire)
	if dstID != c.Cl.DB {
		c.n.touchKey(dstID, dst)
	}
	c.Dirty(1)
	c.R.Int(1)
}

func cmdMove(c *Ctx) {
	if c.n.cfg.ClusterEnabled {
		c.Error("ERR MOVE is not allowed in cluster mode")
		return
	}
	dstID, ok := parseDBIndex(c, 2)
	if !ok {
		return
	}
	if dstID == c.Cl.DB {
		c.Error(errSameObject)
		return
	}
	key := string(c.Args[1])
	e := c.Lookup(key)
	if e == nil {
		c.R.Int(0)
		return
	}
	ddb := c.n.dbs[dstID]
	if ddb.Lookup(key) != nil {
		c.R.Int(0)
		return
	}
	v, expire, lru := e.Value, e.Expire, e.LRU
	c.DB.Delete(key)
	ddb.Set(key, v, expire).LRU = lru
	c.n.touchKey(dstID, key)
	c.Dirty(1)
	c.R.Int(1)
}

// EXPIRE option flags.
const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

// cmdExpire implements EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: unit is
// the multiplier to milliseconds, relative adds the command time.
func cmdExpire(c *Ctx, unit int64, relative bool) {
	flags := 0
	for j := 3; j < len(c.Args); j++ {
		switch strings.ToLower(string(c.Args[j])) {
		case "nx":
			flags |= expireNX
		case "xx":
			flags |= expireXX
		case "gt":
			flags |= expireGT
		case "lt":
			flags |= expireLT
		default:
			c.Error("ERR Unsupported option " + string(c.Args[j]))
			return
		}
	}
	if flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0 {
		c.Error("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if flags&expireGT != 0 && flags&expireLT != 0 {
		c.Error("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := c.ParseInt(2)
	if !ok {
		return
	}
	badTime := "ERR invalid expire time in '" + c.Cmd.Name + "' command"
	if unit == 1000 {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.Error(badTime)
			return
		}
		when *= 1000
	}
	var base int64
	if relative {
		base = c.Now
	}
	if when > math.MaxInt64-base {
		c.Error(badTime)
		return
	}
	when += base
	key := string(c.Args[1])
	e := c.Lookup(key)
	if e == nil {
		c.R.Int(0)
		return
	}
	if flags != 0 {
		cur := e.Expire // 0 = none (Redis's -1)
		if flags&expireNX != 0 && cur != 0 ||
			flags&expireXX != 0 && cur == 0 ||
			flags&expireGT != 0 && (cur == 0 || when <= cur) ||
			flags&expireLT != 0 && cur != 0 && when >= cur {
			c.R.Int(0)
			return
		}
	}
	if when <= c.Now && !c.n.loading.Load() {
		// Already expired: delete, and log a DEL rather than a time that
		// replays differently.
		c.DB.Delete(key)
		c.Dirty(1)
		c.Propagate([]byte("DEL"), c.Args[1])
		c.R.Int(1)
		return
	}
	if when == 0 {
		// Expire 0 means "none" in the store; the epoch is long past, so
		// only a loading replay gets here: keep the key expiring at once.
		when = 1
	}
	c.DB.SetExpire(key, when)
	c.Dirty(1)
	argv := append([][]byte{[]byte("PEXPIREAT"), c.Args[1], strconv.AppendInt(nil, when, 10)}, c.Args[3:]...)
	c.Propagate(argv...)
	c.R.Int(1)
}

func cmdTTL(c *Ctx, ms, abs bool) {
	e := c.DB.LookupNoTouch(string(c.Args[1]))
	if e == nil {
		c.R.Int(-2)
		return
	}
	if e.Expire == 0 {
		c.R.Int(-1)
		return
	}
	ttl := e.Expire
	if !abs {
		ttl -= c.Now
	}
	if ttl < 0 {
		ttl = 0
	}
	if !ms {
		ttl = (ttl + 500) / 1000
	}
	c.R.Int(ttl)
}

func cmdPersist(c *Ctx) {
	key := string(c.Args[1])
	e := c.Lookup(key)
	if e == nil || e.Expire == 0 {
		c.R.Int(0)
		return
	}
	c.DB.SetExpire(key, 0)
	c.Dirty(1)
	c.R.Int(1)
}

func cmdKeys(c *Ctx) {
	pattern := c.Args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	now := c.DB.Now()
	var keys []string
	for s := c.DB.NextNonEmptySlot(0); s >= 0; s = c.DB.NextNonEmptySlot(s + 1) {
		c.DB.KeysInSlot(s, func(k string, e *store.Entry) bool {
			if (all || glob.Match(pattern, []byte(k), false)) && (e.Expire == 0 || e.Expire > now) {
				keys = append(keys, k)
			}
			return true
		})
	}
	c.R.StringArray(keys)
}

// SCAN cursors name the hash slot to continue from: each call returns
// every key of the slots it visits, so a key present for the whole scan
// is returned exactly once however the keyspace changes in between.
// Cursor 0 starts (and, returned, ends) the scan; like Redis, which masks
// cursors to its table size, larger cursors are taken modulo the slot count.
func cmdScan(c *Ctx) {
	cursor, ok := parseScanCursor(c.Args[1])
	if !ok {
		c.Error("ERR invalid cursor")
		return
	}
	count := int64(10)
	var pattern []byte
	var typ string
	for i := 2; i < len(c.Args); i += 2 {
		more := i+1 < len(c.Args)
		switch {
		case c.ArgIs(i, "count") && more:
			n, ok := c.ParseInt(i + 1)
			if !ok {
				return
			}
			if n < 1 {
				c.ErrSyntax()
				return
			}
			count = n
		case c.ArgIs(i, "match") && more:
			pattern = c.Args[i+1]
			if len(pattern) == 1 && pattern[0] == '*' {
				pattern = nil
			}
		case c.ArgIs(i, "type") && more:
			typ = string(c.Args[i+1])
		default:
			c.ErrSyntax()
			return
		}
	}
	var keys []string
	next := uint64(0)
	slot := int(cursor & (slots.Count - 1))
	for int64(len(keys)) < count {
		s := c.DB.NextNonEmptySlot(slot)
		if s < 0 {
			slot = slots.Count
			break
		}
		c.DB.KeysInSlot(s, func(k string, _ *store.Entry) bool {
			keys = append(keys, k)
			return true
		})
		slot = s + 1
	}
	if slot < slots.Count {
		next = uint64(slot)
	}
	out := keys[:0]
	for _, k := range keys {
		if pattern != nil && !glob.Match(pattern, []byte(k), false) {
			continue
		}
		if typ != "" {
			t := "none"
			if e := c.DB.Peek(k); e != nil && (e.Expire == 0 || e.Expire > c.DB.Now()) {
				t = e.Value.Type()
			}
			if !strings.EqualFold(typ, t) {
				continue
			}
		}
		if c.DB.LookupNoTouch(k) == nil { // expired: removed now, as Redis does
			continue
		}
		out = append(out, k)
	}
	c.R.Array(2)
	c.R.BulkString(strconv.FormatUint(next, 10))
	c.R.StringArray(out)
}

// parseScanCursor parses a cursor as Redis's strtoul-based check does:
// no leading space, optional sign (a negative cursor wraps), decimal
// digits to the end of the C string, no overflow; "" is cursor 0.
func parseScanCursor(b []byte) (uint64, bool) {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i] // strtoul stops at the C string's end
	}
	if len(b) == 0 {
		return 0, true
	}
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return 0, false
	}
	neg := false
	digits := b
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		digits = b[1:]
	}
	if len(digits) == 0 {
		return 0, false
	}
	var v uint64
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, true
}

func cmdRandomKey(c *Ctx) {
	k, ok := c.DB.RandomKey()
	if !ok {
		c.R.Null()
		return
	}
	c.R.BulkString(k)
}

// refCount mimics Redis's OBJECT REFCOUNT: small non-negative integers
// are shared objects (refcount INT_MAX) unless maxmemory with an LRU/LFU
// policy disables sharing; everything else has one reference.
func refCount(c *Ctx, e *store.Entry) int64 {
	if s, ok := e.Value.(*store.String); ok && s.Encoding() == "int" {
		v, _ := ParseInt(s.B)
		policy := c.n.cfg.MaxMemoryPolicy
		noShared := c.n.cfg.MaxMemory > 0 && (strings.HasSuffix(policy, "-lru") || strings.HasSuffix(policy, "-lfu"))
		if v >= 0 && v < 10000 && !noShared {
			return math.MaxInt32
		}
	}
	return 1
}

func cmdObjectUnknown(c *Ctx) {
	sub := c.Args[1]
	if len(sub) > 128 {
		sub = sub[:128]
	}
	c.Error("ERR unknown subcommand '" + string(sub) + "'. Try OBJECT HELP.")
}

var objectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

func cmdObjectHelp(c *Ctx) {
	c.R.Array(len(objectHelp))
	for _, l := range objectHelp {
		c.R.Simple(l)
	}
}

func cmdDump(c *Ctx) {
	e := c.Lookup(string(c.Args[1]))
	if e == nil {
		c.R.Null()
		return
	}
	p, err := DumpPayload(e.Value)
	if err != nil {
		c.Error("ERR " + err.Error())
		return
	}
	c.R.Bulk(p)
}

func cmdRestore(c *Ctx) {
	replace, absTTL := false, false
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(c.Args); j++ {
		more := j+1 < len(c.Args)
		switch {
		case c.ArgIs(j, "replace"):
			replace = true
		case c.ArgIs(j, "absttl"):
			absTTL = true
		case c.ArgIs(j, "idletime") && more && freq == -1:
			v, ok := c.ParseInt(j + 1)
			if !ok {
				return
			}
			if v < 0 {
				c.Error("ERR Invalid IDLETIME value, must be >= 0")
				return
			}
			idle = v
			j++
		case c.ArgIs(j, "freq") && more && idle == -1:
			v, ok := c.ParseInt(j + 1)
			if !ok {
				return
			}
			if v < 0 || v > 255 {
				c.Error("ERR Invalid FREQ value, must be >= 0 and <= 255")
				return
			}
			freq = v
			j++
		default:
			c.ErrSyntax()
			return
		}
	}
	key := string(c.Args[1])
	if !replace && c.Lookup(key) != nil {
		c.Error(ErrBusyKey)
		return
	}
	ttl, ok := c.ParseInt(2)
	if !ok {
		return
	}
	if ttl < 0 {
		c.Error("ERR Invalid TTL value, must be >= 0")
		return
	}
	v, err := RestorePayload(c.Args[3], c.Limits())
	if err != nil {
		if errors.Is(err, rdb.ErrPayload) {
			c.Error("ERR DUMP payload version or checksum are wrong")
		} else {
			c.Error("ERR Bad data format")
		}
		return
	}
	deleted := replace && c.DB.Delete(key) != nil
	if ttl != 0 && !absTTL {
		ttl += c.Now // wraps on overflow like Redis, and is then "expired"
	}
	if ttl != 0 && ttl <= c.Now && !c.n.loading.Load() {
		if deleted {
			c.Dirty(1)
			c.Propagate([]byte("DEL"), c.Args[1])
		}
		c.R.OK()
		return
	}
	e := c.DB.Set(key, v, ttl)
	if lfuPolicy(c.n.cfg.MaxMemoryPolicy) {
		if freq >= 0 {
			c.DB.SetFreq(e, uint8(freq))
		}
	} else if idle >= 0 {
		c.DB.SetIdle(e, idle)
	}
	c.Dirty(1)
	if ttl != 0 && !absTTL {
		argv := append([][]byte{}, c.Args...)
		argv[2] = strconv.AppendInt(nil, ttl, 10)
		argv = append(argv, []byte("ABSTTL"))
		c.Propagate(argv...)
	}
	c.R.OK()
}
