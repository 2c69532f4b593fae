package proxy

import (
	"bytes"
	"crypto/subtle"
	"slices"
	"strconv"
	"strings"

	"github.com/slotvault/slotvault/slots"
)

const errCrossSlot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n"

// plan turns one client command into an op: a local reply, or requests
// written (not yet flushed) to the nodes. Commands that need the replies
// of earlier ones (HELLO, AUTH, EXEC, subscriptions) run the batch first.
func (s *session) plan(args [][]byte, raw []byte) {
	if s.wire(raw) == nil {
		// Inline request: re-encode once so it can be forwarded.
		raw = nil
	}
	cmd := s.p.cmds.Lookup(args)
	if !s.authed {
		if cmd == nil || (cmd.Name != "auth" && cmd.Name != "hello" && cmd.Name != "quit") {
			s.addLocalString("-NOAUTH Authentication required.\r\n")
			return
		}
	}
	if s.ps != nil {
		s.planPubSub(args, raw)
		return
	}
	if cmd == nil || !cmd.ArityOK(len(args)) {
		// The node words unknown-command and arity errors exactly.
		if s.tx != nil {
			s.tx.dirty = true
		}
		s.forwardArgs(s.defaultNode(), -1, args, raw, false)
		return
	}
	name := cmd.Name
	if cmd.Flags&cmdBlocking != 0 || name == "wait" {
		s.blocking = true
	}
	if s.tx != nil {
		switch name {
		case "exec", "discard", "multi", "watch", "quit", "reset":
		default:
			s.queueTx(cmd.Name, args, raw, s.keySlot(cmd, args))
			return
		}
	}
	switch name {
	case "ping":
		// PING checks the whole cluster: every master must answer. Each
		// node's reply (PONG or the echoed argument) is the one a single
		// Redis gives, so the first master's stands.
		s.fanout(name, args, raw)
		return
	case "quit":
		s.addLocalString("+OK\r\n")
		s.closing = true
		return
	case "reset":
		s.execute()
		s.reset()
		return
	case "client|reply":
		if bytes.EqualFold(args[2], []byte("on")) {
			s.addLocalString("+OK\r\n")
			return
		}
		s.addLocalString("-ERR CLIENT REPLY OFF|SKIP is not supported through the slotvault proxy\r\n")
		return
	case "client|tracking", "client|caching", "client|trackinginfo", "client|getredir":
		s.addLocalString("-ERR client-side caching is not supported through the slotvault proxy\r\n")
		return
	case "readonly", "readwrite", "asking":
		s.addLocalString("+OK\r\n")
		return
	case "monitor", "sync", "psync", "replicaof", "slaveof", "shutdown":
		s.addLocalString("-ERR " + strings.ToUpper(name) + " is not supported through the slotvault proxy\r\n")
		return
	case "hello":
		s.execute()
		s.hello(args)
		return
	case "auth":
		s.execute()
		s.auth(args)
		return
	case "multi":
		if s.tx != nil {
			s.addLocalString("-ERR MULTI calls can not be nested\r\n")
			return
		}
		s.tx = &txState{slot: -1}
		s.addLocalString("+OK\r\n")
		return
	case "exec":
		if s.tx == nil {
			break
		}
		s.execute()
		s.exec()
		return
	case "discard":
		if s.tx == nil {
			break
		}
		s.execute()
		s.tx = nil
		s.unwatch()
		s.addLocalString("+OK\r\n")
		return
	case "watch":
		if s.tx != nil {
			s.addLocalString("-ERR WATCH inside MULTI is not allowed\r\n")
			return
		}
		slot := s.keySlot(cmd, args)
		if slot < 0 {
			s.crossSlot()
			return
		}
		n := s.route(slot, false)
		if s.watchNode != nil && s.watchNode != n {
			s.crossSlot()
			return
		}
		s.watchNode = n
		s.ops = append(s.ops, op{merge: mergeRelay, sub0: len(s.subs), nsubs: 1})
		s.send(sub{n: n, slot: slot, raw: s.rawOrEncode(args, raw), watch: true})
		return
	case "unwatch":
		if s.watchNode == nil {
			s.addLocalString("+OK\r\n")
			return
		}
		n := s.watchNode
		s.watchNode = nil
		s.ops = append(s.ops, op{merge: mergeRelay, sub0: len(s.subs), nsubs: 1})
		s.send(sub{n: n, slot: -1, raw: s.rawOrEncode(args, raw), pinned: true, ownConn: true})
		return
	case "subscribe", "psubscribe", "ssubscribe":
		s.execute()
		s.ps = newPubSub(s)
		s.planPubSub(args, raw)
		return
	case "mget", "exists", "del", "unlink", "touch":
		if s.split(name, args, raw, 1) {
			return
		}
	case "mset":
		if s.split(name, args, raw, 2) {
			return
		}
	case "dbsize", "keys", "flushall", "flushdb", "randomkey", "info",
		"script|load", "script|flush", "function|load", "function|delete", "function|flush":
		s.fanout(name, args, raw)
		return
	case "scan":
		s.scan(args)
		return
	}
	if strings.HasPrefix(name, "client|") {
		// CLIENT SETNAME, NO-EVICT...: connection state belongs on the
		// client's own node connection, never a shared one.
		s.dedicated = true
	}
	slot := s.keySlot(cmd, args)
	switch {
	case slot == -2:
		s.crossSlot()
	case slot == -1:
		s.forwardArgs(s.defaultNode(), -1, args, raw, false)
	default:
		ro := cmd.Flags&nodeReadonly != 0
		s.forwardArgs(s.route(slot, ro), slot, args, raw, ro)
	}
}

func (s *session) crossSlot() {
	s.p.metrics.crossSlot.Inc()
	s.addLocalString(errCrossSlot)
}

// rawOrEncode returns the request bytes for args.
func (s *session) rawOrEncode(args [][]byte, raw []byte) []byte {
	if raw != nil {
		return raw
	}
	return appendCommand(nil, args...)
}

func (s *session) forwardArgs(n *node, slot int, args [][]byte, raw []byte, readonly bool) {
	s.ops = append(s.ops, op{merge: mergeRelay, sub0: len(s.subs), nsubs: 1})
	if raw != nil {
		s.send(sub{n: n, slot: slot, raw: raw, readonly: readonly})
		return
	}
	s.send(sub{n: n, slot: slot, req: s.encodeReq(args...), readonly: readonly})
}

// split sends a multi-key command whose keys live in several slots as one
// command per slot, step being 1 for keys and 2 for key/value pairs. It
// reports false when every key is in one slot (plain forwarding).
func (s *session) split(name string, args [][]byte, raw []byte, step int) bool {
	if (len(args)-1)%step != 0 {
		return false
	}
	s.pairs = s.pairs[:0]
	first, same := -1, true
	for i := 1; i < len(args); i += step {
		sl := slots.KeySlot(args[i])
		if first == -1 {
			first = sl
		} else if sl != first {
			same = false
		}
		s.pairs = append(s.pairs, slotKey{sl, (i - 1) / step})
	}
	if same {
		return false
	}
	s.p.metrics.splitCmds.Inc()
	slices.SortStableFunc(s.pairs, func(a, b slotKey) int { return a.slot - b.slot })
	o := op{sub0: len(s.subs), nkeys: len(s.pairs)}
	switch name {
	case "mget":
		o.merge = mergeMGet
	case "mset":
		o.merge = mergeAllOK
	default:
		o.merge = mergeSum
	}
	ro := name == "mget" || name == "exists"
	for i := 0; i < len(s.pairs); {
		j := i
		for j < len(s.pairs) && s.pairs[j].slot == s.pairs[i].slot {
			j++
		}
		off := len(s.reqs)
		s.reqs = appendArrayHeader(s.reqs, 1+(j-i)*step)
		s.reqs = appendBulk(s.reqs, args[0])
		ord0 := len(s.ints)
		for _, p := range s.pairs[i:j] {
			for k := 0; k < step; k++ {
				s.reqs = appendBulk(s.reqs, args[1+p.ord*step+k])
			}
			s.ints = append(s.ints, p.ord)
		}
		slot := s.pairs[i].slot
		s.send(sub{n: s.route(slot, ro), slot: slot, req: span{off, len(s.reqs) - off},
			ord0: ord0, nord: j - i, readonly: ro})
		o.nsubs++
		i = j
	}
	s.ops = append(s.ops, o)
	return true
}

// fanout sends a whole-cluster command to every master.
func (s *session) fanout(name string, args [][]byte, raw []byte) {
	s.p.metrics.fanoutCmds.Inc()
	m := s.p.topo.cur.Load()
	o := op{sub0: len(s.subs), nsubs: len(m.masters)}
	switch name {
	case "dbsize":
		o.merge = mergeSum
	case "keys":
		o.merge = mergeConcat
	case "flushall", "flushdb":
		o.merge = mergeAllOK
	case "randomkey":
		o.merge = mergeRandom
	case "info":
		o.merge = mergeInfo
	default:
		// PING: every master answered alike. Scripts and functions are
		// loaded on every master so EVALSHA and FCALL work wherever their
		// keys live.
		o.merge = mergeFirst
	}
	var req span
	if raw == nil {
		req = s.encodeReq(args...)
	}
	for _, n := range m.masters {
		s.send(sub{n: n, slot: -1, raw: raw, req: req, pinned: true})
	}
	s.ops = append(s.ops, o)
}

// scan runs SCAN on one master, named by the proxy cursor.
func (s *session) scan(args [][]byte) {
	cur, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		s.addLocalString("-ERR invalid cursor\r\n")
		return
	}
	m := s.p.topo.cur.Load()
	idx := int(cur & (1<<scanIdxBits - 1))
	if idx >= len(m.masters) {
		s.addLocalString("*2\r\n$1\r\n0\r\n*0\r\n")
		return
	}
	off := len(s.reqs)
	s.reqs = appendArrayHeader(s.reqs, len(args))
	s.reqs = appendBulk(s.reqs, args[0])
	var b [24]byte
	s.reqs = appendBulk(s.reqs, strconv.AppendUint(b[:0], cur>>scanIdxBits, 10))
	for _, a := range args[2:] {
		s.reqs = appendBulk(s.reqs, a)
	}
	s.ops = append(s.ops, op{merge: mergeScan, sub0: len(s.subs), nsubs: 1, scanIdx: idx, scanMasters: len(m.masters)})
	s.send(sub{n: m.masters[idx], slot: -1, req: span{off, len(s.reqs) - off}, pinned: true})
}

// queueTx holds a command of a MULTI block until EXEC.
func (s *session) queueTx(name string, args [][]byte, raw []byte, slot int) {
	tx := s.tx
	if slot == -2 || (slot >= 0 && tx.slot >= 0 && slot != tx.slot) {
		tx.dirty = true
		s.crossSlot()
		return
	}
	if slot >= 0 {
		tx.slot = slot
	}
	if raw != nil {
		tx.queue = append(tx.queue, raw...)
	} else {
		tx.queue = appendCommand(tx.queue, args...)
	}
	tx.n++
	s.addLocalString("+QUEUED\r\n")
}

// reset is RESET: the session leaves MULTI, WATCH and pub/sub and goes
// back to RESP2 (node connections follow lazily). Authentication stays,
// as the proxy cannot re-check it.
func (s *session) reset() {
	s.tx = nil
	s.unwatch()
	if s.ps != nil {
		s.lockOut()
		s.out.Flush()
		s.unlockOut()
		ps := s.ps
		ps.close()
		s.ps = nil
	}
	s.proto = 2
	s.addLocalString("+RESET\r\n")
}

// unwatch drops the session's WATCH on its node.
func (s *session) unwatch() {
	if s.watchNode == nil {
		return
	}
	n := s.watchNode
	s.watchNode = nil
	s.roundTrip(n, false, []byte("*1\r\n$7\r\nUNWATCH\r\n"))
}

// hello implements HELLO: the proxy checks AUTH itself under
// requirepass, otherwise the first master answers and the session's
// protocol and credentials follow the reply.
func (s *session) hello(args [][]byte) {
	proto := s.proto
	var authArgs [][]byte
	fwd := [][]byte{args[0]}
	if len(args) > 1 {
		v, err := strconv.Atoi(string(args[1]))
		if err != nil {
			s.addLocalString("-ERR Protocol version is not an integer or out of range\r\n")
			return
		}
		proto = v
		fwd = append(fwd, args[1])
		for i := 2; i < len(args); i++ {
			switch {
			case bytes.EqualFold(args[i], []byte("AUTH")) && i+2 < len(args):
				authArgs = [][]byte{[]byte("AUTH"), args[i+1], args[i+2]}
				i += 2
			case bytes.EqualFold(args[i], []byte("SETNAME")) && i+1 < len(args):
				fwd = append(fwd, args[i], args[i+1])
				i++
			default:
				fwd = append(fwd, args[i:]...)
				i = len(args)
			}
		}
	}
	if s.p.cfg.RequirePass != "" {
		if authArgs != nil {
			if !s.checkPass(authArgs[1:]) {
				s.addLocalString("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
				return
			}
			s.authed = true
		}
		if !s.authed {
			s.addLocalString("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n")
			return
		}
	} else if authArgs != nil {
		fwd = append(fwd[:2:2], append([][]byte{[]byte("AUTH"), authArgs[1], authArgs[2]}, fwd[2:]...)...)
	}
	n := s.defaultNode()
	bc, err := s.connFor(n)
	if err != nil {
		s.addLocalString("-ERR proxy: " + err.Error() + "\r\n")
		return
	}
	reply, err := bc.roundTrip(fwd...)
	if err != nil {
		s.addLocalString("-ERR proxy: " + err.Error() + "\r\n")
		return
	}
	if !isErrorReply(reply) {
		s.proto = proto
		bc.proto = proto
		if authArgs != nil && s.p.cfg.RequirePass == "" {
			s.setAuth(authArgs)
			bc.auth = s.authKey
		}
	}
	s.addLocal(reply)
}

// auth implements AUTH [user] password.
func (s *session) auth(args [][]byte) {
	if s.p.cfg.RequirePass != "" {
		if s.checkPass(args[1:]) {
			s.authed = true
			s.addLocalString("+OK\r\n")
		} else {
			s.addLocalString("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
		}
		return
	}
	bc, err := s.connFor(s.defaultNode())
	if err != nil {
		s.addLocalString("-ERR proxy: " + err.Error() + "\r\n")
		return
	}
	reply, err := bc.roundTrip(args...)
	if err != nil {
		s.addLocalString("-ERR proxy: " + err.Error() + "\r\n")
		return
	}
	if !isErrorReply(reply) {
		s.setAuth(args)
		bc.auth = s.authKey
	}
	s.addLocal(reply)
}

func (s *session) setAuth(args [][]byte) {
	s.authArgs = make([][]byte, len(args))
	var key strings.Builder
	for i, a := range args {
		s.authArgs[i] = append([]byte(nil), a...)
		key.Write(a)
		key.WriteByte(0)
	}
	s.authKey = key.String()
}

// checkPass checks [user] password against requirepass (user "default").
func (s *session) checkPass(a [][]byte) bool {
	var pass []byte
	switch len(a) {
	case 1:
		pass = a[0]
	case 2:
		if string(a[0]) != "default" {
			return false
		}
		pass = a[1]
	default:
		return false
	}
	return subtle.ConstantTimeCompare(pass, []byte(s.p.cfg.RequirePass)) == 1
}
