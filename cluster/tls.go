package cluster

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"time"
)

// TLS on the bus (tls-cluster): Config.TLS is asked for every new link,
// so switching tls-cluster or reloading certificates affects new links
// only, as in Redis. Inbound links are wrapped at accept (the handshake
// runs on the link's first read); outbound links handshake in the dialing
// goroutine, before the link is attached to its node.

// acceptTLS wraps an accepted bus connection when the bus uses TLS.
func (c *Cluster) acceptTLS(conn net.Conn) net.Conn {
	if c.cfg.TLS == nil {
		return conn
	}
	if srv, _ := c.cfg.TLS(); srv != nil {
		return tls.Server(conn, srv)
	}
	return conn
}

// dialTLS upgrades an outbound bus connection when the bus uses TLS; on
// failure the connection is closed.
func (c *Cluster) dialTLS(conn net.Conn, timeout time.Duration) (net.Conn, error) {
	if c.cfg.TLS == nil {
		return conn, nil
	}
	_, cli := c.cfg.TLS()
	if cli == nil {
		return conn, nil
	}
	tc := tls.Client(conn, cli)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

// The plaintext port (Redis's pport). In a TLS cluster a node's Port is
// its TLS port; plaintext clients are told the plaintext port instead, so
// each node also announces it. It travels in a message extension: the
// original message layout is unchanged and a node that does not know the
// extension ignores the trailing bytes.
//
// Extension encoding, after the type-specific body: any number of
// records type(u16) length(u16) data[length]. Type 1 is the sender's
// plaintext port (u16).

const extPPort = 1

func (e *encoder) extensions(m *message) {
	if m.Header.PPort != 0 {
		e.u16(extPPort)
		e.u16(2)
		e.u16(uint16(m.Header.PPort))
	}
}

func (d *decoder) extensions(m *message) {
	for d.err == nil && len(d.b) >= 4 {
		typ, n := d.u16(), int(d.u16())
		if n > len(d.b) {
			return // not an extension record: ignore the rest
		}
		data := d.take(n)
		if typ == extPPort && n == 2 {
			m.Header.PPort = int(data[0])<<8 | int(data[1])
		}
	}
}

// plainAddr is "ip:pport" when the node announced a plaintext port, its
// address otherwise.
func (n *Node) plainAddr() string {
	if n.PPort == 0 {
		return n.addr
	}
	return net.JoinHostPort(n.IP, strconv.Itoa(n.PPort))
}

// NodesTextPlain is CLUSTER NODES as a plaintext client of a TLS cluster
// sees it: each node's address carries its plaintext port when known.
func (c *Cluster) NodesTextPlain() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	lines := strings.Split(c.nodesDescriptionLocked(0), "\n")
	for i, ln := range lines {
		lines[i] = c.plainLineLocked(ln)
	}
	return strings.Join(lines, "\n")
}

// PlainDescriptions rewrites node description lines (CLUSTER REPLICAS)
// for a plaintext client of a TLS cluster, as NodesTextPlain.
func (c *Cluster) PlainDescriptions(lines []string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, len(lines))
	for i, ln := range lines {
		out[i] = c.plainLineLocked(ln)
	}
	return out
}

// plainLineLocked puts the node's plaintext port into one description
// line ("<id> <ip>:<port>@<cport>[,<hostname>] ...").
func (c *Cluster) plainLineLocked(ln string) string {
	id, rest, ok := strings.Cut(ln, " ")
	n := c.nodes[id]
	if !ok || n == nil || n.PPort == 0 {
		return ln
	}
	addr, tail, _ := strings.Cut(rest, " ")
	at := strings.IndexByte(addr, '@')
	if at < 0 {
		return ln
	}
	colon := strings.LastIndexByte(addr[:at], ':')
	if colon < 0 {
		return ln
	}
	return id + " " + addr[:colon+1] + strconv.Itoa(n.PPort) + addr[at:] + " " + tail
}
