package proxy

import (
	"time"

	cmdtable "github.com/slotvault/slotvault/node"
)

const (
	nodeReadonly = cmdtable.FlagReadonly
	cmdBlocking  = cmdtable.FlagBlocking
)

// exec sends the queued transaction as MULTI, the commands and EXEC to
// the node serving its slot, in one write, and answers with EXEC's reply.
// A MOVED/ASK while queueing (the node answers EXECABORT) or a lost
// connection, before anything ran, is retried like any command, unless
// WATCH pinned the transaction to a node.
func (s *session) exec() {
	tx := s.tx
	s.tx = nil
	if tx.dirty {
		s.unwatch()
		s.addLocalString("-EXECABORT Transaction discarded because of previous errors.\r\n")
		return
	}
	var target *cmdNode
	switch {
	case tx.slot >= 0:
		target = s.route(tx.slot, false)
	case s.watchNode != nil:
		target = s.watchNode
	default:
		target = s.defaultNode()
	}
	if s.watchNode != nil && s.watchNode != target {
		// The watched keys live elsewhere (or the slot moved since WATCH):
		// the transaction cannot be checked, so it fails as if they had
		// changed.
		s.unwatch()
		s.addLocalString("*-1\r\n")
		return
	}
	watched := s.watchNode != nil
	s.watchNode = nil
	req := make([]byte, 0, len(tx.queue)+32)
	req = append(req, "*1\r\n$5\r\nMULTI\r\n"...)
	req = append(req, tx.queue...)
	req = append(req, "*1\r\n$4\r\nEXEC\r\n"...)
	deadline := time.Now().Add(s.p.cfg.RetryTimeout)
	asking := false
	backoff := 5 * time.Millisecond
	var last []byte
	for {
		replies, err := s.roundTripN(target, asking, req, tx.n+2)
		if err == nil {
			last = replies[len(replies)-1]
			kind, addr := redirNone, ""
			for _, r := range replies[1 : len(replies)-1] {
				if k, a := classify(r); k != redirNone {
					kind, addr = k, a
					break
				}
			}
			if kind == redirNone || watched || time.Now().After(deadline) {
				s.addLocal(last)
				return
			}
			asking = false
			switch kind {
			case redirMoved:
				s.p.metrics.movedC.Inc()
				target = s.p.topo.node(addr)
				s.p.topo.refreshAsync()
				continue
			case redirAsk:
				s.p.metrics.askC.Inc()
				target, asking = s.p.topo.node(addr), true
				continue
			}
		} else if watched {
			s.addLocalString("-ERR proxy: lost the connection to " + target.addr + " during EXEC\r\n")
			return
		}
		if time.Now().Add(backoff).After(deadline) || s.p.stopping.Load() {
			if last == nil {
				last = []byte("-CLUSTERDOWN proxy: no reachable node serves this slot\r\n")
			}
			s.addLocal(last)
			return
		}
		time.Sleep(backoff)
		if backoff < 200*time.Millisecond {
			backoff *= 2
		}
		s.p.metrics.retries.Inc()
		s.p.topo.refresh(time.Now().Add(-backoff))
		if tx.slot >= 0 {
			target = s.route(tx.slot, false)
		}
	}
}

type cmdNode = node

// roundTripN sends req (n requests, after ASKING when asking) and reads n
// replies.
func (s *session) roundTripN(n *node, asking bool, req []byte, count int) ([][]byte, error) {
	bc, err := s.connFor(n)
	if err != nil {
		return nil, err
	}
	bc.setReadDeadline(s.p.replyDeadline(false))
	if asking {
		bc.bw.WriteString("*1\r\n$6\r\nASKING\r\n")
	}
	bc.bw.Write(req)
	if err := bc.bw.Flush(); err != nil {
		bc.fail()
		return nil, err
	}
	if asking {
		if _, err := readReply(bc.br, nil); err != nil {
			bc.fail()
			return nil, err
		}
	}
	out := make([][]byte, count)
	for i := range out {
		if out[i], err = readReply(bc.br, nil); err != nil {
			bc.fail()
			return nil, err
		}
	}
	return out, nil
}
