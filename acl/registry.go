package acl

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Registry holds the users. The default user always exists.
type Registry struct {
	cat   *Catalog
	users map[string]*User
	// PubsubDefaultAll is acl-pubsub-default: new users start with
	// allchannels when true (Redis 7.0's default is resetchannels).
	PubsubDefaultAll bool
}

// NewRegistry returns a registry with only the default user: on, nopass,
// all keys, channels and commands.
func NewRegistry(cat *Catalog) *Registry {
	r := &Registry{cat: cat, users: map[string]*User{}}
	r.users["default"] = r.newDefault()
	return r
}

func (r *Registry) newDefault() *User {
	u := newUser(r.cat, "default")
	for _, rule := range []string{"+@all", "~*", "&*", "on", "nopass"} {
		u.SetRule(rule, r.PubsubDefaultAll)
	}
	return u
}

// Catalog returns the command catalog.
func (r *Registry) Catalog() *Catalog { return r.cat }

// Default returns the default user.
func (r *Registry) Default() *User { return r.users["default"] }

// Get returns a user, nil if none.
func (r *Registry) Get(name string) *User { return r.users[name] }

// Names returns the user names in order.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.users))
	for n := range r.users {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RuleError is a rule that could not be applied.
type RuleError struct {
	Rule string
	Err  error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("Error in ACL SETUSER modifier '%s': %s", e.Rule, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// ErrBadUsername is returned for names with spaces or NUL bytes.
var ErrBadUsername = errors.New("Usernames can't contain spaces or null characters")

// SetUser creates or modifies a user: all rules apply, or none (the user
// is unchanged on error). It returns the user and whether it was created.
func (r *Registry) SetUser(name string, rules []string) (*User, error) {
	if strings.ContainsAny(name, " \x00") {
		return nil, ErrBadUsername
	}
	u := r.users[name]
	var work *User
	if u == nil {
		work = newUser(r.cat, name)
		if r.PubsubDefaultAll {
			work.AllChannels = true
		}
	} else {
		work = u.clone()
	}
	for _, rule := range rules {
		if err := work.SetRule(rule, r.PubsubDefaultAll); err != nil {
			return nil, &RuleError{Rule: rule, Err: err}
		}
	}
	work.update()
	if u == nil {
		r.users[name] = work
		return work, nil
	}
	*u = *work
	return u, nil
}

// Delete removes a user (not the default one); it reports whether it
// existed.
func (r *Registry) Delete(name string) bool {
	if name == "default" || r.users[name] == nil {
		return false
	}
	delete(r.users, name)
	return true
}

// Replace installs the users of other: the default user is updated in
// place (clients authenticated as it keep it), all other users are new
// objects. It returns the users that were replaced or removed.
func (r *Registry) Replace(other *Registry) []*User {
	var old []*User
	for n, u := range r.users {
		if n != "default" {
			old = append(old, u)
		}
	}
	def := r.users["default"]
	*def = *other.users["default"]
	other.users["default"] = def
	r.users = other.users
	return old
}

// Describe renders a user as ACL LIST and ACL SAVE print it, without the
// leading "user <name> ".
func (r *Registry) Describe(u *User) string {
	var b strings.Builder
	if u.Enabled {
		b.WriteString("on ")
	} else {
		b.WriteString("off ")
	}
	if u.NoPass {
		b.WriteString("nopass ")
	}
	if u.SkipSanitizePayload {
		b.WriteString("skip-sanitize-payload ")
	}
	if u.SanitizePayload {
		b.WriteString("sanitize-payload ")
	}
	for _, p := range u.Passwords {
		b.WriteString("#" + p + " ")
	}
	if u.AllKeys {
		b.WriteString("~* ")
	} else {
		for _, p := range u.Keys {
			b.WriteString(p.String() + " ")
		}
	}
	if u.AllChannels {
		b.WriteString("&* ")
	} else {
		b.WriteString("resetchannels ")
		for _, c := range u.Channels {
			b.WriteString("&" + c + " ")
		}
	}
	b.WriteString(r.CommandRules(u))
	return b.String()
}

// Flags returns the user's flags as ACL GETUSER lists them.
func (u *User) Flags() []string {
	var out []string
	if u.Enabled {
		out = append(out, "on")
	} else {
		out = append(out, "off")
	}
	if u.NoPass {
		out = append(out, "nopass")
	}
	if u.SkipSanitizePayload {
		out = append(out, "skip-sanitize-payload")
	}
	if u.SanitizePayload {
		out = append(out, "sanitize-payload")
	}
	return out
}

// KeysString is the keys field of ACL GETUSER.
func (u *User) KeysString() string {
	if u.AllKeys {
		return "~*"
	}
	parts := make([]string, len(u.Keys))
	for i, p := range u.Keys {
		parts[i] = p.String()
	}
	return strings.Join(parts, " ")
}

// ChannelsString is the channels field of ACL GETUSER.
func (u *User) ChannelsString() string {
	if u.AllChannels {
		return "&*"
	}
	parts := make([]string, len(u.Channels))
	for i, c := range u.Channels {
		parts[i] = "&" + c
	}
	return strings.Join(parts, " ")
}

// CommandRules describes the command bitmap as Redis 7.0 does
// (ACLDescribeSelectorCommandRules): +@all or -@all, then, greedily, the
// category that best fits the remaining differences, then single
// commands. Redis emits the single commands in its hash table's order,
// which varies between servers; slotvault uses name order.
func (r *Registry) CommandRules(u *User) string {
	var rules []string
	fake := newUser(r.cat, "")
	additive := !u.bit(r.cat.futureBit())
	if additive {
		rules = append(rules, "-@all")
		fake.setAll(false)
	} else {
		rules = append(rules, "+@all")
		fake.setAll(true)
	}
	temp := u.clone()
	applied := make([]bool, len(Categories))
	for {
		best := -1
		mindiff, maxsame := int(^uint(0)>>1), 0
		for j := range Categories {
			if applied[j] {
				continue
			}
			on, off := r.countCategory(temp, 1<<j)
			diff, same := off, on
			if !additive {
				diff, same = on, off
			}
			if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
				best, mindiff, maxsame = j, diff, same
			}
		}
		if best == -1 {
			break
		}
		fake.setCategory(1<<best, additive)
		temp.setCategory(1<<best, !additive)
		if additive {
			rules = append(rules, "+@"+Categories[best])
		} else {
			rules = append(rules, "-@"+Categories[best])
		}
		applied[best] = true
	}
	var single func(cmds []*Command)
	single = func(cmds []*Command) {
		for _, c := range cmds {
			ub, fb := u.bit(c.ID), fake.bit(c.ID)
			if ub != fb {
				if ub {
					rules = append(rules, "+"+c.Name)
				} else {
					rules = append(rules, "-"+c.Name)
				}
				fake.changePerm(c, ub)
			}
			single(c.subList)
			if !ub {
				for _, a := range u.firstArgs[c.ID] {
					rules = append(rules, "+"+c.Name+"|"+a)
				}
			}
		}
	}
	single(r.cat.top)
	return strings.Join(rules, " ")
}

func (r *Registry) countCategory(u *User, b uint64) (on, off int) {
	r.cat.walk(func(c *Command) {
		if c.cats&b != 0 {
			if u.bit(c.ID) {
				on++
			} else {
				off++
			}
		}
	})
	return
}

// LineError is a problem at one line of an ACL file or of the config
// file's user lines.
type LineError struct {
	File string // "" when Msg names the line itself
	Line int
	Msg  string
	// Bare: "file:line msg" rather than "file:line: msg" (Redis's texts).
	Bare bool
}

func (e *LineError) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Bare:
		return fmt.Sprintf("%s:%d %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// UserLine is one "user <name> <rules...>" definition with its origin.
type UserLine struct {
	File string
	Line int
	Args []string // without the leading "user"
}

// Load builds a registry from user definitions: an ACL file's lines
// (aclFile) or the config file's user directives, whose error texts differ
// in Redis. Every problem is reported; the result is nil when there is
// any. A definition of "default" replaces the default user's rules (it
// starts from reset, as Redis does).
func Load(cat *Catalog, pubsubDefaultAll, aclFile bool, lines []UserLine) (*Registry, []error) {
	r := NewRegistry(cat)
	r.PubsubDefaultAll = pubsubDefaultAll
	seen := map[string]bool{}
	var errs []error
	for _, l := range lines {
		if len(l.Args) < 1 {
			errs = append(errs, &LineError{File: l.File, Line: l.Line, Msg: "should start with user keyword followed by the username", Bare: true})
			continue
		}
		name := l.Args[0]
		if seen[name] {
			if aclFile {
				errs = append(errs, &LineError{Line: l.Line, Msg: fmt.Sprintf("WARNING: Duplicate user '%s' found on line %d", name, l.Line)})
			} else {
				errs = append(errs, &LineError{File: l.File, Line: l.Line, Msg: "Duplicate user found. A user can only be defined once in config files"})
			}
			continue
		}
		seen[name] = true
		if name == "default" {
			r.users["default"] = newUser(cat, "default")
			r.users["default"].SetRule("reset", pubsubDefaultAll)
		}
		if _, err := r.SetUser(name, l.Args[1:]); err != nil {
			var re *RuleError
			msg := err.Error()
			if errors.As(err, &re) {
				if aclFile {
					msg = fmt.Sprintf("Error in applying operation '%s': %s", re.Rule, re.Err)
				} else {
					msg = fmt.Sprintf("Error in user declaration '%s': %s", re.Rule, re.Err)
				}
			}
			errs = append(errs, &LineError{File: l.File, Line: l.Line, Msg: msg})
		}
	}
	if errs != nil {
		return nil, errs
	}
	return r, nil
}

// ParseFile splits an ACL file's text into user lines. Blank lines are
// skipped; every other line must start with "user".
func ParseFile(file, text string, split func(string) ([]string, error)) ([]UserLine, []error) {
	var out []UserLine
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" {
			continue
		}
		args, err := split(line)
		if err != nil {
			errs = append(errs, &LineError{File: file, Line: i + 1, Msg: "unbalanced quotes in acl line"})
			continue
		}
		if len(args) < 2 || args[0] != "user" {
			errs = append(errs, &LineError{File: file, Line: i + 1, Msg: "should start with user keyword followed by the username", Bare: true})
			continue
		}
		out = append(out, UserLine{File: file, Line: i + 1, Args: args[1:]})
	}
	return out, errs
}

// Save renders every user as ACL SAVE writes the file.
func (r *Registry) Save() string {
	var b strings.Builder
	for _, n := range r.Names() {
		b.WriteString("user " + n + " " + r.Describe(r.users[n]) + "\n")
	}
	return b.String()
}
