package node

import (
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// compatVersion is the Redis version slotvault reports to clients (HELLO's
// "version"). slotvault implements Redis 7.0 semantics, and client
// libraries pick features by this number, so it names the Redis release
// whose behaviour is reproduced rather than slotvault's own version.
const compatVersion = "7.0.15"

// connectionCommands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET, CLIENT.
func connectionCommands() []*Command {
	conn := []string{"fast", "connection"}
	return []*Command{
		{Name: "ping", Arity: -1, Flags: FlagFast, Categories: conn,
			Summary: "Ping the server", Since: "1.0.0", Group: "connection", Handler: cmdPing},
		{Name: "echo", Arity: 2, Flags: FlagFast | FlagStale | FlagLoading, Categories: conn,
			Summary: "Echo the given string", Since: "1.0.0", Group: "connection", Handler: func(c *Ctx) { c.R.Bulk(c.Args[1]) }},
		{Name: "hello", Arity: -1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy, Categories: conn,
			Summary: "Handshake with Redis", Since: "6.0.0", Group: "connection", Handler: cmdHello},
		{Name: "auth", Arity: -2, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy, Categories: conn,
			Summary: "Authenticate to the server", Since: "1.0.0", Group: "connection", Handler: cmdAuth},
		{Name: "select", Arity: 2, Flags: FlagLoading | FlagStale | FlagFast, Categories: conn,
			Summary: "Change the selected database for the current connection", Since: "1.0.0", Group: "connection", Handler: cmdSelect},
		{Name: "quit", Arity: -1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy, Categories: conn,
			Summary: "Close the connection", Since: "1.0.0", Group: "connection", Handler: cmdQuit},
		{Name: "reset", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy, Categories: conn,
			Summary: "Reset the connection", Since: "6.2.0", Group: "connection", Handler: cmdReset},
		clientCommand(),
	}
}

func cmdPing(c *Ctx) {
	if len(c.Args) > 2 {
		c.ErrArity()
		return
	}
	if c.Cl.inPubSub() {
		c.R.Array(2)
		c.R.BulkString("pong")
		if len(c.Args) == 2 {
			c.R.Bulk(c.Args[1])
		} else {
			c.R.BulkString("")
		}
		return
	}
	if len(c.Args) == 2 {
		c.R.Bulk(c.Args[1])
		return
	}
	c.R.Simple("PONG")
}

// setRESP switches the client's protocol; the client's reply writer
// follows it (the reply to HELLO itself is already in the new protocol).
func (cl *Client) setRESP(v int) {
	cl.RESP = v
	cl.reply.resp3 = v == 3
}

func cmdAuth(c *Ctx) {
	if len(c.Args) > 3 {
		c.ErrSyntax()
		return
	}
	user, pass := []byte("default"), c.Args[1]
	if len(c.Args) == 2 {
		if c.n.defaultUserLocked().NoPass {
			c.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
			return
		}
	} else {
		user, pass = c.Args[1], c.Args[2]
	}
	if !c.n.authenticateLocked(c.Cl, string(c.Args[0]), user, pass) {
		c.Error(ErrInvalidPass)
		return
	}
	c.R.OK()
}

func cmdHello(c *Ctx) {
	ver := int64(0)
	next := 1
	if len(c.Args) >= 2 {
		v, ok := ParseInt(c.Args[1])
		if !ok {
			c.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.Error("NOPROTO unsupported protocol version")
			return
		}
		ver = v
		next = 2
	}
	var user, pass, name []byte
	hasAuth, hasName := false, false
	for j := next; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		opt := c.Args[j]
		switch {
		case strings.EqualFold(string(opt), "auth") && more >= 2:
			user, pass, hasAuth = c.Args[j+1], c.Args[j+2], true
			j += 2
		case strings.EqualFold(string(opt), "setname") && more >= 1:
			name, hasName = c.Args[j+1], true
			j++
		default:
			c.Error("ERR Syntax error in HELLO option '" + string(opt) + "'")
			return
		}
	}
	if hasAuth {
		if !c.n.authenticateLocked(c.Cl, string(c.Args[0]), user, pass) {
			c.Error(ErrInvalidPass)
			return
		}
	}
	if !c.Cl.Authenticated && !c.n.acl.defaultOpen {
		c.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if hasName {
		if !validClientName(name) {
			c.Error(errClientName)
			return
		}
		c.Cl.Name = string(name)
	}
	if ver != 0 {
		c.Cl.setRESP(int(ver))
	}
	mode := "standalone"
	if c.n.cfg.ClusterEnabled {
		mode = "cluster"
	}
	r := c.R
	r.Map(7)
	r.BulkString("server")
	r.BulkString("redis")
	r.BulkString("version")
	r.BulkString(compatVersion)
	r.BulkString("proto")
	r.Int(int64(c.Cl.RESP))
	r.BulkString("id")
	r.Int(c.Cl.ID)
	r.BulkString("mode")
	r.BulkString(mode)
	r.BulkString("role")
	r.BulkString("master")
	r.BulkString("modules")
	r.Array(0)
}

func cmdSelect(c *Ctx) {
	id, ok := parseIntRange(c, c.Args[1], -1<<31, 1<<31-1)
	if !ok {
		return
	}
	if c.n.cfg.ClusterEnabled && id != 0 {
		c.Error("ERR SELECT is not allowed in cluster mode")
		return
	}
	if id < 0 || id >= int64(len(c.n.dbs)) {
		c.Error(ErrDBIndex)
		return
	}
	c.Cl.DB = int(id)
	c.DB = c.n.dbs[id]
	c.R.OK()
}

// parseIntRange is Redis's getRangeLongFromObjectOrReply with no custom
// message (as getIntFromObjectOrReply uses it).
func parseIntRange(c *Ctx, b []byte, lo, hi int64) (int64, bool) {
	v, ok := ParseInt(b)
	if !ok {
		c.Error(ErrNotInt)
		return 0, false
	}
	if v < lo || v > hi {
		c.Error("ERR value is out of range, value must between " + strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10))
		return 0, false
	}
	return v, true
}

func cmdQuit(c *Ctx) {
	c.R.OK()
	c.Cl.closeAfterReply()
}

// closeAfterReply closes the connection once the current reply is sent. A
// client whose replies are off gets no reply, so, as in Redis, it is not
// closed but ignored from now on.
func (cl *Client) closeAfterReply() {
	if cl.replyOff || cl.replySkip {
		cl.deaf = true
		return
	}
	cl.closing = true
}

func cmdReset(c *Ctx) {
	c.n.resetClientLocked(c.Cl)
	c.DB = c.n.dbs[0]
	c.R.Simple("RESET")
}

// resetClientLocked returns a connection to its initial state, as RESET
// (clearClientConnectionState) does: DB 0, RESP2, default user and
// authentication, no transaction or WATCH, no subscriptions, no name, replies
// on. CLIENT NO-EVICT survives, as in Redis 7.0.
func (n *Node) resetClientLocked(cl *Client) {
	cl.DB = 0
	cl.setRESP(2)
	cl.User = "default"
	cl.Authenticated = n.acl.defaultOpen
	cl.aclUser = n.defaultUserLocked()
	cl.inMulti = false
	cl.multiDirty = false
	cl.queued = nil
	n.unwatchAllLocked(cl)
	n.pubsub.removeClientLocked(cl)
	for k := range cl.channels {
		delete(cl.channels, k)
	}
	for k := range cl.patterns {
		delete(cl.patterns, k)
	}
	for k := range cl.schannels {
		delete(cl.schannels, k)
	}
	cl.Name = ""
	cl.replyOff = false
	cl.replySkipNext = false
	n.removeMonitorLocked(cl)
}

// applyReplyMode drops the reply of the command just executed when CLIENT
// REPLY OFF or SKIP asks for it, and arms SKIP for the next command, as
// Redis's resetClient does. Called by the connection goroutine after each
// command.
func (cl *Client) applyReplyMode() {
	if cl.replyOff || cl.replySkip {
		cl.reply.Reset()
	}
	cl.replySkip = false
	if cl.replySkipNext {
		cl.replySkip, cl.replySkipNext = true, false
	}
}

// ---- CLIENT ----

const errClientName = "ERR Client names cannot contain spaces, newlines or special characters."

// validClientName: names are printable ASCII without spaces.
func validClientName(b []byte) bool {
	for _, c := range b {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

func clientCommand() *Command {
	admin := []string{"admin", "slow", "dangerous", "connection"}
	slow := []string{"slow", "connection"}
	base := FlagNoScript | FlagLoading | FlagStale
	sub := func(name string, arity int, flags CmdFlag, cats []string, since, summary string, h func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Categories: cats, Since: since, Summary: summary, Group: "connection", Handler: h}
	}
	return &Command{
		Name: "client", Arity: -2, Categories: []string{"slow"},
		Summary: "A container for client connection commands", Since: "2.4.0", Group: "connection",
		Handler: func(c *Ctx) {
			c.Error("ERR unknown subcommand '" + truncArg(c.Args[1], 128) + "'. Try CLIENT HELP.")
		},
		Subcommands: map[string]*Command{
			"help":         sub("help", 2, FlagLoading|FlagStale, slow, "5.0.0", "Show helpful text about the different subcommands", clientHelp),
			"id":           sub("id", 2, base, slow, "5.0.0", "Returns the client ID for the current connection", func(c *Ctx) { c.R.Int(c.Cl.ID) }),
			"info":         sub("info", 2, base, slow, "6.2.0", "Returns information about the current client connection.", clientInfo),
			"list":         sub("list", -2, base|FlagAdmin, admin, "2.4.0", "Get the list of client connections", clientList),
			"kill":         sub("kill", -3, base|FlagAdmin, admin, "2.4.0", "Kill the connection of a client", clientKill),
			"setname":      sub("setname", 3, base, slow, "2.6.9", "Set the current connection name", clientSetName),
			"getname":      sub("getname", 2, base, slow, "2.6.9", "Get the current connection name", clientGetName),
			"no-evict":     sub("no-evict", 3, base|FlagAdmin, admin, "7.0.0", "Set client eviction mode for the current connection", clientNoEvict),
			"unblock":      sub("unblock", -3, base|FlagAdmin, admin, "5.0.0", "Unblock a client blocked in a blocking command from a different connection", clientUnblock),
			"pause":        sub("pause", -3, base|FlagAdmin, admin, "2.9.50", "Stop processing commands from clients for some time", clientPause),
			"unpause":      sub("unpause", 2, base|FlagAdmin, admin, "6.2.0", "Resume processing of clients that were paused", clientUnpause),
			"reply":        sub("reply", 3, base, slow, "3.2.0", "Instruct the server whether to reply to commands", clientReply),
			"tracking":     sub("tracking", -3, base, slow, "6.0.0", "Enable or disable server assisted client side caching support", clientTracking),
			"caching":      sub("caching", 3, base, slow, "6.0.0", "Instruct the server about tracking or not keys in the next request", clientCaching),
			"getredir":     sub("getredir", 2, base, slow, "6.0.0", "Get tracking notifications redirection client ID if any", func(c *Ctx) { c.R.Int(-1) }),
			"trackinginfo": sub("trackinginfo", 2, base, slow, "6.2.0", "Return information about server assisted client side caching for the current connection", clientTrackingInfo),
		},
	}
}

// subcommandSyntaxError is Redis's addReplySubcommandSyntaxError, for a
// known subcommand called with an argument count it does not accept.
func subcommandSyntaxError(c *Ctx) {
	c.Error("ERR unknown subcommand or wrong number of arguments for '" + truncArg(c.Args[1], 128) + "'. Try " + strings.ToUpper(string(c.Args[0])) + " HELP.")
}

var clientHelpLines = []string{
	"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CACHING (YES|NO)",
	"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
	"GETREDIR",
	"    Return the client ID we are redirecting to when tracking is enabled.",
	"GETNAME",
	"    Return the name of the current connection.",
	"ID",
	"    Return the ID of the current connection.",
	"INFO",
	"    Return information about the current client connection.",
	"KILL <ip:port>",
	"    Kill connection made from <ip:port>.",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Kill connections. Options are:",
	"    * ADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made from the specified address",
	"    * LADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made to specified local address",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Kill connections by type.",
	"    * USER <username>",
	"      Kill connections authenticated by <username>.",
	"    * SKIPME (YES|NO)",
	"      Skip killing current connection (default: yes).",
	"LIST [options ...]",
	"    Return information about client connections. Options:",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Return clients of specified type.",
	"UNPAUSE",
	"    Stop the current client pause, resuming traffic.",
	"PAUSE <timeout> [WRITE|ALL]",
	"    Suspend all, or just write, clients for <timeout> milliseconds.",
	"REPLY (ON|OFF|SKIP)",
	"    Control the replies sent to the current connection.",
	"SETNAME <name>",
	"    Assign the name <name> to the current connection.",
	"UNBLOCK <clientid> [TIMEOUT|ERROR]",
	"    Unblock the specified blocked client.",
	"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
	"         [OPTIN] [OPTOUT] [NOLOOP]",
	"    Control server assisted client side caching.",
	"TRACKINGINFO",
	"    Report tracking status for the current connection.",
	"NO-EVICT (ON|OFF)",
	"    Protect current client connection from eviction.",
	"HELP",
	"    Prints this help.",
}

func clientHelp(c *Ctx) {
	c.R.Array(len(clientHelpLines))
	for _, l := range clientHelpLines {
		c.R.Simple(l)
	}
}

func clientSetName(c *Ctx) {
	name := c.Args[2]
	if !validClientName(name) {
		c.Error(errClientName)
		return
	}
	c.Cl.Name = string(name)
	c.R.OK()
}

func clientGetName(c *Ctx) {
	if c.Cl.Name == "" {
		c.R.Null()
		return
	}
	c.R.BulkString(c.Cl.Name)
}

func clientNoEvict(c *Ctx) {
	switch {
	case c.ArgIs(2, "on"):
		c.Cl.NoEvict = true
	case c.ArgIs(2, "off"):
		c.Cl.NoEvict = false
	default:
		c.ErrSyntax()
		return
	}
	c.R.OK()
}

func clientReply(c *Ctx) {
	switch {
	case c.ArgIs(2, "on"):
		c.Cl.replyOff, c.Cl.replySkip, c.Cl.replySkipNext = false, false, false
		c.R.OK()
	case c.ArgIs(2, "off"):
		c.Cl.replyOff = true
	case c.ArgIs(2, "skip"):
		if !c.Cl.replyOff {
			c.Cl.replySkipNext = true
		}
	default:
		c.ErrSyntax()
	}
}

func clientUnblock(c *Ctx) {
	if len(c.Args) > 4 {
		subcommandSyntaxError(c)
		return
	}
	withError := false
	if len(c.Args) == 4 {
		switch {
		case c.ArgIs(3, "timeout"):
		case c.ArgIs(3, "error"):
			withError = true
		default:
			c.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	id, ok := c.ParseInt(2)
	if !ok {
		return
	}
	target := c.n.clients[id]
	if target != nil && c.n.unblockClientLocked(target, withError) {
		c.R.Int(1)
		return
	}
	c.R.Int(0)
}

// Client types as CLIENT LIST TYPE and CLIENT KILL TYPE name them.
const (
	clientTypeNormal = iota
	clientTypeReplica
	clientTypePubSub
	clientTypeMaster
)

func clientTypeByName(name []byte) int {
	switch strings.ToLower(string(name)) {
	case "normal":
		return clientTypeNormal
	case "slave", "replica":
		return clientTypeReplica
	case "pubsub":
		return clientTypePubSub
	case "master":
		return clientTypeMaster
	}
	return -1
}

// clientType classifies a connection. slotvault's connections are normal
// clients, or pub/sub clients while subscribed.
func (cl *Client) clientType() int {
	if cl.SubscriptionCount() > 0 {
		return clientTypePubSub
	}
	return clientTypeNormal
}

func clientKill(c *Ctx) {
	n := c.n
	var addr, laddr, user []byte
	typ := -1
	var id int64
	skipme := true
	oldForm := len(c.Args) == 3
	if oldForm {
		addr = c.Args[2]
		skipme = false // the old form may kill the caller
	} else {
		for i := 2; i < len(c.Args); i += 2 {
			more := i+1 < len(c.Args)
			opt := strings.ToLower(string(c.Args[i]))
			if !more {
				c.ErrSyntax()
				return
			}
			val := c.Args[i+1]
			switch opt {
			case "id":
				v, ok := ParseInt(val)
				if !ok || v < 1 {
					c.Error("ERR client-id should be greater than 0")
					return
				}
				id = v
			case "type":
				typ = clientTypeByName(val)
				if typ == -1 {
					c.Error("ERR Unknown client type '" + string(val) + "'")
					return
				}
			case "addr":
				addr = val
			case "laddr":
				laddr = val
			case "user":
				if n.acl.reg.Get(string(val)) == nil {
					c.Error("ERR No such user '" + string(val) + "'")
					return
				}
				user = val
			case "skipme":
				switch {
				case strings.EqualFold(string(val), "yes"):
					skipme = true
				case strings.EqualFold(string(val), "no"):
					skipme = false
				default:
					c.ErrSyntax()
					return
				}
			default:
				c.ErrSyntax()
				return
			}
		}
	}
	killed := 0
	for _, cl := range n.sortedClientsLocked() {
		if addr != nil && cl.Addr != string(addr) {
			continue
		}
		if laddr != nil && cl.LAddr != string(laddr) {
			continue
		}
		if typ != -1 && cl.clientType() != typ {
			continue
		}
		if id != 0 && cl.ID != id {
			continue
		}
		if user != nil && cl.User != string(user) {
			continue
		}
		if cl == c.Cl && skipme {
			continue
		}
		if cl == c.Cl {
			cl.closeAfterReply()
		} else {
			n.killClientLocked(cl)
		}
		killed++
	}
	if oldForm {
		if killed == 0 {
			c.Error("ERR No such client")
		} else {
			c.R.OK()
		}
		return
	}
	c.R.Int(int64(killed))
}

// killClientLocked disconnects another client now: it leaves the client
// list at once (as Redis's freeClient), a blocked command of it is ended,
// and its socket is closed so its goroutine exits.
func (n *Node) killClientLocked(cl *Client) {
	cl.killed.Store(true)
	if p := &n.pause; p.wake != nil {
		// Wake paused connections so a killed one stops waiting.
		close(p.wake)
		p.wake = make(chan struct{})
	}
	if bs := cl.blocked; bs != nil && !bs.finished {
		n.unregisterBlockedLocked(bs)
		bs.unblock(unblockShutdown)
	}
	n.freeClientLocked(cl)
	if cl.netConn != nil {
		cl.netConn.Close()
	}
}

// sortedClientsLocked returns the connected clients in connection order.
func (n *Node) sortedClientsLocked() []*Client {
	out := make([]*Client, 0, len(n.clients))
	for _, cl := range n.clients {
		out = append(out, cl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func clientList(c *Ctx) {
	n := c.n
	var b strings.Builder
	switch {
	case len(c.Args) == 4 && c.ArgIs(2, "type"):
		typ := clientTypeByName(c.Args[3])
		if typ == -1 {
			c.Error("ERR Unknown client type '" + string(c.Args[3]) + "'")
			return
		}
		for _, cl := range n.sortedClientsLocked() {
			if cl.clientType() == typ {
				n.writeClientInfoLocked(&b, cl, c)
				b.WriteByte('\n')
			}
		}
	case len(c.Args) > 3 && c.ArgIs(2, "id"):
		var ids []int64
		for _, a := range c.Args[3:] {
			id, ok := ParseInt(a)
			if !ok {
				c.Error("ERR Invalid client ID")
				return
			}
			ids = append(ids, id)
		}
		for _, id := range ids {
			if cl := n.clients[id]; cl != nil {
				n.writeClientInfoLocked(&b, cl, c)
				b.WriteByte('\n')
			}
		}
	case len(c.Args) != 2:
		c.ErrSyntax()
		return
	default:
		for _, cl := range n.sortedClientsLocked() {
			n.writeClientInfoLocked(&b, cl, c)
			b.WriteByte('\n')
		}
	}
	c.R.Verbatim(b.String())
}

func clientInfo(c *Ctx) {
	var b strings.Builder
	c.n.writeClientInfoLocked(&b, c.Cl, c)
	b.WriteByte('\n')
	c.R.Verbatim(b.String())
}

// Memory figures CLIENT LIST reports. slotvault's buffers are not Redis's
// (redcon owns the read and write buffers), so these are the values a Redis
// 7.0 client shows in the same state: a 16 KB reply buffer, a query
// buffer sized for one read, and the argument bytes of the current and
// queued commands.
const (
	clientStructMem = 776       // client struct and bookkeeping
	replyBufSize    = 16 * 1024 // rbs: PROTO_REPLY_CHUNK_BYTES
	queryBufAlloc   = 20474     // qbuf + qbuf-free once the query buffer is in use
)

// writeClientInfoLocked renders one client as CLIENT LIST does in Redis 7.0.
// cur is the command being executed (its client shows the request in its
// query buffer and arguments).
func (n *Node) writeClientInfoLocked(b *strings.Builder, cl *Client, cur *Ctx) {
	now := time.Now()
	flags := ""
	if n.isMonitorLocked(cl) {
		flags += "O"
	}
	if cl.SubscriptionCount() > 0 {
		flags += "P"
	}
	if cl.inMulti {
		flags += "x"
	}
	if cl.blocked != nil {
		flags += "b"
	}
	if cl.watchDirty {
		flags += "d"
	}
	if cl.closing {
		flags += "c"
	}
	if cl.NoEvict {
		flags += "e"
	}
	if flags == "" {
		flags = "N"
	}
	multi := -1
	multiMem := 0
	if cl.inMulti {
		multi = len(cl.queued)
		for _, q := range cl.queued {
			multiMem += 8 * len(q.args)
			for _, a := range q.args {
				multiMem += len(a)
			}
		}
	}
	multiMem += 56 * len(cl.watched)
	qbuf, qbufFree, argvMem := 0, 0, 0
	cmd := cl.LastCmd
	if cur != nil && cur.Cl == cl {
		qbuf = requestLen(cur.Args)
		qbufFree = queryBufAlloc - qbuf
		if qbufFree < 0 {
			qbufFree = 0
		}
		for _, a := range cur.Args {
			argvMem += len(a)
		}
		cmd = cur.Cmd.Name
	} else if cl.netConn != nil && cl.netConn.guard != nil && cl.netConn.guard.qbufUsed.Load() {
		qbufFree = queryBufAlloc
	}
	if cmd == "" {
		cmd = "NULL"
	}
	omem := 0
	if cc := cl.netConn; cc != nil {
		cc.mu.Lock()
		omem = len(cc.pending)
		cc.mu.Unlock()
	}
	totMem := clientStructMem + replyBufSize + qbuf + qbufFree + argvMem + multiMem + omem
	w := func(k, v string) {
		if b.Len() > 0 && b.String()[b.Len()-1] != '\n' {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
	w("id", itoa(cl.ID))
	w("addr", cl.Addr)
	w("laddr", cl.LAddr)
	w("fd", itoa(int64(cl.fd())))
	w("name", cl.Name)
	w("age", itoa(int64(now.Sub(cl.Created)/time.Second)))
	w("idle", itoa(int64(now.Sub(cl.LastActive)/time.Second)))
	w("flags", flags)
	w("db", itoa(int64(cl.DB)))
	w("sub", itoa(int64(len(cl.channels))))
	w("psub", itoa(int64(len(cl.patterns))))
	w("ssub", itoa(int64(len(cl.schannels))))
	w("multi", itoa(int64(multi)))
	w("qbuf", itoa(int64(qbuf)))
	w("qbuf-free", itoa(int64(qbufFree)))
	w("argv-mem", itoa(int64(argvMem)))
	w("multi-mem", itoa(int64(multiMem)))
	w("rbs", itoa(replyBufSize))
	w("rbp", itoa(replyBufSize))
	w("obl", "0")
	w("oll", "0")
	w("omem", itoa(int64(omem)))
	w("tot-mem", itoa(int64(totMem)))
	w("events", "r")
	w("cmd", cmd)
	w("user", cl.User)
	w("redir", "-1")
	w("resp", itoa(int64(cl.RESP)))
}

// requestLen is the size of args encoded as a RESP multibulk request.
func requestLen(args [][]byte) int {
	n := 3 + len(strconv.Itoa(len(args)))
	for _, a := range args {
		n += 5 + len(strconv.Itoa(len(a))) + len(a)
	}
	return n
}

// fd returns the socket's file descriptor number (-1 if unknown).
func (cl *Client) fd() int {
	if cl.netConn == nil {
		return -1
	}
	sc, ok := rawConn(cl.netConn.Conn).(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// CLIENT TRACKING is not implemented: slotvault has no client-side caching
// invalidation. OFF (the default state) is accepted; ON is refused.
func clientTracking(c *Ctx) {
	switch {
	case c.ArgIs(2, "off") && len(c.Args) == 3:
		c.R.OK()
	case c.ArgIs(2, "on") || c.ArgIs(2, "off"):
		if c.ArgIs(2, "off") {
			// Options after OFF are parsed and ignored by Redis only when
			// valid; keep it simple and refuse them.
			c.ErrSyntax()
			return
		}
		c.Error("ERR CLIENT TRACKING is not supported by slotvault")
	default:
		c.ErrSyntax()
	}
}

func clientCaching(c *Ctx) {
	c.Error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
}

func clientTrackingInfo(c *Ctx) {
	c.R.Map(3)
	c.R.BulkString("flags")
	c.R.Set(1)
	c.R.BulkString("off")
	c.R.BulkString("redirect")
	c.R.Int(-1)
	c.R.BulkString("prefixes")
	c.R.Array(0)
}

// ---- CLIENT PAUSE ----

// pauseState is the CLIENT PAUSE in force. Paused requests are held by the
// connection's protocol guard before redcon sees them, so a paused client
// simply waits, as Redis postpones it; its later pipelined requests wait
// behind it.
type pauseState struct {
	end  time.Time
	all  bool          // ALL (every command) rather than WRITE
	wake chan struct{} // closed when the pause is lifted early
}

func (p *pauseState) activeLocked(now time.Time) bool {
	return !p.end.IsZero() && now.Before(p.end)
}

func clientPause(c *Ctx) {
	if len(c.Args) > 4 {
		subcommandSyntaxError(c)
		return
	}
	all := true
	if len(c.Args) == 4 {
		switch {
		case c.ArgIs(3, "write"):
			all = false
		case c.ArgIs(3, "all"):
		default:
			c.Error("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	ms, ok := ParseInt(c.Args[2])
	if !ok {
		c.Error("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.Error(ErrTimeoutNeg)
		return
	}
	now := time.Now()
	end := now.Add(time.Duration(min64(ms, int64(100*365*24*time.Hour/time.Millisecond))) * time.Millisecond)
	p := &c.n.pause
	if p.activeLocked(now) {
		// Redis keeps the stronger type and the later end.
		all = all || p.all
		if p.end.After(end) {
			end = p.end
		}
	} else if p.wake == nil {
		p.wake = make(chan struct{})
	}
	p.end, p.all = end, all
	c.R.OK()
}

func clientUnpause(c *Ctx) {
	c.n.unpauseLocked()
	c.R.OK()
}

func (n *Node) unpauseLocked() {
	p := &n.pause
	p.end = time.Time{}
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

// pausedForLocked reports whether the request named name from cl must wait
// for the pause to end: under ALL every known command, under WRITE the
// commands that write or may replicate (and an EXEC queuing one).
func (n *Node) pausedForLocked(cl *Client, name []byte, now time.Time) bool {
	p := &n.pause
	if !p.activeLocked(now) {
		return false
	}
	cmd := n.cmds.lookup(name)
	if cmd == nil {
		return false
	}
	if p.all {
		return true
	}
	const w = FlagWrite | FlagMayReplicate
	if cmd.Flags&w != 0 {
		return true
	}
	if cmd.Name == "exec" && cl != nil && cl.inMulti {
		for _, q := range cl.queued {
			if q.cmd.Flags&w != 0 {
				return true
			}
		}
	}
	return false
}

// waitPause blocks until the request named name from cl may run. It
// returns false if the node is closing.
func (n *Node) waitPause(cl *Client, name []byte) bool {
	for {
		n.mu.Lock()
		now := time.Now()
		if cl != nil && cl.killed.Load() {
			n.mu.Unlock()
			return false
		}
		if !n.pausedForLocked(cl, name, now) {
			n.mu.Unlock()
			return true
		}
		wake, d := n.pause.wake, n.pause.end.Sub(now)
		n.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-wake:
		case <-t.C:
		case <-n.closed:
			t.Stop()
			return false
		}
		t.Stop()
	}
}
