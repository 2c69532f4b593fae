package node

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotvault/slotvault/acl"
	"github.com/slotvault/slotvault/cluster"
	"github.com/tidwall/redcon"
)

// Client is one connection's state. Fields without a comment are owned by
// the connection's goroutine or guarded by the node lock (n.mu), as noted.
type Client struct {
	ID      int64
	conn    redcon.Conn
	netConn *clientConn
	Addr    string
	LAddr   string
	Created time.Time

	// Guarded by n.mu (read by CLIENT LIST from other goroutines).
	Name          string
	DB            int
	RESP          int
	Authenticated bool
	User          string
	LastCmd       string
	LastActive    time.Time
	LibName       string
	LibVer        string
	NoEvict       bool
	closing       bool

	// CLIENT REPLY state (connection goroutine; read under n.mu).
	replyOff      bool // OFF: no replies until ON
	replySkip     bool // the reply of the current command is dropped
	replySkipNext bool // SKIP was just given: drop the next command's reply
	// deaf: the client asked to be closed (QUIT, a protocol error) while
	// its replies were off. Redis closes a connection only after writing a
	// reply, so such a client stays connected but nothing more it sends is
	// processed.
	deaf bool

	reply Reply
	// ctx is the context of the command being executed, reused from one
	// command to the next (guarded by n.mu while in use).
	ctx Ctx
	// Durability of the current pipelined batch (connection goroutine):
	// the highest write-log sequence its writes produced, the number of
	// reply bytes queued in redcon's buffer so far, and where the first
	// write's reply starts.
	pendSeq     uint64
	batchBytes  int
	pendMark    int
	pendReplies int
	// pendConf is the cluster configuration change (CLUSTER SETSLOT) the
	// batch's replies wait for: nodes.conf is saved before they are sent,
	// as Redis saves it in beforeSleep (see cluster.WaitConfig).
	pendConf cluster.ConfigTicket

	// MULTI state (connection goroutine, read under n.mu by EXEC).
	inMulti    bool
	multiDirty bool
	queued     []queuedCmd
	// watched keys; watchDirty is set under n.mu by any writer touching one.
	watched    []watchKey
	watchDirty bool

	// pub/sub state, guarded by n.mu.
	channels  map[string]struct{}
	patterns  map[string]struct{}
	schannels map[string]struct{}

	// blocked is non-nil while the client waits in a blocking command.
	blocked *blockState

	killed atomic.Bool

	// clusterFlags holds READONLY and ASKING (cluster_route.go), guarded
	// by n.mu.
	clusterFlags uint8
	// repl holds what REPLCONF said (a replica connecting); woff is the
	// replication offset after the client's last write (WAIT). Guarded by
	// n.mu.
	repl *replClientConf
	woff int64

	// aclUser is the user the client is authenticated as (guarded by
	// n.mu); nil for internal clients, which are not checked.
	aclUser *acl.User
}

type queuedCmd struct {
	cmd  *Command
	args [][]byte
}

type watchKey struct {
	db  int
	key string
}

// SubscriptionCount is the number of channels and patterns subscribed.
func (cl *Client) SubscriptionCount() int {
	return len(cl.channels) + len(cl.patterns) + len(cl.schannels)
}

// inPubSub reports whether a RESP2 client is in subscriber mode.
func (cl *Client) inPubSub() bool {
	return cl.RESP < 3 && cl.SubscriptionCount() > 0
}

// clientConn wraps a client's socket. Reads pass through the protocol guard,
// which enforces Redis's request limits and error texts before redcon
// parses. Writes are serialised with asynchronous pushes (pub/sub messages),
// which are queued while a reply batch is being produced, so a push never
// overtakes a reply the client is owed.
type clientConn struct {
	net.Conn
	guard *protoGuard

	writeMu sync.Mutex // orders writes to the socket
	mu      sync.Mutex // guards the fields below
	inBatch bool
	pending []byte
	wake    chan struct{}
	// pushLimit is the pending-output size at which the client is dropped
	// when outbuf is nil; outbuf applies client-output-buffer-limit
	// (outbuf.go).
	pushLimit int
	outbuf    *outbufCheck
	dropped   bool

	idleTimeout func() time.Duration
}

func (cc *clientConn) Read(p []byte) (int, error) {
	if cc.idleTimeout != nil {
		if d := cc.idleTimeout(); d > 0 {
			cc.Conn.SetReadDeadline(time.Now().Add(d))
		} else {
			cc.Conn.SetReadDeadline(time.Time{})
		}
	}
	if cc.guard == nil {
		return cc.Conn.Read(p)
	}
	return cc.guard.Read(cc.Conn, p)
}

// Write is called by redcon at the end of each pipeline batch (possibly with
// no bytes); queued pushes follow the batch's replies.
func (cc *clientConn) Write(p []byte) (int, error) {
	cc.writeMu.Lock()
	defer cc.writeMu.Unlock()
	var err error
	if len(p) > 0 {
		_, err = cc.Conn.Write(p)
	}
	cc.mu.Lock()
	cc.inBatch = false
	pend := cc.pending
	cc.pending = nil
	cc.mu.Unlock()
	if len(pend) > 0 && err == nil {
		_, err = cc.Conn.Write(pend)
	}
	return len(p), err
}

// beginBatch marks that replies are being produced for this client.
func (cc *clientConn) beginBatch() {
	cc.mu.Lock()
	cc.inBatch = true
	cc.mu.Unlock()
}

// push queues an asynchronous message (pub/sub). It never blocks on the
// socket. A client whose queue passes pushLimit is disconnected, as Redis's
// client-output-buffer-limit pubsub does.
func (cc *clientConn) push(msg []byte) {
	cc.mu.Lock()
	if cc.dropped {
		cc.mu.Unlock()
		return
	}
	cc.pending = append(cc.pending, msg...)
	if cc.pushOverLimitLocked() {
		cc.dropped = true
		cc.pending = nil
		cc.mu.Unlock()
		cc.Conn.Close()
		cc.reportDroppedLocked()
		return
	}
	if cc.wake == nil {
		cc.wake = make(chan struct{}, 1)
		go cc.pusher(cc.wake)
	}
	select {
	case cc.wake <- struct{}{}:
	default:
	}
	cc.mu.Unlock()
}

func (cc *clientConn) pusher(wake chan struct{}) {
	for range wake {
		cc.writeMu.Lock()
		cc.mu.Lock()
		if cc.inBatch || cc.dropped {
			cc.mu.Unlock()
			cc.writeMu.Unlock()
			if cc.dropped {
				return
			}
			continue
		}
		pend := cc.pending
		cc.pending = nil
		cc.mu.Unlock()
		if len(pend) > 0 {
			if _, err := cc.Conn.Write(pend); err != nil {
				cc.writeMu.Unlock()
				return
			}
		}
		cc.writeMu.Unlock()
	}
}

func (cc *clientConn) Close() error {
	cc.mu.Lock()
	if cc.wake != nil {
		close(cc.wake)
		cc.wake = nil
	}
	cc.dropped = true
	cc.mu.Unlock()
	return cc.Conn.Close()
}
