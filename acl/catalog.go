package acl

import (
	"sort"
	"strings"
)

// Categories are Redis 7.0's ACL categories in its own order (ACL CAT and
// the describe algorithm both walk them in this order).
var Categories = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
}

// CategoryBit returns the bit of a category name (case-insensitive), 0 if
// unknown.
func CategoryBit(name string) uint64 {
	for i, c := range Categories {
		if strings.EqualFold(c, name) {
			return 1 << i
		}
	}
	return 0
}

// CommandSpec describes one command of the node's table to the catalog.
type CommandSpec struct {
	// Name is lower case; a subcommand is named "parent|sub".
	Name       string
	Categories []string
	// Subcommands of a container command.
	Subcommands []CommandSpec
}

// Command is a command known to the ACL system, with its bitmap id.
type Command struct {
	ID         int
	Name       string
	cats       uint64
	Parent     *Command
	subs       map[string]*Command
	subList    []*Command // sorted by name
	Categories []string
}

// HasSubcommands reports whether c is a container command.
func (c *Command) HasSubcommands() bool { return len(c.subList) > 0 }

// InCategory reports whether c belongs to the category with bit b.
func (c *Command) InCategory(b uint64) bool { return c.cats&b != 0 }

// Catalog is the set of commands the rules name; ids index user bitmaps.
type Catalog struct {
	top    []*Command // sorted by name
	byName map[string]*Command
	all    []*Command // by id
}

// NewCatalog numbers the commands: ids are assigned in name order, each
// container followed by its subcommands.
func NewCatalog(specs []CommandSpec) *Catalog {
	sorted := append([]CommandSpec(nil), specs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	cat := &Catalog{byName: map[string]*Command{}}
	mk := func(s CommandSpec, parent *Command) *Command {
		c := &Command{ID: len(cat.all), Name: strings.ToLower(s.Name), Parent: parent, Categories: s.Categories}
		for _, n := range s.Categories {
			c.cats |= CategoryBit(n)
		}
		cat.all = append(cat.all, c)
		cat.byName[c.Name] = c
		return c
	}
	for _, s := range sorted {
		c := mk(s, nil)
		cat.top = append(cat.top, c)
		subs := append([]CommandSpec(nil), s.Subcommands...)
		sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
		for _, ss := range subs {
			sc := mk(ss, c)
			if c.subs == nil {
				c.subs = map[string]*Command{}
			}
			c.subs[sc.Name[strings.LastIndexByte(sc.Name, '|')+1:]] = sc
			c.subList = append(c.subList, sc)
		}
	}
	return cat
}

// Lookup finds a command by its full name ("get", "config|get"), any case.
func (cat *Catalog) Lookup(name string) *Command { return cat.byName[strings.ToLower(name)] }

// size is the number of bitmap bits: one per command plus the reserved
// "future commands" bit set only by +@all.
func (cat *Catalog) size() int { return len(cat.all) + 1 }

func (cat *Catalog) futureBit() int { return len(cat.all) }

// CommandsIn lists the full names of the commands of a category
// (subcommands included), sorted, for ACL CAT.
func (cat *Catalog) CommandsIn(category string) ([]string, bool) {
	b := CategoryBit(category)
	if b == 0 {
		return nil, false
	}
	var out []string
	for _, c := range cat.all {
		if c.cats&b != 0 {
			out = append(out, c.Name)
		}
	}
	return out, true
}

// walk visits commands as Redis walks its command dict: each command,
// then its subcommands.
func (cat *Catalog) walk(fn func(c *Command)) {
	for _, c := range cat.top {
		fn(c)
		for _, s := range c.subList {
			fn(s)
		}
	}
}
