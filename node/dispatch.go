package node

import (
	"bytes"
	"strings"
	"time"

	"github.com/tidwall/redcon"
)

// serveRESP is redcon's handler: one request from one client. Replies
// collect in redcon's buffer, which it sends when the batch of pipelined
// requests read together is done; before that, finishBatch waits (once for
// the whole batch) until the batch's writes are durable under the fsync
// policy, so no reply acknowledges a write the log could still lose.
func (n *Node) serveRESP(conn redcon.Conn, rc redcon.Command) {
	cl, _ := conn.Context().(*Client)
	if cl == nil || len(rc.Args) == 0 {
		return
	}
	n.stats.NetInputBytes.Add(int64(len(rc.Raw)))
	cmd := n.cmds.lookup(rc.Args[0])
	if cmd != nil && (cmd.Flags&FlagPubSub != 0 || cl.SubscriptionCount() > 0) {
		cl.netConn.beginBatch()
	}
	cl.reply.Reset()
	n.execute(cl, cmd, rc.Args)
	cl.applyReplyMode()
	if cl.reply.Len() > 0 {
		n.stats.NetOutputBytes.Add(int64(cl.reply.Len()))
		conn.WriteRaw(cl.reply.Bytes())
		cl.batchBytes += cl.reply.Len()
		if cl.pendSeq > 0 {
			cl.pendReplies++
		}
		n.checkReplyLimit(conn, cl)
	}
	if cl.reply.Len() > 64<<10 {
		cl.reply.b = nil
	}
	if cl.closing || len(conn.PeekPipeline()) == 0 {
		n.finishConfigBatch(conn, cl)
		n.finishBatch(conn, cl)
	}
	if cl.closing {
		conn.Close()
	}
}

// finishBatch runs after the last request of a pipelined batch: it waits
// for the batch's writes to be durable. If the write log failed, every
// reply from the first write of the batch on is replaced by a -MISCONF
// error (one per reply, so the client stays in step), as those writes
// were not acknowledged.
func (n *Node) finishBatch(conn redcon.Conn, cl *Client) {
	seq, mark, count := cl.pendSeq, cl.pendMark, cl.pendReplies
	cl.pendSeq, cl.pendMark, cl.batchBytes, cl.pendReplies = 0, 0, 0, 0
	if seq == 0 || n.wal == nil {
		return
	}
	err := n.wal.Wait(seq)
	if err == nil {
		return
	}
	w := redcon.BaseWriter(conn)
	if w == nil {
		conn.Close()
		return
	}
	buf := w.Buffer()
	if mark > len(buf) {
		conn.Close()
		return
	}
	buf = buf[:mark]
	msg := "-MISCONF Errors writing to the AOF file: " + strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error()) + "\r\n"
	for i := 0; i < count; i++ {
		buf = append(buf, msg...)
	}
	w.SetBuffer(buf)
}

// execute runs one request through the checks Redis applies (existence,
// arity, authentication, transaction, pub/sub context, loading, memory,
// write-path health), then the command itself.
func (n *Node) execute(cl *Client, cmd *Command, args [][]byte) {
	r := &cl.reply
	if cmd == nil {
		n.rejectInMulti(cl)
		r.Error(unknownCommandError(args))
		n.countError("ERR")
		return
	}
	if !arityOK(cmd.Arity, len(args)) {
		n.rejectInMulti(cl)
		r.Error("ERR wrong number of arguments for '" + cmd.Name + "' command")
		n.countError("ERR")
		return
	}
	sub := cmd
	if cmd.Subcommands != nil && len(args) >= 2 {
		if s := cmd.Subcommands[strings.ToLower(string(args[1]))]; s != nil {
			sub = s
			if !arityOK(s.Arity, len(args)) {
				n.rejectInMulti(cl)
				r.Error("ERR wrong number of arguments for '" + s.Name + "' command")
				n.countError("ERR")
				return
			}
		}
	}

	n.mu.Lock()
	if !cl.Authenticated && sub.Flags&FlagNoAuth == 0 && !n.acl.defaultOpen {
		n.mu.Unlock()
		n.rejectInMulti(cl)
		r.Error(ErrNoAuth)
		n.countErrorUnlocked("NOAUTH")
		return
	}
	if u := cl.aclUser; u != nil && !u.Full {
		if d := n.aclCheckLocked(u, cmd, sub, args); d != nil {
			msg := n.aclDenyLocked(cl, d)
			sub.rejected++
			n.mu.Unlock()
			n.rejectInMulti(cl)
			r.Error(msg)
			n.countError("NOPERM")
			return
		}
	}
	if n.cluster != nil && n.clusterRedirectLocked(cl, cmd, sub, args) {
		n.mu.Unlock()
		return
	}
	if msg := n.replCheckLocked(sub); msg != "" {
		n.mu.Unlock()
		n.rejectInMulti(cl)
		r.Error(msg)
		n.countError(msg[:strings.IndexByte(msg, ' ')])
		return
	}
	if cl.inMulti && !isTxControl(cmd.Name) {
		if sub.Flags&FlagNoMulti != 0 {
			n.mu.Unlock()
			cl.multiDirty = true
			r.Error("ERR Command not allowed inside a transaction")
			return
		}
		// Over maxmemory, Redis queues nothing more: queuing itself takes
		// memory (evict.go).
		if n.cfg.MaxMemory > 0 && n.overMaxMemoryLocked() {
			n.mu.Unlock()
			n.rejectInMulti(cl)
			r.Error(ErrOOM)
			n.countError("OOM")
			return
		}
		cp := make([][]byte, len(args))
		for i, a := range args {
			cp[i] = append([]byte(nil), a...)
		}
		cl.queued = append(cl.queued, queuedCmd{cmd: cmd, args: cp})
		n.mu.Unlock()
		r.Simple("QUEUED")
		return
	}
	if len(n.monitors) > 0 && n.monitorRejectLocked(cl, sub) {
		n.mu.Unlock()
		n.rejectInMulti(cl)
		return
	}
	if cl.inPubSub() && !allowedInPubSub(cmd.Name) {
		n.mu.Unlock()
		r.Error("ERR Can't execute '" + sub.Name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	if n.loading.Load() && sub.Flags&FlagLoading == 0 {
		n.mu.Unlock()
		n.rejectInMulti(cl)
		r.Error(ErrLoading)
		return
	}
	if sub.Flags&FlagWrite != 0 && n.wal != nil {
		if err := n.wal.Err(); err != nil {
			n.mu.Unlock()
			n.rejectInMulti(cl)
			r.Error("MISCONF Errors writing to the AOF file: " + err.Error())
			return
		}
	}
	if n.cfg.MaxMemory > 0 && (sub.Flags&FlagDenyOOM != 0 || execDeniesOOM(cl, cmd)) && n.overMaxMemoryLocked() {
		n.mu.Unlock()
		n.rejectInMulti(cl)
		r.Error(ErrOOM)
		n.countError("OOM")
		return
	}
	// The context lives in the client so that it is not allocated per
	// command; a command that blocks copies it (Ctx.Block).
	start := time.Now()
	c := &cl.ctx
	*c = Ctx{n: n, Cl: cl, Cmd: sub, Args: args, DB: n.dbs[cl.DB], R: r, Now: start.UnixMilli(), deferOK: true, prop: c.prop[:0]}
	offBefore := n.repl.offset
	n.cmdTime = c.Now
	seq := n.callAtLocked(c, cmd, start)
	n.cmdTime = 0
	n.afterCommandLocked(cl, offBefore)
	deferred := c.deferred
	c.Args, c.deferred = nil, nil
	bs := cl.blocked
	n.mu.Unlock()

	if deferred != nil {
		seq = deferred()
	}
	if bs != nil {
		seq = n.waitBlocked(cl, bs)
	}
	if seq > 0 && n.wal != nil {
		// Durability is awaited once per batch (finishBatch), before any
		// reply of the batch is sent.
		if cl.pendSeq == 0 {
			cl.pendMark = cl.batchBytes
		}
		if seq > cl.pendSeq {
			cl.pendSeq = seq
		}
	}
}

// callLocked runs a command and everything that follows it under the lock:
// statistics, slow log, propagation, WATCH invalidation and serving
// clients blocked on keys it made ready. It returns the highest write-log
// sequence the command produced (0 for none).
func (n *Node) callLocked(c *Ctx, top *Command) uint64 {
	return n.callAtLocked(c, top, time.Now())
}

// callAtLocked is callLocked for a command whose clock was read at start
// (one clock read serves c.Now, the duration and LastActive).
func (n *Node) callAtLocked(c *Ctx, top *Command, start time.Time) uint64 {
	cl := c.Cl
	errBefore := c.R.Len()
	c.Cmd.Handler(c)
	dur := time.Since(start)
	cmd := c.Cmd
	cmd.calls++
	cmd.usec += dur.Microseconds()
	if c.R.Len() > errBefore && c.R.b[errBefore] == '-' {
		cmd.failed++
		n.countErrorLocked(c.R.b[errBefore:])
	}
	n.stats.TotalCommands++
	cl.LastCmd = cmd.Name
	cl.LastActive = start
	n.observeLocked(c, top, start, dur, errBefore)
	if top.Flags&FlagSkipSlowlog == 0 {
		n.slowlog.maybeAddLocked(n, cl, c.Args, start, dur)
	}
	seq := n.flushPropagationLocked(c)
	if len(n.readyKeys) > 0 {
		if s := n.serveReadyKeysLocked(); s > seq {
			seq = s
		}
	}
	return seq
}

// flushPropagationLocked sends what a command changed to the write log and
// invalidates WATCHed keys it touched.
func (n *Node) flushPropagationLocked(c *Ctx) uint64 {
	var seq uint64
	if c.dirty > 0 {
		n.dirty += int64(c.dirty)
		if c.Cmd.Flags&FlagWrite != 0 && (len(n.watchers) > 0 || len(n.blockers) > 0) {
			for _, i := range c.Cmd.KeyIndexes(c.Args) {
				n.touchKey(c.Cl.DB, string(c.Args[i]))
			}
		}
		if !c.propagated {
			seq = n.propagate(c.Cl.DB, c.Args)
		}
	}
	for _, argv := range c.prop {
		seq = n.propagate(c.Cl.DB, argv)
	}
	clear(c.prop)
	c.prop = c.prop[:0]
	c.dirty = 0
	c.propagated = false
	return seq
}

// propagate hands one mutation to the write log; caller holds the lock.
func (n *Node) propagate(db int, argv [][]byte) uint64 {
	if n.loading.Load() {
		return 0
	}
	n.feedLocked(db, argv)
	if n.wal == nil {
		return 0
	}
	return n.wal.Append(db, argv)
}

func (n *Node) rejectInMulti(cl *Client) {
	if cl.inMulti {
		cl.multiDirty = true
	}
}

func (n *Node) countError(code string) {
	n.mu.Lock()
	n.countErrorUnlocked(code)
	n.mu.Unlock()
}

func (n *Node) countErrorUnlocked(code string) {
	n.stats.TotalErrorReplies++
	n.stats.ErrorCounts[code]++
}

func (n *Node) countErrorLocked(reply []byte) {
	end := 1
	for end < len(reply) && reply[end] != ' ' && reply[end] != '\r' {
		end++
	}
	n.countErrorUnlocked(string(reply[1:end]))
}

func arityOK(arity, n int) bool {
	if arity > 0 {
		return n == arity
	}
	return n >= -arity
}

func isTxControl(name string) bool {
	switch name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

func allowedInPubSub(name string) bool {
	switch name {
	case "subscribe", "ssubscribe", "psubscribe", "unsubscribe", "sunsubscribe", "punsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

// unknownCommandError builds Redis 7's unknown-command text.
func unknownCommandError(args [][]byte) string {
	var a strings.Builder
	for i := 1; i < len(args) && a.Len() < 128; i++ {
		a.WriteByte('\'')
		a.WriteString(truncArg(args[i], 128-a.Len()))
		a.WriteString("' ")
	}
	return "ERR unknown command '" + truncArg(args[0], 128) + "', with args beginning with: " + a.String()
}

func truncArg(a []byte, max int) string {
	if max < 0 {
		max = 0
	}
	// Redis formats arguments with %s: a NUL byte ends them.
	if i := bytes.IndexByte(a, 0); i >= 0 {
		a = a[:i]
	}
	if len(a) > max {
		a = a[:max]
	}
	return string(a)
}

// overMaxMemoryLocked evicts keys as maxmemory-policy says while used
// memory exceeds maxmemory, and reports whether it still does with nothing
// left to evict (evict.go): denyoom commands then get -OOM.
func (n *Node) overMaxMemoryLocked() bool {
	return n.performEvictionsLocked() == evictFail
}
