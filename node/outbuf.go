package node

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/tidwall/redcon"
)

// client-output-buffer-limit, as Redis 7.0 (networking.c:
// checkClientOutputBufferLimits).
//
// What counts as a client's output buffer here:
//
//   - pubsub: messages queued for a subscriber and not yet written
//     (clientConn.pending, CLIENT LIST omem). A subscriber that stops
//     reading makes its socket block; messages then pile up there and the
//     client is dropped at the hard limit, or after staying above the soft
//     limit for soft-seconds.
//   - normal (and subscribers' own replies): the replies of one pipelined
//     batch, which redcon buffers whole before writing. A client that does
//     not read blocks only its own connection (its next requests are not
//     read until the replies are written), so this is the most memory it
//     can hold.
//   - replica: the replication stream produced and not yet sent to the
//     replica (master_repl_offset minus the replica's send position), which
//     keeps the backlog from being trimmed; checked by the cron.
//
// A client over its limit is logged as Redis does ("Client ... scheduled to
// be closed ASAP for overcoming of output buffer limits.") and disconnected
// without the pending output.

// protoReplyChunkBytes is the size of Redis's static per-client reply buffer.
const protoReplyChunkBytes = 16 * 1024

// outbufState holds the current limits, read without the node lock by the
// connection goroutines.
type outbufState struct {
	limits atomic.Pointer[config.OutputBufferLimits]
	// replicaSoft is when each replica went over the soft limit (guarded by
	// the node lock).
	replicaSoft map[*replicaLink]time.Time
	closed      atomic.Int64 // client_output_buffer_limit_disconnections
}

func (n *Node) initOutbuf() {
	l := n.cfg.OutputBufferLimits()
	n.outbuf.limits.Store(&l)
	n.outbuf.replicaSoft = map[*replicaLink]time.Time{}
	n.OnConfigSet(func(old, cur *config.Config) error {
		l := cur.OutputBufferLimits()
		n.outbuf.limits.Store(&l)
		// As Redis, a lower maxmemory (or a policy that now evicts) takes
		// effect at once.
		if cur.MaxMemory > 0 && (cur.MaxMemory != old.MaxMemory || cur.MaxMemoryPolicy != old.MaxMemoryPolicy) {
			n.syncAccessPolicyLocked()
			n.performEvictionsLocked()
		}
		return nil
	})
}

func (n *Node) outputLimit(class config.OutputBufferClass) config.OutputBufferLimit {
	if l := n.outbuf.limits.Load(); l != nil {
		return l[class]
	}
	return config.DefaultOutputBufferLimits[class]
}

// outbufCheck is one connection's soft-limit clocks.
type outbufCheck struct {
	n         *Node
	pushSince time.Time // pending pushes above the soft limit since (clientConn.mu)
	replSince time.Time // a reply batch above the soft limit since (connection goroutine)
}

// limitReached applies one class's limits to used bytes; since is the
// time used first went over the soft limit (zero: under it).
func limitReached(l config.OutputBufferLimit, used int64, since *time.Time, now time.Time) bool {
	if l.Hard > 0 && used >= l.Hard {
		return true
	}
	if l.Soft > 0 && used >= l.Soft {
		if since.IsZero() {
			*since = now
			return false
		}
		return now.Sub(*since) > l.SoftSeconds
	}
	*since = time.Time{}
	return false
}

// pushOverLimitLocked reports whether the queued pushes passed the pubsub
// limits (cc.mu held).
func (cc *clientConn) pushOverLimitLocked() bool {
	if cc.outbuf == nil {
		return cc.pushLimit > 0 && len(cc.pending) > cc.pushLimit
	}
	l := cc.outbuf.n.outputLimit(config.OutputPubSub)
	return limitReached(l, int64(len(cc.pending)), &cc.outbuf.pushSince, time.Now())
}

// reportDropped logs a subscriber dropped for its output buffer. Pushes
// are made with the node lock held, so it is held here too.
func (cc *clientConn) reportDroppedLocked() {
	if cc.outbuf == nil || cc.guard == nil || cc.guard.cl == nil {
		return
	}
	cc.outbuf.n.logOutbufClosedLocked(cc.guard.cl)
}

func (n *Node) logOutbufClosedLocked(cl *Client) {
	n.outbuf.closed.Add(1)
	var b strings.Builder
	n.writeClientInfoLocked(&b, cl, nil)
	n.log.Warn("Client " + b.String() + " scheduled to be closed ASAP for overcoming of output buffer limits.")
}

// checkReplyLimit applies the normal (or pubsub) class to the replies
// buffered for the current batch; a client over it is closed without
// them. Called by serveRESP after each command, without the node lock.
func (n *Node) checkReplyLimit(conn redcon.Conn, cl *Client) {
	class := config.OutputNormal
	if cl.SubscriptionCount() > 0 {
		class = config.OutputPubSub
	}
	l := n.outputLimit(class)
	if l.Hard == 0 && l.Soft == 0 {
		return
	}
	cc := cl.netConn
	if cc == nil || cc.outbuf == nil {
		return
	}
	// Redis counts only the reply list, not its 16 KB static buffer
	// (PROTO_REPLY_CHUNK_BYTES) that small replies fill first.
	used := int64(cl.batchBytes) - protoReplyChunkBytes
	if used < 0 {
		used = 0
	}
	if !limitReached(l, used, &cc.outbuf.replSince, time.Now()) {
		return
	}
	if w := redcon.BaseWriter(conn); w != nil {
		w.SetBuffer(nil)
	}
	n.mu.Lock()
	cl.closing = true
	n.logOutbufClosedLocked(cl)
	n.mu.Unlock()
}

// checkReplicaLimitsLocked applies the replica class to the stream not yet
// sent to each attached replica (cron).
func (n *Node) checkReplicaLimitsLocked(now time.Time) {
	l := n.outputLimit(config.OutputReplica)
	soft := n.outbuf.replicaSoft
	for rl := range soft {
		if rl.closed {
			delete(soft, rl)
		}
	}
	if l.Hard == 0 && l.Soft == 0 {
		return
	}
	for i := 0; i < len(n.repl.replicas); i++ {
		rl := n.repl.replicas[i]
		since := soft[rl]
		over := limitReached(l, n.repl.offset-rl.next, &since, now)
		if since.IsZero() {
			delete(soft, rl)
		} else {
			soft[rl] = since
		}
		if over {
			n.outbuf.closed.Add(1)
			n.log.Warn("Client id=" + itoa64(rl.id) + " addr=" + rl.addr + " flags=S scheduled to be closed ASAP for overcoming of output buffer limits.")
			delete(soft, rl)
			rl.closeLocked("output buffer limit")
			i-- // closeLocked removed it from the list
		}
	}
}

func itoa64(v int64) string {
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
