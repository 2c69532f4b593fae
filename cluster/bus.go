package cluster

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// bus is the cluster bus endpoint: listeners for inbound links.
type bus struct {
	listeners []net.Listener
}

// link is one TCP connection of the bus. Outbound links are created by
// this node to send PINGs (one per known node); inbound links are accepted
// from peers, which send their PINGs there and read our PONGs. Frames are
// queued and written by a writer goroutine, so message processing under the
// cluster lock never blocks on the network.
type link struct {
	c        *Cluster
	node     *Node // outbound: the peer; inbound: the sender once known
	outbound bool
	ctime    int64

	conn      net.Conn // nil while connecting; set under the cluster lock
	sendq     chan []byte
	queued    atomic.Int64 // bytes queued, for CLUSTER LINKS
	done      chan struct{}
	closeOnce sync.Once
	// On an authenticated bus (busauth.go) the reader runs the handshake
	// first and closes authDone once auth is set; the writer waits for
	// it. authDone is nil on an unauthenticated bus.
	authDone chan struct{}
	auth     *linkAuth
}

const sendQueueLen = 4096

func newLink(c *Cluster, n *Node, outbound bool) *link {
	l := &link{c: c, node: n, outbound: outbound, ctime: nowMs(),
		sendq: make(chan []byte, sendQueueLen), done: make(chan struct{})}
	if c.cfg.Secret != nil {
		l.authDone = make(chan struct{})
	}
	return l
}

func (l *link) connected() bool { return l.conn != nil }

// send queues a frame; a link whose queue is full is closed (the peer is
// too slow; it will reconnect), as Redis frees links over their buffer
// limit.
func (l *link) send(frame []byte) {
	select {
	case <-l.done:
		return
	default:
	}
	select {
	case l.sendq <- frame:
		l.queued.Add(int64(len(frame)))
	default:
		l.close()
	}
}

func (l *link) close() {
	l.closeOnce.Do(func() {
		close(l.done)
		if l.conn != nil {
			l.conn.Close()
		}
	})
}

func (l *link) writer(conn net.Conn) {
	defer l.c.wg.Done()
	if l.authDone != nil {
		select {
		case <-l.authDone:
		case <-l.done:
			return
		}
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	for {
		select {
		case <-l.done:
			return
		case f := <-l.sendq:
			l.queued.Add(-int64(len(f)))
			var err error
			if l.auth != nil {
				err = l.auth.sealFrame(w, f)
			} else {
				_, err = w.Write(f)
			}
			if err != nil {
				l.close()
				return
			}
			// Flush when nothing else is waiting.
			if len(l.sendq) == 0 {
				if err := w.Flush(); err != nil {
					l.close()
					return
				}
			}
		}
	}
}

func (l *link) reader(conn net.Conn) {
	defer l.c.wg.Done()
	if l.authDone != nil {
		// Nothing else is read or written on the connection before the
		// peer has proved it knows the secret; a stranger is dropped
		// before any of its messages reaches the cluster state.
		a, err := authenticate(conn, l.c.cfg.Secret, l.outbound)
		if err != nil {
			l.c.authFailed(conn.RemoteAddr().String(), err)
			l.c.mu.Lock()
			l.c.freeLinkLocked(l)
			l.c.mu.Unlock()
			return
		}
		l.auth = a
		close(l.authDone)
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		var m *message
		var err error
		if l.auth != nil {
			m, err = l.auth.readMessage(r)
		} else {
			m, err = readMessage(r)
		}
		if err != nil {
			if l.auth != nil && (errors.Is(err, errBadFrameMAC) || errors.Is(err, errBadVersion)) {
				l.c.log.Warn("cluster bus: frame failed authentication, link dropped", "remote", conn.RemoteAddr().String(), "err", err)
			}
			l.c.mu.Lock()
			l.c.freeLinkLocked(l)
			l.c.mu.Unlock()
			return
		}
		l.c.handle(l, m)
	}
}

// freeLinkLocked closes l and detaches it from its node.
func (c *Cluster) freeLinkLocked(l *link) {
	l.close()
	delete(c.inbound, l)
	if n := l.node; n != nil {
		if n.link == l {
			n.link = nil
		}
		if n.inboundLink == l {
			n.inboundLink = nil
		}
	}
}

func (c *Cluster) freeLinksLocked(n *Node) {
	if n.link != nil {
		c.freeLinkLocked(n.link)
	}
	if n.inboundLink != nil {
		c.freeLinkLocked(n.inboundLink)
	}
}

// listen opens the bus listeners.
func (c *Cluster) listen() error {
	binds := c.cfg.Bind
	if len(binds) == 0 {
		binds = []string{""}
	}
	b := &bus{}
	port := strconv.Itoa(c.busPort())
	for _, h := range binds {
		optional := len(h) > 0 && h[0] == '-'
		if optional {
			h = h[1:]
		}
		network := "tcp"
		switch h {
		case "*":
			h, network = "0.0.0.0", "tcp4"
		case "::*":
			h, network = "::", "tcp6"
		}
		ln, err := net.Listen(network, net.JoinHostPort(h, port))
		if err != nil {
			if optional {
				continue
			}
			for _, l := range b.listeners {
				l.Close()
			}
			return err
		}
		b.listeners = append(b.listeners, ln)
	}
	c.bus = b
	for _, ln := range b.listeners {
		c.wg.Add(1)
		go c.acceptLoop(ln)
	}
	return nil
}

func (c *Cluster) busPort() int {
	if c.cfg.BusPort != 0 {
		return c.cfg.BusPort
	}
	return c.cfg.Port + busPortIncr
}

func (c *Cluster) acceptLoop(ln net.Listener) {
	defer c.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-c.closed:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
			tc.SetKeepAlive(true)
		}
		conn = c.acceptTLS(conn)
		l := newLink(c, nil, false)
		c.mu.Lock()
		select {
		case <-c.closed:
			c.mu.Unlock()
			conn.Close()
			return
		default:
		}
		l.conn = conn
		c.inbound[l] = struct{}{}
		c.wg.Add(2)
		go l.writer(conn)
		go l.reader(conn)
		c.mu.Unlock()
	}
}

// connectLocked starts an outbound link to n. The first frame is a MEET
// for nodes met by CLUSTER MEET (or gossip), else a PING.
func (c *Cluster) connectLocked(n *Node) {
	l := newLink(c, n, true)
	n.link = l
	now := nowMs()
	// Failure detection needs a pending ping: claim one now, it is really
	// sent as soon as the connection is up (as Redis does).
	if n.PingSent == 0 {
		n.PingSent = now
	}
	addr := net.JoinHostPort(n.IP, strconv.Itoa(n.CPort))
	timeout := c.settings.NodeTimeout
	if timeout < time.Second {
		timeout = time.Second
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		conn, err := net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetNoDelay(true)
				tc.SetKeepAlive(true)
			}
			conn, err = c.dialTLS(conn, timeout)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		closed := false
		select {
		case <-c.closed:
			closed = true
		case <-l.done:
			closed = true
		default:
		}
		if err != nil || closed || n.link != l {
			if n.link == l {
				n.link = nil
			}
			if conn != nil {
				conn.Close()
			}
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
			tc.SetKeepAlive(true)
		}
		l.conn = conn
		l.ctime = nowMs()
		c.wg.Add(2)
		go l.writer(conn)
		go l.reader(conn)
		old := n.PingSent
		typ := msgPing
		if n.Flags&FlagMeet != 0 {
			typ = msgMeet
		}
		c.sendPingLocked(l, typ)
		if old != 0 {
			n.PingSent = old
		}
		n.Flags &^= FlagMeet
	}()
}

// headerLocked is this node's view of itself, sent with every message.
func (c *Cluster) headerLocked() header {
	me := c.myself
	h := header{
		Sender:       me.ID,
		CurrentEpoch: c.currentEpoch,
		Flags:        me.Flags,
		StateOK:      c.stateOK,
		IP:           c.cfg.AnnounceIP,
		Port:         c.cfg.Port,
		CPort:        c.busPort(),
		PPort:        c.cfg.PPort,
		ReplOffset:   me.ReplOffset,
	}
	if me.IsMaster() && c.fo.mfEnd != 0 && c.fo.mfPaused {
		h.MFlags |= mflagPaused
	}
	if c.cfg.AnnouncePort != 0 {
		h.Port = c.cfg.AnnouncePort
	}
	if c.cfg.AnnounceBusPort != 0 {
		h.CPort = c.cfg.AnnounceBusPort
	}
	// A replica advertises its master's slots and configEpoch.
	src := me
	if me.IsReplica() && me.Master != nil {
		src = me.Master
		h.Master = me.Master.ID
	}
	h.ConfigEpoch = src.ConfigEpoch
	h.Slots = src.slotBitmap()
	return h
}

func (c *Cluster) sendLocked(l *link, m *message) {
	if l == nil || !l.connected() {
		return
	}
	c.statsSent[m.Type]++
	l.send(m.encode())
}

// sendPingLocked sends a PING, PONG or MEET with a gossip section: a
// random sample of about a tenth of the known nodes (at least 3), plus
// every node this node flags PFAIL, so failure reports spread fast.
func (c *Cluster) sendPingLocked(l *link, typ uint16) {
	m := &message{Type: typ, Header: c.headerLocked()}
	fresh := len(c.nodes) - 2
	wanted := len(c.nodes) / 10
	if wanted < 3 {
		wanted = 3
	}
	if wanted > fresh {
		wanted = fresh
	}
	seen := map[*Node]bool{}
	if wanted > 0 {
		cands := make([]*Node, 0, len(c.nodes))
		for _, n := range c.nodes {
			cands = append(cands, n)
		}
		rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		for _, n := range cands {
			if len(m.Gossip) >= wanted {
				break
			}
			if n == c.myself || n.Flags&(FlagPFail|FlagHandshake|FlagNoAddr) != 0 ||
				(n.link == nil && n.numSlots == 0) {
				continue
			}
			seen[n] = true
			m.Gossip = append(m.Gossip, gossipOf(n))
		}
	}
	for _, n := range c.nodes {
		if n.Flags&FlagPFail != 0 && !seen[n] && n.Flags&(FlagHandshake|FlagNoAddr) == 0 {
			m.Gossip = append(m.Gossip, gossipOf(n))
		}
	}
	if typ == msgPing && l.node != nil && l.outbound {
		l.node.PingSent = nowMs()
	}
	c.sendLocked(l, m)
}

func gossipOf(n *Node) gossip {
	return gossip{ID: n.ID, PingSent: n.PingSent, PongRecv: n.PongReceived, Flags: n.Flags,
		IP: n.IP, Port: n.Port, CPort: n.CPort}
}

// broadcastLocked sends m to every node with a connected outbound link.
func (c *Cluster) broadcastLocked(m *message) {
	frame := m.encode()
	for _, n := range c.nodes {
		if n == c.myself || n.Flags&FlagHandshake != 0 || n.link == nil || !n.link.connected() {
			continue
		}
		c.statsSent[m.Type]++
		n.link.send(frame)
	}
}

// broadcastPongLocked tells every node about a configuration change now,
// instead of waiting for the next ping.
func (c *Cluster) broadcastPongLocked() {
	for _, n := range c.nodes {
		if n == c.myself || n.Flags&FlagHandshake != 0 || n.link == nil || !n.link.connected() {
			continue
		}
		c.sendPingLocked(n.link, msgPong)
	}
}

// peerIP is the IP a message's sender is reachable at: its announced IP,
// else the address its connection comes from.
func peerIP(h *header, l *link) string {
	if h.IP != "" {
		return h.IP
	}
	if l.conn == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(l.conn.RemoteAddr().String())
	if err != nil {
		return ""
	}
	return host
}

// handle processes one message from l.
func (c *Cluster) handle(l *link, m *message) {
	var deliver *message
	c.mu.Lock()
	select {
	case <-c.closed:
		c.mu.Unlock()
		return
	default:
	}
	deliver = c.processLocked(l, m)
	c.flushDirtyLocked()
	c.mu.Unlock()
	if deliver != nil && c.cfg.Host != nil {
		c.cfg.Host.Deliver(deliver.Channel, deliver.Payload, deliver.Type == msgPublishShard)
	}
}

// processLocked is clusterProcessPacket. It returns a PUBLISH to deliver
// locally once the lock is released.
func (c *Cluster) processLocked(l *link, m *message) *message {
	if int(m.Type) < len(c.statsRecv) {
		c.statsRecv[m.Type]++
	}
	now := nowMs()
	h := &m.Header
	sender := c.nodes[h.Sender]
	if sender != nil && sender.Flags&FlagHandshake != 0 {
		sender = nil
	}
	if sender != nil {
		sender.DataReceived = now
		if !l.outbound && l.node == nil {
			if sender.inboundLink != nil && sender.inboundLink != l {
				c.freeLinkLocked(sender.inboundLink)
			}
			sender.inboundLink = l
			l.node = sender
		}
		if h.CurrentEpoch > c.currentEpoch {
			c.currentEpoch = h.CurrentEpoch
			c.confDirty = true
		}
		if h.ConfigEpoch > sender.ConfigEpoch && h.Master == "" {
			sender.ConfigEpoch = h.ConfigEpoch
			c.confDirty = true
		}
		sender.ReplOffset = h.ReplOffset
		sender.PPort = h.PPort
		c.noteManualFailoverLocked(sender, h)
	}

	switch m.Type {
	case msgPing, msgMeet:
		if (m.Type == msgMeet || c.myself.IP == "") && c.cfg.AnnounceIP == "" && l.conn != nil {
			if host, _, err := net.SplitHostPort(l.conn.LocalAddr().String()); err == nil && host != c.myself.IP {
				c.myself.setAddr(host, c.myself.Port, c.myself.CPort)
				c.log.Info("IP address for this node updated", "ip", host)
				c.confDirty = true
			}
		}
		if sender == nil && m.Type == msgMeet {
			// Unlike Redis (which handshakes back under a random name), the
			// MEET carries the sender's real ID, so it is added directly.
			n := c.newNode(h.Sender, roleFlags(h))
			n.setAddr(peerIP(h, l), h.Port, h.CPort)
			c.addNodeLocked(n)
			n.DataReceived = now
			n.inboundLink = l
			l.node = n
			c.confDirty = true
			sender = n
		}
		c.sendPingLocked(l, msgPong)
	}

	switch m.Type {
	case msgPing, msgPong, msgMeet:
		if l.outbound && l.node != nil {
			ln := l.node
			if ln.Flags&FlagHandshake != 0 {
				if sender != nil {
					// We already know this node under its real ID: drop the
					// handshake node, refresh the known one's address.
					c.updateAddressLocked(sender, l, h)
					c.delNodeLocked(ln)
					return nil
				}
				if c.nodes[h.Sender] != nil {
					c.delNodeLocked(ln)
					return nil
				}
				c.renameNodeLocked(ln, h.Sender)
				ln.Flags &^= FlagHandshake
				ln.Flags |= roleFlags(h)
				c.confDirty = true
				sender = ln
				sender.DataReceived = now
				c.log.Info("handshake completed", "node", ln.ID)
			} else if ln.ID != h.Sender {
				// The node at this address changed identity.
				ln.Flags |= FlagNoAddr
				ln.setAddr("", 0, 0)
				c.freeLinkLocked(l)
				c.confDirty = true
				return nil
			}
		}
		if sender != nil && m.Type == msgPing {
			if c.updateAddressLocked(sender, l, h) {
				c.confDirty = true
			}
		}
		if l.outbound && l.node != nil && m.Type == msgPong {
			n := l.node
			n.PongReceived = now
			n.PingSent = 0
			if n.Flags&FlagPFail != 0 {
				n.Flags &^= FlagPFail
				c.updateStateLocked()
			} else if n.Flags&FlagFail != 0 {
				c.clearFailureIfNeededLocked(n)
			}
		}
		if sender == nil {
			return nil
		}
		c.updateRoleLocked(sender, h)
		if sender.IsMaster() {
			claimed := h.Slots
			if claimed != sender.slotBitmap() {
				c.updateSlotsConfigWithLocked(sender, h.ConfigEpoch, &claimed)
			}
			// The sender claims slots we know to be served with a newer
			// configuration: tell it (UPDATE).
			for j := 0; j < len(c.slotOwner); j++ {
				if claimed[j>>3] == 0 {
					j |= 7 // no claim in this byte: skip its 8 slots
					continue
				}
				if !bitmapHas(&claimed, j) {
					continue
				}
				o := c.slotOwner[j]
				if o == nil || o == sender {
					continue
				}
				if o.ConfigEpoch > h.ConfigEpoch {
					c.sendLocked(l, &message{Type: msgUpdate, Header: c.headerLocked(),
						NodeID: o.ID, UpdateEpoch: o.ConfigEpoch, UpdateSlots: o.slotBitmap()})
					break
				}
			}
			c.handleEpochCollisionLocked(sender)
		}
		c.processGossipLocked(m, sender)
	case msgFail:
		if sender == nil {
			return nil
		}
		if f := c.nodes[m.NodeID]; f != nil && f.Flags&(FlagFail|FlagMyself) == 0 {
			c.log.Info("FAIL message received", "from", sender.ID, "about", f.ID)
			f.Flags |= FlagFail
			f.FailTime = now
			f.Flags &^= FlagPFail
			c.confDirty = true
			c.updateStateLocked()
		}
	case msgPublish, msgPublishShard:
		if sender == nil {
			return nil
		}
		return m
	case msgFailoverAuthRequest, msgFailoverAuthAck, msgMFStart:
		c.processFailoverMsgLocked(m, sender)
	case msgUpdate:
		if sender == nil {
			return nil
		}
		n := c.nodes[m.NodeID]
		if n == nil || n.ConfigEpoch >= m.UpdateEpoch {
			return nil
		}
		if n.IsReplica() {
			c.setNodeAsMasterLocked(n)
		}
		n.ConfigEpoch = m.UpdateEpoch
		c.updateSlotsConfigWithLocked(n, m.UpdateEpoch, &m.UpdateSlots)
		c.confDirty = true
	}
	return nil
}

func roleFlags(h *header) Flags {
	if h.Master != "" {
		return FlagSlave
	}
	return FlagMaster
}

// updateAddressLocked refreshes n's address from a message it sent; the
// outbound link is dropped so it reconnects to the new address.
func (c *Cluster) updateAddressLocked(n *Node, l *link, h *header) bool {
	if n == c.myself {
		return false
	}
	ip := peerIP(h, l)
	if ip == "" || (ip == n.IP && h.Port == n.Port && h.CPort == n.CPort) {
		return false
	}
	n.setAddr(ip, h.Port, h.CPort)
	n.Flags &^= FlagNoAddr
	if n.link != nil {
		c.freeLinkLocked(n.link)
	}
	return true
}

// updateRoleLocked applies the role the sender announces.
func (c *Cluster) updateRoleLocked(sender *Node, h *header) {
	if h.Master == "" {
		c.setNodeAsMasterLocked(sender)
		return
	}
	if sender.IsMaster() {
		c.delNodeSlotsLocked(sender)
		sender.Flags &^= FlagMaster | FlagMigrateTo
		sender.Flags |= FlagSlave
		c.confDirty = true
	}
	m := c.nodes[h.Master]
	if m != nil && sender.Master != m {
		if sender.Master != nil {
			sender.Master.removeReplica(sender)
		}
		m.addReplica(sender)
		sender.Master = m
		c.confDirty = true
	}
}

// updateSlotsConfigWithLocked rebinds the slots sender claims with a
// configEpoch newer than the current owner's (clusterUpdateSlotsConfigWith).
func (c *Cluster) updateSlotsConfigWithLocked(sender *Node, epoch uint64, claimed *[slotBytes]byte) {
	if sender == c.myself {
		return
	}
	cur := c.myself
	if cur.IsReplica() && cur.Master != nil {
		cur = cur.Master
	}
	var newMaster *Node
	for j := 0; j < len(c.slotOwner); j++ {
		if claimed[j>>3] == 0 {
			j |= 7 // no claim in this byte: skip its 8 slots
			continue
		}
		if !bitmapHas(claimed, j) {
			continue
		}
		o := c.slotOwner[j]
		if o == sender || c.importing[j] != nil {
			continue
		}
		if o == nil || o.ConfigEpoch < epoch {
			if o == cur {
				newMaster = sender
			}
			c.delSlotLocked(j)
			c.addSlotLocked(sender, j)
			c.confDirty = true
		}
	}
	if newMaster != nil && cur.numSlots == 0 {
		c.log.Info("configuration change detected: reconfiguring myself as a replica", "master", sender.ID)
		c.setMasterLocked(sender)
	}
	c.updateStateLocked()
}

// handleEpochCollisionLocked: two masters with the same configEpoch; the
// one with the smaller ID takes a new epoch.
func (c *Cluster) handleEpochCollisionLocked(sender *Node) {
	me := c.myself
	if sender.ConfigEpoch != me.ConfigEpoch || !sender.IsMaster() || !me.IsMaster() {
		return
	}
	if sender.ID <= me.ID {
		return
	}
	c.currentEpoch++
	me.ConfigEpoch = c.currentEpoch
	c.confDirty = true
	c.log.Info("configEpoch collision resolved", "with", sender.ID, "epoch", me.ConfigEpoch)
}

func (c *Cluster) processGossipLocked(m *message, sender *Node) {
	now := nowMs()
	for i := range m.Gossip {
		g := &m.Gossip[i]
		n := c.nodes[g.ID]
		if n == nil {
			if g.Flags&FlagNoAddr == 0 && ValidID(g.ID) && !c.blacklistedLocked(g.ID) && g.IP != "" {
				c.startHandshakeLocked(g.IP, g.Port, g.CPort)
			}
			continue
		}
		if sender.IsMaster() && n != c.myself {
			if g.Flags&(FlagFail|FlagPFail) != 0 {
				c.addFailureReportLocked(n, sender)
				c.markFailingIfNeededLocked(n)
			} else {
				c.delFailureReportLocked(n, sender)
			}
		}
		if g.Flags&(FlagFail|FlagPFail) == 0 && n.PingSent == 0 && len(n.failReports) == 0 {
			if g.PongRecv <= now+500 && g.PongRecv > n.PongReceived {
				n.PongReceived = g.PongRecv
			}
		}
		if n.Flags&(FlagFail|FlagPFail) != 0 && (n.link == nil || !n.link.connected()) &&
			g.Flags&(FlagNoAddr|FlagFail|FlagPFail) == 0 && g.IP != "" &&
			(n.IP != g.IP || n.Port != g.Port || n.CPort != g.CPort) {
			if n.link != nil {
				c.freeLinkLocked(n.link)
			}
			n.setAddr(g.IP, g.Port, g.CPort)
			n.Flags &^= FlagNoAddr
			c.confDirty = true
		}
	}
}

func (c *Cluster) failReportValidity() int64 {
	return c.settings.NodeTimeout.Milliseconds() * 2
}

func (c *Cluster) addFailureReportLocked(n, reporter *Node) {
	if n.failReports == nil {
		n.failReports = map[*Node]int64{}
	}
	n.failReports[reporter] = nowMs()
}

func (c *Cluster) delFailureReportLocked(n, reporter *Node) {
	delete(n.failReports, reporter)
}

func (c *Cluster) countFailureReportsLocked(n *Node) int {
	limit := nowMs() - c.failReportValidity()
	for r, t := range n.failReports {
		if t < limit {
			delete(n.failReports, r)
		}
	}
	return len(n.failReports)
}

// markFailingIfNeededLocked turns PFAIL into FAIL once a majority of the
// masters serving slots agree, and tells everybody.
func (c *Cluster) markFailingIfNeededLocked(n *Node) {
	needed := c.size/2 + 1
	if n.Flags&FlagPFail == 0 || n.Flags&FlagFail != 0 {
		return
	}
	failures := c.countFailureReportsLocked(n)
	if c.myself.IsMaster() {
		failures++
	}
	if failures < needed {
		return
	}
	c.log.Info("marking node as failing (quorum reached)", "node", n.ID)
	n.Flags &^= FlagPFail
	n.Flags |= FlagFail
	n.FailTime = nowMs()
	c.broadcastLocked(&message{Type: msgFail, Header: c.headerLocked(), NodeID: n.ID})
	c.confDirty = true
	c.updateStateLocked()
}

// clearFailureIfNeededLocked clears FAIL for a node reachable again:
// replicas and slot-less masters at once, masters with slots after twice
// the node timeout without a failover.
func (c *Cluster) clearFailureIfNeededLocked(n *Node) {
	now := nowMs()
	if n.Flags&FlagFail == 0 {
		return
	}
	if n.IsReplica() || n.numSlots == 0 ||
		now-n.FailTime > c.settings.NodeTimeout.Milliseconds()*2 {
		c.log.Info("clear FAIL state: node is reachable again", "node", n.ID)
		n.Flags &^= FlagFail
		c.confDirty = true
		c.updateStateLocked()
	}
}

// startHandshakeLocked adds a node in handshake for ip:port; the handshake
// completes when it answers our MEET with its real ID.
func (c *Cluster) startHandshakeLocked(ip string, port, cport int) error {
	parsed := net.ParseIP(ip)
	if parsed == nil || port <= 0 || port > 65535 || cport <= 0 || cport > 65535 {
		return ErrInvalidAddr
	}
	norm := parsed.String()
	for _, n := range c.nodes {
		if n.Flags&FlagHandshake != 0 && n.IP == norm && n.Port == port && n.CPort == cport {
			return nil
		}
	}
	n := c.newNode("", FlagHandshake|FlagMeet)
	n.setAddr(norm, port, cport)
	c.addNodeLocked(n)
	return nil
}

func (c *Cluster) blacklistedLocked(id string) bool {
	exp, ok := c.blacklist[id]
	if !ok {
		return false
	}
	if exp < nowMs() {
		delete(c.blacklist, id)
		return false
	}
	return true
}

// cron is clusterCron, ten times a second: reconnect links, ping, detect
// failures, update the state, save the configuration.
func (c *Cluster) cron() {
	defer c.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	iter := 0
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
		}
		var s Settings
		if c.cfg.Host != nil {
			s = c.cfg.Host.Settings()
		}
		rh := c.replHost()
		var st ReplStatus
		if rh != nil {
			st = rh.ReplStatus()
		}
		c.mu.Lock()
		if c.cfg.Host != nil {
			c.settings = s
		}
		var act replActions
		if rh != nil {
			c.fo.status = st
			c.myself.ReplOffset = st.Offset
		}
		c.resumeIfStalledLocked()
		c.cronLocked(iter)
		c.lastCron = nowMs()
		if rh != nil {
			c.failoverCronLocked()
			act = c.replActionsLocked()
		}
		c.flushDirtyLocked()
		c.retrySaveLocked()
		c.mu.Unlock()
		if rh != nil {
			c.runReplActions(rh, act)
		}
		iter++
	}
}

func (c *Cluster) cronLocked(iter int) {
	now := nowMs()
	timeout := c.settings.NodeTimeout.Milliseconds()
	if timeout <= 0 {
		timeout = 15000
	}
	hsTimeout := timeout
	if hsTimeout < 1000 {
		hsTimeout = 1000
	}
	for _, n := range c.nodes {
		if n == c.myself || n.Flags&FlagNoAddr != 0 {
			continue
		}
		if n.Flags&FlagHandshake != 0 && now-n.Ctime > hsTimeout {
			c.delNodeLocked(n)
			continue
		}
		if n.link == nil && n.IP != "" {
			c.connectLocked(n)
		}
	}
	// Once a second, ping the node with the oldest pong among five random
	// ones.
	if iter%10 == 0 {
		var best *Node
		i := 0
		for _, n := range c.nodes {
			if i >= 5 {
				break
			}
			if n == c.myself || n.link == nil || !n.link.connected() || n.PingSent != 0 ||
				n.Flags&(FlagHandshake|FlagNoAddr) != 0 {
				continue
			}
			i++
			if best == nil || n.PongReceived < best.PongReceived {
				best = n
			}
		}
		if best != nil {
			c.sendPingLocked(best.link, msgPing)
		}
	}
	update := false
	for _, n := range c.nodes {
		if n == c.myself || n.Flags&(FlagNoAddr|FlagHandshake) != 0 {
			continue
		}
		l := n.link
		if l != nil && l.connected() && now-l.ctime > timeout && n.PingSent != 0 &&
			now-n.PingSent > timeout/2 && now-n.DataReceived > timeout/2 {
			// Connected but silent: reconnect.
			c.freeLinkLocked(l)
			l = nil
		}
		if l != nil && l.connected() && n.PingSent == 0 && now-n.PongReceived > timeout/2 {
			c.sendPingLocked(l, msgPing)
			continue
		}
		if n.PingSent == 0 {
			continue
		}
		if now-n.PingSent > timeout && now-n.DataReceived > timeout && n.Flags&(FlagPFail|FlagFail) == 0 {
			c.log.Info("node is not reachable: marking PFAIL", "node", n.ID)
			n.Flags |= FlagPFail
			update = true
		}
	}
	for _, n := range c.nodes {
		if n.Flags&FlagPFail != 0 {
			c.markFailingIfNeededLocked(n)
		}
	}
	_ = update
	c.updateStateLocked()
	c.flushDirtyLocked()
}
