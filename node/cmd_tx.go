package node

import "time"

// Transactions follow Redis: MULTI starts queueing (the dispatcher queues
// every command but the transaction controls and flags the transaction
// dirty when a command is refused), EXEC runs the queue under one hold of
// the node lock, so no other client's command interleaves. WATCHed keys
// touched by any writer (or expired) between WATCH and EXEC make EXEC
// reply with a null array.
//
// In the write log an EXEC that changed anything is wrapped in a MULTI
// record before its first write and an EXEC record after its last, so a
// loader can apply the transaction all-or-nothing.

func txCommands() []*Command {
	txFlags := FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy
	return []*Command{
		{Name: "multi", Arity: 1, Flags: txFlags, Categories: []string{"transaction"},
			Summary: "Mark the start of a transaction block", Since: "1.2.0", Group: "transactions", Handler: cmdMulti},
		{Name: "exec", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagSkipSlowlog, Categories: []string{"transaction"},
			Summary: "Execute all commands issued after MULTI", Since: "1.2.0", Group: "transactions", Handler: cmdExec},
		{Name: "discard", Arity: 1, Flags: txFlags, Categories: []string{"transaction"},
			Summary: "Discard all commands issued after MULTI", Since: "2.0.0", Group: "transactions", Handler: cmdDiscard},
		{Name: "watch", Arity: -2, Flags: txFlags, FirstKey: 1, LastKey: -1, Step: 1, Categories: []string{"transaction"},
			Summary: "Watch the given keys to determine execution of the MULTI/EXEC block", Since: "2.2.0", Group: "transactions", Handler: cmdWatch},
		{Name: "unwatch", Arity: 1, Flags: txFlags, Categories: []string{"transaction"},
			Summary: "Forget about all watched keys", Since: "2.2.0", Group: "transactions", Handler: cmdUnwatch},
	}
}

func cmdMulti(c *Ctx) {
	if c.Cl.inMulti {
		c.Error(ErrNestedMulti)
		return
	}
	c.Cl.inMulti = true
	c.Cl.multiDirty = false
	c.Cl.queued = nil
	c.R.OK()
}

func cmdDiscard(c *Ctx) {
	if !c.Cl.inMulti {
		c.Error(ErrDiscardNoMul)
		return
	}
	c.n.discardTransactionLocked(c.Cl)
	c.R.OK()
}

// discardTransactionLocked leaves MULTI state and drops every WATCH, as
// Redis's discardTransaction does after EXEC or DISCARD.
func (n *Node) discardTransactionLocked(cl *Client) {
	cl.inMulti = false
	cl.multiDirty = false
	cl.queued = nil
	n.unwatchAllLocked(cl)
}

func cmdWatch(c *Ctx) {
	if c.Cl.inMulti {
		c.Error(ErrWatchInMulti)
		return
	}
	n := c.n
	for _, a := range c.Args[1:] {
		wk := watchKey{c.Cl.DB, string(a)}
		if c.Cl.isWatching(wk) {
			continue
		}
		// A key already logically expired is removed now: Redis treats its
		// later removal by expiry as "no change", which is what watching
		// an absent key gives.
		c.DB.Lookup(wk.key)
		c.Cl.watched = append(c.Cl.watched, wk)
		n.watchers[wk] = append(n.watchers[wk], c.Cl)
	}
	c.R.OK()
}

func (cl *Client) isWatching(wk watchKey) bool {
	for _, w := range cl.watched {
		if w == wk {
			return true
		}
	}
	return false
}

func cmdUnwatch(c *Ctx) {
	c.n.unwatchAllLocked(c.Cl)
	c.R.OK()
}

// watchedKeyExpiredLocked reports whether a watched key has expired since
// WATCH (it is still stored but logically gone), which fails EXEC.
func (n *Node) watchedKeyExpiredLocked(cl *Client, now int64) bool {
	for _, wk := range cl.watched {
		if e := n.dbs[wk.db].Peek(wk.key); e != nil && e.Expire != 0 && e.Expire <= now {
			return true
		}
	}
	return false
}

func cmdExec(c *Ctx) {
	cl := c.Cl
	n := c.n
	if !cl.inMulti {
		c.Error(ErrExecNoMulti)
		return
	}
	if cl.multiDirty {
		c.Error(ErrExecAbort)
		n.discardTransactionLocked(cl)
		return
	}
	if cl.watchDirty || n.watchedKeyExpiredLocked(cl, c.Now) {
		c.R.NullArray()
		n.discardTransactionLocked(cl)
		return
	}
	queued := cl.queued
	cl.queued = nil
	// Watches are dropped before running: the transaction's own writes do
	// not concern it.
	n.unwatchAllLocked(cl)

	c.R.Array(len(queued))
	wrapped := false
	for _, q := range queued {
		cmd := q.cmd
		sub := cmd
		if cmd.Subcommands != nil && len(q.args) >= 2 {
			if s := cmd.Subcommands[lowerASCII(q.args[1])]; s != nil {
				sub = s
			}
		}
		if n.aclRecheckInExecLocked(cl, cmd, sub, q.args, c.R) {
			continue
		}
		ic := Ctx{n: n, Cl: cl, Cmd: sub, Args: q.args, DB: n.dbs[cl.DB], R: c.R, Now: c.Now}
		n.runInExecLocked(&ic, cmd)
		if ic.dirty > 0 || len(ic.prop) > 0 {
			if !wrapped {
				wrapped = true
				n.propagate(cl.DB, [][]byte{[]byte("MULTI")})
			}
		}
		n.flushPropagationLocked(&ic)
	}
	cl.inMulti = false
	cl.multiDirty = false
	if wrapped {
		// The EXEC record goes through the command's own propagation so
		// that the dispatcher waits for it to be durable.
		c.PropagateStrings("EXEC")
	}
}

// runInExecLocked is callLocked for a command inside EXEC: it runs the
// handler and keeps statistics and the slow log, but leaves propagation to
// EXEC and serving blocked clients until after the whole transaction.
func (n *Node) runInExecLocked(c *Ctx, top *Command) {
	cl := c.Cl
	start := time.Now()
	before := c.R.Len()
	c.Cmd.Handler(c)
	dur := time.Since(start)
	cmd := c.Cmd
	cmd.calls++
	cmd.usec += dur.Microseconds()
	if c.R.Len() > before && c.R.b[before] == '-' {
		cmd.failed++
		n.countErrorLocked(c.R.b[before:])
	}
	n.stats.TotalCommands++
	cl.LastCmd = cmd.Name
	cl.LastActive = start
	n.observeLocked(c, top, start, dur, before)
	if top.Flags&FlagSkipSlowlog == 0 {
		n.slowlog.maybeAddLocked(n, cl, c.Args, start, dur)
	}
}

// lowerASCII returns b lower-cased as a string.
func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		out[i] = ch
	}
	return string(out)
}
