package node

import (
	"strings"

	"github.com/slotvault/slotvault/store"
)

// hllCommands: PFADD PFCOUNT PFMERGE and the PFDEBUG / PFSELFTEST internals.
// HLLs are strings in Redis's exact representation (see store/hll.go).
func hllCommands() []*Command {
	hll := func(name string, arity int, flags CmdFlag, first, last int, cats []string, summary string, h func(*Ctx)) *Command {
		step := 0
		if first > 0 {
			step = 1
		}
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Step: step,
			Categories: cats, Summary: summary, Since: "2.8.9", Group: "hyperloglog", Handler: h}
	}
	return []*Command{
		hll("pfadd", -2, FlagWrite|FlagDenyOOM|FlagFast, 1, 1, []string{"write", "hyperloglog", "fast"},
			"Adds the specified elements to the specified HyperLogLog.", cmdPFAdd),
		hll("pfcount", -2, FlagReadonly, 1, -1, []string{"read", "hyperloglog", "slow"},
			"Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", cmdPFCount),
		hll("pfmerge", -2, FlagWrite|FlagDenyOOM, 1, -1, []string{"write", "hyperloglog", "slow"},
			"Merge N different HyperLogLogs into a single one.", cmdPFMerge),
		hll("pfdebug", 3, FlagWrite|FlagDenyOOM|FlagAdmin, 2, 2, []string{"write", "hyperloglog", "admin", "slow", "dangerous"},
			"Internal commands for debugging HyperLogLog values", cmdPFDebug),
		hll("pfselftest", 1, FlagAdmin, 0, 0, []string{"hyperloglog", "admin", "slow", "dangerous"},
			"An internal command for testing HyperLogLog values", cmdPFSelfTest),
	}
}

const (
	errNotHLL     = "WRONGTYPE Key is not a valid HyperLogLog string value."
	errCorruptHLL = "INVALIDOBJ Corrupted HLL object detected"
)

// hllValue returns e's value when it is a valid HLL string, replying with
// the WRONGTYPE errors Redis uses otherwise.
func hllValue(c *Ctx, e *store.Entry) (*store.String, bool) {
	s, ok := e.Value.(*store.String)
	if !ok {
		c.ErrWrongType()
		return nil, false
	}
	if !store.IsHLL(s.B) {
		c.Error(errNotHLL)
		return nil, false
	}
	return s, true
}

func (c *Ctx) hllSparseMax() int64 { return c.Node().Config().HLLSparseMaxBytes }

func cmdPFAdd(c *Ctx) {
	key := c.Arg(1)
	e := c.Lookup(key)
	updated := 0
	var s *store.String
	if e == nil {
		s = &store.String{B: store.NewHLL(), Raw: true}
		c.DB.Set(key, s, 0)
		updated++
	} else {
		var ok bool
		if s, ok = hllValue(c, e); !ok {
			return
		}
		s.Raw = true // Redis unshares the value, making it raw
	}
	for _, ele := range c.Args[2:] {
		nb, r := store.HLLAdd(s.B, ele, c.hllSparseMax())
		s.B = nb
		switch r {
		case 1:
			updated++
		case -1:
			c.Error(errCorruptHLL)
			return
		}
	}
	if updated > 0 {
		store.HLLInvalidateCache(s.B)
		c.Dirty(updated)
		c.R.Int(1)
		return
	}
	c.R.Int(0)
}

func cmdPFCount(c *Ctx) {
	if len(c.Args) > 2 {
		// The cardinality of the union of several HLLs.
		max := make([]uint8, store.HLLRegisters)
		for _, k := range c.Args[1:] {
			e := c.Lookup(string(k))
			if e == nil {
				continue
			}
			s, ok := hllValue(c, e)
			if !ok {
				return
			}
			if store.HLLMerge(max, s.B) != nil {
				c.Error(errCorruptHLL)
				return
			}
		}
		c.R.Int(int64(store.HLLCountRegisters(max)))
		return
	}
	key := c.Arg(1)
	e := c.Lookup(key)
	if e == nil {
		c.R.Int(0)
		return
	}
	s, ok := hllValue(c, e)
	if !ok {
		return
	}
	s.Raw = true
	if card, ok := store.HLLCachedCard(s.B); ok {
		c.R.Int(int64(card))
		return
	}
	card, err := store.HLLCount(s.B)
	if err != nil {
		c.Error(errCorruptHLL)
		return
	}
	// Caching the cardinality modifies the string: PFCOUNT is then
	// propagated and invalidates WATCH, as in Redis.
	store.HLLSetCachedCard(s.B, card)
	c.Touch(key)
	c.Dirty(1)
	c.R.Int(int64(card))
}

func cmdPFMerge(c *Ctx) {
	max := make([]uint8, store.HLLRegisters)
	useDense := false
	for _, k := range c.Args[1:] {
		e := c.Lookup(string(k))
		if e == nil {
			continue
		}
		s, ok := hllValue(c, e)
		if !ok {
			return
		}
		if s.B[4] == store.HLLEncDense {
			useDense = true
		}
		if store.HLLMerge(max, s.B) != nil {
			c.Error(errCorruptHLL)
			return
		}
	}
	key := c.Arg(1)
	var s *store.String
	if e := c.Lookup(key); e == nil {
		s = &store.String{B: store.NewHLL(), Raw: true}
		c.DB.Set(key, s, 0)
	} else {
		// The destination was validated as one of the sources.
		s = e.Value.(*store.String)
		s.Raw = true
	}
	if useDense {
		d, err := store.HLLSparseToDense(s.B)
		if err != nil {
			c.Error(errCorruptHLL)
			return
		}
		s.B = d
	}
	for j, v := range max {
		if v != 0 {
			s.B = store.HLLSetRegister(s.B, j, v, c.hllSparseMax())
		}
	}
	store.HLLInvalidateCache(s.B)
	c.Dirty(1)
	c.R.OK()
}

func cmdPFDebug(c *Ctx) {
	sub := c.Arg(1)
	key := c.Arg(2)
	e := c.Lookup(key)
	if e == nil {
		c.Error("ERR The specified key does not exist")
		return
	}
	s, ok := hllValue(c, e)
	if !ok {
		return
	}
	s.Raw = true
	switch strings.ToLower(sub) {
	case "getreg":
		if s.B[4] == store.HLLEncSparse {
			d, err := store.HLLSparseToDense(s.B)
			if err != nil {
				c.Error(errCorruptHLL)
				return
			}
			s.B = d
			c.Dirty(1) // the encoding changed: propagate
		}
		regs := store.HLLRegisterValues(s.B)
		c.R.Array(len(regs))
		for _, v := range regs {
			c.R.Int(int64(v))
		}
	case "decode":
		if s.B[4] != store.HLLEncSparse {
			c.Error("ERR HLL encoding is not sparse")
			return
		}
		c.R.BulkString(store.HLLDecodeSparse(s.B))
	case "encoding":
		if s.B[4] == store.HLLEncDense {
			c.R.Simple("dense")
		} else {
			c.R.Simple("sparse")
		}
	case "todense":
		if s.B[4] == store.HLLEncSparse {
			d, err := store.HLLSparseToDense(s.B)
			if err != nil {
				c.Error(errCorruptHLL)
				return
			}
			s.B = d
			c.Dirty(1)
			c.R.Int(1)
			return
		}
		c.R.Int(0)
	default:
		c.Error("ERR Unknown PFDEBUG subcommand '" + sub + "'")
	}
}

// cmdPFSelfTest checks the register and estimator code paths on a scratch
// HLL, as Redis's PFSELFTEST does, and replies OK or a TESTFAILED error.
func cmdPFSelfTest(c *Ctx) {
	if err := store.HLLSelfTest(); err != nil {
		c.Error("TESTFAILED " + err.Error())
		return
	}
	c.R.OK()
}
