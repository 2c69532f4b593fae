package proxy

import (
	"bufio"
	"net"
	"sync"
	"time"
)

// sharedConn is a node connection that many sessions use at once for
// stateless commands. A session submits a batch (the request bytes of all
// its commands for this node and their count) under the lock, so the
// order of batches in the queue is the order of their bytes on the wire;
// the first submitter writes whatever accumulated while it holds the
// socket (group commit), and one reader goroutine reads the replies and
// hands each batch its replies, in queue order. Coalescing the sessions'
// requests into few writes and reads is what makes the proxy cheap at
// pipeline depth 1: one syscall carries many clients' commands.
type sharedConn struct {
	n     *node
	proto int
	c     net.Conn
	br    *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond // signalled when queue gains an entry or dead is set
	queue   []*waiter
	wbuf    []byte
	spare   []byte
	writing bool
	dead    bool
	// cause is the error that killed the connection, handed to the
	// batches that fail with it.
	cause error
}

// waiter is one session's batch for one shared connection. Reused by its
// session from batch to batch.
type waiter struct {
	n     *node
	req   []byte
	count int
	// Filled by the reader goroutine, read by the session after done.
	replies []byte
	err     error
	pos     int
	done    chan *waiter
}

// shared returns the node's shared connection for proto, dialing it if
// needed.
func (n *node) shared(proto int) (*sharedConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if sc := n.sharedConns[proto&1]; sc != nil && !sc.isDead() {
		return sc, nil
	}
	if n.p.stopping.Load() {
		return nil, ErrClosed
	}
	bc, err := n.dial(true)
	if err != nil {
		return nil, err
	}
	if proto != 2 {
		if reply, err := bc.roundTrip([]byte("HELLO"), []byte("3")); err != nil || isErrorReply(reply) {
			bc.close()
			if err == nil {
				err = errAuthLost
			}
			return nil, err
		}
		bc.setReadDeadline(time.Time{})
	}
	sc := &sharedConn{n: n, proto: proto, c: bc.c, br: bc.br}
	sc.cond = sync.NewCond(&sc.mu)
	if bc.bw.Buffered() > 0 {
		bc.bw.Flush()
	}
	n.sharedConns[proto&1] = sc
	go sc.readLoop()
	return sc, nil
}

func (sc *sharedConn) isDead() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.dead
}

// submit queues w's requests; the replies arrive on w.done.
func (sc *sharedConn) submit(w *waiter) {
	sc.mu.Lock()
	if sc.dead {
		w.err = sc.causeLocked()
		sc.mu.Unlock()
		w.done <- w
		return
	}
	sc.queue = append(sc.queue, w)
	sc.cond.Signal()
	sc.wbuf = append(sc.wbuf, w.req...)
	if sc.writing {
		sc.mu.Unlock()
		return
	}
	sc.writing = true
	for len(sc.wbuf) > 0 && !sc.dead {
		buf := sc.wbuf
		sc.wbuf = sc.spare[:0]
		sc.mu.Unlock()
		_, err := sc.c.Write(buf)
		sc.mu.Lock()
		sc.spare = buf[:0]
		if err != nil {
			sc.failLocked(err)
		}
	}
	sc.writing = false
	sc.mu.Unlock()
}

// failLocked kills the connection; queued batches fail (and are retried
// by their sessions on their own connections).
func (sc *sharedConn) failLocked(cause error) {
	if sc.dead {
		return
	}
	sc.dead = true
	sc.cause = cause
	sc.n.p.metrics.nodeError(sc.n.addr)
	sc.c.Close()
	sc.cond.Broadcast()
}

func (sc *sharedConn) readLoop() {
	timeout := sc.n.p.cfg.NodeTimeout
	for {
		sc.mu.Lock()
		for len(sc.queue) == 0 && !sc.dead {
			sc.cond.Wait()
		}
		if sc.dead {
			q := sc.queue
			sc.queue = nil
			cause := sc.causeLocked()
			sc.mu.Unlock()
			for _, w := range q {
				w.err = cause
				w.done <- w
			}
			return
		}
		w := sc.queue[0]
		sc.mu.Unlock()
		if timeout > 0 {
			sc.c.SetReadDeadline(time.Now().Add(timeout))
		}
		var err error
		w.replies = w.replies[:0]
		for i := 0; i < w.count && err == nil; i++ {
			w.replies, err = readReply(sc.br, w.replies)
		}
		sc.mu.Lock()
		if err != nil {
			sc.failLocked(err)
			sc.mu.Unlock()
			continue // fails the queue, w included, above
		}
		sc.queue[0] = nil
		sc.queue = sc.queue[1:]
		sc.mu.Unlock()
		w.err = nil
		w.done <- w
	}
}

// close kills the connection (Proxy.Close).
func (sc *sharedConn) close() {
	sc.mu.Lock()
	sc.failLocked(ErrClosed)
	sc.mu.Unlock()
}

// causeLocked is why the connection died (errNodeConn if unknown).
func (sc *sharedConn) causeLocked() error {
	if sc.cause != nil {
		return sc.cause
	}
	return errNodeConn
}
