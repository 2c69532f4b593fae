package node

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/slots"
)

// Per-command observation: after every executed command, under the node
// lock, observeLocked records the command's latency in its histogram
// (LATENCY HISTOGRAM, the Prometheus endpoint), samples the latency
// monitor, feeds MONITOR clients and, in cluster mode with
// cluster-slot-stats-enabled, charges CPU time and bytes to the key's slot.
// Everything it writes is preallocated and guarded by the node lock: the
// common path is a few comparisons and one counter increment, with no
// allocation and no extra lock.

// latBuckets is the number of latency histogram buckets. Bucket i counts
// durations up to 1024ns<<i, as Redis's hdr histogram iterated with a
// first bucket of 1024 ns and log base 2 (LATENCY HISTOGRAM); the last
// bucket also takes everything slower (2^25 * 1024ns, about 34 s).
const latBuckets = 26

// latHist is a command's latency histogram; guarded by the node lock.
type latHist struct {
	counts [latBuckets]uint64
	sumNs  uint64
	total  uint64
}

// latBucket returns the histogram bucket of a duration.
func latBucket(d time.Duration) int {
	if d <= 1024 {
		return 0
	}
	i := bits.Len64(uint64(d-1) >> 10)
	if i >= latBuckets {
		i = latBuckets - 1
	}
	return i
}

func (h *latHist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[latBucket(d)]++
	h.sumNs += uint64(d)
	h.total++
}

func (h *latHist) reset() { *h = latHist{} }

// latBucketUpper is bucket i's upper bound in seconds.
func latBucketUpper(i int) float64 { return float64(uint64(1024)<<i) / 1e9 }

// latBucketUsec is bucket i's label in LATENCY HISTOGRAM: the bucket's
// highest value in microseconds, truncated as Redis prints it.
func latBucketUsec(i int) int64 { return int64(uint64(1024)<<i) / 1000 }

// slotStat is CLUSTER SLOT-STATS' traffic for one slot.
type slotStat struct {
	cpuUsec, netIn, netOut int64
}

// observeLocked runs after a command executed (top level or inside EXEC),
// before the slow log sees its arguments. replyFrom is where the command's
// reply starts in c.R.
func (n *Node) observeLocked(c *Ctx, top *Command, start time.Time, dur time.Duration, replyFrom int) {
	cfg := n.cfg
	if c.Cmd.Flags&FlagNoAuth != 0 { // AUTH and HELLO are among these
		switch c.Cmd.Name {
		case "auth", "hello":
			redactCredentials(c)
		}
	}
	if cfg.LatencyTrackingEnabled {
		c.Cmd.lat.record(dur)
	}
	if th := cfg.Obs.LatencyMonitorThresholdMs; th > 0 && dur.Milliseconds() >= th {
		event := "command"
		if c.Cmd.Flags&FlagFast != 0 {
			event = "fast-command"
		}
		n.latency.addLocked(event, start.Unix(), dur.Milliseconds())
	}
	if len(n.monitors) > 0 && (top.Flags|c.Cmd.Flags)&(FlagSkipMonitor|FlagAdmin) == 0 && c.Cl != nil {
		n.feedMonitorsLocked(c.Cl, c.Args, start, c.R)
	}
	if cfg.Obs.SlotStatsEnabled && n.cluster != nil {
		if n.slotStats == nil {
			n.slotStats = new([slots.Count]slotStat)
		}
		n.chargeSlotLocked(c, dur, replyFrom)
	}
}

// chargeSlotLocked adds a keyed command's CPU time and bytes to its slot
// (the slot of its first key; cluster mode already refused cross-slot
// requests).
func (n *Node) chargeSlotLocked(c *Ctx, dur time.Duration, replyFrom int) {
	cmd := c.Cmd
	var key []byte
	switch {
	case cmd.Keys != nil:
		if idx := cmd.Keys(c.Args); len(idx) > 0 {
			key = c.Args[idx[0]]
		}
	case cmd.FirstKey > 0 && cmd.FirstKey < len(c.Args):
		key = c.Args[cmd.FirstKey]
	}
	if key == nil {
		return
	}
	st := &n.slotStats[slots.KeySlot(key)]
	st.cpuUsec += dur.Microseconds()
	st.netIn += int64(requestLen(c.Args))
	if out := c.R.Len() - replyFrom; out > 0 {
		st.netOut += int64(out)
	}
}

// redactCredentials hides passwords from the slow log and MONITOR as Redis
// does: AUTH's arguments (when it has at most two), HELLO's AUTH username
// and password.
func redactCredentials(c *Ctx) {
	if c.Cmd.Name == "auth" {
		if len(c.Args) <= 3 {
			for i := 1; i < len(c.Args); i++ {
				c.Redact(i)
			}
		}
		return
	}
	for i := 2; i+2 < len(c.Args); i++ {
		if c.ArgIs(i, "auth") {
			c.Redact(i + 1)
			c.Redact(i + 2)
			i += 2
		}
	}
}

// infoLatencyStats renders INFO latencystats: for each command with
// recorded latencies (sorted by name; Redis uses hash order), the
// latency-tracking-info-percentiles as p<pct>=<µs>. A percentile's value
// is the upper bound of the histogram bucket holding it.
func (n *Node) infoLatencyStats(b *strings.Builder) {
	pcts := []float64{50, 99, 99.9}
	if v, ok := n.cfg.Extra["latency-tracking-info-percentiles"]; ok {
		pcts = pcts[:0]
		for _, f := range strings.Fields(v) {
			if p, err := strconv.ParseFloat(f, 64); err == nil {
				pcts = append(pcts, p)
			}
		}
	}
	var cmds []*Command
	for _, c := range n.cmds {
		if c.lat.total > 0 {
			cmds = append(cmds, c)
		}
		for _, s := range c.Subcommands {
			if s.lat.total > 0 {
				cmds = append(cmds, s)
			}
		}
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	for _, c := range cmds {
		b.WriteString("latency_percentiles_usec_" + c.Name + ":")
		for j, p := range pcts {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, "p%s=%.3f", strconv.FormatFloat(p, 'f', -1, 64), c.lat.percentileUsec(p))
		}
		b.WriteString("\r\n")
	}
}

// percentileUsec returns the upper bound, in µs, of the bucket holding
// percentile p (0-100).
func (h *latHist) percentileUsec(p float64) float64 {
	if h.total == 0 {
		return 0
	}
	want := uint64(math.Ceil(p / 100 * float64(h.total)))
	want = max(want, 1)
	var cum uint64
	for i, v := range h.counts {
		cum += v
		if cum >= want {
			return float64(uint64(1024)<<i) / 1000
		}
	}
	return float64(uint64(1024)<<(latBuckets-1)) / 1000
}
