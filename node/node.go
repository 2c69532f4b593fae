package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotvault/slotvault/cluster"
	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/store"
	"github.com/tidwall/redcon"
)

// WriteLog receives the node's write stream: every mutation, in execution
// order. Persistence (the append-only log) and, later, replication
// implement it.
type WriteLog interface {
	// Append records one mutation against database db. It is called with
	// the node lock held, so records are in execution order. It returns the
	// record's sequence number.
	Append(db int, argv [][]byte) uint64
	// Wait blocks until the record with sequence seq is durable under the
	// configured fsync policy (immediately for everysec/no). It is called
	// without the node lock. An error means the write may not be durable
	// and must not be acknowledged.
	Wait(seq uint64) error
	// Err returns the current write-path failure, or nil when writes can be
	// accepted. While it is non-nil the node refuses writes with -MISCONF.
	Err() error
}

// Node is one slotvault server: listeners, clients, the command table and
// the keyspace. Its lock (mu) serialises every command, which makes each
// command atomic; see docs/concurrency in the package doc.
type Node struct {
	log *slog.Logger

	mu      sync.Mutex
	cfg     *config.Config // guarded by mu
	dbs     []*store.DB
	cmds    commandTable
	clients map[int64]*Client

	nextClientID atomic.Int64
	servers      []*redcon.Server
	listeners    []net.Listener
	started      time.Time
	closed       chan struct{}
	closeOnce    sync.Once
	wg           sync.WaitGroup

	// cluster is the cluster state and bus; nil unless cluster-enabled
	// (cluster_mode.go).
	cluster *cluster.Cluster
	slotMig *slotMigration // CLUSTER MIGRATESLOTS job; guarded by mu (cluster_migrateslots.go)

	wal WriteLog
	// persist serves SAVE/BGSAVE/BGREWRITEAOF and INFO persistence; nil
	// when the node runs without persistence (cmd_persist.go).
	persist Persistence
	// backup serves SVBACKUP; nil when backups are off (cmd_backup.go).
	backup BackupControl

	watchers  map[watchKey][]*Client
	blockers  map[watchKey][]*blockState
	readyKeys []watchKey

	pubsub  pubsubState
	acl     aclState   // users and ACL LOG (acl.go), guarded by mu
	pause   pauseState // CLIENT PAUSE, guarded by mu
	slowlog slowlogState
	server  serverState // run id, memory peak, CONFIG SET hooks (info.go)
	stats   Stats

	loading atomic.Bool
	// dirty counts changes since the last save (rdb_changes_since_last_save).
	dirty int64
	// lastSave is the Unix time of the last successful save.
	lastSave int64

	// cmdTime is the clock of the command being executed (Unix ms), 0
	// between commands. The keyspace reads it for expiry and access times,
	// so one command sees one instant, as Redis's cached server.mstime
	// during call() (guarded by mu).
	cmdTime int64

	// hooks for later parts (persistence, cluster) to extend INFO and the
	// command table.
	infoSections []InfoSection

	// migrate caches MIGRATE's connections to target nodes (cmd_migrate.go).
	migrate migrateSockets
	// repl is the replication state (repl.go), guarded by mu.
	repl replState

	// Observability (observe.go, cmd_obs.go), guarded by mu: the latency
	// monitor, MONITOR clients and CLUSTER SLOT-STATS traffic (allocated
	// on first use in cluster mode).
	latency   latencyState
	monitors  []*Client
	slotStats *[16384]slotStat
	// shut is the SHUTDOWN in progress (shutdown.go), guarded by mu.
	shut      shutdownState
	finalOnce sync.Once // the last replication-state save in Close
	// evict is the maxmemory eviction state (evict.go), guarded by mu.
	evict evictState
	// outbuf is client-output-buffer-limit (outbuf.go).
	outbuf outbufState
	// tls is the TLS port, certificates and switches (tls.go).
	tls tlsState
}

// InfoSection renders an extra INFO section; called with the node lock held.
type InfoSection struct {
	Name   string
	Render func(b *strings.Builder)
}

// Stats are server-wide counters, guarded by the node lock unless atomic.
type Stats struct {
	TotalConnections  atomic.Int64
	RejectedConns     atomic.Int64
	TotalCommands     int64
	ExpiredKeys       int64
	KeyspaceHits      int64
	KeyspaceMisses    int64
	NetInputBytes     atomic.Int64
	NetOutputBytes    atomic.Int64
	TotalErrorReplies int64
	ErrorCounts       map[string]int64
}

// Options are construction-time extras.
type Options struct {
	Logger *slog.Logger
	// WriteLog, when set, receives every mutation.
	WriteLog WriteLog
}

// New builds a node from a validated config. It does not listen yet.
func New(cfg *config.Config, opts Options) (*Node, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := &Node{
		log:      log,
		cfg:      cfg,
		cmds:     buildCommandTable(),
		clients:  map[int64]*Client{},
		closed:   make(chan struct{}),
		watchers: map[watchKey][]*Client{},
		blockers: map[watchKey][]*blockState{},
		wal:      opts.WriteLog,
		lastSave: time.Now().Unix(),
	}
	n.stats.ErrorCounts = map[string]int64{}
	n.repl.init()
	if err := n.initACL(); err != nil {
		return nil, err
	}
	n.dbs = make([]*store.DB, cfg.Databases)
	for i := range n.dbs {
		n.dbs[i] = n.newDB(i)
	}
	n.pubsub.init()
	n.slowlog.init()
	n.evict.init()
	n.initOutbuf()
	return n, nil
}

func (n *Node) newDB(i int) *store.DB {
	db := store.NewDB(n.clockMillis)
	db.LFU = lfuPolicy(n.cfg.MaxMemoryPolicy)
	db.Expiry = n.expiryModeLocked()
	db.OnExpire = func(key string) {
		n.stats.ExpiredKeys++
		n.propagate(i, [][]byte{[]byte("DEL"), []byte(key)})
		n.touchKey(i, key)
	}
	return db
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// clockMillis is the keyspace clock: the running command's time, or the
// current time outside commands (active expiry, loading). Called with the
// node lock held.
func (n *Node) clockMillis() int64 {
	if t := n.cmdTime; t != 0 {
		return t
	}
	return time.Now().UnixMilli()
}

// Config returns the node's configuration. Callers must not modify it.
func (n *Node) Config() *config.Config { return n.cfg }

// DB returns database i; the caller must hold the node lock (WithLock).
func (n *Node) DB(i int) *store.DB { return n.dbs[i] }

// WithLock runs fn with the node lock held; persistence uses it to load
// and to take consistent views.
func (n *Node) WithLock(fn func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fn()
}

// SetWriteLog installs the write-stream consumer (before Start).
func (n *Node) SetWriteLog(w WriteLog) { n.wal = w }

// SetLoading marks the node as loading its dataset: clients get -LOADING.
func (n *Node) SetLoading(v bool) {
	if n.loading.Swap(v) != v {
		processGC.setLoading(v)
	}
}

// AddInfoSection registers an INFO section rendered after the built-in ones.
func (n *Node) AddInfoSection(s InfoSection) {
	n.mu.Lock()
	n.infoSections = append(n.infoSections, s)
	n.mu.Unlock()
}

// Addrs returns the addresses the node listens on.
func (n *Node) Addrs() []net.Addr {
	var out []net.Addr
	for _, l := range n.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// Start binds the configured addresses and starts serving. It returns once
// listening, or with the error of a required bind.
func (n *Node) Start() error {
	n.started = time.Now()
	binds := n.cfg.Bind
	if len(binds) == 0 {
		binds = []string{"*", "-::*"}
	}
	if n.cfg.Port == 0 && n.cfg.TLS.Port == 0 {
		return errors.New("node: port 0 (no TCP listener) is not supported")
	}
	if err := n.startTLS(); err != nil {
		n.Close()
		return err
	}
	if err := n.startCluster(); err != nil {
		n.Close()
		return err
	}
	for _, b := range binds {
		if n.cfg.Port == 0 {
			break // TLS only
		}
		optional := strings.HasPrefix(b, "-")
		host := strings.TrimPrefix(b, "-")
		network := "tcp"
		switch host {
		case "*":
			host, network = "0.0.0.0", "tcp4"
		case "::*":
			host, network = "::", "tcp6"
		}
		ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(n.cfg.Port)))
		if err != nil {
			if optional {
				n.log.Warn("optional bind failed", "addr", b, "err", err)
				continue
			}
			n.Close()
			return fmt.Errorf("node: could not create server TCP listening socket %s:%d: %w", host, n.cfg.Port, err)
		}
		n.listeners = append(n.listeners, ln)
	}
	if len(n.listeners) == 0 && n.cfg.Port != 0 {
		n.Close()
		return errors.New("node: no listening address could be bound")
	}
	for _, ln := range n.listeners {
		srv := redcon.NewServer("", n.serveRESP, n.accept, n.onClosed)
		n.servers = append(n.servers, srv)
		wl := &listener{Listener: ln, n: n}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			srv.Serve(wl)
		}()
	}
	processGC.start()
	n.wg.Add(1)
	go n.cron()
	return nil
}

// Close stops listening, disconnects clients and stops background work.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.SetLoading(false) // a load cut short must not keep the GC relaxed
		close(n.closed)
		for _, s := range n.servers {
			s.Close()
		}
		for _, l := range n.listeners {
			l.Close()
		}
		n.closeTLS()
		n.stopCluster()
		n.mu.Lock()
		n.stopReplicationLocked()
		for _, cl := range n.clients {
			cl.netConn.Close()
			if cl.blocked != nil {
				cl.blocked.unblock(unblockShutdown)
			}
		}
		n.mu.Unlock()
		n.migrate.closeAll()
	})
	n.wg.Wait()
	// Close may run twice at once (SHUTDOWN, then the process's stop
	// path): the final state is written once, and both wait for it.
	n.finalOnce.Do(func() { n.saveReplState(true) })
	return nil
}

// Done is closed when the node is closing.
func (n *Node) Done() <-chan struct{} { return n.closed }

// listener wraps accepted sockets in clientConn.
type listener struct {
	net.Listener
	n *Node
	// tls, when set, makes this a TLS listener (tls.go); the handshake
	// runs on the client's first read or write.
	tls *tls.Config
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		l.n.mu.Lock()
		ka := l.n.cfg.TCPKeepalive
		l.n.mu.Unlock()
		// As Redis's anetKeepAlive: idle ka, probes every ka/3, 3 probes.
		// Go enables keep-alive on accepted sockets by default; with
		// tcp-keepalive 0 Redis leaves it off.
		if ka > 0 {
			intvl := ka / 3
			if intvl < time.Second {
				intvl = time.Second
			}
			tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: ka, Interval: intvl, Count: 3})
		} else {
			tc.SetKeepAlive(false)
		}
		tc.SetNoDelay(true)
	}
	if l.tls != nil {
		c = tls.Server(c, l.tls)
	}
	cc := &clientConn{Conn: c, pushLimit: 32 << 20, outbuf: &outbufCheck{n: l.n}}
	// The guard applies the idle timeout itself (subscribers are exempt).
	cc.guard = newProtoGuard(l.n, cc)
	return cc, nil
}

func (n *Node) idleTimeout() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.Timeout
}

// accept registers a new client, enforcing maxclients and protected mode.
func (n *Node) accept(conn redcon.Conn) bool {
	n.stats.TotalConnections.Add(1)
	cc, _ := conn.NetConn().(*clientConn)
	cl := &Client{
		ID:         n.nextClientID.Add(1),
		conn:       conn,
		netConn:    cc,
		Addr:       conn.RemoteAddr(),
		Created:    time.Now(),
		LastActive: time.Now(),
		RESP:       2,
		User:       "default",
	}
	if la := conn.NetConn().LocalAddr(); la != nil {
		cl.LAddr = la.String()
	}
	cc.guard.cl = cl
	n.mu.Lock()
	cl.Authenticated = n.acl.defaultOpen
	cl.aclUser = n.defaultUserLocked()
	if len(n.clients) >= n.cfg.MaxClients {
		n.mu.Unlock()
		n.stats.RejectedConns.Add(1)
		rejectConn(conn.NetConn(), "-ERR max number of clients reached\r\n")
		return false
	}
	// Redis 7.0 protects whatever the bind addresses: only a default user
	// without password matters (clientAcceptHandler).
	if n.cfg.ProtectedMode && n.defaultUserLocked().NoPass && !isLoopback(conn.NetConn().RemoteAddr()) {
		n.mu.Unlock()
		n.stats.RejectedConns.Add(1)
		rejectConn(conn.NetConn(), protectedModeMsg)
		return false
	}
	n.clients[cl.ID] = cl
	n.mu.Unlock()
	conn.SetContext(cl)
	return true
}

const protectedModeMsg = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

func (n *Node) onClosed(conn redcon.Conn, err error) {
	cl, _ := conn.Context().(*Client)
	if cl == nil {
		return
	}
	n.mu.Lock()
	n.freeClientLocked(cl)
	n.mu.Unlock()
}

// freeClientLocked releases everything a client holds.
func (n *Node) freeClientLocked(cl *Client) {
	delete(n.clients, cl.ID)
	n.removeMonitorLocked(cl)
	n.unwatchAllLocked(cl)
	n.pubsub.removeClientLocked(cl)
	if cl.blocked != nil {
		n.unregisterBlockedLocked(cl.blocked)
	}
}

// cron runs periodic work at hz: active expiry and housekeeping.
func (n *Node) cron() {
	defer n.wg.Done()
	lastRepl := time.Now()
	for {
		n.mu.Lock()
		hz := n.cfg.Hz
		processGC.setMaxMemory(n.cfg.MaxMemory)
		n.syncAccessPolicyLocked()
		n.mu.Unlock()
		if hz <= 0 {
			hz = 10
		}
		select {
		case <-n.closed:
			return
		case <-time.After(time.Second / time.Duration(hz)):
		}
		n.activeExpire(hz)
		n.cronLimits()
		if now := time.Now(); now.Sub(lastRepl) >= time.Second {
			lastRepl = now
			n.mu.Lock()
			n.replCronLocked(now)
			n.mu.Unlock()
			n.saveReplState(false)
		}
	}
}

// activeExpire removes expired keys with a CPU budget of about 25% of each
// cron period, in short lock holds so commands are not stalled.
func (n *Node) activeExpire(hz int) {
	deadline := time.Now().Add(time.Second / time.Duration(hz) / 4)
	for time.Now().Before(deadline) {
		removed := 0
		n.mu.Lock()
		if n.loading.Load() {
			n.mu.Unlock()
			return
		}
		for _, db := range n.dbs {
			removed += db.ActiveExpireCycle(1000)
		}
		n.mu.Unlock()
		if removed == 0 {
			return
		}
	}
}

// WritePidfile writes the process id to path.
func WritePidfile(path string) error {
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}
