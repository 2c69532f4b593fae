package proxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// node is one cluster node the proxy talks to, with its pool of idle
// connections. Nodes are created on first sight (slot map or redirect) and
// live as long as the proxy.
type node struct {
	addr string
	p    *Proxy

	mu   sync.Mutex
	idle []*bconn
	// sharedConns are the multiplexed connections, by protocol (2, 3).
	sharedConns [2]*sharedConn
}

// bconn is one connection to a node. It belongs to one client session at
// a time (or sits idle in its node's pool), so it needs no lock.
type bconn struct {
	n  *node
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
	// proto and auth are the connection's current HELLO protocol and the
	// credentials it authenticated with ("" none), so a session can bring a
	// pooled connection to its own state.
	proto int
	auth  string
	// pending counts requests written whose replies are not read yet.
	pending int
	dead    bool
	// cause is the I/O error that killed the connection, when known.
	cause error
	// deadline is the read deadline currently set (zero: none), kept to
	// skip redundant updates.
	deadline time.Time
	// sticky marks connection state the pool must not hand on (WATCH,
	// subscriptions); such connections are closed instead.
	sticky bool
}

var errNodeConn = errors.New("proxy: node connection lost")

// get returns an idle connection or dials a new one.
func (n *node) get() (*bconn, error) {
	n.mu.Lock()
	if k := len(n.idle); k > 0 {
		bc := n.idle[k-1]
		n.idle = n.idle[:k-1]
		n.mu.Unlock()
		return bc, nil
	}
	n.mu.Unlock()
	return n.dial(true)
}

// dial connects to the node. Data connections (client traffic) carry the
// proxy's node credentials only when the proxy authenticates clients
// itself (requirepass); otherwise clients AUTH through to the nodes and a
// connection must not grant more than the client proved.
func (n *node) dial(data bool) (*bconn, error) {
	cfg := &n.p.cfg
	c, err := net.DialTimeout("tcp", n.addr, cfg.DialTimeout)
	if err != nil {
		n.p.metrics.nodeError(n.addr)
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetKeepAlive(true)
	}
	if cfg.TLS.Cluster {
		// tls-cluster: the nodes' announced ports are their TLS ports.
		tc := tls.Client(c, n.p.tls.Client)
		tc.SetDeadline(time.Now().Add(cfg.DialTimeout))
		if err := tc.Handshake(); err != nil {
			c.Close()
			n.p.metrics.nodeError(n.addr)
			return nil, fmt.Errorf("TLS handshake with %s: %w", n.addr, err)
		}
		tc.SetDeadline(time.Time{})
		c = tc
	}
	bc := &bconn{n: n, c: c, br: bufio.NewReaderSize(c, 32<<10), bw: bufio.NewWriterSize(c, 32<<10), proto: 2}
	// The proxy's own credentials and READONLY (harmless on a master) are
	// set once per connection.
	var setup [][][]byte
	useNodeAuth := cfg.NodePassword != "" && (!data || cfg.RequirePass != "")
	if useNodeAuth {
		if cfg.NodeUser != "" {
			setup = append(setup, [][]byte{[]byte("AUTH"), []byte(cfg.NodeUser), []byte(cfg.NodePassword)})
		} else {
			setup = append(setup, [][]byte{[]byte("AUTH"), []byte(cfg.NodePassword)})
		}
	}
	if cfg.ReadFrom == ReadFromReplica {
		setup = append(setup, [][]byte{[]byte("READONLY")})
	}
	if len(setup) > 0 {
		c.SetDeadline(time.Now().Add(cfg.DialTimeout + time.Second))
		for _, args := range setup {
			reply, err := bc.roundTrip(args...)
			if err != nil {
				c.Close()
				return nil, err
			}
			if isErrorReply(reply) {
				c.Close()
				return nil, fmt.Errorf("proxy: %s %s: %s", n.addr, args[0], trimReply(reply))
			}
		}
		c.SetDeadline(time.Time{})
		bc.deadline = time.Time{}
		if useNodeAuth {
			bc.auth = nodeAuthKey
		}
	}
	return bc, nil
}

// nodeAuthKey marks a connection authenticated with the proxy's own
// node credentials.
const nodeAuthKey = "\x00proxy"

// put returns a healthy connection to the pool.
func (n *node) put(bc *bconn) {
	if bc.dead || bc.pending != 0 || bc.sticky {
		bc.close()
		return
	}
	n.mu.Lock()
	if len(n.idle) < n.p.cfg.PoolSize {
		n.idle = append(n.idle, bc)
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	bc.close()
}

// closeIdle closes every pooled connection.
func (n *node) closeIdle() {
	n.mu.Lock()
	idle := n.idle
	n.idle = nil
	shared := n.sharedConns
	n.sharedConns = [2]*sharedConn{}
	n.mu.Unlock()
	for _, sc := range shared {
		if sc != nil {
			sc.close()
		}
	}
	for _, bc := range idle {
		bc.close()
	}
}

// setReadDeadline sets the reply deadline; consecutive batches reuse a
// deadline that is still far enough away.
func (bc *bconn) setReadDeadline(t time.Time) {
	if t.IsZero() {
		if !bc.deadline.IsZero() {
			bc.c.SetReadDeadline(t)
			bc.deadline = t
		}
		return
	}
	// Within 10% of the timeout is close enough: avoids re-arming the
	// runtime timer on every small batch.
	if !bc.deadline.IsZero() && bc.deadline.After(t.Add(-bc.n.p.cfg.NodeTimeout/10)) && bc.deadline.Before(t.Add(bc.n.p.cfg.NodeTimeout/10)) {
		return
	}
	bc.c.SetReadDeadline(t)
	bc.deadline = t
}

func (bc *bconn) close() {
	bc.dead = true
	bc.c.Close()
}

// fail marks the connection broken after an I/O error.
func (bc *bconn) fail() {
	if !bc.dead {
		bc.n.p.metrics.nodeError(bc.n.addr)
		bc.close()
	}
}

// roundTrip sends one command and reads its reply (connection idle),
// within the node timeout.
func (bc *bconn) roundTrip(args ...[]byte) ([]byte, error) {
	bc.setReadDeadline(bc.n.p.replyDeadline(false))
	var buf [256]byte
	if _, err := bc.bw.Write(appendCommand(buf[:0], args...)); err != nil {
		bc.fail()
		return nil, err
	}
	if err := bc.bw.Flush(); err != nil {
		bc.fail()
		return nil, err
	}
	reply, err := readReply(bc.br, nil)
	if err != nil {
		bc.fail()
		return nil, err
	}
	return reply, nil
}

// trimReply renders a simple reply for an error message.
func trimReply(b []byte) string {
	if len(b) >= 3 {
		return string(b[1 : len(b)-2])
	}
	return string(b)
}
