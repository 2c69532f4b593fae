package node

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/store"
)

// MEMORY: usage estimates and the Go runtime's allocator figures.

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
