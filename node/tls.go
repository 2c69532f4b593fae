package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slotvault/slotvault/cluster"
	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/tlsconf"
	"github.com/tidwall/redcon"
)

// TLS, as Redis 7.0 defines it (docs/tls.md):
//
//   - tls-port serves clients over TLS beside the plaintext port; both
//     listeners share the client handling (accept, serveRESP, onClosed).
//   - tls-replication: a replica dials its master with TLS.
//   - tls-cluster: the bus, MIGRATE and MIGRATESLOTS use TLS, and the
//     cluster announces the TLS port.
//
// The loaded certificates and the two switches live in one immutable
// tlsSnapshot behind an atomic pointer, so connection set-up (the bus,
// replication, MIGRATE) reads them without the node lock; CONFIG SET
// publishes a new snapshot and only new connections see it.

// tlsState is the node's TLS runtime. listeners, servers and port are
// guarded by the node lock.
type tlsState struct {
	snap      atomic.Pointer[tlsSnapshot]
	listeners []net.Listener
	servers   []*redcon.Server
	port      int
}

// tlsSnapshot is one published TLS configuration.
type tlsSnapshot struct {
	mat         *tlsconf.Material // nil when TLS is not configured
	cluster     bool              // tls-cluster
	replication bool              // tls-replication
}

// dynamicTLS serves each handshake with the current server configuration,
// so a certificate reload needs no new listener.
func (n *Node) dynamicTLS(bus bool) *tls.Config {
	return &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		s := n.tls.snap.Load()
		if s == nil || s.mat == nil {
			return nil, errors.New("node: TLS is not configured")
		}
		if bus {
			return s.mat.Bus, nil
		}
		return s.mat.Server, nil
	}}
}

// publishTLSLocked loads the certificates when TLS is in use and publishes
// the new snapshot; on error the previous snapshot stays.
func (n *Node) publishTLSLocked(cfg *config.Config) error {
	s := &tlsSnapshot{cluster: cfg.TLS.Cluster, replication: cfg.TLS.Replication}
	if cfg.TLS.Enabled() {
		m, err := tlsconf.Load(&cfg.TLS)
		if err != nil {
			return err
		}
		s.mat = m
	} else if old := n.tls.snap.Load(); old != nil {
		// Keep serving connections set up before TLS was turned off.
		s.mat = old.mat
	}
	n.tls.snap.Store(s)
	return nil
}

// startTLS loads the TLS configuration, opens the TLS listeners and
// registers the CONFIG SET hook that reloads certificates. Called by
// Start before the plaintext listeners.
func (n *Node) startTLS() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.publishTLSLocked(n.cfg); err != nil {
		return fmt.Errorf("node: Failed to configure TLS: %w", err)
	}
	n.migrate.wrap = n.wrapClusterTLS
	n.server.configHooks = append(n.server.configHooks, n.tlsConfigHook)
	if n.cfg.TLS.Port != 0 {
		if err := n.listenTLSLocked(n.cfg.TLS.Port); err != nil {
			return err
		}
	}
	return nil
}

// listenTLSLocked binds the TLS port on every bind address and starts
// serving it; on error nothing is left open and the previous listeners
// stay.
func (n *Node) listenTLSLocked(port int) error {
	lns, err := listenBinds(n.cfg.Bind, port, n.log)
	if err != nil {
		return err
	}
	old, oldSrv := n.tls.listeners, n.tls.servers
	n.tls.listeners, n.tls.servers, n.tls.port = nil, nil, port
	for _, ln := range lns {
		srv := redcon.NewServer("", n.serveRESP, n.accept, n.onClosed)
		wl := &listener{Listener: ln, n: n, tls: n.dynamicTLS(false)}
		n.tls.listeners = append(n.tls.listeners, ln)
		n.tls.servers = append(n.tls.servers, srv)
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			srv.Serve(wl)
		}()
	}
	closeServers(oldSrv, old)
	return nil
}

func closeServers(srvs []*redcon.Server, lns []net.Listener) {
	for _, s := range srvs {
		s.Close()
	}
	for _, l := range lns {
		l.Close()
	}
}

// closeTLS stops the TLS listeners (Close).
func (n *Node) closeTLS() {
	n.mu.Lock()
	srvs, lns := n.tls.servers, n.tls.listeners
	n.tls.servers, n.tls.listeners, n.tls.port = nil, nil, 0
	n.mu.Unlock()
	closeServers(srvs, lns)
}

// TLSAddrs returns the addresses of the TLS listeners.
func (n *Node) TLSAddrs() []net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []net.Addr
	for _, l := range n.tls.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// listenBinds listens on port at every bind address, as Start does for
// the plaintext port ("-" prefixed addresses are optional).
func listenBinds(binds []string, port int, log interface {
	Warn(string, ...any)
}) ([]net.Listener, error) {
	if len(binds) == 0 {
		binds = []string{"*", "-::*"}
	}
	var out []net.Listener
	for _, b := range binds {
		optional := strings.HasPrefix(b, "-")
		host := strings.TrimPrefix(b, "-")
		network := "tcp"
		switch host {
		case "*":
			host, network = "0.0.0.0", "tcp4"
		case "::*":
			host, network = "::", "tcp6"
		}
		ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if optional {
				log.Warn("optional bind failed", "addr", b, "err", err)
				continue
			}
			closeServers(nil, out)
			return nil, fmt.Errorf("node: could not create server TLS listening socket %s:%d: %w", host, port, err)
		}
		out = append(out, ln)
	}
	if len(out) == 0 {
		return nil, errors.New("node: no TLS listening address could be bound")
	}
	return out, nil
}

// tlsDirectives are compared to tell whether a CONFIG SET touched TLS.
var tlsDirectives = append([]string{"tls-auth-clients", "tls-replication", "tls-cluster", "tls-protocols",
	"tls-ciphers", "tls-ciphersuites", "tls-prefer-server-ciphers", "tls-session-caching",
	"tls-session-cache-size", "tls-session-cache-timeout", "tls-port"}, config.TLSFileDirectives...)

// tlsConfigHook reloads the TLS configuration after CONFIG SET changed a
// tls-* directive, and moves the TLS listener when tls-port changed.
// Errors name the directive, as Redis's apply functions do, and roll the
// change back: the old certificates and listeners stay.
func (n *Node) tlsConfigHook(old, cur *config.Config) error {
	if old.TLS == cur.TLS {
		return nil
	}
	arg := changedTLSDirective(old, cur)
	if err := n.publishTLSLocked(cur); err != nil {
		n.log.Warn("TLS configuration not updated", "err", err)
		return &configArgError{Arg: arg, Msg: "Unable to update TLS configuration: " + strings.TrimPrefix(err.Error(), tlsconf.ErrConfig.Error()+": ")}
	}
	if old.TLS.Port != cur.TLS.Port {
		var err error
		if cur.TLS.Port == 0 {
			srvs, lns := n.tls.servers, n.tls.listeners
			n.tls.servers, n.tls.listeners, n.tls.port = nil, nil, 0
			closeServers(srvs, lns)
		} else {
			err = n.listenTLSLocked(cur.TLS.Port)
		}
		if err != nil {
			n.publishTLSLocked(old)
			n.log.Warn("TLS port not changed", "err", err)
			return &configArgError{Arg: "tls-port", Msg: "Unable to listen on this port. Check server logs."}
		}
	}
	return nil
}

func changedTLSDirective(old, cur *config.Config) string {
	for _, name := range tlsDirectives {
		o := old.Get(name, func(p, n string) bool { return p == n })
		c := cur.Get(name, func(p, n string) bool { return p == n })
		if len(o) == 1 && len(c) == 1 && o[0][1] != c[0][1] {
			return name
		}
	}
	return "tls-port"
}

// configArgError is a CONFIG SET apply failure tied to one directive; the
// reply is "CONFIG SET failed (possibly related to argument '<Arg>') -
// <Msg>", as Redis words it.
type configArgError struct{ Arg, Msg string }

func (e *configArgError) Error() string { return e.Msg }

// clientTLS returns the configuration to dial out with for a link kind,
// or nil when that kind runs in plaintext.
func (n *Node) clientTLS(cluster bool) *tls.Config {
	s := n.tls.snap.Load()
	if s == nil || s.mat == nil {
		return nil
	}
	if (cluster && s.cluster) || (!cluster && s.replication) {
		return s.mat.Client
	}
	return nil
}

// handshake runs a TLS client handshake on conn within timeout; on
// failure conn is closed.
func handshake(conn net.Conn, cfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	tc := tls.Client(conn, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// wrapClusterTLS upgrades a connection to a cluster peer (MIGRATE,
// MIGRATESLOTS) when tls-cluster is on, as Redis's migrateGetSocket.
func (n *Node) wrapClusterTLS(conn net.Conn, timeout time.Duration) (net.Conn, error) {
	if cfg := n.clientTLS(true); cfg != nil {
		return handshake(conn, cfg, timeout)
	}
	return conn, nil
}

// wrapReplicationTLS upgrades the connection to the master when
// tls-replication is on.
func (n *Node) wrapReplicationTLS(conn net.Conn, timeout time.Duration) (net.Conn, error) {
	if cfg := n.clientTLS(false); cfg != nil {
		return handshake(conn, cfg, timeout)
	}
	return conn, nil
}

// busTLS is the cluster.Config.TLS callback: the bus configurations while
// tls-cluster is on, nils otherwise.
func (n *Node) busTLS() (server, client *tls.Config) {
	s := n.tls.snap.Load()
	if s == nil || s.mat == nil || !s.cluster {
		return nil, nil
	}
	return n.dynamicTLS(true), s.mat.Client
}

// replicaListeningPort is the port a replica announces with REPLCONF
// listening-port when replica-announce-port is unset, as Redis: the TLS
// port when it replicates over TLS. Called with the node lock held.
func (n *Node) replicaListeningPortLocked() int {
	if n.cfg.TLS.Replication && n.cfg.TLS.Port != 0 {
		return n.cfg.TLS.Port
	}
	return n.cfg.Port
}

// rawConn returns the socket under a TLS connection, for socket-level
// work (peer-close detection, CLIENT LIST fd).
func rawConn(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return c
}

// isTLS reports whether the client connected to the TLS port.
func (cl *Client) isTLS() bool {
	if cl == nil || cl.netConn == nil {
		return false
	}
	_, ok := cl.netConn.Conn.(*tls.Conn)
	return ok
}

// plainClientOfTLSClusterLocked reports whether cl is a plaintext client
// of a TLS cluster: Redis tells such clients the nodes' plaintext ports
// (CLUSTER NODES, SLOTS, MOVED/ASK) when they are known.
func (n *Node) plainClientOfTLSClusterLocked(cl *Client) bool {
	return n.cfg.TLS.Cluster && cl != nil && !cl.isTLS()
}

// clientPortLocked is the port of node ni to tell client cl.
func (n *Node) clientPortLocked(cl *Client, ni cluster.NodeInfo) int {
	if ni.PPort != 0 && n.plainClientOfTLSClusterLocked(cl) {
		return ni.PPort
	}
	return ni.Port
}

// clusterNodesTextLocked is CLUSTER NODES as client cl sees it.
func (n *Node) clusterNodesTextLocked(cl *Client) string {
	if n.plainClientOfTLSClusterLocked(cl) {
		return n.cluster.NodesTextPlain()
	}
	return n.cluster.NodesText()
}

// rejectConn writes a refusal before the connection is closed. redcon
// calls accept from its accept loop, and on a TLS connection the write
// runs the handshake first, so it gets a short deadline: a client that
// stalls its handshake cannot hold up accepting for long.
func rejectConn(c net.Conn, msg string) {
	c.SetDeadline(time.Now().Add(time.Second)) // the connection is closed next
	c.Write([]byte(msg))
}
