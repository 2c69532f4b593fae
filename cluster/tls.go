package cluster

import (
	"context"
	"crypto/tls"
	"net"
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
