package node

import (
	"sort"
	"strings"

	"github.com/slotvault/slotvault/internal/glob"
)

// pubsubState is the registry of channel, pattern and shard-channel
// subscriptions, guarded by the node lock. Subscriber lists keep
// subscription order, so messages reach subscribers in the order they
// subscribed, as Redis delivers them; patterns are matched in the order
// they were first subscribed.
type pubsubState struct {
	channels map[string][]*Client
	patterns map[string][]*Client
	// patternOrder lists the patterns with subscribers, oldest first.
	patternOrder []string
	shard        map[string][]*Client
}

// pubsubKind selects one of the three subscription namespaces.
type pubsubKind int

const (
	kindChannel pubsubKind = iota
	kindPattern
	kindShard
)

// Reply words for each kind.
var (
	pubsubSubWord   = [...]string{"subscribe", "psubscribe", "ssubscribe"}
	pubsubUnsubWord = [...]string{"unsubscribe", "punsubscribe", "sunsubscribe"}
)

func (p *pubsubState) init() {
	p.channels = map[string][]*Client{}
	p.patterns = map[string][]*Client{}
	p.shard = map[string][]*Client{}
}

func (p *pubsubState) registry(k pubsubKind) map[string][]*Client {
	switch k {
	case kindPattern:
		return p.patterns
	case kindShard:
		return p.shard
	}
	return p.channels
}

// clientSet returns the client's subscription set of kind k, creating it
// when create is set.
func (cl *Client) pubsubSet(k pubsubKind, create bool) map[string]struct{} {
	ptr := &cl.channels
	switch k {
	case kindPattern:
		ptr = &cl.patterns
	case kindShard:
		ptr = &cl.schannels
	}
	if *ptr == nil && create {
		*ptr = map[string]struct{}{}
	}
	return *ptr
}

// subCount is the count Redis reports in (un)subscribe confirmations:
// channels plus patterns, or shard channels for the sharded commands.
func (cl *Client) subCount(k pubsubKind) int {
	if k == kindShard {
		return len(cl.schannels)
	}
	return len(cl.channels) + len(cl.patterns)
}

// subscribeLocked adds cl to name; it reports whether it was new.
func (p *pubsubState) subscribeLocked(cl *Client, k pubsubKind, name string) bool {
	set := cl.pubsubSet(k, true)
	if _, ok := set[name]; ok {
		return false
	}
	set[name] = struct{}{}
	reg := p.registry(k)
	if k == kindPattern && len(reg[name]) == 0 {
		p.patternOrder = append(p.patternOrder, name)
	}
	reg[name] = append(reg[name], cl)
	return true
}

// unsubscribeLocked removes cl from name; it reports whether it was
// subscribed.
func (p *pubsubState) unsubscribeLocked(cl *Client, k pubsubKind, name string) bool {
	set := cl.pubsubSet(k, false)
	if _, ok := set[name]; !ok {
		return false
	}
	delete(set, name)
	reg := p.registry(k)
	list := reg[name]
	for i, x := range list {
		if x == cl {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(reg, name)
		if k == kindPattern {
			for i, x := range p.patternOrder {
				if x == name {
					p.patternOrder = append(p.patternOrder[:i:i], p.patternOrder[i+1:]...)
					break
				}
			}
		}
	} else {
		reg[name] = list
	}
	return true
}

// removeClientLocked drops every subscription of a disconnecting client.
func (p *pubsubState) removeClientLocked(cl *Client) {
	for _, k := range []pubsubKind{kindChannel, kindPattern, kindShard} {
		for name := range cl.pubsubSet(k, false) {
			p.unsubscribeLocked(cl, k, name)
		}
	}
}

// encodeMessage builds one pub/sub message as a push (RESP3) or an array
// (RESP2).
func encodeMessage(resp3 bool, parts ...[]byte) []byte {
	r := Reply{resp3: resp3}
	r.Push(len(parts))
	for _, p := range parts {
		r.Bulk(p)
	}
	return r.b
}

// publishLocked delivers msg on channel to channel subscribers and
// matching pattern subscribers (or shard-channel subscribers when shard
// is set) and returns the number of deliveries. Messages for self (a
// RESP3 client publishing to a channel it listens to) go into its reply
// buffer r, ahead of the command's reply, as Redis writes them; other
// clients receive them as asynchronous pushes.
func (n *Node) publishLocked(channel, msg []byte, shard bool, self *Client, r *Reply) int {
	p := &n.pubsub
	var enc [2][]byte // RESP2, RESP3 encodings, built on first use
	deliver := func(cl *Client, build func(resp3 bool) []byte) {
		i := 0
		if cl.RESP >= 3 {
			i = 1
		}
		if enc[i] == nil {
			enc[i] = build(i == 1)
		}
		if cl == self && r != nil {
			r.Raw(enc[i])
			return
		}
		if cl.netConn != nil {
			cl.netConn.push(enc[i])
		}
	}
	count := 0
	if shard {
		for _, cl := range p.shard[string(channel)] {
			deliver(cl, func(resp3 bool) []byte { return encodeMessage(resp3, []byte("smessage"), channel, msg) })
			count++
		}
		return count
	}
	for _, cl := range p.channels[string(channel)] {
		deliver(cl, func(resp3 bool) []byte { return encodeMessage(resp3, []byte("message"), channel, msg) })
		count++
	}
	for _, pat := range p.patternOrder {
		if !glob.Match([]byte(pat), channel, false) {
			continue
		}
		var penc [2][]byte
		for _, cl := range p.patterns[pat] {
			i := 0
			if cl.RESP >= 3 {
				i = 1
			}
			if penc[i] == nil {
				penc[i] = encodeMessage(i == 1, []byte("pmessage"), []byte(pat), channel, msg)
			}
			if cl == self && r != nil {
				r.Raw(penc[i])
			} else if cl.netConn != nil {
				cl.netConn.push(penc[i])
			}
			count++
		}
	}
	return count
}

// Publish delivers a message as PUBLISH does (keyspace notifications and
// the cluster bus use it). It returns the number of receivers.
func (n *Node) Publish(channel, msg []byte) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.publishLocked(channel, msg, false, nil, nil)
}

func pubsubCommands() []*Command {
	subFlags := FlagPubSub | FlagNoScript | FlagLoading | FlagStale
	pubFlags := FlagPubSub | FlagLoading | FlagStale | FlagFast
	infoFlags := FlagPubSub | FlagLoading | FlagStale
	return []*Command{
		{Name: "subscribe", Arity: -2, Flags: subFlags, Categories: []string{"pubsub"},
			Summary: "Listen for messages published to the given channels", Since: "2.0.0", Group: "pubsub",
			Handler: func(c *Ctx) { cmdSubscribe(c, kindChannel) }},
		{Name: "psubscribe", Arity: -2, Flags: subFlags, Categories: []string{"pubsub"},
			Summary: "Listen for messages published to channels matching the given patterns", Since: "2.0.0", Group: "pubsub",
			Handler: func(c *Ctx) { cmdSubscribe(c, kindPattern) }},
		{Name: "ssubscribe", Arity: -2, Flags: subFlags, FirstKey: 1, LastKey: -1, Step: 1, Categories: []string{"pubsub"},
			Summary: "Listen for messages published to the given shard channels", Since: "7.0.0", Group: "pubsub",
			Handler: func(c *Ctx) { cmdSubscribe(c, kindShard) }},
		{Name: "unsubscribe", Arity: -1, Flags: subFlags, Categories: []string{"pubsub"},
			Summary: "Stop listening for messages posted to the given channels", Since: "2.0.0", Group: "pubsub",
			Handler: func(c *Ctx) { cmdUnsubscribe(c, kindChannel) }},
		{Name: "punsubscribe", Arity: -1, Flags: subFlags, Categories: []string{"pubsub"},
			Summary: "Stop listening for messages posted to channels matching the given patterns", Since: "2.0.0", Group: "pubsub",
			Handler: func(c *Ctx) { cmdUnsubscribe(c, kindPattern) }},
		{Name: "sunsubscribe", Arity: -1, Flags: subFlags, FirstKey: 1, LastKey: -1, Step: 1, Categories: []string{"pubsub"},
			Summary: "Stop listening for messages posted to the given shard channels", Since: "7.0.0", Group: "pubsub",
			Handler: func(c *Ctx) { cmdUnsubscribe(c, kindShard) }},
		{Name: "publish", Arity: 3, Flags: pubFlags, Categories: []string{"pubsub"},
			Summary: "Post a message to a channel", Since: "2.0.0", Group: "pubsub",
			Handler: func(c *Ctx) { c.R.Int(int64(c.n.publishLocked(c.Args[1], c.Args[2], false, c.Cl, c.R))) }},
		{Name: "spublish", Arity: 3, Flags: pubFlags, FirstKey: 1, LastKey: 1, Step: 1, Categories: []string{"pubsub"},
			Summary: "Post a message to a shard channel", Since: "7.0.0", Group: "pubsub",
			Handler: func(c *Ctx) { c.R.Int(int64(c.n.publishLocked(c.Args[1], c.Args[2], true, c.Cl, c.R))) }},
		{Name: "pubsub", Arity: -2, Categories: []string{"slow"},
			Summary: "A container for Pub/Sub commands", Since: "2.8.0", Group: "pubsub",
			Handler: unknownSubcommand,
			Subcommands: map[string]*Command{
				"channels": {Arity: -2, Flags: infoFlags, Categories: []string{"pubsub"},
					Summary: "List active channels", Since: "2.8.0", Group: "pubsub",
					Handler: func(c *Ctx) { pubsubChannels(c, c.n.pubsub.channels) }},
				"shardchannels": {Arity: -2, Flags: infoFlags, Categories: []string{"pubsub"},
					Summary: "List active shard channels", Since: "7.0.0", Group: "pubsub",
					Handler: func(c *Ctx) { pubsubChannels(c, c.n.pubsub.shard) }},
				"numsub": {Arity: -2, Flags: infoFlags, Categories: []string{"pubsub"},
					Summary: "Get the count of subscribers for channels", Since: "2.8.0", Group: "pubsub",
					Handler: func(c *Ctx) { pubsubNumsub(c, c.n.pubsub.channels) }},
				"shardnumsub": {Arity: -2, Flags: infoFlags, Categories: []string{"pubsub"},
					Summary: "Get the count of subscribers for shard channels", Since: "7.0.0", Group: "pubsub",
					Handler: func(c *Ctx) { pubsubNumsub(c, c.n.pubsub.shard) }},
				"numpat": {Arity: 2, Flags: infoFlags, Categories: []string{"pubsub"},
					Summary: "Get the count of unique patterns pattern subscriptions", Since: "2.8.0", Group: "pubsub",
					Handler: func(c *Ctx) { c.R.Int(int64(len(c.n.pubsub.patterns))) }},
				"help": {Arity: 2, Flags: FlagLoading | FlagStale, Categories: []string{"slow"},
					Summary: "Show helpful text about the different subcommands", Since: "6.2.0", Group: "pubsub",
					Handler: func(c *Ctx) { replyHelp(c, "PUBSUB", pubsubHelp) }},
			}},
	}
}

var pubsubHelp = []string{
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
}

func cmdSubscribe(c *Ctx, k pubsubKind) {
	for _, a := range c.Args[1:] {
		name := string(a)
		c.n.pubsub.subscribeLocked(c.Cl, k, name)
		c.R.Push(3)
		c.R.BulkString(pubsubSubWord[k])
		c.R.BulkString(name)
		c.R.Int(int64(c.Cl.subCount(k)))
	}
}

func cmdUnsubscribe(c *Ctx, k pubsubKind) {
	names := make([]string, 0, len(c.Args)-1)
	for _, a := range c.Args[1:] {
		names = append(names, string(a))
	}
	if len(names) == 0 {
		for name := range c.Cl.pubsubSet(k, false) {
			names = append(names, name)
		}
		sort.Strings(names)
		if len(names) == 0 {
			c.R.Push(3)
			c.R.BulkString(pubsubUnsubWord[k])
			c.R.Null()
			c.R.Int(int64(c.Cl.subCount(k)))
			return
		}
	}
	for _, name := range names {
		c.n.pubsub.unsubscribeLocked(c.Cl, k, name)
		c.R.Push(3)
		c.R.BulkString(pubsubUnsubWord[k])
		c.R.BulkString(name)
		c.R.Int(int64(c.Cl.subCount(k)))
	}
}

func pubsubChannels(c *Ctx, reg map[string][]*Client) {
	if len(c.Args) > 3 {
		subcommandSyntaxError(c)
		return
	}
	var out []string
	for name := range reg {
		if len(c.Args) == 3 && !glob.MatchString(string(c.Args[2]), name, false) {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	c.R.StringArray(out)
}

func pubsubNumsub(c *Ctx, reg map[string][]*Client) {
	c.R.Array(2 * (len(c.Args) - 2))
	for _, a := range c.Args[2:] {
		c.R.Bulk(a)
		c.R.Int(int64(len(reg[string(a)])))
	}
}

// unknownSubcommand is the handler of container commands (CONFIG, PUBSUB,
// ...) reached with a subcommand they do not have.
func unknownSubcommand(c *Ctx) {
	c.Error("ERR unknown subcommand '" + truncArg(c.Args[1], 128) + "'. Try " + strings.ToUpper(strings.SplitN(c.Cmd.Name, "|", 2)[0]) + " HELP.")
}

// replyHelp writes a HELP reply: a heading and the given lines, then the
// HELP entry, each as a status reply, as Redis's addReplyHelp does.
func replyHelp(c *Ctx, name string, lines []string) {
	c.R.Array(len(lines) + 3)
	c.R.Simple(name + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.R.Simple(l)
	}
	c.R.Simple("HELP")
	c.R.Simple("    Prints this help.")
}
