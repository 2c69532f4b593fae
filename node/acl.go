package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slotvault/slotvault/acl"
	"github.com/slotvault/slotvault/config"
)

// aclState is the node's user registry and ACL LOG (guarded by n.mu).
type aclState struct {
	reg *acl.Registry
	ids map[*Command]*acl.Command
	// defaultOpen: the default user is on and needs no password, so new
	// and reset connections run commands without AUTH (Redis's
	// authRequired()).
	defaultOpen bool
	log         []*aclLogEntry
}

// aclLogEntry is one ACL LOG record (Redis 7.0 fields).
type aclLogEntry struct {
	count    int64
	reason   string // command, key, channel, auth
	context  string // toplevel, multi
	object   string
	username string
	ctime    time.Time
	info     string
}

// aclDenial says why a command was refused.
type aclDenial struct {
	reason string // "command", "key", "channel"
	object string
	cmd    string // the refused command, for the log's client-info
}

// errACLConfig marks a bad user definition in the config or ACL file.
var errACLConfig = errors.New("node: acl")

// initACL builds the registry from the command table, requirepass, the
// config's user lines or the ACL file.
func (n *Node) initACL() error {
	cat := acl.NewCatalog(n.aclSpecs())
	n.acl.ids = map[*Command]*acl.Command{}
	for _, c := range n.cmds {
		n.acl.ids[c] = cat.Lookup(c.Name)
		for _, s := range c.Subcommands {
			n.acl.ids[s] = cat.Lookup(s.Name)
		}
	}
	pubAll := n.cfg.Extra["acl-pubsub-default"] == "allchannels"
	reg := acl.NewRegistry(cat)
	reg.PubsubDefaultAll = pubAll
	n.acl.reg = reg
	n.applyRequirePassLocked()
	var lines []acl.UserLine
	if f := n.cfg.Extra["aclfile"]; f != "" {
		ls, err := readACLFile(f)
		if err != nil {
			return fmt.Errorf("%w: %v", errACLConfig, err)
		}
		lines = ls
	} else {
		for _, l := range n.cfg.Users {
			lines = append(lines, acl.UserLine{File: l.File, Line: l.Line, Args: l.Args})
		}
	}
	if len(lines) > 0 {
		loaded, errs := acl.Load(cat, pubAll, n.cfg.Extra["aclfile"] != "", lines)
		if errs != nil {
			return fmt.Errorf("%w: %w", errACLConfig, errors.Join(errs...))
		}
		if !definesDefault(lines) {
			// requirepass still applies to a default user the file
			// leaves alone.
			*loaded.Default() = *reg.Default()
		}
		reg.Replace(loaded)
	}
	n.syncDefaultOpenLocked()
	n.syncACLConfigLocked()
	n.OnConfigSet(func(old, cur *config.Config) error {
		if old.RequirePass != cur.RequirePass {
			n.applyRequirePassLocked()
			n.syncDefaultOpenLocked()
		}
		if old.Extra["acl-pubsub-default"] != cur.Extra["acl-pubsub-default"] {
			n.acl.reg.PubsubDefaultAll = cur.Extra["acl-pubsub-default"] == "allchannels"
		}
		return nil
	})
	return nil
}

func definesDefault(lines []acl.UserLine) bool {
	for _, l := range lines {
		if len(l.Args) > 0 && l.Args[0] == "default" {
			return true
		}
	}
	return false
}

func readACLFile(path string) ([]acl.UserLine, error) {
	lines, errs, err := parseACLFile(path)
	if err != nil {
		return nil, err
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return lines, nil
}

// parseACLFile reads an ACL file: its well-formed lines and the problems
// of the others (err is for the file itself).
func parseACLFile(path string) ([]acl.UserLine, []error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading ACL file %s: %v", path, err)
	}
	lines, errs := acl.ParseFile(path, string(data), config.SplitArgs)
	return lines, errs, nil
}

// aclSpecs describes the command table to the ACL catalog.
func (n *Node) aclSpecs() []acl.CommandSpec {
	specs := make([]acl.CommandSpec, 0, len(n.cmds))
	for _, c := range n.cmds {
		s := acl.CommandSpec{Name: c.Name, Categories: commandCategories(c)}
		for _, sub := range c.Subcommands {
			s.Subcommands = append(s.Subcommands, acl.CommandSpec{Name: sub.Name, Categories: commandCategories(sub)})
		}
		specs = append(specs, s)
	}
	return specs
}

// applyRequirePassLocked maps requirepass onto the default user as Redis
// does: "resetpass" then ">pass", or "nopass" when empty.
func (n *Node) applyRequirePassLocked() {
	d := n.acl.reg.Default()
	d.SetRule("resetpass", false)
	if p := n.cfg.RequirePass; p != "" {
		d.SetRule(">"+p, false)
	} else {
		d.SetRule("nopass", false)
	}
}

// syncDefaultOpenLocked follows the default user's state; called after
// every change of the users.
func (n *Node) syncDefaultOpenLocked() {
	d := n.acl.reg.Default()
	n.acl.defaultOpen = d.Enabled && d.NoPass
	n.syncACLConfigLocked()
}

// syncACLConfigLocked gives CONFIG REWRITE the current users.
func (n *Node) syncACLConfigLocked() {
	var lines []string
	for _, name := range n.acl.reg.Names() {
		lines = append(lines, "user "+name+" "+n.acl.reg.Describe(n.acl.reg.Get(name)))
	}
	n.cfg.ACLUsers = lines
}

// defaultUserLocked is the user new connections start as.
func (n *Node) defaultUserLocked() *acl.User { return n.acl.reg.Default() }

// aclCheckLocked checks a command against the client's user; it is only
// called for users without full access. top is the command, sub the
// subcommand when one was named (else top).
func (n *Node) aclCheckLocked(u *acl.User, top, sub *Command, args [][]byte) *aclDenial {
	if sub.Flags&FlagNoAuth != 0 {
		return nil
	}
	if top.Subcommands != nil && sub == top {
		// An unknown subcommand: Redis replies "unknown subcommand" before
		// checking permissions, and so does the container's handler.
		return nil
	}
	id := n.acl.ids[sub]
	if id == nil {
		id = n.acl.ids[top]
	}
	if id != nil {
		var first []byte
		if len(args) > 1 {
			first = args[1]
		}
		if !u.CanRun(id, first) {
			return &aclDenial{reason: "command", object: sub.Name, cmd: sub.Name}
		}
	}
	if !u.AllKeys {
		idx := sub.KeyIndexes(args)
		for k, i := range idx {
			r, w := aclKeyNeeds(sub, args, k)
			if !u.CanAccessKey(args[i], r, w) {
				return &aclDenial{reason: "key", object: string(args[i]), cmd: sub.Name}
			}
		}
	}
	if !u.AllChannels {
		var chans [][]byte
		literal := false
		switch sub.Name {
		case "publish", "spublish":
			chans = args[1:2]
		case "subscribe", "ssubscribe":
			chans = args[1:]
		case "psubscribe":
			chans, literal = args[1:], true
		}
		for _, ch := range chans {
			if !u.CanAccessChannel(ch, literal) {
				return &aclDenial{reason: "channel", object: string(ch), cmd: sub.Name}
			}
		}
	}
	return nil
}

// keyNeed is the access a key specification requires under ACL rules.
type keyNeed uint8

const (
	keyAny keyNeed = iota // any pattern matching the key
	keyR                  // a pattern with read permission
	keyW                  // a pattern with write permission
	keyRW                 // both
)

// aclKeyNeeds says whether the k-th key of a command needs read and/or
// write permission. Redis derives this from each command's key
// specifications; slotvault carries them as data (acl_keyspecs.go, one
// entry per specification, the k-th key taking the k-th specification and
// the last one covering the rest), with Redis's variable cases (SET ... GET,
// SORT ... STORE, BITFIELD with only GET) decided here.
func aclKeyNeeds(cmd *Command, args [][]byte, k int) (read, write bool) {
	switch cmd.Name {
	case "set":
		for _, a := range args[3:] {
			if strings.EqualFold(string(a), "get") {
				return true, true
			}
		}
		return false, true
	case "sort":
		return k == 0, k != 0
	case "bitfield":
		// Only GET operations: a read (Redis's bitfieldGetKeys).
		for _, a := range args[2:] {
			if strings.EqualFold(string(a), "set") || strings.EqualFold(string(a), "incrby") {
				return true, true
			}
		}
		return true, false
	}
	needs := redisKeyNeeds[cmd.Name]
	if len(needs) == 0 {
		// Not in Redis 7.0's table (slotvault's own commands).
		if cmd.Flags&FlagWrite != 0 {
			return false, true
		}
		return true, false
	}
	n := needs[min(k, len(needs)-1)]
	return n == keyR || n == keyRW, n == keyW || n == keyRW
}

// aclDenyLocked records a refused command in the ACL LOG and returns the
// client's error.
func (n *Node) aclDenyLocked(cl *Client, d *aclDenial) string {
	ctx := "toplevel"
	if cl.inMulti {
		ctx = "multi"
	}
	last := cl.LastCmd
	cl.LastCmd = d.cmd // Redis's client-info names the refused command
	n.aclLogLocked(cl, d.reason, ctx, d.object, cl.User)
	cl.LastCmd = last
	switch d.reason {
	case "command":
		return "NOPERM this user has no permissions to run the '" + d.object + "' command"
	case "key":
		return "NOPERM this user has no permissions to access one of the keys used as arguments"
	default:
		return "NOPERM this user has no permissions to access one of the channels used as arguments"
	}
}

// aclLogLocked adds an ACL LOG entry, merging it with a recent identical
// one as Redis does (same reason, context, object and user within 60 s).
func (n *Node) aclLogLocked(cl *Client, reason, ctx, object, user string) {
	now := time.Now()
	var b strings.Builder
	n.writeClientInfoLocked(&b, cl, &cl.ctx)
	for i, e := range n.acl.log {
		if e.reason == reason && e.context == ctx && e.object == object && e.username == user && now.Sub(e.ctime) <= time.Minute {
			e.count++
			e.ctime = now
			e.info = b.String()
			copy(n.acl.log[1:i+1], n.acl.log[:i])
			n.acl.log[0] = e
			return
		}
	}
	e := &aclLogEntry{count: 1, reason: reason, context: ctx, object: object, username: user, ctime: now, info: b.String()}
	n.acl.log = append([]*aclLogEntry{e}, n.acl.log...)
	max := int(n.cfgInt("acllog-max-len", 128))
	if len(n.acl.log) > max {
		n.acl.log = n.acl.log[:max]
	}
}

// authenticateLocked checks credentials and, when they are good, makes cl
// that user. A failure is logged in the ACL LOG.
func (n *Node) authenticateLocked(cl *Client, cmdName string, user, pass []byte) bool {
	u := n.acl.reg.Get(string(user))
	if u == nil || !u.CheckPassword(pass) {
		ctx := "toplevel"
		if cl.inMulti {
			ctx = "multi"
		}
		n.aclLogLocked(cl, "auth", ctx, cmdName, string(user))
		return false
	}
	cl.aclUser = u
	cl.User = u.Name
	cl.Authenticated = true
	return true
}

// killUserClientsLocked disconnects the clients authenticated as one of
// users (ACL DELUSER, ACL LOAD); the calling client is closed after its
// reply.
func (n *Node) killUserClientsLocked(cur *Client, users ...*acl.User) {
	for _, cl := range n.sortedClientsLocked() {
		for _, u := range users {
			if cl.aclUser != u {
				continue
			}
			if cl == cur {
				cl.closeAfterReply()
			} else {
				n.killClientLocked(cl)
			}
			break
		}
	}
}

// killRevokedSubscribersLocked disconnects clients of u subscribed to a
// channel or pattern u may no longer use (ACLKillPubsubClientsIfNeeded).
func (n *Node) killRevokedSubscribersLocked(cur *Client, u *acl.User) {
	if u.AllChannels {
		return
	}
	for _, cl := range n.sortedClientsLocked() {
		if cl.aclUser != u || cl.SubscriptionCount() == 0 {
			continue
		}
		bad := false
		for ch := range cl.channels {
			bad = bad || !u.CanAccessChannel([]byte(ch), false)
		}
		for ch := range cl.schannels {
			bad = bad || !u.CanAccessChannel([]byte(ch), false)
		}
		for p := range cl.patterns {
			bad = bad || !u.CanAccessChannel([]byte(p), true)
		}
		if !bad {
			continue
		}
		if cl == cur {
			cl.closeAfterReply()
		} else {
			n.killClientLocked(cl)
		}
	}
}

// saveACLFile writes the users to the ACL file: temp file, fsync, rename,
// fsync the directory.
func (n *Node) saveACLFileLocked(path string) error {
	data := n.acl.reg.Save()
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".acl-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.WriteString(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// aclRecheckInExecLocked checks a queued command again when EXEC runs it,
// as Redis 7.0 does, in case the user's rules changed after queueing. It
// reports whether the command was refused (the error is written to r).
func (n *Node) aclRecheckInExecLocked(cl *Client, cmd, sub *Command, args [][]byte, r *Reply) bool {
	u := cl.aclUser
	if u == nil || u.Full {
		return false
	}
	d := n.aclCheckLocked(u, cmd, sub, args)
	if d == nil {
		return false
	}
	n.aclDenyLocked(cl, d)
	reason := "no permission to execute the command or subcommand"
	switch d.reason {
	case "key":
		reason = "no permission to touch the specified keys"
	case "channel":
		reason = "no permission to access one of the channels used as arguments"
	}
	r.Error("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + reason)
	return true
}

// AllowSideChannel decides whether a request to one of the node's HTTP
// endpoints (the Prometheus metrics) may proceed: always while the
// default user needs no password (as a client connection would be let in),
// otherwise only with the name and password of an enabled user, checked
// as AUTH checks them. given is false when the request carried no
// credentials.
func (n *Node) AllowSideChannel(user, pass string, given bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.acl.defaultOpen {
		return true
	}
	if !given {
		return false
	}
	if user == "" {
		user = "default"
	}
	u := n.acl.reg.Get(user)
	return u != nil && u.CheckPassword([]byte(pass))
}
