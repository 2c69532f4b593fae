package node

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slotvault/slotvault/slots"
)

// The Prometheus view of a node. Nothing here runs per command: the
// collector reads, under the node lock, the counters and histograms that
// commands keep anyway (observe.go) and the INFO sections of the
// persistence, replication, cluster and backup layers, then builds the
// metrics after releasing the lock. docs/observability.md lists them.

// slotRangeSize is the width of a slotvault_keys_slot_range bucket.
const slotRangeSize = 1024

// fsyncReporter is what a write log may offer to expose its fsync latency
// (persistence.Log does).
type fsyncReporter interface {
	FsyncLatency() (bounds []float64, cumulative []uint64, count uint64, sumSeconds float64)
}

type metricsCollector struct {
	n *Node

	cmdCalls, cmdFailed, cmdRejected, cmdDuration   *prometheus.Desc
	clients, blockedClients, monitorClients         *prometheus.Desc
	connsReceived, connsRejected                    *prometheus.Desc
	commandsProcessed, netIn, netOut                *prometheus.Desc
	expiredKeys, hits, misses, errors               *prometheus.Desc
	keys, expires, slotRangeKeys                    *prometheus.Desc
	memUsed, memRSS, memPeak, memMax                *prometheus.Desc
	uptime, role, replOffset, connectedReplicas     *prometheus.Desc
	replicaOffset, replicaLag, masterLinkUp         *prometheus.Desc
	masterLastIO                                    *prometheus.Desc
	clusterEnabled, clusterState, clusterKnownNodes *prometheus.Desc
	clusterEpoch, clusterMyEpoch, clusterSlots      *prometheus.Desc
	clusterSize                                     *prometheus.Desc
	lastSave, changesSinceSave, aofEnabled          *prometheus.Desc
	aofSize, aofLastWriteOK, bgsaveInProgress       *prometheus.Desc
	rdbSaves, aofRewrites, fsyncDuration            *prometheus.Desc
	backupLastSuccess, backupLastSuccessAge         *prometheus.Desc
	backupOK, backupFailed, backupShipFailures      *prometheus.Desc
	backupShipLagRecords, backupShipAge             *prometheus.Desc
	backupShipLagSeconds                            *prometheus.Desc
	backupInProgress, backupLastOK                  *prometheus.Desc
	latencyEventMax, latencyEventLast               *prometheus.Desc
	slowlogLen                                      *prometheus.Desc
}

// MetricsCollector returns a Prometheus collector of the node's metrics.
func (n *Node) MetricsCollector() prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("slotvault_"+name, help, labels, nil)
	}
	return &metricsCollector{n: n,
		cmdCalls:             d("commands_total", "Commands executed, by command (subcommands as parent|sub).", "cmd"),
		cmdFailed:            d("commands_failed_total", "Commands that replied with an error, by command.", "cmd"),
		cmdRejected:          d("commands_rejected_total", "Commands rejected before execution (cluster redirections), by command.", "cmd"),
		cmdDuration:          d("command_duration_seconds", "Command execution time (latency-tracking), by command.", "cmd"),
		clients:              d("connected_clients", "Client connections."),
		blockedClients:       d("blocked_clients", "Clients waiting in a blocking command."),
		monitorClients:       d("monitor_clients", "Clients in MONITOR mode."),
		connsReceived:        d("connections_received_total", "Connections accepted."),
		connsRejected:        d("connections_rejected_total", "Connections refused (maxclients, protected mode)."),
		commandsProcessed:    d("commands_processed_total", "Commands processed (INFO total_commands_processed)."),
		netIn:                d("net_input_bytes_total", "Bytes read from clients."),
		netOut:               d("net_output_bytes_total", "Bytes written to clients."),
		expiredKeys:          d("expired_keys_total", "Keys removed by expiry."),
		hits:                 d("keyspace_hits_total", "Successful key lookups."),
		misses:               d("keyspace_misses_total", "Failed key lookups."),
		errors:               d("error_replies_total", "Error replies, by error prefix.", "prefix"),
		keys:                 d("db_keys", "Keys, by database.", "db"),
		expires:              d("db_keys_expiring", "Keys with a TTL, by database.", "db"),
		slotRangeKeys:        d("slot_range_keys", "Keys per range of 1024 hash slots (all databases).", "range"),
		memUsed:              d("memory_used_bytes", "Live heap bytes (INFO used_memory)."),
		memRSS:               d("memory_rss_bytes", "Resident set size of the process."),
		memPeak:              d("memory_peak_bytes", "Highest used_memory seen."),
		memMax:               d("memory_max_bytes", "maxmemory (0 = no limit)."),
		uptime:               d("uptime_seconds", "Seconds since the node started."),
		role:                 d("role", "1 for the node's replication role.", "role"),
		replOffset:           d("repl_offset_bytes", "Replication offset (master_repl_offset)."),
		connectedReplicas:    d("connected_replicas", "Replicas connected to this master."),
		replicaOffset:        d("replica_offset_bytes", "Offset acknowledged by each replica.", "replica"),
		replicaLag:           d("replica_lag_seconds", "Seconds since each replica's last acknowledgement.", "replica"),
		masterLinkUp:         d("master_link_up", "1 when this replica's link to its master is up."),
		masterLastIO:         d("master_last_io_seconds", "Seconds since this replica last heard from its master."),
		clusterEnabled:       d("cluster_enabled", "1 in cluster mode."),
		clusterState:         d("cluster_state_ok", "1 when CLUSTER INFO says cluster_state:ok."),
		clusterKnownNodes:    d("cluster_known_nodes", "Nodes in the cluster table."),
		clusterEpoch:         d("cluster_current_epoch", "Cluster current epoch."),
		clusterMyEpoch:       d("cluster_my_epoch", "This node's config epoch."),
		clusterSlots:         d("cluster_slots", "Slots by state (assigned, ok, pfail, fail).", "state"),
		clusterSize:          d("cluster_size", "Masters serving at least one slot."),
		lastSave:             d("rdb_last_save_timestamp_seconds", "Unix time of the last successful save."),
		changesSinceSave:     d("rdb_changes_since_last_save", "Changes since the last save."),
		aofEnabled:           d("aof_enabled", "1 when the append-only log is on."),
		aofSize:              d("aof_current_size_bytes", "Size of the write log and its base snapshot."),
		aofLastWriteOK:       d("aof_last_write_ok", "1 when the last log write succeeded."),
		bgsaveInProgress:     d("rdb_bgsave_in_progress", "1 while a snapshot is being written."),
		rdbSaves:             d("rdb_saves_total", "Snapshots written since start."),
		aofRewrites:          d("aof_rewrites_total", "Log rewrites since start."),
		fsyncDuration:        d("aof_fsync_duration_seconds", "Write log fsync latency."),
		backupLastSuccess:    d("backup_last_success_timestamp_seconds", "Unix time of the last successful backup (0 = none)."),
		backupLastSuccessAge: d("backup_last_success_age_seconds", "Seconds since the last successful backup (absent before the first)."),
		backupOK:             d("backup_success_total", "Successful backups."),
		backupFailed:         d("backup_failures_total", "Failed backups."),
		backupInProgress:     d("backup_in_progress", "1 while a backup runs."),
		backupLastOK:         d("backup_last_ok", "1 when the last backup succeeded."),
		backupShipFailures:   d("backup_log_ship_failures_total", "Failed log shipments."),
		backupShipLagRecords: d("backup_log_ship_lag_records", "Log records written but not shipped yet."),
		backupShipLagSeconds: d("backup_log_ship_lag_seconds", "Age of the oldest log record not shipped yet (INFO backup_log_lag_seconds)."),
		backupShipAge:        d("backup_log_last_ship_age_seconds", "Seconds since the log was last shipped (absent before the first)."),
		latencyEventMax:      d("latency_event_max_milliseconds", "LATENCY LATEST all-time maximum, by event.", "event"),
		latencyEventLast:     d("latency_event_last_milliseconds", "LATENCY LATEST latest sample, by event.", "event"),
		slowlogLen:           d("slowlog_length", "Entries in the slow log."),
	}
}

// Describe implements prometheus.Collector.
func (m *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.cmdCalls, m.cmdFailed, m.cmdRejected, m.cmdDuration,
		m.clients, m.blockedClients, m.monitorClients, m.connsReceived, m.connsRejected,
		m.commandsProcessed, m.netIn, m.netOut, m.expiredKeys, m.hits, m.misses, m.errors,
		m.keys, m.expires, m.slotRangeKeys, m.memUsed, m.memRSS, m.memPeak, m.memMax,
		m.uptime, m.role, m.replOffset, m.connectedReplicas, m.replicaOffset, m.replicaLag,
		m.masterLinkUp, m.masterLastIO, m.clusterEnabled, m.clusterState, m.clusterKnownNodes,
		m.clusterEpoch, m.clusterMyEpoch, m.clusterSlots, m.clusterSize, m.lastSave,
		m.changesSinceSave, m.aofEnabled, m.aofSize, m.aofLastWriteOK, m.bgsaveInProgress,
		m.rdbSaves, m.aofRewrites, m.fsyncDuration, m.backupLastSuccess, m.backupLastSuccessAge,
		m.backupOK, m.backupFailed, m.backupShipFailures, m.backupShipLagRecords, m.backupShipLagSeconds, m.backupShipAge,
		m.backupInProgress, m.backupLastOK, m.latencyEventMax, m.latencyEventLast, m.slowlogLen} {
		ch <- d
	}
}

// cmdSnapshot is one command's figures copied under the lock.
type cmdSnapshot struct {
	name                   string
	calls, failed, rejects int64
	lat                    latHist
}

// metricsSnapshot is everything Collect reads under the node lock.
type metricsSnapshot struct {
	cmds                           []cmdSnapshot
	clients, blocked, monitors     int
	totalCmds, expired, hits, miss int64
	errors                         map[string]int64
	keys, expires                  []int
	slotRanges                     [slots.Count / slotRangeSize]int64
	peak, maxMem                   int64
	slowlog                        int
	latency                        map[string][2]int64
	info                           map[string]string
	replicas                       [][3]string // name, offset, lag
	clusterInfo                    map[string]string
}

func (n *Node) metricsSnapshotLocked() *metricsSnapshot {
	s := &metricsSnapshot{errors: map[string]int64{}, latency: map[string][2]int64{}}
	add := func(c *Command) {
		if c.calls > 0 || c.failed > 0 || c.rejected > 0 {
			s.cmds = append(s.cmds, cmdSnapshot{c.Name, c.calls, c.failed, c.rejected, c.lat})
		}
	}
	for _, c := range n.cmds {
		add(c)
		for _, sub := range c.Subcommands {
			add(sub)
		}
	}
	for _, cl := range n.clients {
		if cl.blocked != nil {
			s.blocked++
		}
	}
	s.clients, s.monitors = len(n.clients), len(n.monitors)
	st := &n.stats
	s.totalCmds, s.expired, s.hits, s.miss = st.TotalCommands, st.ExpiredKeys, st.KeyspaceHits, st.KeyspaceMisses
	for k, v := range st.ErrorCounts {
		s.errors[k] = v
	}
	s.keys = make([]int, len(n.dbs))
	s.expires = make([]int, len(n.dbs))
	for i, db := range n.dbs {
		s.keys[i], s.expires[i] = db.Size(), db.Volatile()
		if db.Size() == 0 {
			continue
		}
		for slot := db.NextNonEmptySlot(0); slot >= 0 && slot < slots.Count; slot = db.NextNonEmptySlot(slot + 1) {
			s.slotRanges[slot/slotRangeSize] += int64(db.CountInSlot(slot))
		}
	}
	s.peak, s.maxMem = int64(n.server.peakMemory), n.cfg.MaxMemory
	s.slowlog = len(n.slowlog.entries)
	for name, ts := range n.latency.events {
		last := (ts.idx + latencyTSLen - 1) % latencyTSLen
		s.latency[name] = [2]int64{ts.samples[last].latency, ts.max}
	}
	s.info = map[string]string{}
	text := n.infoLocked([]string{"persistence", "replication", "backup"})
	for _, line := range strings.Split(text, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(k, "slave") && strings.Contains(v, "offset=") {
			f := map[string]string{}
			for _, kv := range strings.Split(v, ",") {
				a, b, _ := strings.Cut(kv, "=")
				f[a] = b
			}
			s.replicas = append(s.replicas, [3]string{f["ip"] + ":" + f["port"], f["offset"], f["lag"]})
			continue
		}
		s.info[k] = v
	}
	if n.cluster != nil {
		s.clusterInfo = map[string]string{}
		for _, line := range strings.Split(n.cluster.InfoText(), "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				s.clusterInfo[k] = v
			}
		}
	}
	return s
}

// Collect implements prometheus.Collector.
func (m *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	n := m.n
	n.mu.Lock()
	s := n.metricsSnapshotLocked()
	n.mu.Unlock()
	used, rss := usedMemory(), residentMemory()
	now := time.Now()

	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, c := range s.cmds {
		counter(m.cmdCalls, float64(c.calls), c.name)
		counter(m.cmdFailed, float64(c.failed), c.name)
		counter(m.cmdRejected, float64(c.rejects), c.name)
		if c.lat.total > 0 {
			buckets := make(map[float64]uint64, latBuckets-1)
			var cum uint64
			for i := 0; i < latBuckets-1; i++ {
				cum += c.lat.counts[i]
				buckets[latBucketUpper(i)] = cum
			}
			ch <- prometheus.MustNewConstHistogram(m.cmdDuration, c.lat.total, float64(c.lat.sumNs)/1e9, buckets, c.name)
		}
	}
	gauge(m.clients, float64(s.clients))
	gauge(m.blockedClients, float64(s.blocked))
	gauge(m.monitorClients, float64(s.monitors))
	counter(m.connsReceived, float64(n.stats.TotalConnections.Load()))
	counter(m.connsRejected, float64(n.stats.RejectedConns.Load()))
	counter(m.commandsProcessed, float64(s.totalCmds))
	counter(m.netIn, float64(n.stats.NetInputBytes.Load()))
	counter(m.netOut, float64(n.stats.NetOutputBytes.Load()))
	counter(m.expiredKeys, float64(s.expired))
	counter(m.hits, float64(s.hits))
	counter(m.misses, float64(s.miss))
	for k, v := range s.errors {
		counter(m.errors, float64(v), k)
	}
	for i := range s.keys {
		if s.keys[i] > 0 || i == 0 {
			gauge(m.keys, float64(s.keys[i]), strconv.Itoa(i))
			gauge(m.expires, float64(s.expires[i]), strconv.Itoa(i))
		}
	}
	for i, v := range s.slotRanges {
		gauge(m.slotRangeKeys, float64(v), strconv.Itoa(i*slotRangeSize)+"-"+strconv.Itoa((i+1)*slotRangeSize-1))
	}
	gauge(m.memUsed, float64(used))
	gauge(m.memRSS, float64(rss))
	gauge(m.memPeak, float64(max(uint64(s.peak), used)))
	gauge(m.memMax, float64(s.maxMem))
	gauge(m.uptime, now.Sub(n.started).Seconds())
	gauge(m.slowlogLen, float64(s.slowlog))
	for ev, v := range s.latency {
		gauge(m.latencyEventLast, float64(v[0]), ev)
		gauge(m.latencyEventMax, float64(v[1]), ev)
	}

	info := s.info
	num := func(k string) (float64, bool) {
		v, ok := info[k]
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	gaugeInfo := func(d *prometheus.Desc, k string) {
		if v, ok := num(k); ok {
			gauge(d, v)
		}
	}
	counterInfo := func(d *prometheus.Desc, k string) {
		if v, ok := num(k); ok {
			counter(d, v)
		}
	}
	okGauge := func(d *prometheus.Desc, k string) {
		if v, ok := info[k]; ok {
			gauge(d, b2f(v == "ok"))
		}
	}
	// Replication.
	if r := info["role"]; r != "" {
		gauge(m.role, 1, r)
	}
	gaugeInfo(m.replOffset, "master_repl_offset")
	gaugeInfo(m.connectedReplicas, "connected_slaves")
	for _, r := range s.replicas {
		if off, err := strconv.ParseFloat(r[1], 64); err == nil {
			gauge(m.replicaOffset, off, r[0])
		}
		if lag, err := strconv.ParseFloat(r[2], 64); err == nil {
			gauge(m.replicaLag, lag, r[0])
		}
	}
	if v, ok := info["master_link_status"]; ok {
		gauge(m.masterLinkUp, b2f(v == "up"))
		gaugeInfo(m.masterLastIO, "master_last_io_seconds_ago")
	}
	// Persistence.
	gaugeInfo(m.lastSave, "rdb_last_save_time")
	gaugeInfo(m.changesSinceSave, "rdb_changes_since_last_save")
	gaugeInfo(m.aofEnabled, "aof_enabled")
	gaugeInfo(m.aofSize, "aof_current_size")
	okGauge(m.aofLastWriteOK, "aof_last_write_status")
	gaugeInfo(m.bgsaveInProgress, "rdb_bgsave_in_progress")
	counterInfo(m.rdbSaves, "rdb_saves")
	counterInfo(m.aofRewrites, "aof_rewrites")
	if fr, ok := n.wal.(fsyncReporter); ok {
		bounds, cum, count, sum := fr.FsyncLatency()
		buckets := make(map[float64]uint64, len(bounds))
		for i, b := range bounds {
			buckets[b] = cum[i]
		}
		ch <- prometheus.MustNewConstHistogram(m.fsyncDuration, count, sum, buckets)
	}
	// Backup (INFO backup, present when backups are configured).
	if _, ok := info["backup_last_status"]; ok {
		if t, ok := num("backup_last_success_time"); ok {
			gauge(m.backupLastSuccess, t)
			if t > 0 {
				gauge(m.backupLastSuccessAge, now.Sub(time.Unix(int64(t), 0)).Seconds())
			}
		}
		counterInfo(m.backupOK, "backup_ok_count")
		counterInfo(m.backupFailed, "backup_failed_count")
		gaugeInfo(m.backupInProgress, "backup_in_progress")
		if v := info["backup_last_status"]; v != "none" {
			gauge(m.backupLastOK, b2f(v == "ok"))
		}
		counterInfo(m.backupShipFailures, "backup_log_ship_failures")
		gaugeInfo(m.backupShipLagRecords, "backup_log_lag_records")
		gaugeInfo(m.backupShipLagSeconds, "backup_log_lag_seconds")
		if t, ok := num("backup_log_last_ship_time"); ok && t > 0 {
			gauge(m.backupShipAge, now.Sub(time.Unix(int64(t), 0)).Seconds())
		}
	}
	// Cluster.
	gauge(m.clusterEnabled, b2f(s.clusterInfo != nil))
	if ci := s.clusterInfo; ci != nil {
		gauge(m.clusterState, b2f(ci["cluster_state"] == "ok"))
		for _, f := range []struct {
			d *prometheus.Desc
			k string
		}{{m.clusterKnownNodes, "cluster_known_nodes"}, {m.clusterEpoch, "cluster_current_epoch"},
			{m.clusterMyEpoch, "cluster_my_epoch"}, {m.clusterSize, "cluster_size"}} {
			if v, err := strconv.ParseFloat(ci[f.k], 64); err == nil {
				gauge(f.d, v)
			}
		}
		for _, st := range []string{"assigned", "ok", "pfail", "fail"} {
			if v, err := strconv.ParseFloat(ci["cluster_slots_"+st], 64); err == nil {
				gauge(m.clusterSlots, v, st)
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
