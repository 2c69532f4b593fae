package node

import "strings"

// CmdFlag describes how a command behaves; the dispatcher, COMMAND INFO,
// propagation and (later) slot routing read them.
type CmdFlag uint32

// Command flags, named as COMMAND INFO prints them.
const (
	FlagWrite CmdFlag = 1 << iota
	FlagReadonly
	FlagDenyOOM
	FlagAdmin
	FlagPubSub
	FlagNoScript
	FlagBlocking
	FlagLoading
	FlagStale
	FlagSkipMonitor
	FlagSkipSlowlog
	FlagFast
	FlagNoAuth
	FlagMayReplicate
	FlagNoMulti
	FlagAllowBusy
)

var flagNames = []struct {
	f    CmdFlag
	name string
}{
	{FlagWrite, "write"}, {FlagReadonly, "readonly"}, {FlagDenyOOM, "denyoom"},
	{FlagAdmin, "admin"}, {FlagPubSub, "pubsub"}, {FlagNoScript, "noscript"},
	{FlagBlocking, "blocking"}, {FlagLoading, "loading"}, {FlagStale, "stale"},
	{FlagSkipMonitor, "skip_monitor"}, {FlagSkipSlowlog, "skip_slowlog"},
	{FlagFast, "fast"}, {FlagNoAuth, "no_auth"}, {FlagMayReplicate, "may_replicate"},
	{FlagNoMulti, "no_multi"}, {FlagAllowBusy, "allow_busy"},
}

// FlagNames returns the COMMAND INFO names of f's flags.
func (f CmdFlag) FlagNames() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// Command is one entry of the command table.
type Command struct {
	// Name is lower case; subcommands are named "parent|sub".
	Name string
	// Arity as Redis defines it: n > 0 exactly n arguments (name included),
	// n < 0 at least -n.
	Arity int
	Flags CmdFlag
	// Key positions: first key, last key (negative counts from the end),
	// step. FirstKey 0 means no keys.
	FirstKey, LastKey, Step int
	// Keys, when set, returns the argument indexes of the keys for commands
	// whose keys cannot be described by FirstKey/LastKey/Step (numkeys).
	Keys func(args [][]byte) []int
	// ACL categories without the '@', e.g. "keyspace", "read", "fast".
	Categories []string
	// Summary, Since and Group feed COMMAND DOCS.
	Summary, Since, Group string
	// Handler runs the command with the node lock held.
	Handler func(c *Ctx)
	// Subcommands, keyed by lower-case subcommand name.
	Subcommands map[string]*Command

	// Stats, guarded by the node lock.
	calls, usec, rejected, failed int64
	lat                           latHist // latency histogram (observe.go)
}

// KeyIndexes returns the positions of the keys in args.
func (cmd *Command) KeyIndexes(args [][]byte) []int {
	if cmd.Keys != nil {
		return cmd.Keys(args)
	}
	if cmd.FirstKey <= 0 || cmd.FirstKey >= len(args) {
		return nil
	}
	last := cmd.LastKey
	if last < 0 {
		last = len(args) + last
	}
	if last >= len(args) {
		last = len(args) - 1
	}
	step := cmd.Step
	if step <= 0 {
		step = 1
	}
	out := make([]int, 0, (last-cmd.FirstKey)/step+1)
	for i := cmd.FirstKey; i <= last; i += step {
		out = append(out, i)
	}
	return out
}

// commandTable maps lower-case names to commands.
type commandTable map[string]*Command

func (t commandTable) add(cmds ...*Command) {
	for _, c := range cmds {
		c.Name = strings.ToLower(c.Name)
		if c.Step == 0 && c.FirstKey > 0 {
			c.Step = 1
		}
		for name, sub := range c.Subcommands {
			sub.Name = c.Name + "|" + name
			if sub.Step == 0 && sub.FirstKey > 0 {
				sub.Step = 1
			}
		}
		t[c.Name] = c
	}
}

// lookup finds a command by its name in any case without allocating for
// names up to 32 bytes.
func (t commandTable) lookup(name []byte) *Command {
	var buf [32]byte
	if len(name) > len(buf) {
		return t[strings.ToLower(string(name))]
	}
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return t[string(buf[:len(name)])]
}

// buildCommandTable assembles every command family. Each family lives in
// its own file and returns its commands.
func buildCommandTable() commandTable {
	t := commandTable{}
	t.add(connectionCommands()...)
	t.add(aclCommands()...)
	t.add(serverCommands()...)
	t.add(keyspaceCommands()...)
	t.add(stringCommands()...)
	t.add(bitmapCommands()...)
	t.add(hllCommands()...)
	t.add(hashCommands()...)
	t.add(listCommands()...)
	t.add(setCommands()...)
	t.add(zsetCommands()...)
	t.add(txCommands()...)
	t.add(pubsubCommands()...)
	t.add(clusterCommands()...)
	t.add(backupCommands()...)
	t.add(persistCommands()...)
	addClusterModeCommands(t)
	t.add(append(migrateCommands(), functionCommands()...)...)
	t.add(replCommands()...)
	t.add(observabilityCommands()...)
	addSlotStatsCommand(t)
	t.add(shutdownCommands()...)
	return t
}
