package proxy

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"time"
)

var errAuthLost = errors.New("proxy: node refused the session's AUTH/HELLO")

// redirect classifies a reply that asks for the command to be sent again.
type redirect uint8

const (
	redirNone redirect = iota
	redirMoved
	redirAsk
	redirRetry // TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN: same slot later
)

func classify(reply []byte) (redirect, string) {
	if len(reply) < 4 || reply[0] != '-' {
		return redirNone, ""
	}
	msg := reply[1 : len(reply)-2]
	switch {
	case bytes.HasPrefix(msg, []byte("MOVED ")), bytes.HasPrefix(msg, []byte("ASK ")):
		// MOVED <slot> <host:port>
		i := bytes.LastIndexByte(msg, ' ')
		if msg[0] == 'M' {
			return redirMoved, string(msg[i+1:])
		}
		return redirAsk, string(msg[i+1:])
	case bytes.HasPrefix(msg, []byte("TRYAGAIN")), bytes.HasPrefix(msg, []byte("CLUSTERDOWN")),
		bytes.HasPrefix(msg, []byte("LOADING")), bytes.HasPrefix(msg, []byte("MASTERDOWN")):
		return redirRetry, ""
	}
	return redirNone, ""
}

// fix resolves a sub whose reply is a redirection or whose connection
// was lost: it follows MOVED (refreshing the slot map) and ASK (with
// ASKING), and re-sends on TRYAGAIN, CLUSTERDOWN and connection loss until
// Config.RetryTimeout has passed; the last reply stands after that. All
// of the session's connections are idle when it runs.
func (s *session) fix(sb *sub) {
	var kind redirect
	var addr string
	if !sb.failed {
		kind, addr = classify(s.replyOf(sb))
		if kind == redirNone {
			return
		}
	}
	if sb.pinned && (sb.failed || kind == redirMoved || kind == redirAsk) {
		if sb.failed {
			s.retryPinned(sb)
		}
		return
	}
	deadline := time.Now().Add(s.p.cfg.RetryTimeout)
	backoff := 5 * time.Millisecond
	req := sb.raw
	if req == nil {
		req = s.reqs[sb.req.off : sb.req.off+sb.req.n]
	}
	for attempt := 0; ; attempt++ {
		target, asking := (*node)(nil), false
		switch {
		case sb.failed, kind == redirRetry:
			if time.Now().Add(backoff).After(deadline) || s.p.stopping.Load() {
				if sb.failed {
					s.setReply(sb, []byte("-CLUSTERDOWN proxy: no reachable node serves this slot\r\n"))
				}
				return
			}
			time.Sleep(backoff)
			if backoff < 200*time.Millisecond {
				backoff *= 2
			}
			s.p.metrics.retries.Inc()
			s.p.topo.refresh(time.Now().Add(-backoff))
		case kind == redirMoved:
			s.p.metrics.movedC.Inc()
			target = s.p.topo.node(addr)
			s.p.topo.refreshAsync()
		case kind == redirAsk:
			s.p.metrics.askC.Inc()
			target, asking = s.p.topo.node(addr), true
		}
		if target == nil {
			if sb.pinned {
				target = sb.n
			} else if sb.slot >= 0 {
				target = s.route(sb.slot, sb.readonly && attempt == 0)
			} else {
				target = s.defaultNode()
			}
		}
		if attempt > 16 && time.Now().After(deadline) {
			return
		}
		reply, err := s.roundTrip(target, asking, req)
		if err != nil {
			sb.failed = true
			continue
		}
		sb.failed = false
		sb.n = target
		s.setReply(sb, reply)
		if sb.watch {
			s.watchNode = target
		}
		kind, addr = classify(reply)
		if kind == redirNone {
			return
		}
		if kind == redirRetry && time.Now().After(deadline) {
			return
		}
	}
}

// retryPinned re-sends a fan-out sub whose connection failed once, on a
// fresh connection of the session's (a shared connection may have died
// under it, e.g. the node restarted): only if that fails too is the node
// reported unreachable, Redis style "-ERR node ADDR unreachable: ...". A
// node that timed out is not asked again: it already had
// Config.NodeTimeout to answer.
func (s *session) retryPinned(sb *sub) {
	err := sb.err
	var ne net.Error
	if !(errors.As(err, &ne) && ne.Timeout()) && !s.p.stopping.Load() {
		req := sb.raw
		if req == nil {
			req = s.reqs[sb.req.off : sb.req.off+sb.req.n]
		}
		var reply []byte
		if reply, err = s.roundTrip(sb.n, false, req); err == nil {
			sb.failed, sb.err = false, nil
			s.setReply(sb, reply)
			return
		}
	}
	if err == nil {
		err = errNodeConn
	}
	// The master may have been replaced by a failover: the next fan-out
	// should use the new map.
	s.p.topo.refreshAsync()
	msg := strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error())
	s.setReply(sb, []byte("-ERR node "+sb.n.addr+" unreachable: "+msg+"\r\n"))
}

// setReply stores a new reply for sb at the end of the arena.
func (s *session) setReply(sb *sub, reply []byte) {
	off := len(s.arena)
	s.arena = append(s.arena, reply...)
	sb.reply = span{off, len(reply)}
}

// roundTrip sends req (after ASKING when asking) to n on the session's
// connection and returns the reply.
func (s *session) roundTrip(n *node, asking bool, req []byte) ([]byte, error) {
	bc, err := s.connFor(n)
	if err != nil {
		return nil, err
	}
	bc.setReadDeadline(s.p.replyDeadline(s.blocking))
	if asking {
		bc.bw.WriteString("*1\r\n$6\r\nASKING\r\n")
	}
	bc.bw.Write(req)
	if err := bc.bw.Flush(); err != nil {
		bc.fail()
		return nil, err
	}
	var reply []byte
	if asking {
		if _, err := readReply(bc.br, nil); err != nil {
			bc.fail()
			return nil, err
		}
	}
	reply, err = readReply(bc.br, nil)
	if err != nil {
		bc.fail()
		return nil, err
	}
	return reply, nil
}
