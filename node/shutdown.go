package node

import (
	"errors"
	"strconv"
	"time"
)

// SHUTDOWN, as Redis 7.0 (server.c: shutdownCommand, prepareForShutdown,
// finishShutdown), and the same path for SIGTERM/SIGINT.
//
// A shutdown without NOW, with shutdown-timeout > 0 and replicas that have
// not acknowledged the whole stream, first pauses writes, asks the replicas
// for an ACK and waits until they all caught up or the timeout passed.
// Then it takes the final snapshot when save rules are configured (unless
// NOSAVE) or SAVE was given. A failed save aborts the shutdown unless
// FORCE: the node goes on serving and the callers get
// "-ERR Errors trying to SHUTDOWN. Check logs.". SHUTDOWN ABORT cancels a
// shutdown that is waiting for replicas.
//
// Once a shutdown succeeded the node closes (Done is closed); the log is
// flushed and closed by its owner, which must not take another snapshot
// (ShutdownHandled).

// ShutdownFlags are SHUTDOWN's options.
type ShutdownFlags uint8

const (
	ShutdownNoSave ShutdownFlags = 1 << iota
	ShutdownSave
	ShutdownNow
	ShutdownForce
)

// ParseShutdownFlags turns a shutdown-on-sigterm / shutdown-on-sigint value
// ("default", or words among save, nosave, now, force) into flags.
func ParseShutdownFlags(words ...string) ShutdownFlags {
	var f ShutdownFlags
	for _, w := range words {
		switch w {
		case "save":
			f |= ShutdownSave
		case "nosave":
			f |= ShutdownNoSave
		case "now":
			f |= ShutdownNow
		case "force":
			f |= ShutdownForce
		}
	}
	return f
}

// Errors of a shutdown that did not happen.
var (
	ErrShutdownFailed  = errors.New("node: errors trying to shut down (final save failed)")
	ErrShutdownAborted = errors.New("node: shutdown aborted")
)

// shutdownState is the shutdown in progress, guarded by the node lock.
type shutdownState struct {
	// waiting: a shutdown waits for replicas; abort cancels it and done is
	// closed when it ended (err says how).
	waiting bool
	abort   chan struct{}
	done    chan struct{}
	err     error
	// handled: the node is going down after a successful shutdown (the
	// final save, if any, is done).
	handled bool
	// paused: the write pause belongs to the shutdown.
	paused bool
}

// ShutdownHandled reports whether the node went down through Shutdown, so
// the final save has been done (or skipped on purpose) already.
func (n *Node) ShutdownHandled() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.shut.handled
}

// Shutdown stops the node as SHUTDOWN does. It returns nil when the node
// is closing, ErrShutdownFailed when the final save failed (the node keeps
// running) or ErrShutdownAborted after SHUTDOWN ABORT. Called without the
// node lock; it may wait up to shutdown-timeout for replicas.
func (n *Node) Shutdown(f ShutdownFlags) error {
	n.mu.Lock()
	if n.shut.handled {
		n.mu.Unlock()
		return nil
	}
	if n.shut.waiting {
		// Redis blocks a second SHUTDOWN until the first one is over.
		done := n.shut.done
		n.mu.Unlock()
		<-done
		n.mu.Lock()
		err := n.shut.err
		n.mu.Unlock()
		return err
	}
	waited := false
	timeout := time.Duration(n.cfgInt("shutdown-timeout", 10)) * time.Second
	if f&ShutdownNow == 0 && timeout > 0 && !n.replicasCaughtUpLocked() {
		waited = true
		if err := n.waitReplicasForShutdownLocked(timeout); err != nil {
			n.mu.Unlock()
			return err
		}
	}
	err := n.finishShutdownLocked(f)
	if waited {
		n.shut.waiting = false
		n.shut.err = err
		close(n.shut.done)
	}
	if err != nil && n.shut.paused {
		n.shut.paused = false
		n.unpauseLocked()
	}
	n.mu.Unlock()
	if err == nil {
		go n.Close()
	}
	return err
}

// replicasCaughtUpLocked reports whether every attached replica has
// acknowledged the whole stream (Redis's isReadyToShutdown).
func (n *Node) replicasCaughtUpLocked() bool {
	for _, rl := range n.repl.replicas {
		if rl.ack < n.repl.offset {
			return false
		}
	}
	return true
}

// waitReplicasForShutdownLocked pauses writes and waits, releasing the
// lock meanwhile, until the replicas caught up, the timeout passed or the
// shutdown is aborted (then it returns ErrShutdownAborted, lock held).
func (n *Node) waitReplicasForShutdownLocked(timeout time.Duration) error {
	s := &n.shut
	s.waiting = true
	s.abort = make(chan struct{})
	s.done = make(chan struct{})
	s.err = nil
	if !n.pause.activeLocked(time.Now()) {
		s.paused = true
		if n.pause.wake == nil {
			n.pause.wake = make(chan struct{})
		}
		n.pause.end = time.Now().Add(100 * 365 * 24 * time.Hour)
		n.pause.all = false
	}
	n.feedLocked(-1, [][]byte{[]byte("REPLCONF"), []byte("GETACK"), []byte("*")})
	n.log.Info("Waiting for replicas before shutting down.")
	abort := s.abort
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !n.replicasCaughtUpLocked() {
		if time.Now().After(deadline) {
			for _, rl := range n.repl.replicas {
				if rl.ack < n.repl.offset {
					n.log.Warn("Lagging replica "+rl.addr+" reported offset "+strconv.FormatInt(n.repl.offset-rl.ack, 10)+" behind master, lag="+
						strconv.FormatInt(int64(time.Since(rl.ackTime).Seconds()), 10)+", state="+rl.state+".",
						"replica", rl.addr)
				}
			}
			break
		}
		n.mu.Unlock()
		select {
		case <-abort:
		case <-tick.C:
		case <-n.closed:
		}
		n.mu.Lock()
		select {
		case <-abort:
			s.waiting = false
			s.err = ErrShutdownAborted
			close(s.done)
			return ErrShutdownAborted
		default:
		}
	}
	return nil
}

// abortShutdownLocked cancels a shutdown waiting for replicas.
func (n *Node) abortShutdownLocked() bool {
	s := &n.shut
	if !s.waiting {
		return false
	}
	close(s.abort)
	s.waiting = false
	if s.paused {
		s.paused = false
		n.unpauseLocked()
	}
	n.log.Warn("Shutdown manually aborted.")
	return true
}

// finishShutdownLocked takes the final snapshot as configured and marks the
// node as going down.
func (n *Node) finishShutdownLocked(f ShutdownFlags) error {
	n.log.Info("User requested shutdown...")
	save := f&ShutdownSave != 0 || (len(n.cfg.Save) > 0 && f&ShutdownNoSave == 0)
	if save && n.persist != nil {
		n.log.Info("Saving the final RDB snapshot before exiting.")
		if err := n.persist.SaveLocked(); err != nil {
			if f&ShutdownForce == 0 {
				n.log.Warn("Error trying to save the DB, can't exit.", "err", err)
				n.log.Warn("Errors trying to shut down the server. Check the logs for more information.")
				return ErrShutdownFailed
			}
			n.log.Warn("Error trying to save the DB. Exit anyway.", "err", err)
		}
	}
	n.shut.handled = true
	return nil
}

// shutdownCommands: SHUTDOWN.
func shutdownCommands() []*Command {
	return []*Command{
		{Name: "shutdown", Arity: -1, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale | FlagNoMulti | FlagAllowBusy,
			Categories: []string{"admin", "slow", "dangerous"},
			Summary:    "Synchronously save the dataset to disk and then shut down the server", Since: "1.0.0", Group: "server",
			Handler: cmdShutdown},
	}
}

func cmdShutdown(c *Ctx) {
	var f ShutdownFlags
	abort := false
	for i := 1; i < len(c.Args); i++ {
		switch {
		case c.ArgIs(i, "nosave"):
			f |= ShutdownNoSave
		case c.ArgIs(i, "save"):
			f |= ShutdownSave
		case c.ArgIs(i, "now"):
			f |= ShutdownNow
		case c.ArgIs(i, "force"):
			f |= ShutdownForce
		case c.ArgIs(i, "abort"):
			abort = true
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	if (abort && f != 0) || (f&ShutdownNoSave != 0 && f&ShutdownSave != 0) {
		c.Error(ErrSyntax)
		return
	}
	n := c.n
	if abort {
		if n.abortShutdownLocked() {
			c.R.OK()
		} else {
			c.Error("ERR No shutdown in progress.")
		}
		return
	}
	cl := c.Cl
	r := c.R
	run := func() uint64 {
		err := n.Shutdown(f)
		n.mu.Lock()
		defer n.mu.Unlock()
		if err != nil {
			r.Error("ERR Errors trying to SHUTDOWN. Check logs.")
			n.countErrorUnlocked("ERR")
			return 0
		}
		// Redis exits without replying: the client sees the connection
		// close.
		cl.closing = true
		return 0
	}
	if c.Defer(run) {
		return
	}
	// Not deferrable (replay): finish under the lock, without waiting.
	if err := n.finishShutdownLocked(f | ShutdownNow); err != nil {
		c.Error("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	cl.closing = true
	go n.Close()
}

// ShutdownHandledLocked is ShutdownHandled with the node lock held.
func (n *Node) ShutdownHandledLocked() bool { return n.shut.handled }
