package node

import (
	"math"
	"strconv"
	"strings"

	"github.com/slotvault/slotvault/store"
)

// Ctx is the context of one command execution. Handlers run with the node
// lock held; they read arguments from Args, write exactly one reply to R,
// and report changes with Dirty, Propagate and Touch.
type Ctx struct {
	n    *Node
	Cl   *Client
	Cmd  *Command
	Args [][]byte
	DB   *store.DB
	R    *Reply
	// Now is the command's clock in Unix milliseconds, fixed for the
	// command (and for a whole MULTI/EXEC), as Redis's cached time.
	Now int64

	dirty      int
	propagated bool
	prop       [][][]byte

	// deferOK is set by the dispatcher for a top-level command (not inside
	// EXEC, replay or a script), the only place a deferred step can run.
	deferOK  bool
	deferred func() uint64
}

// Defer asks the dispatcher to run fn after the handler returns, once the
// node lock is released, in the client's own goroutine. fn writes the
// reply (the handler must not), takes the lock itself for any state it
// touches and returns the write-log sequence to wait for before the reply
// is sent (0 for none). Defer reports false when the command cannot be
// deferred (inside MULTI/EXEC, replay): the handler must then finish
// under the lock. MIGRATE uses it to do network I/O without the lock.
func (c *Ctx) Defer(fn func() uint64) bool {
	if !c.deferOK || c.Cl.inMulti {
		return false
	}
	c.deferred = fn
	return true
}

// Node returns the node executing the command.
func (c *Ctx) Node() *Node { return c.n }

// Limits returns the encoding thresholds currently configured.
func (c *Ctx) Limits() store.Limits { return c.n.limitsLocked() }

func (n *Node) limitsLocked() store.Limits {
	return store.Limits{
		HashMaxListpackEntries: n.cfg.HashMaxListpackEntries,
		HashMaxListpackValue:   n.cfg.HashMaxListpackValue,
		SetMaxIntsetEntries:    n.cfg.SetMaxIntsetEntries,
		ZsetMaxListpackEntries: n.cfg.ZsetMaxListpackEntries,
		ZsetMaxListpackValue:   n.cfg.ZsetMaxListpackValue,
		ListMaxListpackSize:    n.cfg.ListMaxListpackSize,
	}
}

// Arg returns argument i as a string (copied).
func (c *Ctx) Arg(i int) string { return string(c.Args[i]) }

// ArgIs reports whether argument i equals word, case-insensitively.
func (c *Ctx) ArgIs(i int, word string) bool {
	return i < len(c.Args) && strings.EqualFold(string(c.Args[i]), word)
}

// Dirty records n changes to the dataset (INFO rdb_changes_since_last_save,
// and the signal that the command must be propagated).
func (c *Ctx) Dirty(n int) { c.dirty += n }

// Propagate records argv as (one of) the mutations this command makes, in
// place of the command as received. Handlers call it when the received form
// is not deterministic or not idempotent on replay (relative TTLs, SPOP,
// INCRBYFLOAT, blocking pops). argv is copied.
func (c *Ctx) Propagate(argv ...[]byte) {
	c.propagated = true
	cp := make([][]byte, len(argv))
	for i, a := range argv {
		cp[i] = append([]byte(nil), a...)
	}
	c.prop = append(c.prop, cp)
}

// PropagateStrings is Propagate for string arguments.
func (c *Ctx) PropagateStrings(argv ...string) {
	c.propagated = true
	cp := make([][]byte, len(argv))
	for i, a := range argv {
		cp[i] = []byte(a)
	}
	c.prop = append(c.prop, cp)
}

// NoPropagate marks a command that changed nothing worth logging even
// though it is a write command.
func (c *Ctx) NoPropagate() { c.propagated = true }

// Touch signals that key was modified: WATCHers of it fail their EXEC and
// clients blocked on it are re-examined.
func (c *Ctx) Touch(key string) { c.n.touchKey(c.Cl.DB, key) }

// Error writes an error reply.
func (c *Ctx) Error(msg string) { c.R.Error(msg) }

// ErrWrongType writes the WRONGTYPE error.
func (c *Ctx) ErrWrongType() { c.R.Error(ErrWrongType) }

// ErrSyntax writes the syntax error.
func (c *Ctx) ErrSyntax() { c.R.Error(ErrSyntax) }

// ErrArity writes the wrong-number-of-arguments error for the command.
func (c *Ctx) ErrArity() {
	c.R.Error("ERR wrong number of arguments for '" + c.Cmd.Name + "' command")
}

// Lookup returns the live entry for key in the client's DB.
func (c *Ctx) Lookup(key string) *store.Entry { return c.DB.Lookup(key) }

// ParseInt parses an integer argument as Redis's string2ll; on failure it
// writes "value is not an integer or out of range" and returns false.
func (c *Ctx) ParseInt(i int) (int64, bool) {
	v, ok := ParseInt(c.Args[i])
	if !ok {
		c.R.Error(ErrNotInt)
	}
	return v, ok
}

// ParseFloat parses a float argument as Redis's strtold-based parsing; on
// failure it writes "value is not a valid float".
func (c *Ctx) ParseFloat(i int) (float64, bool) {
	v, ok := ParseFloat(c.Args[i])
	if !ok {
		c.R.Error(ErrNotFloat)
	}
	return v, ok
}

// ParseInt parses b as a 64-bit integer the way Redis's string2ll does.
func ParseInt(b []byte) (int64, bool) {
	return store.ParseStrictInt(b)
}

// ParseFloat parses b as a double the way Redis's getDoubleFromObject does:
// no surrounding spaces, "inf"/"-inf"/"+inf" accepted, NaN refused.
func ParseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 5000 {
		return 0, false
	}
	if b[0] == ' ' || b[len(b)-1] == ' ' || b[0] == '\t' {
		return 0, false
	}
	s := string(b)
	switch strings.ToLower(s) {
	case "inf", "+inf", "infinity", "+infinity":
		return math.Inf(1), true
	case "-inf", "-infinity":
		return math.Inf(-1), true
	}
	// strconv accepts underscores and hex floats with 'p'; strtod accepts hex
	// too, but not underscores.
	if strings.ContainsRune(s, '_') {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			// strtod reports ERANGE; Redis refuses it.
			return 0, false
		}
		return 0, false
	}
	if math.IsNaN(v) {
		return 0, false
	}
	return v, true
}
