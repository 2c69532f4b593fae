package node

import (
	"sort"
	"strconv"

	"github.com/slotvault/slotvault/slots"
)

// CLUSTER SLOT-STATS as Valkey 8.0 defines it: per-slot key counts and,
// with cluster-slot-stats-enabled, CPU time and network bytes charged to
// the slot by observeLocked.

// addSlotStatsCommand adds CLUSTER SLOT-STATS to the CLUSTER container.
func addSlotStatsCommand(t commandTable) {
	parent := t["cluster"]
	if parent == nil {
		return
	}
	parent.Subcommands["slot-stats"] = &Command{Name: "cluster|slot-stats", Arity: -4,
		Flags: FlagStale | FlagLoading, Categories: []string{"slow"},
		Summary: "Return an array of slot usage statistics for slots assigned to the current node.",
		Since:   "8.0.0", Group: "cluster", Handler: clusterOnly(cmdClusterSlotStats)}
}

// slotStatMetric names a CLUSTER SLOT-STATS statistic.
type slotStatMetric int

const (
	metricKeyCount slotStatMetric = iota
	metricCPUUsec
	metricNetIn
	metricNetOut
)

// slotStatLocked returns one statistic of a slot.
func (n *Node) slotStatLocked(slot int, m slotStatMetric) int64 {
	if m == metricKeyCount {
		return int64(n.dbs[0].CountInSlot(slot))
	}
	if n.slotStats == nil {
		return 0
	}
	st := &n.slotStats[slot]
	switch m {
	case metricCPUUsec:
		return st.cpuUsec
	case metricNetIn:
		return st.netIn
	}
	return st.netOut
}

// myShardSlotLocked reports whether slot is served by this node's shard
// (this node, or the master it replicates).
func (n *Node) myShardSlotLocked(slot int) bool {
	r := n.cluster.Route(slot)
	return r.Mine || r.MasterOwns
}

func cmdClusterSlotStats(c *Ctx) {
	n := c.n
	switch {
	case len(c.Args) == 5 && c.ArgIs(2, "slotsrange"):
		start, ok := parseSlot(c, 3)
		if !ok {
			return
		}
		end, ok := parseSlot(c, 4)
		if !ok {
			return
		}
		if start > end {
			c.Error("ERR Start slot number " + strconv.Itoa(start) + " is greater than end slot number " + strconv.Itoa(end))
			return
		}
		var list []int
		for s := start; s <= end; s++ {
			if n.myShardSlotLocked(s) {
				list = append(list, s)
			}
		}
		n.replySlotStatsLocked(c, list)
	case len(c.Args) >= 4 && c.ArgIs(2, "orderby"):
		enabled := n.cfg.Obs.SlotStatsEnabled
		var m slotStatMetric
		switch {
		case c.ArgIs(3, "key-count"):
			m = metricKeyCount
		case c.ArgIs(3, "cpu-usec") && enabled:
			m = metricCPUUsec
		case c.ArgIs(3, "network-bytes-in") && enabled:
			m = metricNetIn
		case c.ArgIs(3, "network-bytes-out") && enabled:
			m = metricNetOut
		default:
			c.Error("ERR Unrecognized sort metric for ORDERBY.")
			return
		}
		limit, desc := int64(16), true
		limits, orders := 0, 0
		for i := 4; i < len(c.Args); i++ {
			switch {
			case c.ArgIs(i, "limit") && i+1 < len(c.Args):
				v, ok := ParseInt(c.Args[i+1])
				if !ok || v < 1 || v > slots.Count {
					c.Error("ERR Limit has to lie in between 1 and 16384 (maximum number of slots).")
					return
				}
				limit = v
				limits++
				i++
			case c.ArgIs(i, "asc"):
				desc = false
				orders++
			case c.ArgIs(i, "desc"):
				desc = true
				orders++
			default:
				c.ErrSyntax()
				return
			}
			if limits > 1 || orders > 1 {
				c.Error("ERR Multiple filters of the same type are disallowed.")
				return
			}
		}
		type entry struct {
			slot int
			stat int64
		}
		var all []entry
		for s := 0; s < slots.Count; s++ {
			if n.myShardSlotLocked(s) {
				all = append(all, entry{s, n.slotStatLocked(s, m)})
			}
		}
		sort.Slice(all, func(i, j int) bool {
			if all[i].stat != all[j].stat {
				return (all[i].stat > all[j].stat) == desc
			}
			return all[i].slot < all[j].slot
		})
		if int64(len(all)) > limit {
			all = all[:limit]
		}
		list := make([]int, len(all))
		for i, e := range all {
			list[i] = e.slot
		}
		n.replySlotStatsLocked(c, list)
	default:
		subcommandSyntaxError(c)
	}
}

// replySlotStatsLocked writes [slot, {stat: value...}] for each slot.
func (n *Node) replySlotStatsLocked(c *Ctx, list []int) {
	enabled := n.cfg.Obs.SlotStatsEnabled
	c.R.Array(len(list))
	for _, s := range list {
		c.R.Array(2)
		c.R.Int(int64(s))
		if !enabled {
			c.R.Map(1)
			c.R.BulkString("key-count")
			c.R.Int(n.slotStatLocked(s, metricKeyCount))
			continue
		}
		c.R.Map(4)
		c.R.BulkString("key-count")
		c.R.Int(n.slotStatLocked(s, metricKeyCount))
		c.R.BulkString("cpu-usec")
		c.R.Int(n.slotStatLocked(s, metricCPUUsec))
		c.R.BulkString("network-bytes-in")
		c.R.Int(n.slotStatLocked(s, metricNetIn))
		c.R.BulkString("network-bytes-out")
		c.R.Int(n.slotStatLocked(s, metricNetOut))
	}
}
