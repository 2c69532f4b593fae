package proxy

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotvault/slotvault/slots"
)

// pubsubState is a session that subscribed: SUBSCRIBE and PSUBSCRIBE go
// to one connection to the first master (PUBLISH reaches every node of a
// cluster), SSUBSCRIBE to a connection to the shard channel's master. A
// relay goroutine per connection copies messages and replies to the
// client. The session stays in this mode until it closes.
type pubsubState struct {
	s     *session
	mu    sync.Mutex
	main  *bconn
	shard map[*node]*bconn
	wg    sync.WaitGroup
	// closing is set before the proxy closes the connections itself, so
	// relays do not take it for a node failure.
	closing atomic.Bool
}

func newPubSub(s *session) *pubsubState {
	return &pubsubState{s: s, shard: map[*node]*bconn{}}
}

// conn returns (opening and relaying) the subscription connection to n.
func (ps *pubsubState) conn(n *node, main bool) (*bconn, error) {
	if main && ps.main != nil && !ps.main.dead {
		return ps.main, nil
	}
	if !main {
		if bc := ps.shard[n]; bc != nil && !bc.dead {
			return bc, nil
		}
	}
	bc, err := n.dial(true)
	if err != nil {
		return nil, err
	}
	bc, err = ps.s.prepare(bc)
	if err != nil {
		return nil, err
	}
	// Messages come whenever they are published: no reply deadline.
	bc.setReadDeadline(time.Time{})
	bc.sticky = true
	ps.mu.Lock()
	if main {
		ps.main = bc
	} else {
		ps.shard[n] = bc
	}
	ps.mu.Unlock()
	ps.wg.Add(1)
	go ps.relay(bc)
	return bc, nil
}

// relay copies everything the node sends on bc to the client. When the
// node goes away the client is disconnected: its subscriptions are gone
// and it must subscribe again.
func (ps *pubsubState) relay(bc *bconn) {
	defer ps.wg.Done()
	s := ps.s
	var buf []byte
	for {
		var err error
		buf, err = readReply(bc.br, buf[:0])
		if err != nil {
			if ps.closing.Load() {
				return
			}
			bc.fail()
			s.conn.Close()
			return
		}
		s.wmu.Lock()
		s.out.Write(buf)
		// Batch messages that are already buffered into one write.
		if bc.br.Buffered() == 0 {
			err = s.out.Flush()
		}
		s.wmu.Unlock()
		if err != nil {
			s.conn.Close()
			return
		}
	}
}

func (ps *pubsubState) close() {
	ps.closing.Store(true)
	ps.mu.Lock()
	if ps.main != nil {
		ps.main.close()
	}
	for _, bc := range ps.shard {
		bc.close()
	}
	ps.mu.Unlock()
	ps.wg.Wait()
}

// planPubSub handles a command of a subscribed session. Subscription
// commands and PING go to the subscription connections (their replies
// come back through the relays); in RESP3 other commands run normally;
// in RESP2 they get Redis's error.
func (s *session) planPubSub(args [][]byte, raw []byte) {
	ps := s.ps
	cmd := s.p.cmds.Lookup(args)
	name := ""
	if cmd != nil {
		name = cmd.Name
	}
	req := s.rawOrEncode(args, raw)
	send := func(bc *bconn, err error) {
		if err == nil {
			bc.bw.Write(req)
			err = bc.bw.Flush()
		}
		if err != nil {
			s.addLocalString("-ERR proxy: subscription connection failed: " + err.Error() + "\r\n")
		}
	}
	switch name {
	case "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ping":
		if name == "ping" && s.proto == 3 {
			break
		}
		if !cmd.ArityOK(len(args)) {
			break
		}
		s.execute() // keep replies in order with what came before
		send(ps.conn(s.defaultNode(), true))
		return
	case "ssubscribe", "sunsubscribe":
		if !cmd.ArityOK(len(args)) {
			break
		}
		s.execute()
		if len(args) == 1 {
			ps.mu.Lock()
			conns := make([]*bconn, 0, len(ps.shard))
			for _, bc := range ps.shard {
				conns = append(conns, bc)
			}
			ps.mu.Unlock()
			if len(conns) == 0 {
				send(ps.conn(s.defaultNode(), true))
			}
			for _, bc := range conns {
				send(bc, nil)
			}
			return
		}
		slot := slots.KeySlot(args[1])
		for _, ch := range args[2:] {
			if slots.KeySlot(ch) != slot {
				s.crossSlot()
				s.execute()
				return
			}
		}
		send(ps.conn(s.route(slot, false), false))
		return
	case "quit":
		s.addLocalString("+OK\r\n")
		s.closing = true
		return
	}
	if name == "reset" && cmd.ArityOK(len(args)) {
		s.execute()
		s.reset()
		return
	}
	if s.proto != 3 {
		if name == "" {
			name = string(args[0])
		}
		s.addLocalString("-ERR Can't execute '" + strings.ToLower(name) +
			"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
		return
	}
	// RESP3: a normal command between pushes.
	saved := s.ps
	s.ps = nil
	s.plan(args, raw)
	s.ps = saved
}
