package node

import (
	"strconv"
	"time"
)

// MONITOR: a live feed of executed commands.

func cmdMonitor(c *Ctx) {
	n, cl := c.n, c.Cl
	if cl.inMulti {
		c.Error("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	if n.isMonitorLocked(cl) {
		return // already monitoring: Redis sends nothing
	}
	n.monitors = append(n.monitors, cl)
	c.R.OK()
}

func (n *Node) isMonitorLocked(cl *Client) bool {
	for _, m := range n.monitors {
		if m == cl {
			return true
		}
	}
	return false
}

// removeMonitorLocked stops feeding cl (disconnect, RESET).
func (n *Node) removeMonitorLocked(cl *Client) {
	for i, m := range n.monitors {
		if m == cl {
			n.monitors = append(n.monitors[:i], n.monitors[i+1:]...)
			return
		}
	}
}

// monitorRejectLocked is Redis's check that a MONITOR client (a replica
// internally) does not touch the keyspace; it reports whether it replied.
func (n *Node) monitorRejectLocked(cl *Client, sub *Command) bool {
	if sub.Flags&(FlagWrite|FlagReadonly|FlagMayReplicate) == 0 || !n.isMonitorLocked(cl) {
		return false
	}
	cl.reply.Error("ERR Replica can't interact with the keyspace")
	n.countErrorUnlocked("ERR")
	return true
}

// feedMonitorsLocked sends one executed command to every MONITOR client in
// Redis's format: +<unix time>.<µs> [<db> <peer>] "arg" "arg"... A monitor
// that ran the command itself gets the line in its reply buffer r, right
// after the command's reply, as Redis orders them.
func (n *Node) feedMonitorsLocked(cl *Client, args [][]byte, at time.Time, r *Reply) {
	line := make([]byte, 0, 64+requestLen(args))
	line = append(line, '+')
	line = strconv.AppendInt(line, at.Unix(), 10)
	line = append(line, '.')
	us := strconv.FormatInt(int64(at.Nanosecond()/1000), 10)
	line = append(line, "000000"[len(us):]...)
	line = append(line, us...)
	line = append(line, " ["...)
	line = strconv.AppendInt(line, int64(cl.DB), 10)
	line = append(line, ' ')
	line = append(line, cl.Addr...)
	line = append(line, "] "...)
	for i, a := range args {
		if i > 0 {
			line = append(line, ' ')
		}
		line = appendRepr(line, a)
	}
	line = append(line, "\r\n"...)
	for _, m := range n.monitors {
		switch {
		case m == cl && r != nil:
			r.Raw(line)
		case m.netConn != nil:
			m.netConn.push(line)
		}
	}
}

// appendRepr quotes b as Redis's sdscatrepr.
func appendRepr(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, ch := range b {
		switch ch {
		case '\\', '"':
			dst = append(dst, '\\', ch)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\a':
			dst = append(dst, '\\', 'a')
		case '\b':
			dst = append(dst, '\\', 'b')
		default:
			if ch >= 0x20 && ch < 0x7f {
				dst = append(dst, ch)
			} else {
				dst = append(dst, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(dst, '"')
}
