package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slotvault/slotvault/internal/testutil"
)

// TestClusterMetricsAndSlotStats: a three-master cluster created with
// redis-cli, each node with a metrics endpoint and slot statistics on.
// Keys written through a cluster client show up in every node's metrics
// and CLUSTER SLOT-STATS, and add up.
func TestClusterMetricsAndSlotStats(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	var nodes []*clusterNode
	mports := map[*clusterNode]int{}
	for i := 0; i < 3; i++ {
		dir := t.TempDir()
		port, mport := testutil.FreePort(t), testutil.FreePort(t)
		conf := seedConf(port, 2000) + fmt.Sprintf("metrics-port %d\ncluster-slot-stats-enabled yes\n", mport)
		if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		nd := &clusterNode{port: port, dir: dir}
		nd.start(t)
		nodes = append(nodes, nd)
		mports[nd] = mport
	}
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.addr())
	}
	if out, err := runCLI(t, append(args, "--cluster-replicas", "0", "--cluster-yes")...); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	waitAll(t, nodes, "cluster_state:ok", 30*time.Second, stateOK(t))

	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].addr()}})
	defer cc.Close()
	const keys = 300
	for i := 0; i < keys; i++ {
		if err := cc.Set(ctx, "key:"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < keys; i++ {
		cc.Get(ctx, "key:"+strconv.Itoa(i))
	}

	var dbKeys, rangeKeys, slotStatKeys float64
	for _, n := range nodes {
		m := scrape(t, mports[n])
		for k, want := range map[string]float64{
			"slotvault_cluster_enabled": 1, "slotvault_cluster_state_ok": 1, "slotvault_cluster_known_nodes": 3,
			"slotvault_cluster_size": 3, `slotvault_cluster_slots{state="assigned"}`: 16384,
		} {
			if m[k] != want {
				t.Errorf("node %d: %s = %v, want %v", n.port, k, m[k], want)
			}
		}
		dbKeys += m[`slotvault_db_keys{db="0"}`]
		for k, v := range m {
			if strings.HasPrefix(k, "slotvault_slot_range_keys{") {
				rangeKeys += v
			}
		}
		// Every slot this node serves, with its key count and traffic.
		c := testutil.Dial(t, n.addr())
		v, err := c.Do("CLUSTER", "SLOT-STATS", "ORDERBY", "key-count", "LIMIT", "16384")
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Elems) < 5000 || len(v.Elems) > 6000 {
			t.Errorf("node %d lists %d slots", n.port, len(v.Elems))
		}
		for _, e := range v.Elems {
			st := e.Elems[1].Elems
			slotStatKeys += float64(st[1].Int)
			if st[1].Int > 0 && (st[5].Int == 0 || st[7].Int == 0) {
				t.Errorf("node %d slot %d: keys but no traffic: %v", n.port, e.Elems[0].Int, e)
			}
		}
	}
	if dbKeys != keys || rangeKeys != keys || slotStatKeys != keys {
		t.Errorf("keys: db_keys %v, slot_range_keys %v, SLOT-STATS %v; want %d each", dbKeys, rangeKeys, slotStatKeys, keys)
	}
}
