package cluster

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkConfigText renders nodes.conf for a 6-node cluster: the saver
// does it for every SETSLOT of a reshard.
func BenchmarkConfigText(b *testing.B) {
	c, err := Open(Config{ConfigFile: filepath.Join(b.TempDir(), "nodes.conf"), Port: 7000}, Settings{NodeTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	var masters []*Node
	for i := 0; i < 5; i++ {
		n := c.newNode(RandomID(), FlagMaster)
		n.setAddr("127.0.0.1", 7001+i, 17001+i)
		c.addNodeLocked(n)
		masters = append(masters, n)
	}
	// Six masters, each with a few ranges, as after some resharding.
	for j := 0; j < 16384; j++ {
		owner := c.myself
		if k := (j / 500) % 6; k > 0 {
			owner = masters[k-1]
		}
		c.addSlotLocked(owner, j)
	}
	c.setMigratingLocked(30, masters[0])
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.configTextLocked()
	}
}
