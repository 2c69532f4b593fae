package node

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/glob"
)

// serverCommands: INFO, DBSIZE, FLUSHALL, FLUSHDB, SWAPDB, TIME, CONFIG,
// COMMAND, SLOWLOG, DEBUG.
func serverCommands() []*Command {
	return []*Command{
		{Name: "info", Arity: -1, Flags: FlagLoading | FlagStale, Categories: []string{"dangerous"},
			Summary: "Get information and statistics about the server", Since: "1.0.0", Group: "server", Handler: cmdInfo},
		{Name: "dbsize", Arity: 1, Flags: FlagReadonly | FlagFast, Categories: []string{"keyspace"},
			Summary: "Return the number of keys in the selected database", Since: "1.0.0", Group: "server",
			Handler: func(c *Ctx) { c.R.Int(int64(c.DB.Size())) }},
		{Name: "flushall", Arity: -1, Flags: FlagWrite, Categories: []string{"keyspace", "dangerous"},
			Summary: "Remove all keys from all databases", Since: "1.0.0", Group: "server", Handler: cmdFlushall},
		{Name: "flushdb", Arity: -1, Flags: FlagWrite, Categories: []string{"keyspace", "dangerous"},
			Summary: "Remove all keys from the current database", Since: "1.0.0", Group: "server", Handler: cmdFlushdb},
		{Name: "swapdb", Arity: 3, Flags: FlagWrite | FlagFast, Categories: []string{"keyspace", "dangerous"},
			Summary: "Swaps two Redis databases", Since: "4.0.0", Group: "server", Handler: cmdSwapdb},
		{Name: "time", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast,
			Summary: "Return the current server time", Since: "2.6.0", Group: "server", Handler: cmdTime},
		{Name: "debug", Arity: -2, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale,
			Summary: "A container for debugging commands", Since: "1.0.0", Group: "server", Handler: cmdDebug},
		configCommand(),
		commandCommand(),
		slowlogCommand(),
	}
}

// flushFlags parses FLUSHALL/FLUSHDB's optional ASYNC|SYNC. Both run
// synchronously here: freeing is the garbage collector's job.
func flushFlags(c *Ctx) bool {
	switch {
	case len(c.Args) == 1:
		return true
	case len(c.Args) == 2 && (c.ArgIs(1, "sync") || c.ArgIs(1, "async")):
		return true
	}
	c.ErrSyntax()
	return false
}

func cmdFlushall(c *Ctx) {
	if !flushFlags(c) {
		return
	}
	n := c.n
	removed := 0
	n.touchWatchedOnFlushLocked(-1, -1)
	for _, db := range n.dbs {
		removed += db.Size()
		db.Flush()
	}
	// Redis counts the removed keys plus one, and propagates FLUSHALL even
	// when there was nothing to remove.
	c.Dirty(removed + 1)
	c.R.OK()
}

func cmdFlushdb(c *Ctx) {
	if !flushFlags(c) {
		return
	}
	removed := c.DB.Size()
	c.n.touchWatchedOnFlushLocked(c.Cl.DB, -1)
	c.DB.Flush()
	c.Dirty(removed)
	// Propagated even when the database was already empty.
	c.Propagate(c.Args...)
	c.R.OK()
}

// touchWatchedOnFlushLocked fails the EXEC of clients watching a key of db
// (every db when db < 0) that exists there or, for SWAPDB, in the database
// other that replaces it. Watched keys that exist in neither do not change.
func (n *Node) touchWatchedOnFlushLocked(db, other int) {
	for wk, cls := range n.watchers {
		if db >= 0 && wk.db != db {
			continue
		}
		exists := n.dbs[wk.db].Peek(wk.key) != nil
		if !exists && other >= 0 {
			exists = n.dbs[other].Peek(wk.key) != nil
		}
		if !exists {
			continue
		}
		for _, cl := range cls {
			cl.watchDirty = true
		}
	}
}

func cmdSwapdb(c *Ctx) {
	n := c.n
	if n.cfg.ClusterEnabled {
		c.Error("ERR SWAPDB is not allowed in cluster mode")
		return
	}
	a, ok := ParseInt(c.Args[1])
	if !ok || a < -1<<31 || a > 1<<31-1 {
		c.Error("ERR invalid first DB index")
		return
	}
	b, ok := ParseInt(c.Args[2])
	if !ok || b < -1<<31 || b > 1<<31-1 {
		c.Error("ERR invalid second DB index")
		return
	}
	if a < 0 || a >= int64(len(n.dbs)) || b < 0 || b >= int64(len(n.dbs)) {
		c.Error(ErrDBIndex)
		return
	}
	if a != b {
		n.touchWatchedOnFlushLocked(int(a), int(b))
		n.touchWatchedOnFlushLocked(int(b), int(a))
		n.swapDBsLocked(int(a), int(b))
	}
	c.Dirty(1)
	c.R.OK()
}

// swapDBsLocked exchanges the contents of two databases. The DB objects
// stay at their index (with their expiry hooks, which know the index);
// clients stay on their index and so see the other data.
func (n *Node) swapDBsLocked(a, b int) {
	da, dbb := n.dbs[a], n.dbs[b]
	ha, hb := da.OnExpire, dbb.OnExpire
	*da, *dbb = *dbb, *da
	da.OnExpire, dbb.OnExpire = ha, hb
	// Clients blocked on keys that now exist are served.
	for wk := range n.blockers {
		if (wk.db == a || wk.db == b) && n.dbs[wk.db].Peek(wk.key) != nil {
			n.readyKeys = append(n.readyKeys, wk)
		}
	}
}

func cmdTime(c *Ctx) {
	now := time.Now()
	c.R.Array(2)
	c.R.BulkInt(now.Unix())
	c.R.BulkInt(int64(now.Nanosecond() / 1000))
}

// isLocalClient reports whether cl is connected over loopback (what
// Redis's "local" setting of enable-debug-command allows).
func isLocalClient(cl *Client) bool {
	host, _, err := net.SplitHostPort(cl.Addr)
	if err != nil {
		return cl.Addr == "" // pseudo clients (replay)
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

const errDebugDisabled = `ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`

var debugHelp = []string{
	"ERROR <string>",
	"    Return a Redis protocol error with <string> as message. Useful for clients",
	"    unit tests to simulate Redis errors.",
	"LOG <message>",
	"    Write <message> to the server log.",
	"SLEEP <seconds>",
	"    Stop the server for <seconds>. Decimals allowed.",
}

func cmdDebug(c *Ctx) {
	if !c.n.cfg.EnableDebugCommand.Allows(isLocalClient(c.Cl)) {
		c.Error(errDebugDisabled)
		return
	}
	switch {
	case len(c.Args) == 2 && c.ArgIs(1, "help"):
		replyHelp(c, "DEBUG", debugHelp)
	case len(c.Args) == 3 && c.ArgIs(1, "sleep"):
		// Like Redis, the whole server stops: the node lock is held.
		secs := parseStrtod(c.Arg(2))
		if d := time.Duration(secs * 1e6); d > 0 {
			time.Sleep(d * time.Microsecond)
		}
		c.R.OK()
	case len(c.Args) == 3 && c.ArgIs(1, "error"):
		c.Error(c.Arg(2))
	case len(c.Args) == 3 && c.ArgIs(1, "log"):
		c.n.log.Warn("DEBUG LOG: " + c.Arg(2))
		c.R.OK()
	case c.ArgIs(1, "digest") || c.ArgIs(1, "digest-value"):
		cmdDebugDigest(c) // cmd_debug_digest.go
	default:
		subcommandSyntaxError(c)
	}
}

// parseStrtod parses the longest numeric prefix of s as C's strtod does
// (0 when there is none).
func parseStrtod(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	digits := false
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
		digits = true
	}
	if end < len(s) && s[end] == '.' {
		end++
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
			digits = true
		}
	}
	if !digits {
		return 0
	}
	if end < len(s) && (s[end] == 'e' || s[end] == 'E') {
		e := end + 1
		if e < len(s) && (s[e] == '+' || s[e] == '-') {
			e++
		}
		if e < len(s) && s[e] >= '0' && s[e] <= '9' {
			for e < len(s) && s[e] >= '0' && s[e] <= '9' {
				e++
			}
			end = e
		}
	}
	v, _ := strconv.ParseFloat(s[:end], 64)
	return v
}

var configHelp = []string{
	"GET <pattern>",
	"    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>",
	"    Set the configuration <directive> to <value>.",
	"RESETSTAT",
	"    Reset statistics reported by the INFO command.",
	"REWRITE",
	"    Rewrite the configuration file.",
}

func configCommand() *Command {
	f := FlagAdmin | FlagNoScript | FlagLoading | FlagStale
	return &Command{Name: "config", Arity: -2,
		Summary: "A container for server configuration commands", Since: "2.0.0", Group: "server",
		Handler: unknownSubcommand,
		Subcommands: map[string]*Command{
			"get": {Arity: -3, Flags: f, Summary: "Get the values of configuration parameters", Since: "2.0.0", Group: "server",
				Handler: cmdConfigGet},
			"set": {Arity: -4, Flags: f, Summary: "Set configuration parameters to the given values", Since: "2.0.0", Group: "server",
				Handler: cmdConfigSet},
			"resetstat": {Arity: 2, Flags: f, Summary: "Reset the stats returned by INFO", Since: "2.0.0", Group: "server",
				Handler: func(c *Ctx) { c.n.resetStatsLocked(); c.R.OK() }},
			"rewrite": {Arity: 2, Flags: f, Summary: "Rewrite the configuration file with the in memory configuration", Since: "2.8.0", Group: "server",
				Handler: cmdConfigRewrite},
			"help": {Arity: 2, Flags: FlagLoading | FlagStale, Summary: "Show helpful text about the different subcommands", Since: "5.0.0", Group: "server",
				Handler: func(c *Ctx) { replyHelp(c, "CONFIG", configHelp) }},
		}}
}

func globNoCase(pattern, name string) bool { return glob.MatchString(pattern, name, true) }

func cmdConfigGet(c *Ctx) {
	patterns := make([]string, 0, len(c.Args)-2)
	for _, a := range c.Args[2:] {
		patterns = append(patterns, string(a))
	}
	pairs := c.n.cfg.GetMatching(patterns, globNoCase)
	c.R.Map(len(pairs))
	for _, p := range pairs {
		c.R.BulkString(p[0])
		c.R.BulkString(p[1])
	}
}

func cmdConfigSet(c *Ctx) {
	if (len(c.Args)-2)%2 != 0 {
		c.ErrSyntax()
		return
	}
	n := c.n
	pairs := make([][2]string, 0, (len(c.Args)-2)/2)
	for i := 2; i < len(c.Args); i += 2 {
		pairs = append(pairs, [2]string{string(c.Args[i]), string(c.Args[i+1])})
		if config.Sensitive(string(c.Args[i])) {
			c.Redact(i + 1)
		}
	}
	old := n.cfg.Clone()
	if err := n.cfg.SetMany(pairs, n.cfg.EnableProtectedConfigs.Allows(isLocalClient(c.Cl))); err != nil {
		var se *config.SetError
		if errors.As(err, &se) {
			c.Error("ERR " + se.Msg)
		} else {
			c.Error("ERR " + err.Error())
		}
		return
	}
	if err := n.applyConfigLocked(old); err != nil {
		// Roll back, as Redis does when applying a value fails.
		*n.cfg = *old
		var ae *configArgError
		if errors.As(err, &ae) {
			c.Error(fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", ae.Arg, ae.Msg))
			return
		}
		c.Error("ERR CONFIG SET failed - " + err.Error())
		return
	}
	c.R.OK()
}

// ConfigHook is called with the node lock held after CONFIG SET changed the
// configuration (old is the previous one). An error rolls the change back.
type ConfigHook func(old, cur *config.Config) error

// OnConfigSet registers a hook run after every successful CONFIG SET;
// persistence and replication use it to act on their directives.
func (n *Node) OnConfigSet(h ConfigHook) {
	n.mu.Lock()
	n.server.configHooks = append(n.server.configHooks, h)
	n.mu.Unlock()
}

// applyConfigLocked makes a configuration change take effect.
func (n *Node) applyConfigLocked(old *config.Config) error {
	cfg := n.cfg
	for _, h := range n.server.configHooks {
		if err := h(old, cfg); err != nil {
			return err
		}
	}
	if cfg.RequirePass == "" && old.RequirePass != "" {
		// Without a password the default user needs no authentication, so
		// clients that never authenticated may now run commands.
		for _, cl := range n.clients {
			cl.Authenticated = true
		}
	}
	return nil
}

func cmdConfigRewrite(c *Ctx) {
	err := c.n.cfg.Rewrite()
	switch {
	case err == nil:
		c.R.OK()
	case errors.Is(err, config.ErrNoConfigFile):
		c.Error("ERR The server is running without a config file")
	default:
		c.n.log.Warn("CONFIG REWRITE failed", "err", err)
		c.Error("ERR Rewriting config file: " + err.Error())
	}
}

// resetStatsLocked is CONFIG RESETSTAT: command and error statistics and
// the INFO stats counters start again from zero.
func (n *Node) resetStatsLocked() {
	for _, cmd := range n.cmds {
		cmd.calls, cmd.usec, cmd.rejected, cmd.failed = 0, 0, 0, 0
		cmd.lat.reset()
		for _, s := range cmd.Subcommands {
			s.calls, s.usec, s.rejected, s.failed = 0, 0, 0, 0
			s.lat.reset()
		}
	}
	st := &n.stats
	st.TotalConnections.Store(0)
	st.RejectedConns.Store(0)
	st.NetInputBytes.Store(0)
	st.NetOutputBytes.Store(0)
	st.TotalCommands = 0
	st.ExpiredKeys = 0
	st.KeyspaceHits = 0
	st.KeyspaceMisses = 0
	st.TotalErrorReplies = 0
	st.ErrorCounts = map[string]int64{}
	n.server.peakMemory = 0
}
