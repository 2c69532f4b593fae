package node

import (
	"fmt"
	"strings"
)

// persistenceInfoLocked renders INFO's "persistence" section. The
// persistence work replaces this with the real figures.
func (n *Node) persistenceInfoLocked(b *strings.Builder) {
	fmt.Fprintf(b, "loading:%d\r\n", boolInt(n.loading.Load()))
	fmt.Fprintf(b, "rdb_changes_since_last_save:%d\r\n", n.dirty)
	fmt.Fprintf(b, "rdb_last_save_time:%d\r\n", n.lastSave)
	b.WriteString("aof_enabled:0\r\n")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
