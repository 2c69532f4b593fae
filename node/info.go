package node

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slotvault/slotvault/slots"
	"github.com/slotvault/slotvault/store"
)

// Version is slotvault's own version, reported by INFO as
// slotvault_version next to the Redis version it is compatible with.
const Version = "0.1.0"

// RedisVersion is the Redis version whose behaviour slotvault follows.
const RedisVersion = "7.0.15"

// serverState is INFO's and CONFIG's node-wide state, guarded by the node
// lock.
type serverState struct {
	runID      string
	replID     string
	peakMemory uint64
	// configHooks run after a successful CONFIG SET.
	configHooks []ConfigHook
}

func randomHexID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ids returns the run id and the replication id, created on first use.
func (s *serverState) ids() (string, string) {
	if s.runID == "" {
		s.runID = randomHexID()
		s.replID = randomHexID()
	}
	return s.runID, s.replID
}

// RunID returns the node's run id (INFO run_id), random per process start.
func (n *Node) RunID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	id, _ := n.server.ids()
	return id
}

// infoBuiltin lists INFO's sections in Redis's order; "default" marks the
// ones INFO without arguments shows.
var infoBuiltin = []struct {
	name    string
	title   string
	dflt    bool
	aliases []string
}{
	{"server", "Server", true, nil},
	{"clients", "Clients", true, nil},
	{"memory", "Memory", true, nil},
	{"persistence", "Persistence", true, nil},
	{"stats", "Stats", true, nil},
	{"replication", "Replication", true, nil},
	{"cpu", "CPU", true, nil},
	{"modules", "Modules", true, []string{"module_list"}},
	{"commandstats", "Commandstats", false, nil},
	{"errorstats", "Errorstats", true, nil},
	{"latencystats", "Latencystats", false, nil},
	{"cluster", "Cluster", true, nil},
	{"keyspace", "Keyspace", true, nil},
}

func cmdInfo(c *Ctx) {
	sections := make([]string, 0, len(c.Args)-1)
	for _, a := range c.Args[1:] {
		sections = append(sections, string(a))
	}
	c.R.Verbatim(c.n.infoLocked(sections))
}

// Info renders INFO for the given sections (none: the default ones).
func (n *Node) Info(sections ...string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.infoLocked(sections)
}

// infoLocked selects sections as Redis's genInfoSectionDict does:
// "default", "all" (everything but module sections), "everything", or
// section names, case-insensitively. Sections registered with
// AddInfoSection appear with "all"/"everything"/"default" or by name, and
// one named like a built-in section replaces it.
func (n *Node) infoLocked(args []string) string {
	want := map[string]bool{}
	all := false
	addDefaults := func() {
		for _, s := range infoBuiltin {
			if s.dflt {
				want[s.name] = true
			}
		}
		for _, s := range n.infoSections {
			want[strings.ToLower(s.Name)] = true
		}
	}
	if len(args) == 0 {
		addDefaults()
	}
	for _, a := range args {
		switch a = strings.ToLower(a); a {
		case "default":
			addDefaults()
		case "all", "everything":
			all = true
		default:
			want[a] = true
		}
	}
	extras := map[string]InfoSection{}
	for _, s := range n.infoSections {
		extras[strings.ToLower(s.Name)] = s
	}
	var b strings.Builder
	first := true
	emit := func(title string, render func(b *strings.Builder)) {
		if !first {
			b.WriteString("\r\n")
		}
		first = false
		b.WriteString("# " + title + "\r\n")
		render(&b)
	}
	for _, s := range infoBuiltin {
		on := all || want[s.name]
		for _, al := range s.aliases {
			on = on || want[al]
		}
		if !on {
			continue
		}
		if x, ok := extras[s.name]; ok {
			emit(s.title, x.Render)
			delete(extras, s.name)
			continue
		}
		emit(s.title, func(b *strings.Builder) { n.renderInfoSection(s.name, b) })
	}
	for _, s := range n.infoSections {
		key := strings.ToLower(s.Name)
		if _, ok := extras[key]; !ok || !(all || want[key]) {
			continue
		}
		emit(sectionTitle(s.Name), s.Render)
	}
	return b.String()
}

func sectionTitle(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

func (n *Node) renderInfoSection(name string, b *strings.Builder) {
	switch name {
	case "server":
		n.infoServer(b)
	case "clients":
		n.infoClients(b)
	case "memory":
		n.infoMemory(b)
	case "persistence":
		n.persistenceInfoLocked(b)
	case "stats":
		n.infoStats(b)
	case "replication":
		n.infoReplication(b)
	case "cpu":
		infoCPU(b)
	case "commandstats":
		n.infoCommandStats(b)
	case "errorstats":
		n.infoErrorStats(b)
	case "latencystats":
		n.infoLatencyStats(b)
	case "cluster":
		fmt.Fprintf(b, "cluster_enabled:%d\r\n", boolInt(n.cfg.ClusterEnabled))
	case "keyspace":
		n.infoKeyspace(b)
	}
}

func kv(b *strings.Builder, k string, v any) {
	b.WriteString(k)
	b.WriteByte(':')
	fmt.Fprint(b, v)
	b.WriteString("\r\n")
}

func uname() string {
	read := func(p string) string {
		d, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(d))
	}
	arch := runtime.GOARCH
	switch arch {
	case "amd64":
		arch = "x86_64"
	case "arm64":
		arch = "aarch64"
	}
	return strings.TrimSpace(read("/proc/sys/kernel/ostype") + " " + read("/proc/sys/kernel/osrelease") + " " + arch)
}

func (n *Node) infoServer(b *strings.Builder) {
	runID, _ := n.server.ids()
	now := time.Now()
	uptime := int64(0)
	if !n.started.IsZero() {
		uptime = int64(now.Sub(n.started) / time.Second)
	}
	mode := "standalone"
	if n.cfg.ClusterEnabled {
		mode = "cluster"
	}
	exe, _ := os.Executable()
	kv(b, "redis_version", RedisVersion)
	kv(b, "redis_git_sha1", "00000000")
	kv(b, "redis_git_dirty", 0)
	kv(b, "redis_build_id", "0")
	kv(b, "redis_mode", mode)
	kv(b, "slotvault_version", Version)
	kv(b, "os", uname())
	kv(b, "arch_bits", strconv.Itoa(strconv.IntSize))
	kv(b, "monotonic_clock", "POSIX clock_gettime")
	kv(b, "multiplexing_api", "epoll")
	kv(b, "atomicvar_api", "c11-builtin")
	kv(b, "gcc_version", "0.0.0")
	kv(b, "process_id", os.Getpid())
	kv(b, "process_supervised", "no")
	kv(b, "run_id", runID)
	kv(b, "tcp_port", n.cfg.Port)
	kv(b, "server_time_usec", now.UnixMicro())
	kv(b, "uptime_in_seconds", uptime)
	kv(b, "uptime_in_days", uptime/86400)
	kv(b, "hz", n.cfg.Hz)
	kv(b, "configured_hz", n.cfg.Hz)
	kv(b, "lru_clock", (now.UnixMilli()/1000)&(1<<24-1))
	kv(b, "executable", exe)
	kv(b, "config_file", n.cfg.File)
	kv(b, "io_threads_active", 0)
}

func (n *Node) infoClients(b *strings.Builder) {
	blocked := 0
	pubsubClients := 0
	for _, cl := range n.clients {
		if cl.blocked != nil {
			blocked++
		}
		if cl.SubscriptionCount() > 0 {
			pubsubClients++
		}
	}
	kv(b, "connected_clients", len(n.clients))
	kv(b, "cluster_connections", 0)
	kv(b, "maxclients", n.cfg.MaxClients)
	kv(b, "client_recent_max_input_buffer", 0)
	kv(b, "client_recent_max_output_buffer", 0)
	kv(b, "blocked_clients", blocked)
	kv(b, "tracking_clients", 0)
	kv(b, "clients_in_timeout_table", blocked)
}

// bytesHuman formats like Redis's bytesToHuman.
func bytesHuman(v uint64) string {
	f := float64(v)
	switch {
	case v < 1024:
		return strconv.FormatUint(v, 10) + "B"
	case v < 1<<20:
		return fmt.Sprintf("%.2fK", f/(1<<10))
	case v < 1<<30:
		return fmt.Sprintf("%.2fM", f/(1<<20))
	case v < 1<<40:
		return fmt.Sprintf("%.2fG", f/(1<<30))
	case v < 1<<50:
		return fmt.Sprintf("%.2fT", f/(1<<40))
	case v < 1<<60:
		return fmt.Sprintf("%.2fP", f/(1<<50))
	}
	return strconv.FormatUint(v, 10) + "B"
}

// residentMemory reads the resident set size from /proc/self/statm.
func residentMemory() uint64 {
	d, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(d))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func totalSystemMemory() uint64 {
	d, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(d), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func ratio(a, b uint64) string {
	if b == 0 {
		return "0.00"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func (n *Node) infoMemory(b *strings.Builder) {
	used := usedMemory()
	if used > n.server.peakMemory {
		n.server.peakMemory = used
	}
	peak := n.server.peakMemory
	rss := residentMemory()
	sys := totalSystemMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	kv(b, "used_memory", used)
	kv(b, "used_memory_human", bytesHuman(used))
	kv(b, "used_memory_rss", rss)
	kv(b, "used_memory_rss_human", bytesHuman(rss))
	kv(b, "used_memory_peak", peak)
	kv(b, "used_memory_peak_human", bytesHuman(peak))
	kv(b, "used_memory_peak_perc", fmt.Sprintf("%.2f%%", 100*float64(used)/float64(max(peak, 1))))
	kv(b, "used_memory_overhead", 0)
	kv(b, "used_memory_startup", 0)
	kv(b, "used_memory_dataset", used)
	kv(b, "used_memory_dataset_perc", "100.00%")
	kv(b, "allocator_allocated", ms.HeapAlloc)
	kv(b, "allocator_active", ms.HeapInuse)
	kv(b, "allocator_resident", ms.HeapSys-ms.HeapReleased)
	kv(b, "total_system_memory", sys)
	kv(b, "total_system_memory_human", bytesHuman(sys))
	kv(b, "used_memory_lua", 0)
	kv(b, "used_memory_vm_eval", 0)
	kv(b, "used_memory_lua_human", "0B")
	kv(b, "used_memory_scripts_eval", 0)
	kv(b, "number_of_cached_scripts", 0)
	kv(b, "number_of_functions", 0)
	kv(b, "number_of_libraries", 0)
	kv(b, "used_memory_vm_functions", 0)
	kv(b, "used_memory_vm_total", 0)
	kv(b, "used_memory_vm_total_human", "0B")
	kv(b, "used_memory_functions", 0)
	kv(b, "used_memory_scripts", 0)
	kv(b, "used_memory_scripts_human", "0B")
	kv(b, "maxmemory", n.cfg.MaxMemory)
	kv(b, "maxmemory_human", bytesHuman(uint64(n.cfg.MaxMemory)))
	kv(b, "maxmemory_policy", n.cfg.MaxMemoryPolicy)
	kv(b, "allocator_frag_ratio", ratio(ms.HeapInuse, ms.HeapAlloc))
	kv(b, "allocator_frag_bytes", int64(ms.HeapInuse)-int64(ms.HeapAlloc))
	kv(b, "allocator_rss_ratio", ratio(rss, ms.HeapInuse))
	kv(b, "allocator_rss_bytes", int64(rss)-int64(ms.HeapInuse))
	kv(b, "rss_overhead_ratio", "1.00")
	kv(b, "rss_overhead_bytes", 0)
	kv(b, "mem_fragmentation_ratio", ratio(rss, used))
	kv(b, "mem_fragmentation_bytes", int64(rss)-int64(used))
	kv(b, "mem_not_counted_for_evict", 0)
	kv(b, "mem_replication_backlog", n.replBacklogMemLocked())
	kv(b, "mem_total_replication_buffers", 0)
	kv(b, "mem_clients_slaves", 0)
	kv(b, "mem_clients_normal", 0)
	kv(b, "mem_cluster_links", 0)
	kv(b, "mem_aof_buffer", 0)
	kv(b, "mem_allocator", "go-"+runtime.Version())
	kv(b, "active_defrag_running", 0)
	kv(b, "lazyfree_pending_objects", 0)
	kv(b, "lazyfreed_objects", 0)
}

func (n *Node) infoStats(b *strings.Builder) {
	st := &n.stats
	kv(b, "total_connections_received", st.TotalConnections.Load())
	kv(b, "total_commands_processed", st.TotalCommands)
	kv(b, "instantaneous_ops_per_sec", 0)
	kv(b, "total_net_input_bytes", st.NetInputBytes.Load())
	kv(b, "total_net_output_bytes", st.NetOutputBytes.Load())
	kv(b, "total_net_repl_input_bytes", 0)
	kv(b, "total_net_repl_output_bytes", 0)
	kv(b, "instantaneous_input_kbps", "0.00")
	kv(b, "instantaneous_output_kbps", "0.00")
	kv(b, "instantaneous_input_repl_kbps", "0.00")
	kv(b, "instantaneous_output_repl_kbps", "0.00")
	kv(b, "rejected_connections", st.RejectedConns.Load())
	kv(b, "sync_full", n.repl.syncFull)
	kv(b, "sync_partial_ok", n.repl.syncPartialOK)
	kv(b, "sync_partial_err", n.repl.syncPartialErr)
	kv(b, "expired_keys", st.ExpiredKeys)
	kv(b, "expired_stale_perc", "0.00")
	kv(b, "expired_time_cap_reached_count", 0)
	kv(b, "expire_cycle_cpu_milliseconds", 0)
	kv(b, "evicted_keys", n.evict.keys)
	kv(b, "evicted_clients", 0)
	kv(b, "total_eviction_exceeded_time", 0)
	kv(b, "current_eviction_exceeded_time", 0)
	kv(b, "keyspace_hits", st.KeyspaceHits)
	kv(b, "keyspace_misses", st.KeyspaceMisses)
	kv(b, "pubsub_channels", len(n.pubsub.channels))
	kv(b, "pubsub_patterns", len(n.pubsub.patterns))
	kv(b, "pubsubshard_channels", len(n.pubsub.shard))
	kv(b, "latest_fork_usec", 0)
	kv(b, "total_forks", 0)
	kv(b, "migrate_cached_sockets", 0)
	kv(b, "slave_expires_tracked_keys", 0)
	kv(b, "active_defrag_hits", 0)
	kv(b, "active_defrag_misses", 0)
	kv(b, "active_defrag_key_hits", 0)
	kv(b, "active_defrag_key_misses", 0)
	kv(b, "total_active_defrag_time", 0)
	kv(b, "current_active_defrag_time", 0)
	kv(b, "tracking_total_keys", 0)
	kv(b, "tracking_total_items", 0)
	kv(b, "tracking_total_prefixes", 0)
	kv(b, "unexpected_error_replies", 0)
	kv(b, "total_error_replies", st.TotalErrorReplies)
	kv(b, "dump_payload_sanitizations", 0)
	kv(b, "total_reads_processed", st.TotalCommands)
	kv(b, "total_writes_processed", st.TotalCommands)
	kv(b, "io_threaded_reads_processed", 0)
	kv(b, "io_threaded_writes_processed", 0)
	kv(b, "reply_buffer_shrinks", 0)
	kv(b, "reply_buffer_expands", 0)
}

func (n *Node) infoReplication(b *strings.Builder) { n.infoReplicationLocked(b) }

func infoCPU(b *strings.Builder) {
	tv := func(t syscall.Timeval) string {
		return fmt.Sprintf("%d.%06d", t.Sec, t.Usec)
	}
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	kv(b, "used_cpu_sys", tv(self.Stime))
	kv(b, "used_cpu_user", tv(self.Utime))
	kv(b, "used_cpu_sys_children", tv(children.Stime))
	kv(b, "used_cpu_user_children", tv(children.Utime))
	// Go has no main thread: the process figures stand in for it.
	kv(b, "used_cpu_sys_main_thread", tv(self.Stime))
	kv(b, "used_cpu_user_main_thread", tv(self.Utime))
}

func (n *Node) infoCommandStats(b *strings.Builder) {
	var cmds []*Command
	for _, cmd := range n.sortedCommands() {
		cmds = append(cmds, cmd)
		cmds = append(cmds, sortedSubcommands(cmd)...)
	}
	for _, cmd := range cmds {
		if cmd.calls == 0 && cmd.failed == 0 && cmd.rejected == 0 {
			continue
		}
		per := 0.0
		if cmd.calls > 0 {
			per = float64(cmd.usec) / float64(cmd.calls)
		}
		fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
			cmd.Name, cmd.calls, cmd.usec, per, cmd.rejected, cmd.failed)
	}
}

func (n *Node) infoErrorStats(b *strings.Builder) {
	codes := make([]string, 0, len(n.stats.ErrorCounts))
	for k := range n.stats.ErrorCounts {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	for _, k := range codes {
		fmt.Fprintf(b, "errorstat_%s:count=%d\r\n", k, n.stats.ErrorCounts[k])
	}
}

func (n *Node) infoKeyspace(b *strings.Builder) {
	now := time.Now().UnixMilli()
	for i, db := range n.dbs {
		if db.Size() == 0 {
			continue
		}
		fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=%d\r\n", i, db.Size(), db.Volatile(), avgTTL(db, now))
	}
}

// avgTTL estimates the average remaining TTL of keys with an expiry from a
// bounded sample (Redis also reports an estimate).
func avgTTL(db *store.DB, now int64) int64 {
	if db.Volatile() == 0 {
		return 0
	}
	var sum, count int64
	for s := db.NextNonEmptySlot(0); s >= 0 && count < 1000; {
		db.KeysInSlot(s, func(_ string, e *store.Entry) bool {
			if e.Expire > now {
				sum += e.Expire - now
				count++
			}
			return count < 1000
		})
		if s+1 >= slots.Count {
			break
		}
		s = db.NextNonEmptySlot(s + 1)
	}
	if count == 0 {
		return 0
	}
	return sum / count
}
