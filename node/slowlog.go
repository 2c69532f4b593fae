package node

import (
	"strconv"
	"time"
)

// Slow log limits, as Redis's SLOWLOG_ENTRY_MAX_ARGC and
// SLOWLOG_ENTRY_MAX_STRING.
const (
	slowlogMaxArgc   = 32
	slowlogMaxString = 128
)

// slowlogEntry is one logged command.
type slowlogEntry struct {
	id       int64
	time     int64 // Unix seconds
	duration int64 // microseconds
	args     []string
	addr     string
	name     string
}

// slowlogState is the SLOWLOG list, newest first, guarded by the node lock.
type slowlogState struct {
	entries []slowlogEntry
	nextID  int64
}

func (s *slowlogState) init() {}

// maybeAddLocked logs a command that took at least
// slowlog-log-slower-than microseconds, trimming the log to
// slowlog-max-len (applied when an entry is added, as in Redis).
func (s *slowlogState) maybeAddLocked(n *Node, cl *Client, args [][]byte, start time.Time, dur time.Duration) {
	threshold := n.cfg.SlowlogLogSlowerThan
	if threshold < 0 || n.cfg.SlowlogMaxLen == 0 || dur.Microseconds() < threshold {
		return
	}
	e := slowlogEntry{
		id:       s.nextID,
		time:     start.Unix(),
		duration: dur.Microseconds(),
		addr:     cl.Addr,
		name:     cl.Name,
	}
	s.nextID++
	argc := len(args)
	if argc > slowlogMaxArgc {
		argc = slowlogMaxArgc
	}
	e.args = make([]string, argc)
	for i := 0; i < argc; i++ {
		if argc != len(args) && i == argc-1 {
			e.args[i] = "... (" + strconv.Itoa(len(args)-argc+1) + " more arguments)"
			break
		}
		a := args[i]
		if len(a) > slowlogMaxString {
			e.args[i] = string(a[:slowlogMaxString]) + "... (" + strconv.Itoa(len(a)-slowlogMaxString) + " more bytes)"
		} else {
			e.args[i] = string(a)
		}
	}
	s.entries = append([]slowlogEntry{e}, s.entries...)
	if max := n.cfg.SlowlogMaxLen; len(s.entries) > max {
		s.entries = s.entries[:max]
	}
}

// Redact replaces argument i with "(redacted)" so that secrets (AUTH
// passwords, CONFIG SET requirepass) do not reach the slow log. Only for
// commands that are not propagated as received.
func (c *Ctx) Redact(i int) {
	if i < len(c.Args) {
		c.Args[i] = []byte("(redacted)")
	}
}

var slowlogHelp = []string{
	"GET [<count>]",
	"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
	"    Entries are made of:",
	"    id, timestamp, time in microseconds, arguments array, client IP and port,",
	"    client name",
	"LEN",
	"    Return the length of the slowlog.",
	"RESET",
	"    Reset the slowlog.",
}

func slowlogCommand() *Command {
	adminFlags := FlagAdmin | FlagLoading | FlagStale
	return &Command{Name: "slowlog", Arity: -2,
		Summary: "A container for slow log commands", Since: "2.2.12", Group: "server",
		Handler: unknownSubcommand,
		Subcommands: map[string]*Command{
			"get": {Arity: -2, Flags: adminFlags, Summary: "Get the slow log's entries", Since: "2.2.12", Group: "server",
				Handler: cmdSlowlogGet},
			"len": {Arity: 2, Flags: adminFlags, Summary: "Get the slow log's length", Since: "2.2.12", Group: "server",
				Handler: func(c *Ctx) { c.R.Int(int64(len(c.n.slowlog.entries))) }},
			"reset": {Arity: 2, Flags: adminFlags, Summary: "Clear all entries from the slow log", Since: "2.2.12", Group: "server",
				Handler: func(c *Ctx) { c.n.slowlog.entries = nil; c.R.OK() }},
			"help": {Arity: 2, Flags: FlagLoading | FlagStale, Summary: "Show helpful text about the different subcommands", Since: "6.2.0", Group: "server",
				Handler: func(c *Ctx) { replyHelp(c, "SLOWLOG", slowlogHelp) }},
		}}
}

func cmdSlowlogGet(c *Ctx) {
	if len(c.Args) > 3 {
		subcommandSyntaxError(c)
		return
	}
	count := int64(10)
	if len(c.Args) == 3 {
		v, ok := ParseInt(c.Args[2])
		if !ok || v < -1 {
			c.Error("ERR count should be greater than or equal to -1")
			return
		}
		count = v
		if v == -1 {
			count = int64(len(c.n.slowlog.entries))
		}
	}
	entries := c.n.slowlog.entries
	if int64(len(entries)) > count {
		entries = entries[:count]
	}
	c.R.Array(len(entries))
	for _, e := range entries {
		c.R.Array(6)
		c.R.Int(e.id)
		c.R.Int(e.time)
		c.R.Int(e.duration)
		c.R.StringArray(e.args)
		c.R.BulkString(e.addr)
		c.R.BulkString(e.name)
	}
}
