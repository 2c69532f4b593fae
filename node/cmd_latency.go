package node

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LATENCY: the latency monitor (events over latency-monitor-threshold)
// and the per-command histograms (observe.go).

// latencyTSLen is the number of samples kept per event (LATENCY_TS_LEN).
const latencyTSLen = 160

type latencySample struct {
	time    int64 // Unix seconds; 0 = unused
	latency int64 // ms
}

// latencySeries is one event's ring of samples, one per second at most.
type latencySeries struct {
	idx     int
	max     int64
	samples [latencyTSLen]latencySample
}

// latencyState is the latency monitor, guarded by the node lock.
type latencyState struct {
	events map[string]*latencySeries
}

// addLocked records a sample as Redis's latencyAddSample: one per second,
// keeping the highest latency seen within the second.
func (l *latencyState) addLocked(event string, now, ms int64) {
	if l.events == nil {
		l.events = map[string]*latencySeries{}
	}
	ts := l.events[event]
	if ts == nil {
		ts = &latencySeries{}
		l.events[event] = ts
	}
	if ms > ts.max {
		ts.max = ms
	}
	prev := (ts.idx + latencyTSLen - 1) % latencyTSLen
	if ts.samples[prev].time == now {
		if ms > ts.samples[prev].latency {
			ts.samples[prev].latency = ms
		}
		return
	}
	ts.samples[ts.idx] = latencySample{now, ms}
	ts.idx = (ts.idx + 1) % latencyTSLen
}

// AddLatencySample records a latency event from outside the command path
// (the persistence layer's fsyncs, for instance) when it reaches
// latency-monitor-threshold.
func (n *Node) AddLatencySample(event string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if th := n.cfg.Obs.LatencyMonitorThresholdMs; th > 0 && d.Milliseconds() >= th {
		n.latency.addLocked(event, time.Now().Unix(), d.Milliseconds())
	}
}

func (l *latencyState) sortedEvents() []string {
	names := make([]string, 0, len(l.events))
	for k := range l.events {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

var latencyHelp = []string{
	"DOCTOR",
	"    Return a human readable latency analysis report.",
	"GRAPH <event>",
	"    Return an ASCII latency graph for the <event> class.",
	"HISTORY <event>",
	"    Return time-latency samples for the <event> class.",
	"LATEST",
	"    Return the latest latency samples for all events.",
	"RESET [<event> ...]",
	"    Reset latency data of one or more <event> classes.",
	"    (default: reset all data for all event classes)",
	"HISTOGRAM [COMMAND ...]",
	"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
	"    If no commands are specified then all histograms are replied.",
}

func latencyCommand() *Command {
	admin := FlagAdmin | FlagNoScript | FlagLoading | FlagStale
	cats := []string{"admin", "slow", "dangerous"}
	sub := func(arity int, summary, since string, h func(*Ctx)) *Command {
		return &Command{Arity: arity, Flags: admin, Categories: cats, Summary: summary, Since: since, Group: "server", Handler: h}
	}
	return &Command{Name: "latency", Arity: -2, Categories: []string{"slow"},
		Summary: "A container for latency diagnostics commands", Since: "2.8.13", Group: "server",
		Handler: unknownSubcommand,
		Subcommands: map[string]*Command{
			"doctor":    sub(2, "Return a human readable latency analysis report.", "2.8.13", cmdLatencyDoctor),
			"graph":     sub(3, "Return a latency graph for the event.", "2.8.13", cmdLatencyGraph),
			"history":   sub(3, "Return timestamp-latency samples for the event.", "2.8.13", cmdLatencyHistory),
			"latest":    sub(2, "Return the latest latency samples for all events.", "2.8.13", cmdLatencyLatest),
			"reset":     sub(-2, "Reset latency data for one or more events.", "2.8.13", cmdLatencyReset),
			"histogram": sub(-2, "Return the cumulative distribution of latencies of a subset of commands or all commands.", "7.0.0", cmdLatencyHistogram),
			"help": {Arity: 2, Flags: FlagLoading | FlagStale, Categories: []string{"slow"},
				Summary: "Show helpful text about the different subcommands.", Since: "2.8.13", Group: "server",
				Handler: func(c *Ctx) { replyHelp(c, "LATENCY", latencyHelp) }},
		}}
}

func cmdLatencyLatest(c *Ctx) {
	l := &c.n.latency
	names := l.sortedEvents()
	c.R.Array(len(names))
	for _, name := range names {
		ts := l.events[name]
		last := (ts.idx + latencyTSLen - 1) % latencyTSLen
		c.R.Array(4)
		c.R.BulkString(name)
		c.R.Int(ts.samples[last].time)
		c.R.Int(ts.samples[last].latency)
		c.R.Int(ts.max)
	}
}

func cmdLatencyHistory(c *Ctx) {
	ts := c.n.latency.events[string(c.Args[2])]
	if ts == nil {
		c.R.Array(0)
		return
	}
	var out []latencySample
	for j := 0; j < latencyTSLen; j++ {
		if s := ts.samples[(ts.idx+j)%latencyTSLen]; s.time != 0 {
			out = append(out, s)
		}
	}
	c.R.Array(len(out))
	for _, s := range out {
		c.R.Array(2)
		c.R.Int(s.time)
		c.R.Int(s.latency)
	}
}

func cmdLatencyReset(c *Ctx) {
	l := &c.n.latency
	if len(c.Args) == 2 {
		n := len(l.events)
		l.events = nil
		c.R.Int(int64(n))
		return
	}
	n := 0
	for _, a := range c.Args[2:] {
		if _, ok := l.events[string(a)]; ok {
			delete(l.events, string(a))
			n++
		}
	}
	c.R.Int(int64(n))
}

// cmdLatencyGraph draws the event's samples as columns of '#', newest on
// the right, under a header like Redis's (the drawing itself differs).
func cmdLatencyGraph(c *Ctx) {
	event := string(c.Args[2])
	ts := c.n.latency.events[event]
	if ts == nil {
		c.Error("ERR No samples available for event '" + event + "'")
		return
	}
	var samples []latencySample
	for j := 0; j < latencyTSLen; j++ {
		if s := ts.samples[(ts.idx+j)%latencyTSLen]; s.time != 0 {
			samples = append(samples, s)
		}
	}
	lo, hi := samples[0].latency, samples[0].latency
	for _, s := range samples {
		lo, hi = min(lo, s.latency), max(hi, s.latency)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", event, hi, lo, ts.max)
	b.WriteString(strings.Repeat("-", 80) + "\n")
	const rows = 4
	for r := rows; r >= 1; r-- {
		for _, s := range samples {
			level := int64(rows)
			if hi > lo {
				level = 1 + (s.latency-lo)*(rows-1)/(hi-lo)
			}
			if level >= int64(r) {
				b.WriteByte('#')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	now := time.Now().Unix()
	for _, s := range samples {
		b.WriteString(strconv.FormatInt(now-s.time, 10) + "s ")
	}
	b.WriteByte('\n')
	c.R.Verbatim(b.String())
}

func cmdLatencyDoctor(c *Ctx) {
	n := c.n
	var b strings.Builder
	switch {
	case n.cfg.Obs.LatencyMonitorThresholdMs == 0 && len(n.latency.events) == 0:
		b.WriteString("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n")
	case len(n.latency.events) == 0:
		b.WriteString("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n")
	default:
		b.WriteString("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n")
		for i, name := range n.latency.sortedEvents() {
			ts := n.latency.events[name]
			var sum, cnt int64
			var first int64
			for _, s := range ts.samples {
				if s.time == 0 {
					continue
				}
				sum += s.latency
				cnt++
				if first == 0 || s.time < first {
					first = s.time
				}
			}
			avg := int64(0)
			if cnt > 0 {
				avg = sum / cnt
			}
			fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms, worst %dms), first recorded %d seconds ago.\n",
				i+1, name, cnt, avg, ts.max, time.Now().Unix()-first)
		}
		b.WriteString("\nI have a few advices for you:\n\n")
		b.WriteString("- Check your slow log (SLOWLOG GET) for commands taking a long time: O(N) commands on large values (KEYS, SMEMBERS, LRANGE 0 -1, HGETALL, ...) block every other client.\n")
		b.WriteString("- slotvault runs in a Go runtime: GC pauses can add latency with a large heap; compare used_memory with the host's memory and watch INFO memory.\n")
	}
	c.R.Verbatim(b.String())
}

// cmdLatencyHistogram is LATENCY HISTOGRAM: for each command (all those
// called, or the named ones), its call count and the cumulative count per
// power-of-two microsecond bucket, listing only buckets that add calls.
func cmdLatencyHistogram(c *Ctx) {
	n := c.n
	var cmds []*Command
	add := func(cmd *Command) {
		if cmd != nil && cmd.lat.total > 0 {
			cmds = append(cmds, cmd)
		}
	}
	if len(c.Args) == 2 {
		for _, cmd := range n.cmds {
			add(cmd)
			for _, s := range cmd.Subcommands {
				add(s)
			}
		}
		sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	} else {
		// Named commands are listed as asked, repeats included (as Redis).
		for _, a := range c.Args[2:] {
			add(n.lookupFullName(strings.ToLower(string(a))))
		}
	}
	c.R.Map(len(cmds))
	for _, cmd := range cmds {
		c.R.BulkString(cmd.Name)
		c.R.Map(2)
		c.R.BulkString("calls")
		c.R.Int(int64(cmd.lat.total))
		c.R.BulkString("histogram_usec")
		nb := 0
		for _, v := range cmd.lat.counts {
			if v > 0 {
				nb++
			}
		}
		c.R.Map(nb)
		var cum uint64
		for i, v := range cmd.lat.counts {
			cum += v
			if v > 0 {
				c.R.Int(latBucketUsec(i))
				c.R.Int(int64(cum))
			}
		}
	}
}

// lookupFullName finds "cmd" or "cmd|sub".
func (n *Node) lookupFullName(name string) *Command {
	parent, sub, hasSub := strings.Cut(name, "|")
	cmd := n.cmds[parent]
	if cmd == nil || !hasSub {
		return cmd
	}
	return cmd.Subcommands[sub]
}
