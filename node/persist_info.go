package node

import (
	"fmt"
	"strings"
)

// persistenceInfoLocked renders INFO's "persistence" section with Redis
// 7.0's field names, in Redis's order. The persistence layer renders
// everything after "loading"; without one (in-process test nodes) the
// figures are those of a node that never saved.
func (n *Node) persistenceInfoLocked(b *strings.Builder) {
	fmt.Fprintf(b, "loading:%d\r\n", boolInt(n.loading.Load()))
	if n.persist != nil {
		n.persist.InfoLocked(b)
		return
	}
	b.WriteString("async_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\n" +
		"current_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n")
	fmt.Fprintf(b, "rdb_changes_since_last_save:%d\r\n", n.dirty)
	b.WriteString("rdb_bgsave_in_progress:0\r\n")
	fmt.Fprintf(b, "rdb_last_save_time:%d\r\n", n.lastSave)
	b.WriteString("rdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\n" +
		"rdb_saves:0\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\n" +
		"aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\n" +
		"aof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n" +
		"aof_rewrites_consecutive_failures:0\r\n")
	status := "ok"
	if n.wal != nil && n.wal.Err() != nil {
		status = "err"
	}
	fmt.Fprintf(b, "aof_last_write_status:%s\r\n", status)
	b.WriteString("aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
