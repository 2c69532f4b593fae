package node

import (
	"strings"
	"time"
)

// Persistence is what the persistence commands and INFO need from the
// persistence layer (persistence.Manager implements it; the node does not
// import that package). Every method is called with the node lock held.
type Persistence interface {
	// SaveLocked takes a snapshot synchronously (SAVE).
	SaveLocked() error
	// BGSaveLocked starts or schedules a background snapshot and returns
	// the status reply, or an error whose text is the error reply.
	BGSaveLocked(schedule bool) (string, error)
	// BGRewriteLocked starts or schedules BGREWRITEAOF.
	BGRewriteLocked() (string, error)
	// InfoLocked renders INFO persistence after the "loading" field.
	InfoLocked(b *strings.Builder)
}

// SetPersistence installs the persistence layer (before Start).
func (n *Node) SetPersistence(p Persistence) { n.persist = p }

// Dirty returns the changes since the last save (node lock held).
func (n *Node) Dirty() int64 { return n.dirty }

// LastSave returns the Unix time of the last successful save (node lock
// held).
func (n *Node) LastSave() int64 { return n.lastSave }

// MarkSaved records a successful save that started when Dirty was
// dirtyBefore (node lock held).
func (n *Node) MarkSaved(dirtyBefore, unix int64) {
	n.dirty -= dirtyBefore
	if n.dirty < 0 {
		n.dirty = 0
	}
	n.lastSave = unix
}

// persistCommands: SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF.
func persistCommands() []*Command {
	return []*Command{
		{Name: "save", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoMulti, Categories: []string{"admin", "slow", "dangerous"},
			Summary: "Synchronously saves the database(s) to disk.", Since: "1.0.0", Group: "server", Handler: cmdSave},
		{Name: "bgsave", Arity: -1, Flags: FlagAdmin | FlagNoScript, Categories: []string{"admin", "slow", "dangerous"},
			Summary: "Asynchronously saves the database(s) to disk.", Since: "1.0.0", Group: "server", Handler: cmdBgsave},
		{Name: "lastsave", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Categories: []string{"admin", "fast", "dangerous"},
			Summary: "Returns the Unix timestamp of the last successful save to disk.", Since: "1.0.0", Group: "server",
			Handler: func(c *Ctx) { c.R.Int(c.n.lastSave) }},
		{Name: "bgrewriteaof", Arity: 1, Flags: FlagAdmin | FlagNoScript, Categories: []string{"admin", "slow", "dangerous"},
			Summary: "Asynchronously rewrites the append-only file to disk.", Since: "1.0.0", Group: "server", Handler: cmdBgrewriteaof},
	}
}

func cmdSave(c *Ctx) {
	n := c.n
	if n.persist == nil {
		n.MarkSaved(n.dirty, time.Now().Unix())
		c.R.Simple("OK")
		return
	}
	if err := n.persist.SaveLocked(); err != nil {
		if strings.Contains(err.Error(), "already in progress") {
			c.R.Error("ERR Background save already in progress")
			return
		}
		c.R.Error("ERR")
		return
	}
	c.R.Simple("OK")
}

func cmdBgsave(c *Ctx) {
	schedule := false
	if len(c.Args) > 1 {
		if len(c.Args) == 2 && c.ArgIs(1, "schedule") {
			schedule = true
		} else {
			c.ErrSyntax()
			return
		}
	}
	n := c.n
	if n.persist == nil {
		n.MarkSaved(n.dirty, time.Now().Unix())
		c.R.Simple("Background saving started")
		return
	}
	msg, err := n.persist.BGSaveLocked(schedule)
	if err != nil {
		c.R.Error(err.Error())
		return
	}
	c.R.Simple(msg)
}

func cmdBgrewriteaof(c *Ctx) {
	n := c.n
	if n.persist == nil {
		c.R.Simple("Background append only file rewriting started")
		return
	}
	msg, err := n.persist.BGRewriteLocked()
	if err != nil {
		if strings.Contains(err.Error(), "already in progress") {
			c.R.Error(err.Error())
		} else {
			c.R.Error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
		}
		return
	}
	c.R.Simple(msg)
}
