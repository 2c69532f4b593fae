package node

import (
	"time"
)

// Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...) follow Redis's model:
// a client that finds nothing to pop registers on its keys and waits. A
// command that makes a key ready (a push) marks it; after that command,
// still under the node lock, the waiting clients are served in the order
// they blocked, by running their serve function, which pops and writes the
// reply into the blocked client's buffer and propagates the pop. The waiting
// goroutine then only sends what was written. So a pushed element is never
// lost between two clients, and FIFO order holds.

type unblockReason int

const (
	unblockServed unblockReason = iota
	unblockTimeout
	unblockShutdown
	unblockByClient // CLIENT UNBLOCK ... TIMEOUT
	unblockError    // CLIENT UNBLOCK ... ERROR
	unblockGone     // the client closed its connection while blocked
)

type blockState struct {
	cl   *Client
	keys []watchKey
	// serve is called under the node lock when one of keys may be ready. It
	// returns true when it served the client (reply written).
	serve     func(c *Ctx) bool
	onTimeout func(c *Ctx)
	ctx       *Ctx
	deadline  time.Time // zero: forever
	done      chan unblockReason
	finished  bool
	seq       uint64
	// readyKey is the key being served while serve runs (see ReadyKey).
	readyKey string
}

func (bs *blockState) unblock(r unblockReason) {
	if bs.finished {
		return
	}
	bs.finished = true
	bs.done <- r
}

// Block parks the client on keys after the handler returns. serve is
// retried whenever a key becomes ready; onTimeout writes the timeout reply
// (usually a null array). timeout 0 waits forever. The handler must not
// write a reply itself when it blocks. Inside MULTI, Redis does not block:
// callers check c.Cl.inMulti (InMulti) and reply as for a timeout.
func (c *Ctx) Block(keys []string, timeout time.Duration, serve func(c *Ctx) bool, onTimeout func(c *Ctx)) {
	n := c.n
	cctx := *c
	cctx.prop = nil
	bs := &blockState{cl: c.Cl, serve: serve, onTimeout: onTimeout, ctx: &cctx, done: make(chan unblockReason, 1)}
	if timeout > 0 {
		bs.deadline = time.Now().Add(timeout)
	}
	for _, k := range keys {
		wk := watchKey{c.Cl.DB, k}
		bs.keys = append(bs.keys, wk)
		n.blockers[wk] = append(n.blockers[wk], bs)
	}
	c.Cl.blocked = bs
}

// ReadyKey returns, inside a serve function, the key whose change is being
// served. A client blocked on several keys is served from the key that
// became ready, as Redis does, not from the first of its keys that holds
// data. It returns "" outside serve.
func (c *Ctx) ReadyKey() string {
	if bs := c.Cl.blocked; bs != nil {
		return bs.readyKey
	}
	return ""
}

// InMulti reports whether the command runs inside MULTI/EXEC.
func (c *Ctx) InMulti() bool { return c.Cl.inMulti }

// serveReadyKeysLocked serves clients blocked on keys made ready by the
// last command. It returns the highest write-log sequence produced.
func (n *Node) serveReadyKeysLocked() uint64 {
	var maxSeq uint64
	for len(n.readyKeys) > 0 {
		keys := n.readyKeys
		n.readyKeys = nil
		for _, wk := range keys {
			waiters := append([]*blockState(nil), n.blockers[wk]...)
			for _, bs := range waiters {
				if bs.finished {
					continue
				}
				bs.ctx.Now = time.Now().UnixMilli()
				bs.ctx.DB = n.dbs[bs.cl.DB]
				bs.readyKey = wk.key
				served := bs.serve(bs.ctx)
				bs.readyKey = ""
				if !served {
					continue
				}
				s := n.flushPropagationLocked(bs.ctx)
				if s > maxSeq {
					maxSeq = s
				}
				bs.seq = s
				n.unregisterBlockedLocked(bs)
				bs.unblock(unblockServed)
			}
		}
	}
	return maxSeq
}

func (n *Node) unregisterBlockedLocked(bs *blockState) {
	for _, wk := range bs.keys {
		list := n.blockers[wk]
		for i, x := range list {
			if x == bs {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(n.blockers, wk)
		} else {
			n.blockers[wk] = list
		}
	}
	if bs.cl.blocked == bs {
		bs.cl.blocked = nil
	}
}

// waitBlocked waits, without the node lock, until the client is served,
// times out, is unblocked or closes its connection. It returns the
// write-log sequence to wait for.
//
// A client that disconnects while blocked must stop waiting at once, as in
// Redis: otherwise a later push would be served to it and the element lost.
// Nobody reads the socket while the handler waits, so the wait watches the
// connection for the peer's close without consuming input (watchPeerClose).
func (n *Node) waitBlocked(cl *Client, bs *blockState) uint64 {
	var timer <-chan time.Time
	if !bs.deadline.IsZero() {
		t := time.NewTimer(time.Until(bs.deadline))
		defer t.Stop()
		timer = t.C
	}
	var gone <-chan struct{}
	if cl.netConn != nil {
		var stop func()
		gone, stop = watchPeerClose(rawConn(cl.netConn.Conn))
		defer stop()
	}
	// end finishes the wait for reason unless a server already did.
	end := func(why unblockReason) unblockReason {
		n.mu.Lock()
		if bs.finished {
			n.mu.Unlock()
			return <-bs.done
		}
		bs.finished = true
		n.unregisterBlockedLocked(bs)
		n.mu.Unlock()
		return why
	}
	var reason unblockReason
	select {
	case reason = <-bs.done:
	case <-timer:
		reason = end(unblockTimeout)
	case <-gone:
		reason = end(unblockGone)
	}
	switch reason {
	case unblockServed:
		return bs.seq
	case unblockTimeout, unblockByClient:
		n.mu.Lock()
		bs.onTimeout(bs.ctx)
		n.mu.Unlock()
	case unblockError:
		bs.ctx.R.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
	case unblockShutdown:
		bs.ctx.R.Error("ERR server is shutting down")
	case unblockGone:
		// Nobody is left to read a reply.
	}
	n.mu.Lock()
	if cl.blocked == bs {
		n.unregisterBlockedLocked(bs)
	}
	n.mu.Unlock()
	return 0
}

// UnblockClient ends another client's blocking wait (CLIENT UNBLOCK);
// caller holds the lock. It reports whether the client was blocked.
func (n *Node) unblockClientLocked(cl *Client, withError bool) bool {
	bs := cl.blocked
	if bs == nil || bs.finished {
		return false
	}
	n.unregisterBlockedLocked(bs)
	if withError {
		bs.unblock(unblockError)
	} else {
		bs.unblock(unblockByClient)
	}
	return true
}

// touchKey signals a modification of key in db: WATCHers fail their EXEC,
// and blocked clients on it are scheduled to be served. Caller holds the
// lock.
func (n *Node) touchKey(db int, key string) {
	if len(n.watchers) > 0 {
		for _, cl := range n.watchers[watchKey{db, key}] {
			cl.watchDirty = true
		}
	}
	if len(n.blockers) > 0 {
		wk := watchKey{db, key}
		if _, ok := n.blockers[wk]; ok {
			n.readyKeys = append(n.readyKeys, wk)
		}
	}
}

// TouchAllWatched invalidates every WATCH on db (FLUSHDB, FLUSHALL, SWAPDB);
// db < 0 means all. Caller holds the lock.
func (n *Node) touchAllWatchedLocked(db int) {
	for wk, cls := range n.watchers {
		if db >= 0 && wk.db != db {
			continue
		}
		for _, cl := range cls {
			cl.watchDirty = true
		}
	}
}

func (n *Node) unwatchAllLocked(cl *Client) {
	for _, wk := range cl.watched {
		list := n.watchers[wk]
		for i, x := range list {
			if x == cl {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(n.watchers, wk)
		} else {
			n.watchers[wk] = list
		}
	}
	cl.watched = nil
	cl.watchDirty = false
}

// BlockedClients returns the number of clients waiting in a blocking
// command (INFO's blocked_clients).
func (n *Node) BlockedClients() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	count := 0
	for _, cl := range n.clients {
		if cl.blocked != nil {
			count++
		}
	}
	return count
}
