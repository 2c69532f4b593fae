package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/slotvault/slotvault/acl"
)

// aclCommands: the ACL container and its subcommands (Redis 7.0).
func aclCommands() []*Command {
	admin := FlagAdmin | FlagNoScript | FlagLoading | FlagStale
	plain := FlagNoScript | FlagLoading | FlagStale
	sub := func(arity int, f CmdFlag, summary, since string, h func(*Ctx)) *Command {
		return &Command{Arity: arity, Flags: f, Summary: summary, Since: since, Group: "server", Handler: h}
	}
	return []*Command{{Name: "acl", Arity: -2,
		Summary: "A container for Access List Control commands ", Since: "6.0.0", Group: "server",
		Handler: unknownSubcommand,
		Subcommands: map[string]*Command{
			"setuser": sub(-3, admin, "Modify or create the rules for a specific ACL user", "6.0.0", cmdACLSetUser),
			"getuser": sub(3, admin, "Get the rules for a specific ACL user", "6.0.0", cmdACLGetUser),
			"deluser": sub(-3, admin, "Remove the specified ACL users and the associated rules", "6.0.0", cmdACLDelUser),
			"list":    sub(2, admin, "List the current ACL rules in ACL config file format", "6.0.0", cmdACLList),
			"users":   sub(2, admin, "List the username of all the configured ACL rules", "6.0.0", cmdACLUsers),
			"whoami":  sub(2, plain, "Return the name of the user associated to the current connection", "6.0.0", func(c *Ctx) { c.R.BulkString(c.Cl.User) }),
			"cat":     sub(-2, plain, "List the ACL categories or the commands inside a category", "6.0.0", cmdACLCat),
			"genpass": sub(-2, plain, "Generate a pseudorandom secure password to use for ACL users", "6.0.0", cmdACLGenpass),
			"log":     sub(-2, admin, "List latest events denied because of ACLs in place", "6.0.0", cmdACLLog),
			"dryrun":  sub(-4, admin, "Returns whether the user can execute the given command without executing the command.", "7.0.0", cmdACLDryrun),
			"load":    sub(2, admin, "Reload the ACLs from the configured ACL file", "6.0.0", cmdACLLoad),
			"save":    sub(2, admin, "Save the current ACL rules in the configured ACL file", "6.0.0", cmdACLSave),
			"help": sub(2, FlagLoading|FlagStale, "Show helpful text about the different subcommands", "6.0.0", func(c *Ctx) {
				replyHelp(c, "ACL", aclHelp)
			}),
		}}}
}

var aclHelp = []string{
	"CAT [<category>]",
	"    List all commands that belong to <category>, or all command categories",
	"    when no category is specified.",
	"DELUSER <username> [<username> ...]",
	"    Delete a list of users.",
	"DRYRUN <username> <command> [<arg> ...]",
	"    Returns whether the user can execute the given command without executing the command.",
	"GETUSER <username>",
	"    Get the user's details.",
	"GENPASS [<bits>]",
	"    Generate a secure 256-bit user password. The optional `bits` argument can",
	"    be used to specify a different size.",
	"LIST",
	"    Show users details in config file format.",
	"LOAD",
	"    Reload users from the ACL file.",
	"LOG [<count> | RESET]",
	"    Show the ACL log entries.",
	"SAVE",
	"    Save the current config to the ACL file.",
	"SETUSER <username> <attribute> [<attribute> ...]",
	"    Create or modify a user with the specified attributes.",
	"USERS",
	"    List all the registered usernames.",
	"WHOAMI",
	"    Return the current connection username.",
}

const errNoACLFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

func cmdACLSetUser(c *Ctx) {
	n := c.n
	rules := make([]string, 0, len(c.Args)-3)
	for _, a := range c.Args[3:] {
		rules = append(rules, string(a))
	}
	u, err := n.acl.reg.SetUser(string(c.Args[2]), rules)
	if err != nil {
		c.Error("ERR " + err.Error())
		return
	}
	n.killRevokedSubscribersLocked(c.Cl, u)
	n.syncDefaultOpenLocked()
	c.R.OK()
}

func cmdACLGetUser(c *Ctx) {
	reg := c.n.acl.reg
	u := reg.Get(string(c.Args[2]))
	if u == nil {
		c.R.Null()
		return
	}
	r := c.R
	r.Map(6)
	r.BulkString("flags")
	flags := u.Flags()
	r.Set(len(flags))
	for _, f := range flags {
		r.BulkString(f)
	}
	r.BulkString("passwords")
	r.Array(len(u.Passwords))
	for _, p := range u.Passwords {
		r.BulkString(p)
	}
	r.BulkString("commands")
	r.BulkString(reg.CommandRules(u))
	r.BulkString("keys")
	r.BulkString(u.KeysString())
	r.BulkString("channels")
	r.BulkString(u.ChannelsString())
	r.BulkString("selectors")
	r.Array(0)
}

func cmdACLDelUser(c *Ctx) {
	n := c.n
	deleted := int64(0)
	for _, a := range c.Args[2:] {
		if string(a) == "default" {
			c.Error("ERR The 'default' user cannot be removed")
			return
		}
	}
	for _, a := range c.Args[2:] {
		name := string(a)
		u := n.acl.reg.Get(name)
		if u == nil || !n.acl.reg.Delete(name) {
			continue
		}
		n.killUserClientsLocked(c.Cl, u)
		deleted++
	}
	n.syncACLConfigLocked()
	c.R.Int(deleted)
}

func cmdACLList(c *Ctx) {
	reg := c.n.acl.reg
	names := reg.Names()
	c.R.Array(len(names))
	for _, name := range names {
		c.R.BulkString("user " + name + " " + reg.Describe(reg.Get(name)))
	}
}

func cmdACLUsers(c *Ctx) { c.R.StringArray(c.n.acl.reg.Names()) }

func cmdACLCat(c *Ctx) {
	if len(c.Args) > 3 {
		subcommandSyntaxError(c)
		return
	}
	if len(c.Args) == 2 {
		c.R.Array(len(acl.Categories))
		for _, cat := range acl.Categories {
			c.R.BulkString(cat)
		}
		return
	}
	names, ok := c.n.acl.reg.Catalog().CommandsIn(string(c.Args[2]))
	if !ok {
		c.Error("ERR Unknown category '" + string(c.Args[2]) + "'")
		return
	}
	c.R.StringArray(names)
}

func cmdACLGenpass(c *Ctx) {
	if len(c.Args) > 3 {
		subcommandSyntaxError(c)
		return
	}
	bits := int64(256)
	if len(c.Args) == 3 {
		v, ok := ParseInt(c.Args[2])
		if !ok {
			c.Error(ErrNotInt)
			return
		}
		if v <= 0 || v > 4096 {
			c.Error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
			return
		}
		bits = v
	}
	chars := int((bits + 3) / 4)
	buf := make([]byte, (chars+1)/2)
	rand.Read(buf)
	c.R.BulkString(hex.EncodeToString(buf)[:chars])
}

func cmdACLLog(c *Ctx) {
	n := c.n
	if len(c.Args) > 3 {
		subcommandSyntaxError(c)
		return
	}
	count := int64(10)
	if len(c.Args) == 3 {
		if c.ArgIs(2, "reset") {
			n.acl.log = nil
			c.R.OK()
			return
		}
		v, ok := ParseInt(c.Args[2])
		if !ok {
			c.Error(ErrNotInt)
			return
		}
		count = v
	}
	if count < 0 {
		count = 0
	}
	entries := n.acl.log
	if int64(len(entries)) > count {
		entries = entries[:count]
	}
	now := time.Now()
	r := c.R
	r.Array(len(entries))
	for _, e := range entries {
		r.Map(7)
		r.BulkString("count")
		r.Int(e.count)
		r.BulkString("reason")
		r.BulkString(e.reason)
		r.BulkString("context")
		r.BulkString(e.context)
		r.BulkString("object")
		r.BulkString(e.object)
		r.BulkString("username")
		r.BulkString(e.username)
		r.BulkString("age-seconds")
		r.Double(float64(now.Sub(e.ctime).Milliseconds()) / 1000)
		r.BulkString("client-info")
		r.BulkString(e.info)
	}
}

func cmdACLDryrun(c *Ctx) {
	n := c.n
	u := n.acl.reg.Get(string(c.Args[2]))
	if u == nil {
		c.Error("ERR User '" + string(c.Args[2]) + "' not found")
		return
	}
	args := c.Args[3:]
	cmd := n.cmds.lookup(args[0])
	if cmd == nil {
		c.Error("ERR Command '" + string(args[0]) + "' not found")
		return
	}
	sub := cmd
	if cmd.Subcommands != nil && len(args) >= 2 {
		if s := cmd.Subcommands[strings.ToLower(string(args[1]))]; s != nil {
			sub = s
		}
	}
	if !arityOK(sub.Arity, len(args)) {
		c.Error("ERR wrong number of arguments for '" + sub.Name + "' command")
		return
	}
	if u.Full {
		c.R.OK()
		return
	}
	d := n.aclCheckLocked(u, cmd, sub, args)
	if d == nil {
		c.R.OK()
		return
	}
	switch d.reason {
	case "command":
		c.R.BulkString("This user has no permissions to run the '" + d.object + "' command")
	case "key":
		c.R.BulkString("This user has no permissions to access the '" + d.object + "' key")
	default:
		c.R.BulkString("This user has no permissions to access the '" + d.object + "' channel")
	}
}

func cmdACLLoad(c *Ctx) {
	n := c.n
	path := n.cfg.Extra["aclfile"]
	if path == "" {
		c.Error(errNoACLFile)
		return
	}
	// Every problem of the file is reported, as Redis does.
	lines, perrs, err := parseACLFile(path)
	var loaded *acl.Registry
	if err == nil {
		var errs []error
		loaded, errs = acl.Load(n.acl.reg.Catalog(), n.acl.reg.PubsubDefaultAll, true, lines)
		all := append(errs, perrs...)
		if len(all) > 0 {
			sort.SliceStable(all, func(i, j int) bool { return aclErrLine(all[i]) < aclErrLine(all[j]) })
			msgs := make([]string, len(all))
			for i, e := range all {
				msgs[i] = e.Error()
			}
			c.Error("ERR " + strings.Join(msgs, ". ") + ". WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
			return
		}
	}
	if err != nil {
		c.Error("ERR " + strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	if !definesDefault(lines) {
		*loaded.Default() = *n.acl.reg.Default()
	}
	old := n.acl.reg.Replace(loaded)
	n.killUserClientsLocked(c.Cl, old...)
	n.syncDefaultOpenLocked()
	c.R.OK()
}

func aclErrLine(err error) int {
	var le *acl.LineError
	if errors.As(err, &le) {
		return le.Line
	}
	return 0
}

func cmdACLSave(c *Ctx) {
	n := c.n
	path := n.cfg.Extra["aclfile"]
	if path == "" {
		c.Error(errNoACLFile)
		return
	}
	if err := n.saveACLFileLocked(path); err != nil {
		n.log.Warn("ACL SAVE failed", "file", path, "err", err)
		c.Error("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
		return
	}
	c.R.OK()
}
