package acl

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/slotvault/slotvault/internal/glob"
)

// Rule errors, with Redis's texts (ACLSetUserStringError).
var (
	ErrUnknownCommand = errors.New("Unknown command or category name in ACL")
	ErrSyntax         = errors.New("Syntax error")
	ErrKeysAfterAll   = errors.New("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
	ErrChansAfterAll  = errors.New("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
	ErrNoSuchPassword = errors.New("The password you are trying to remove from the user does not exist")
	ErrBadHash        = errors.New("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
	ErrSubFirstArg    = errors.New("Allowing first-arg of a subcommand is not supported")
	ErrSelectors      = errors.New("Selectors are not supported by slotvault")
)

// KeyPattern is one ~pattern, %R~pattern or %W~pattern.
type KeyPattern struct {
	Pattern     string
	Read, Write bool
}

func (p KeyPattern) String() string {
	switch {
	case p.Read && p.Write:
		return "~" + p.Pattern
	case p.Read:
		return "%R~" + p.Pattern
	default:
		return "%W~" + p.Pattern
	}
}

// User is one ACL user. Clients keep a pointer to it: changes made through
// the Registry are made in place and apply to their next command.
type User struct {
	Name                string
	Enabled             bool
	NoPass              bool
	SanitizePayload     bool
	SkipSanitizePayload bool
	// Passwords are hex SHA-256 digests, in the order they were added.
	Passwords []string

	cat         *Catalog
	allowed     []uint64
	allCommands bool // every command bit set since the last +@all
	firstArgs   map[int][]string

	AllKeys     bool
	Keys        []KeyPattern
	AllChannels bool
	Channels    []string

	// Full is true when the user may run every command on every key and
	// channel: the dispatcher then skips all checks. Kept current by
	// every change.
	Full bool
}

func newUser(cat *Catalog, name string) *User {
	return &User{Name: name, cat: cat, allowed: make([]uint64, (cat.size()+63)/64)}
}

func (u *User) bit(id int) bool { return u.allowed[id/64]&(1<<(id%64)) != 0 }

func (u *User) setBit(id int, v bool) {
	if v {
		u.allowed[id/64] |= 1 << (id % 64)
	} else {
		u.allowed[id/64] &^= 1 << (id % 64)
		u.allCommands = false
	}
}

// changePerm allows or blocks a command and, for a container, all its
// subcommands (ACLChangeSelectorPerm).
func (u *User) changePerm(c *Command, allow bool) {
	u.setBit(c.ID, allow)
	delete(u.firstArgs, c.ID)
	for _, s := range c.subList {
		u.setBit(s.ID, allow)
	}
}

func (u *User) setCategory(b uint64, allow bool) {
	for _, c := range u.cat.top {
		if c.cats&b != 0 {
			u.changePerm(c, allow)
		}
		for _, s := range c.subList {
			if s.cats&b != 0 {
				u.changePerm(s, allow)
			}
		}
	}
}

func (u *User) setAll(allow bool) {
	for i := range u.allowed {
		if allow {
			u.allowed[i] = ^uint64(0)
		} else {
			u.allowed[i] = 0
		}
	}
	u.allCommands = allow
	u.firstArgs = nil
}

// clone returns a deep copy (ACL SETUSER applies rules to a copy first, so
// a failing rule leaves the user unchanged).
func (u *User) clone() *User {
	c := *u
	c.Passwords = append([]string(nil), u.Passwords...)
	c.allowed = append([]uint64(nil), u.allowed...)
	c.Keys = append([]KeyPattern(nil), u.Keys...)
	c.Channels = append([]string(nil), u.Channels...)
	if u.firstArgs != nil {
		c.firstArgs = make(map[int][]string, len(u.firstArgs))
		for k, v := range u.firstArgs {
			c.firstArgs[k] = append([]string(nil), v...)
		}
	}
	return &c
}

func (u *User) update() {
	u.Full = u.allCommands && u.AllKeys && u.AllChannels
}

// HashPassword is the stored form of a password.
func HashPassword(p []byte) string {
	s := sha256.Sum256(p)
	return hex.EncodeToString(s[:])
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckPassword reports whether pass opens u (an enabled user only). The
// comparison of digests takes the same time whatever the password.
func (u *User) CheckPassword(pass []byte) bool {
	if !u.Enabled {
		return false
	}
	if u.NoPass {
		return true
	}
	h := HashPassword(pass)
	ok := 0
	for _, p := range u.Passwords {
		ok |= subtle.ConstantTimeCompare([]byte(h), []byte(p))
	}
	return ok == 1
}

// SetRule applies one rule of the ACL SETUSER language to u in place.
// pubsubDefaultAll is acl-pubsub-default (true for allchannels), used by
// "reset".
func (u *User) SetRule(rule string, pubsubDefaultAll bool) error {
	err := u.setRule(rule, pubsubDefaultAll)
	u.update()
	return err
}

func (u *User) setRule(op string, pubsubDefaultAll bool) error {
	switch strings.ToLower(op) {
	case "on":
		u.Enabled = true
		return nil
	case "off":
		u.Enabled = false
		return nil
	case "skip-sanitize-payload":
		u.SkipSanitizePayload, u.SanitizePayload = true, false
		return nil
	case "sanitize-payload":
		u.SkipSanitizePayload, u.SanitizePayload = false, true
		return nil
	case "nopass":
		u.NoPass = true
		u.Passwords = nil
		return nil
	case "resetpass":
		u.NoPass = false
		u.Passwords = nil
		return nil
	case "allkeys", "~*":
		u.AllKeys = true
		u.Keys = nil
		return nil
	case "resetkeys":
		u.AllKeys = false
		u.Keys = nil
		return nil
	case "allchannels", "&*":
		u.AllChannels = true
		u.Channels = nil
		return nil
	case "resetchannels":
		u.AllChannels = false
		u.Channels = nil
		return nil
	case "allcommands", "+@all":
		u.setAll(true)
		return nil
	case "nocommands", "-@all":
		u.setAll(false)
		return nil
	case "clearselectors":
		return nil
	case "reset":
		for _, r := range []string{"resetpass", "resetkeys", "resetchannels"} {
			u.setRule(r, pubsubDefaultAll)
		}
		if pubsubDefaultAll {
			u.setRule("allchannels", pubsubDefaultAll)
		}
		u.setRule("off", pubsubDefaultAll)
		u.setRule("sanitize-payload", pubsubDefaultAll)
		u.setRule("-@all", pubsubDefaultAll)
		return nil
	}
	if op == "" {
		return ErrSyntax
	}
	switch op[0] {
	case '>', '#':
		h := op[1:]
		if op[0] == '>' {
			h = HashPassword([]byte(op[1:]))
		} else if !validHash(h) {
			return ErrBadHash
		}
		for _, p := range u.Passwords {
			if p == h {
				u.NoPass = false
				return nil
			}
		}
		u.Passwords = append(u.Passwords, h)
		u.NoPass = false
		return nil
	case '<', '!':
		h := op[1:]
		if op[0] == '<' {
			h = HashPassword([]byte(op[1:]))
		} else if !validHash(h) {
			return ErrBadHash
		}
		for i, p := range u.Passwords {
			if p == h {
				u.Passwords = append(u.Passwords[:i], u.Passwords[i+1:]...)
				return nil
			}
		}
		return ErrNoSuchPassword
	case '~', '%':
		return u.addKeyPattern(op)
	case '&':
		if u.AllChannels {
			return ErrChansAfterAll
		}
		for _, c := range u.Channels {
			if c == op[1:] {
				return nil
			}
		}
		u.Channels = append(u.Channels, op[1:])
		return nil
	case '(':
		return ErrSelectors
	case '+', '-':
		return u.commandRule(op)
	}
	return ErrSyntax
}

func (u *User) addKeyPattern(op string) error {
	if u.AllKeys {
		return ErrKeysAfterAll
	}
	p := KeyPattern{}
	var pat string
	if op[0] == '%' {
		i := 1
		for ; i < len(op) && op[i] != '~'; i++ {
			switch op[i] {
			case 'R', 'r':
				p.Read = true
			case 'W', 'w':
				p.Write = true
			default:
				return ErrSyntax
			}
		}
		if !p.Read && !p.Write {
			return ErrSyntax
		}
		if i < len(op) {
			pat = op[i+1:]
		} // else: Redis 7.0 takes "%R" as "%R~" (an empty pattern)
	} else {
		p.Read, p.Write = true, true
		pat = op[1:]
	}
	p.Pattern = pat
	if p.Read && p.Write && pat == "*" {
		u.AllKeys = true
		u.Keys = nil
		return nil
	}
	for i := range u.Keys {
		if u.Keys[i].Pattern == pat {
			u.Keys[i].Read = u.Keys[i].Read || p.Read
			u.Keys[i].Write = u.Keys[i].Write || p.Write
			return nil
		}
	}
	u.Keys = append(u.Keys, p)
	return nil
}

func (u *User) commandRule(op string) error {
	allow := op[0] == '+'
	if len(op) > 1 && op[1] == '@' {
		b := CategoryBit(op[2:])
		if b == 0 {
			return ErrUnknownCommand
		}
		u.setCategory(b, allow)
		return nil
	}
	name := op[1:]
	i := strings.LastIndexByte(name, '|')
	if !allow || i < 0 {
		c := u.cat.Lookup(name)
		if c == nil {
			return ErrUnknownCommand
		}
		u.changePerm(c, allow)
		return nil
	}
	c := u.cat.Lookup(name[:i])
	if c == nil {
		return ErrUnknownCommand
	}
	if c.Parent != nil {
		return ErrSubFirstArg
	}
	sub := strings.ToLower(name[i+1:])
	if sub == "" {
		return ErrSyntax
	}
	if c.HasSubcommands() {
		s := c.subs[sub]
		if s == nil {
			return ErrUnknownCommand
		}
		u.changePerm(s, true)
		return nil
	}
	// A first argument of a plain command (+select|0): allowed only with
	// that argument. Redis keeps this for compatibility and so do we. On
	// an allowed command it changes nothing (and is not described).
	if u.bit(c.ID) {
		return nil
	}
	if u.firstArgs == nil {
		u.firstArgs = map[int][]string{}
	}
	for _, a := range u.firstArgs[c.ID] {
		if a == sub {
			return nil
		}
	}
	u.firstArgs[c.ID] = append(u.firstArgs[c.ID], sub)
	return nil
}

// CanRun reports whether u may run command c (a subcommand when one was
// named); firstArg is the command's first argument, for +cmd|arg rules.
func (u *User) CanRun(c *Command, firstArg []byte) bool {
	if u.allCommands || u.bit(c.ID) {
		return true
	}
	if c.Parent == nil && firstArg != nil {
		for _, a := range u.firstArgs[c.ID] {
			if strings.EqualFold(a, string(firstArg)) {
				return true
			}
		}
	}
	return false
}

// CanAccessKey reports whether u may access key with the given needs.
func (u *User) CanAccessKey(key []byte, read, write bool) bool {
	if u.AllKeys {
		return true
	}
	for _, p := range u.Keys {
		if (read && !p.Read) || (write && !p.Write) {
			continue
		}
		if glob.Match([]byte(p.Pattern), key, false) {
			return true
		}
	}
	return false
}

// CanAccessChannel reports whether u may use channel; literal is true for
// PSUBSCRIBE patterns, which must equal an allowed pattern exactly.
func (u *User) CanAccessChannel(ch []byte, literal bool) bool {
	if u.AllChannels {
		return true
	}
	for _, p := range u.Channels {
		if literal {
			if p == string(ch) {
				return true
			}
		} else if glob.Match([]byte(p), ch, false) {
			return true
		}
	}
	return false
}
