package node

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/store"
)

// observabilityCommands: LATENCY, MEMORY, MONITOR (CLUSTER SLOT-STATS is
// in cluster_slotstats.go).
func observabilityCommands() []*Command {
	return []*Command{latencyCommand(), memoryCommand(),
		{Name: "monitor", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale,
			Categories: []string{"admin", "slow", "dangerous"},
			Summary:    "Listen for all requests received by the server in real time", Since: "1.0.0", Group: "server",
			Handler: cmdMonitor},
	}
}

// ---- LATENCY ----

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

// ---- MONITOR ----

func cmdMonitor(c *Ctx) {
	n, cl := c.n, c.Cl
	if cl.inMulti {
		c.Error("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	if n.isMonitorLocked(cl) {
		return // already monitoring: Redis sends nothing
	}
	n.monitors = append(n.monitors, cl)
	c.R.OK()
}

func (n *Node) isMonitorLocked(cl *Client) bool {
	for _, m := range n.monitors {
		if m == cl {
			return true
		}
	}
	return false
}

// removeMonitorLocked stops feeding cl (disconnect, RESET).
func (n *Node) removeMonitorLocked(cl *Client) {
	for i, m := range n.monitors {
		if m == cl {
			n.monitors = append(n.monitors[:i], n.monitors[i+1:]...)
			return
		}
	}
}

// monitorRejectLocked is Redis's check that a MONITOR client (a replica
// internally) does not touch the keyspace; it reports whether it replied.
func (n *Node) monitorRejectLocked(cl *Client, sub *Command) bool {
	if sub.Flags&(FlagWrite|FlagReadonly|FlagMayReplicate) == 0 || !n.isMonitorLocked(cl) {
		return false
	}
	cl.reply.Error("ERR Replica can't interact with the keyspace")
	n.countErrorUnlocked("ERR")
	return true
}

// feedMonitorsLocked sends one executed command to every MONITOR client in
// Redis's format: +<unix time>.<µs> [<db> <peer>] "arg" "arg"... A monitor
// that ran the command itself gets the line in its reply buffer r, right
// after the command's reply, as Redis orders them.
func (n *Node) feedMonitorsLocked(cl *Client, args [][]byte, at time.Time, r *Reply) {
	line := make([]byte, 0, 64+requestLen(args))
	line = append(line, '+')
	line = strconv.AppendInt(line, at.Unix(), 10)
	line = append(line, '.')
	us := strconv.FormatInt(int64(at.Nanosecond()/1000), 10)
	line = append(line, "000000"[len(us):]...)
	line = append(line, us...)
	line = append(line, " ["...)
	line = strconv.AppendInt(line, int64(cl.DB), 10)
	line = append(line, ' ')
	line = append(line, cl.Addr...)
	line = append(line, "] "...)
	for i, a := range args {
		if i > 0 {
			line = append(line, ' ')
		}
		line = appendRepr(line, a)
	}
	line = append(line, "\r\n"...)
	for _, m := range n.monitors {
		switch {
		case m == cl && r != nil:
			r.Raw(line)
		case m.netConn != nil:
			m.netConn.push(line)
		}
	}
}

// appendRepr quotes b as Redis's sdscatrepr.
func appendRepr(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, ch := range b {
		switch ch {
		case '\\', '"':
			dst = append(dst, '\\', ch)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\a':
			dst = append(dst, '\\', 'a')
		case '\b':
			dst = append(dst, '\\', 'b')
		default:
			if ch >= 0x20 && ch < 0x7f {
				dst = append(dst, ch)
			} else {
				dst = append(dst, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(dst, '"')
}

// ---- MEMORY ----

var memoryHelp = []string{
	"DOCTOR",
	"    Return memory problems reports.",
	"MALLOC-STATS",
	"    Return internal statistics report from the memory allocator.",
	"PURGE",
	"    Attempt to purge dirty pages for reclamation by the allocator.",
	"STATS",
	"    Return information about the memory usage of the server.",
	"USAGE <key> [SAMPLES <count>]",
	"    Return memory in bytes used by <key> and its value. Nested values are",
	"    sampled up to <count> times (default: 5, 0 means sample all).",
}

func memoryCommand() *Command {
	sub := func(arity int, summary string, h func(*Ctx)) *Command {
		return &Command{Arity: arity, Categories: []string{"slow"}, Summary: summary, Since: "4.0.0", Group: "server", Handler: h}
	}
	usage := sub(-3, "Estimate the memory usage of a key", cmdMemoryUsage)
	usage.Flags = FlagReadonly
	usage.FirstKey, usage.LastKey, usage.Step = 2, 2, 1
	usage.Categories = []string{"read", "slow"}
	help := sub(2, "Show helpful text about the different subcommands", func(c *Ctx) { replyHelp(c, "MEMORY", memoryHelp) })
	help.Flags = FlagLoading | FlagStale
	return &Command{Name: "memory", Arity: -2, Categories: []string{"slow"},
		Summary: "A container for memory diagnostics commands", Since: "4.0.0", Group: "server",
		Handler: unknownSubcommand,
		Subcommands: map[string]*Command{
			"doctor":       sub(2, "Outputs memory problems report", cmdMemoryDoctor),
			"malloc-stats": sub(2, "Show allocator internal stats", cmdMemoryMallocStats),
			"purge":        sub(2, "Ask the allocator to release memory", cmdMemoryPurge),
			"stats":        sub(2, "Show memory usage details", cmdMemoryStats),
			"usage":        usage,
			"help":         help,
		}}
}

func cmdMemoryUsage(c *Ctx) {
	samples := int64(5)
	for j := 3; j < len(c.Args); j++ {
		if c.ArgIs(j, "samples") && j+1 < len(c.Args) {
			v, ok := ParseInt(c.Args[j+1])
			if !ok {
				c.Error(ErrNotInt)
				return
			}
			if v < 0 {
				c.ErrSyntax()
				return
			}
			if v == 0 {
				v = 1 << 62
			}
			samples = v
			j++
			continue
		}
		c.ErrSyntax()
		return
	}
	// Like Redis (dictFind), an expired key not yet removed still counts.
	key := string(c.Args[2])
	e := c.DB.Peek(key)
	if e == nil {
		c.R.Null()
		return
	}
	c.R.Int(keyMemoryUsage(key, e, samples))
}

// Size model for MEMORY USAGE: what the Go representation costs, roughly
// (headers, pointers and map-bucket overhead per element); proportional to
// the value's size, not exact.
const (
	memKeyOverhead  = 72 // map entry, Entry struct, string header
	memSmallElem    = 16 // listpack/intset-style element overhead
	memPointerElem  = 24 // list element: slice header
	memHashElem     = 48 // hash-table element: map slot + two string headers
	memSkiplistElem = 96 // zset element: skiplist node + dict entry
)

// keyMemoryUsage estimates the bytes used by a key and its value,
// sampling up to samples elements of an aggregate (as Redis's
// objectComputeSize) and extrapolating.
func keyMemoryUsage(key string, e *store.Entry, samples int64) int64 {
	total := int64(memKeyOverhead + len(key))
	sampled := func(n int, each func(fn func(size int) bool)) int64 {
		if n == 0 {
			return 0
		}
		var sum, cnt int64
		each(func(size int) bool {
			sum += int64(size)
			cnt++
			return cnt < samples
		})
		if cnt == 0 {
			return 0
		}
		return sum * int64(n) / cnt
	}
	switch v := e.Value.(type) {
	case *store.String:
		total += 16 + int64(cap(v.B))
	case *store.List:
		total += 48 + sampled(v.Len(), func(fn func(int) bool) {
			v.Each(func(_ int, b []byte) bool { return fn(memPointerElem + len(b)) })
		})
	case *store.Set:
		per := memHashElem
		if v.IsIntset() {
			per = memSmallElem - 8
		}
		total += 48 + sampled(v.Len(), func(fn func(int) bool) {
			v.Range(func(m string) bool { return fn(per + len(m)) })
		})
	case *store.Hash:
		per := memHashElem
		if v.IsListpack() {
			per = memSmallElem
		}
		total += 48 + sampled(v.Len(), func(fn func(int) bool) {
			v.Range(func(f, val string) bool { return fn(per + len(f) + len(val)) })
		})
	case *store.ZSet:
		per := memSkiplistElem
		if v.IsListpack() {
			per = memSmallElem + 8
		}
		total += 64 + sampled(v.Len(), func(fn func(int) bool) {
			for x := v.First(); x != nil; x = x.Next() {
				if !fn(per + len(x.Member())) {
					return
				}
			}
		})
	default:
		total += 64
	}
	return total
}

// memoryStatsLocked gathers MEMORY STATS figures.
func (n *Node) memoryStatsLocked() (fields []memField, dbs []memDB) {
	used := usedMemory()
	if used > n.server.peakMemory {
		n.server.peakMemory = used
	}
	peak := n.server.peakMemory
	rss := residentMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	backlog := n.replBacklogMemLocked()
	clientsNormal := int64(0)
	for range n.clients {
		clientsNormal += clientStructMem + replyBufSize
	}
	keys := int64(0)
	for i, db := range n.dbs {
		if db.Size() == 0 {
			continue
		}
		keys += int64(db.Size())
		dbs = append(dbs, memDB{i, int64(db.Size()) * 48, int64(db.Volatile()) * 32})
	}
	startup := int64(ms.HeapAlloc) / 16 // a stand-in: the runtime's own share is not separable
	overhead := startup + backlog + clientsNormal
	for _, d := range dbs {
		overhead += d.main + d.expires
	}
	dataset := int64(used) - overhead
	if dataset < 0 {
		dataset = 0
	}
	perKey := int64(0)
	if keys > 0 {
		perKey = (int64(used) - startup) / keys
	}
	pct := func(a, b int64) float64 {
		if b <= 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	r := func(a, b uint64) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	fields = []memField{
		{"peak.allocated", int64(peak), 0, false},
		{"total.allocated", int64(used), 0, false},
		{"startup.allocated", startup, 0, false},
		{"replication.backlog", backlog, 0, false},
		{"clients.slaves", 0, 0, false},
		{"clients.normal", clientsNormal, 0, false},
		{"cluster.links", 0, 0, false},
		{"aof.buffer", 0, 0, false},
		{"lua.caches", 0, 0, false},
		{"functions.caches", 0, 0, false},
		{"", 0, 0, false}, // db.N entries go here
		{"overhead.total", overhead, 0, false},
		{"keys.count", keys, 0, false},
		{"keys.bytes-per-key", perKey, 0, false},
		{"dataset.bytes", dataset, 0, false},
		{"dataset.percentage", 0, pct(dataset, int64(used)-startup), true},
		{"peak.percentage", 0, pct(int64(used), int64(peak)), true},
		{"allocator.allocated", int64(ms.HeapAlloc), 0, false},
		{"allocator.active", int64(ms.HeapInuse), 0, false},
		{"allocator.resident", int64(ms.HeapSys - ms.HeapReleased), 0, false},
		{"allocator-fragmentation.ratio", 0, r(ms.HeapInuse, ms.HeapAlloc), true},
		{"allocator-fragmentation.bytes", int64(ms.HeapInuse) - int64(ms.HeapAlloc), 0, false},
		{"allocator-rss.ratio", 0, r(ms.HeapSys-ms.HeapReleased, ms.HeapInuse), true},
		{"allocator-rss.bytes", int64(ms.HeapSys-ms.HeapReleased) - int64(ms.HeapInuse), 0, false},
		{"rss-overhead.ratio", 0, r(rss, ms.HeapSys-ms.HeapReleased), true},
		{"rss-overhead.bytes", int64(rss) - int64(ms.HeapSys-ms.HeapReleased), 0, false},
		{"fragmentation", 0, r(rss, used), true},
		{"fragmentation.bytes", int64(rss) - int64(used), 0, false},
	}
	return fields, dbs
}

type memField struct {
	name    string
	i       int64
	f       float64
	isFloat bool
}

type memDB struct {
	id            int
	main, expires int64
}

func cmdMemoryStats(c *Ctx) {
	fields, dbs := c.n.memoryStatsLocked()
	c.R.Map(len(fields) - 1 + len(dbs))
	for _, f := range fields {
		switch {
		case f.name == "":
			for _, d := range dbs {
				c.R.BulkString("db." + strconv.Itoa(d.id))
				c.R.Map(3)
				c.R.BulkString("overhead.hashtable.main")
				c.R.Int(d.main)
				c.R.BulkString("overhead.hashtable.expires")
				c.R.Int(d.expires)
				c.R.BulkString("overhead.hashtable.slot-to-keys")
				c.R.Int(0)
			}
		case f.isFloat:
			c.R.BulkString(f.name)
			c.R.Double(f.f)
		default:
			c.R.BulkString(f.name)
			c.R.Int(f.i)
		}
	}
}

func cmdMemoryDoctor(c *Ctx) {
	n := c.n
	used := usedMemory()
	var b strings.Builder
	if used < 5<<20 {
		b.WriteString("Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.")
		c.R.Verbatim(b.String())
		return
	}
	rss := residentMemory()
	peak := max(n.server.peakMemory, used)
	var issues []string
	if peak > used*3/2 {
		issues = append(issues, fmt.Sprintf(" * Peak memory: In the past this instance used more than 150%% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n"))
	}
	if rss > used*14/10 && rss-used > 10<<20 {
		issues = append(issues, fmt.Sprintf(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). slotvault's heap is managed by the Go runtime: MEMORY PURGE returns freed pages to the operating system.\n\n"))
	}
	if n.cfg.MaxMemory > 0 && used > uint64(n.cfg.MaxMemory)*9/10 {
		issues = append(issues, " * Memory close to maxmemory: used memory is above 90% of maxmemory; writes will soon be refused (noeviction).\n\n")
	}
	if len(issues) == 0 {
		b.WriteString("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.")
	} else {
		b.WriteString("Sam, I detected a few issues in this Redis instance memory implants:\n\n")
		for _, s := range issues {
			b.WriteString(s)
		}
		b.WriteString("I'm here to keep you safe, Sam. I want to help you.\n")
	}
	c.R.Verbatim(b.String())
}

// cmdMemoryMallocStats reports the Go runtime's allocator figures (Redis
// prints jemalloc's report; the text differs by nature).
func cmdMemoryMallocStats(c *Ctx) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var b strings.Builder
	b.WriteString("___ Begin Go runtime memory statistics ___\n")
	fmt.Fprintf(&b, "Version: %s\n", runtime.Version())
	fmt.Fprintf(&b, "Allocated: %d, active: %d, resident: %d, released: %d\n", ms.HeapAlloc, ms.HeapInuse, ms.HeapSys-ms.HeapReleased, ms.HeapReleased)
	fmt.Fprintf(&b, "Heap objects: %d, mallocs: %d, frees: %d\n", ms.HeapObjects, ms.Mallocs, ms.Frees)
	fmt.Fprintf(&b, "Sys: %d, stack in use: %d, GC cycles: %d, next GC at: %d\n", ms.Sys, ms.StackInuse, ms.NumGC, ms.NextGC)
	fmt.Fprintf(&b, "GC pause total: %s, GC CPU fraction: %.6f\n", time.Duration(ms.PauseTotalNs), ms.GCCPUFraction)
	b.WriteString("--- End Go runtime memory statistics ---\n")
	c.R.Verbatim(b.String())
}

// cmdMemoryPurge returns freed memory to the operating system. It forces a
// garbage collection, so it runs in the background rather than under the
// node lock.
func cmdMemoryPurge(c *Ctx) {
	go debug.FreeOSMemory()
	c.R.OK()
}
