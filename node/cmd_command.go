package node

import (
	"sort"
	"strings"

	"github.com/slotvault/slotvault/internal/glob"
)

// COMMAND and its subcommands describe the command table the way Redis 7.0
// does. Everything is derived from the table: flags, key positions (as
// legacy first/last/step and as key specs), ACL categories (the explicit
// ones plus those Redis implies from the flags) and documentation.

// aclCategoryOrder is the order Redis lists ACL categories in.
var aclCategoryOrder = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting",
}

// commandCategories returns the command's ACL categories without '@', in
// Redis's order: the declared ones plus the ones implied by the flags, as
// Redis's setImplicitACLCategories adds them.
func commandCategories(cmd *Command) []string {
	has := map[string]bool{}
	for _, c := range cmd.Categories {
		has[strings.ToLower(strings.TrimPrefix(c, "@"))] = true
	}
	f := cmd.Flags
	if f&FlagWrite != 0 {
		has["write"] = true
	}
	if f&FlagReadonly != 0 && !has["scripting"] {
		has["read"] = true
	}
	if f&FlagAdmin != 0 {
		has["admin"] = true
		has["dangerous"] = true
	}
	if f&FlagPubSub != 0 {
		has["pubsub"] = true
	}
	if f&FlagFast != 0 {
		has["fast"] = true
	}
	if f&FlagBlocking != 0 {
		has["blocking"] = true
	}
	if !has["fast"] {
		has["slow"] = true
	}
	out := make([]string, 0, len(has))
	for _, c := range aclCategoryOrder {
		if has[c] {
			out = append(out, c)
		}
	}
	return out
}

// commandFlagNames lists the flags COMMAND INFO shows, in Redis's order
// (may_replicate is hidden, as in Redis).
func commandFlagNames(cmd *Command) []string {
	extra := map[string]bool{}
	for _, f := range redisExtraFlags[cmd.Name] {
		extra[f] = true
	}
	if cmd.Keys != nil {
		extra["movablekeys"] = true
	}
	f := cmd.Flags
	var out []string
	add := func(ok bool, name string) {
		if ok {
			out = append(out, name)
		}
	}
	add(f&FlagWrite != 0, "write")
	add(f&FlagReadonly != 0, "readonly")
	add(f&FlagDenyOOM != 0, "denyoom")
	add(f&FlagAdmin != 0, "admin")
	add(f&FlagPubSub != 0, "pubsub")
	add(f&FlagNoScript != 0, "noscript")
	add(f&FlagBlocking != 0, "blocking")
	add(f&FlagLoading != 0, "loading")
	add(f&FlagStale != 0, "stale")
	add(f&FlagSkipMonitor != 0, "skip_monitor")
	add(f&FlagSkipSlowlog != 0, "skip_slowlog")
	add(extra["asking"], "asking")
	add(f&FlagFast != 0, "fast")
	add(f&FlagNoAuth != 0, "no_auth")
	add(extra["no_mandatory_keys"], "no_mandatory_keys")
	add(extra["no_async_loading"], "no_async_loading")
	add(f&FlagNoMulti != 0, "no_multi")
	add(extra["movablekeys"], "movablekeys")
	add(f&FlagAllowBusy != 0, "allow_busy")
	return out
}

// keySpecFlags are the access flags reported for every key of a command;
// slotvault does not model per-key access, so they follow the command's
// flags.
func keySpecFlags(cmd *Command) []string {
	switch {
	case cmd.Flags&FlagPubSub != 0:
		return []string{"not_key"}
	case cmd.Flags&FlagWrite != 0:
		return []string{"RW", "update"}
	case cmd.Flags&FlagReadonly != 0:
		return []string{"RO", "access"}
	}
	return []string{"RO"}
}

// commandHasKeys is Redis's doesCommandHaveKeys: shard channels of the
// sharded pub/sub commands are positioned like keys but are not keys.
func commandHasKeys(cmd *Command) bool {
	return (cmd.FirstKey > 0 || cmd.Keys != nil) && cmd.Flags&FlagPubSub == 0
}

func (r *Reply) simpleSet(items []string) {
	r.Set(len(items))
	for _, s := range items {
		r.Simple(s)
	}
}

// replyKeySpecs writes the key specs: a range spec for the legacy key
// positions and an "unknown" spec for keys found by a Keys function.
func replyKeySpecs(r *Reply, cmd *Command) {
	n := 0
	if cmd.FirstKey > 0 {
		n++
	}
	if cmd.Keys != nil {
		n++
	}
	r.Set(n)
	flags := keySpecFlags(cmd)
	if cmd.FirstKey > 0 {
		last := cmd.LastKey
		if last >= 0 {
			last -= cmd.FirstKey
		}
		r.Map(3)
		r.BulkString("flags")
		r.simpleSet(flags)
		r.BulkString("begin_search")
		r.Map(2)
		r.BulkString("type")
		r.BulkString("index")
		r.BulkString("spec")
		r.Map(1)
		r.BulkString("index")
		r.Int(int64(cmd.FirstKey))
		r.BulkString("find_keys")
		r.Map(2)
		r.BulkString("type")
		r.BulkString("range")
		r.BulkString("spec")
		r.Map(3)
		r.BulkString("lastkey")
		r.Int(int64(last))
		r.BulkString("keystep")
		r.Int(int64(cmd.Step))
		r.BulkString("limit")
		r.Int(0)
	}
	if cmd.Keys != nil {
		r.Map(3)
		r.BulkString("flags")
		r.simpleSet(flags)
		for _, part := range []string{"begin_search", "find_keys"} {
			r.BulkString(part)
			r.Map(2)
			r.BulkString("type")
			r.BulkString("unknown")
			r.BulkString("spec")
			r.Map(0)
		}
	}
}

func sortedSubcommands(cmd *Command) []*Command {
	subs := make([]*Command, 0, len(cmd.Subcommands))
	for _, s := range cmd.Subcommands {
		subs = append(subs, s)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
	return subs
}

// replyCommandInfo writes one COMMAND INFO entry.
func replyCommandInfo(r *Reply, cmd *Command) {
	r.Array(10)
	r.BulkString(cmd.Name)
	r.Int(int64(cmd.Arity))
	r.simpleSet(commandFlagNames(cmd))
	r.Int(int64(cmd.FirstKey))
	r.Int(int64(cmd.LastKey))
	r.Int(int64(cmd.Step))
	cats := commandCategories(cmd)
	r.Set(len(cats))
	for _, c := range cats {
		r.Simple("@" + c)
	}
	tips := redisCommandTips[cmd.Name]
	r.Set(len(tips))
	for _, t := range tips {
		r.BulkString(t)
	}
	replyKeySpecs(r, cmd)
	if cmd.Subcommands == nil {
		r.Set(0)
		return
	}
	r.Array(len(cmd.Subcommands))
	for _, s := range sortedSubcommands(cmd) {
		replyCommandInfo(r, s)
	}
}

// replyCommandDocs writes one COMMAND DOCS entry (without its name).
func replyCommandDocs(r *Reply, cmd *Command) {
	n := 0
	for _, s := range []string{cmd.Summary, cmd.Since, cmd.Group} {
		if s != "" {
			n++
		}
	}
	if cmd.Subcommands != nil {
		n++
	}
	r.Map(n)
	for _, kv := range [][2]string{{"summary", cmd.Summary}, {"since", cmd.Since}, {"group", cmd.Group}} {
		if kv[1] != "" {
			r.BulkString(kv[0])
			r.BulkString(kv[1])
		}
	}
	if cmd.Subcommands != nil {
		r.BulkString("subcommands")
		r.Map(len(cmd.Subcommands))
		for _, s := range sortedSubcommands(cmd) {
			r.BulkString(s.Name)
			replyCommandDocs(r, s)
		}
	}
}

// lookupCommandArgs finds the command that args (name, maybe subcommand)
// denote, as Redis's lookupCommand does; nil when there is none.
func (n *Node) lookupCommandArgs(args [][]byte) *Command {
	cmd := n.cmds.lookup(args[0])
	if cmd == nil || cmd.Subcommands == nil || len(args) == 1 {
		return cmd
	}
	return cmd.Subcommands[lowerASCII(args[1])]
}

// lookupCommandName finds a command by its full name ("get", "config|get").
func (n *Node) lookupCommandName(name string) *Command {
	parent, sub, ok := strings.Cut(strings.ToLower(name), "|")
	cmd := n.cmds[parent]
	if !ok || cmd == nil {
		return cmd
	}
	return cmd.Subcommands[sub]
}

func (n *Node) sortedCommands() []*Command {
	out := make([]*Command, 0, len(n.cmds))
	for _, c := range n.cmds {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var commandHelp = []string{
	"(no subcommand)",
	"    Return details about all Redis commands.",
	"COUNT",
	"    Return the total number of commands in this Redis server.",
	"LIST",
	"    Return a list of all commands in this Redis server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"GETKEYS <full-command>",
	"    Return the keys from a full Redis command.",
	"GETKEYSANDFLAGS <full-command>",
	"    Return the keys and the access flags from a full Redis command.",
}

func commandCommand() *Command {
	f := FlagLoading | FlagStale
	cats := []string{"connection"}
	return &Command{Name: "command", Arity: -1, Flags: f, Categories: cats,
		Summary: "Get array of Redis command details", Since: "2.8.13", Group: "server",
		Handler: func(c *Ctx) {
			if len(c.Args) > 1 {
				unknownSubcommand(c)
				return
			}
			cmds := c.n.sortedCommands()
			c.R.Array(len(cmds))
			for _, cmd := range cmds {
				replyCommandInfo(c.R, cmd)
			}
		},
		Subcommands: map[string]*Command{
			"count": {Arity: 2, Flags: f, Categories: cats, Summary: "Get total number of Redis commands", Since: "2.8.13", Group: "server",
				Handler: func(c *Ctx) { c.R.Int(int64(len(c.n.cmds))) }},
			"info": {Arity: -2, Flags: f, Categories: cats, Summary: "Get array of specific Redis command details, or all when no argument is given.", Since: "2.8.13", Group: "server",
				Handler: cmdCommandInfo},
			"docs": {Arity: -2, Flags: f, Categories: cats, Summary: "Get array of specific Redis command documentation", Since: "7.0.0", Group: "server",
				Handler: cmdCommandDocs},
			"list": {Arity: -2, Flags: f, Categories: cats, Summary: "Get an array of Redis command names", Since: "7.0.0", Group: "server",
				Handler: cmdCommandList},
			"getkeys": {Arity: -4, Flags: f, Categories: cats, Summary: "Extract keys given a full Redis command", Since: "2.8.13", Group: "server",
				Handler: func(c *Ctx) { cmdCommandGetKeys(c, false) }},
			"getkeysandflags": {Arity: -4, Flags: f, Categories: cats, Summary: "Extract keys and access flags given a full Redis command", Since: "7.0.0", Group: "server",
				Handler: func(c *Ctx) { cmdCommandGetKeys(c, true) }},
			"help": {Arity: 2, Flags: f, Categories: cats, Summary: "Show helpful text about the different subcommands", Since: "5.0.0", Group: "server",
				Handler: func(c *Ctx) { replyHelp(c, "COMMAND", commandHelp) }},
		}}
}

func cmdCommandInfo(c *Ctx) {
	if len(c.Args) == 2 {
		cmds := c.n.sortedCommands()
		c.R.Array(len(cmds))
		for _, cmd := range cmds {
			replyCommandInfo(c.R, cmd)
		}
		return
	}
	c.R.Array(len(c.Args) - 2)
	for _, a := range c.Args[2:] {
		if cmd := c.n.lookupCommandName(string(a)); cmd != nil {
			replyCommandInfo(c.R, cmd)
		} else {
			c.R.Null()
		}
	}
}

func cmdCommandDocs(c *Ctx) {
	var cmds []*Command
	if len(c.Args) == 2 {
		cmds = c.n.sortedCommands()
	} else {
		for _, a := range c.Args[2:] {
			if cmd := c.n.lookupCommandName(string(a)); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.R.Map(len(cmds))
	for _, cmd := range cmds {
		c.R.BulkString(cmd.Name)
		replyCommandDocs(c.R, cmd)
	}
}

func cmdCommandList(c *Ctx) {
	var match func(cmd *Command) bool
	switch {
	case len(c.Args) == 2:
		match = func(*Command) bool { return true }
	case len(c.Args) == 5 && c.ArgIs(2, "filterby"):
		arg := string(c.Args[4])
		switch {
		case c.ArgIs(3, "module"):
			match = func(*Command) bool { return false }
		case c.ArgIs(3, "aclcat"):
			cat := strings.ToLower(arg)
			match = func(cmd *Command) bool {
				for _, x := range commandCategories(cmd) {
					if x == cat {
						return true
					}
				}
				return false
			}
		case c.ArgIs(3, "pattern"):
			match = func(cmd *Command) bool { return glob.MatchString(arg, cmd.Name, true) }
		default:
			c.ErrSyntax()
			return
		}
	default:
		c.ErrSyntax()
		return
	}
	var names []string
	var walk func(cmd *Command)
	walk = func(cmd *Command) {
		if match(cmd) {
			names = append(names, cmd.Name)
		}
		for _, s := range sortedSubcommands(cmd) {
			walk(s)
		}
	}
	for _, cmd := range c.n.sortedCommands() {
		walk(cmd)
	}
	c.R.StringArray(names)
}

func cmdCommandGetKeys(c *Ctx, withFlags bool) {
	args := c.Args[2:]
	cmd := c.n.lookupCommandArgs(args)
	switch {
	case cmd == nil:
		c.Error("ERR Invalid command specified")
		return
	case !commandHasKeys(cmd):
		c.Error("ERR The command has no key arguments")
		return
	case !arityOK(cmd.Arity, len(args)):
		c.Error("ERR Invalid number of arguments specified for command")
		return
	}
	idx := cmd.KeyIndexes(args)
	if len(idx) == 0 {
		for _, f := range redisExtraFlags[cmd.Name] {
			if f == "no_mandatory_keys" {
				c.R.Array(0)
				return
			}
		}
		c.Error("ERR Invalid arguments specified for command")
		return
	}
	c.R.Array(len(idx))
	for _, i := range idx {
		if !withFlags {
			c.R.Bulk(args[i])
			continue
		}
		c.R.Array(2)
		c.R.Bulk(args[i])
		c.R.simpleSet(keySpecFlags(cmd))
	}
}
