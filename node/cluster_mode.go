package node

import (
	"path/filepath"
	"strconv"
	"time"

	"github.com/slotvault/slotvault/cluster"
	"github.com/slotvault/slotvault/config"
)

// Cluster mode: when cluster-enabled is yes the node owns a
// cluster.Cluster (node table, slot map, bus). n.cluster is set once in
// Start and never changes, so reading it needs no lock; it is nil in
// standalone mode, which keeps the dispatch path free of cluster work.

// clusterHost adapts the node to cluster.Host.
type clusterHost struct{ n *Node }

var _ cluster.Host = clusterHost{}

func (h clusterHost) Settings() cluster.Settings {
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	return h.n.clusterSettingsLocked()
}

func (h clusterHost) Deliver(channel, message []byte, shard bool) {
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	h.n.publishLocked(channel, message, shard, nil, nil)
}

func (n *Node) clusterSettingsLocked() cluster.Settings {
	return cluster.Settings{
		NodeTimeout:         n.cfg.ClusterNodeTimeout,
		RequireFullCoverage: n.cfg.ClusterRequireFullCoverage,
		AllowReadsWhenDown:  n.cfg.ClusterAllowReadsWhenDown,

		ReplicaValidityFactor: int(n.cfgInt("cluster-replica-validity-factor", 10)),
		ReplicaNoFailover:     n.cfgBool("cluster-replica-no-failover", false),
		ReplPingPeriod:        time.Duration(n.cfgInt("repl-ping-replica-period", 10)) * time.Second,
		AllowReplicaMigration: n.cfgBool("cluster-allow-replica-migration", true),
		MigrationBarrier:      int(n.cfgInt("cluster-migration-barrier", 1)),
	}
}

// startCluster opens nodes.conf (refusing one locked by another process)
// and starts the bus. A relative cluster-config-file is relative to dir:
// the server has already changed into dir when dir itself is relative.
func (n *Node) startCluster() error {
	if !n.cfg.ClusterEnabled {
		return nil
	}
	var secret []byte
	if f := n.cfg.ClusterBusSecretFile; f != "" {
		var err error
		if secret, err = config.ReadBusSecret(f); err != nil {
			return err
		}
	}
	path := n.cfg.ClusterConfigFile
	if !filepath.IsAbs(path) && filepath.IsAbs(n.cfg.Dir) {
		path = filepath.Join(n.cfg.Dir, path)
	}
	extraInt := func(name string) int {
		v, _ := strconv.Atoi(n.cfg.Extra[name])
		return v
	}
	// With tls-cluster the cluster's client port is the TLS port (and the
	// default bus port derives from it), as Redis's deriveAnnouncedPorts.
	port := n.cfg.Port
	if n.cfg.TLS.Cluster {
		port = n.cfg.TLS.Port
	}
	announcePort, pport := n.cfg.ClusterClientPort()
	if announcePort == port {
		announcePort = 0
	}
	c, err := cluster.Open(cluster.Config{
		ConfigFile:      path,
		Port:            port,
		BusPort:         n.cfg.ClusterPort,
		Bind:            n.cfg.Bind,
		Secret:          secret,
		AnnounceIP:      n.cfg.Extra["cluster-announce-ip"],
		AnnouncePort:    announcePort,
		AnnounceBusPort: extraInt("cluster-announce-bus-port"),
		Logger:          n.log.With("part", "cluster"),
		Host:            clusterHost{n},
		TLS:             n.busTLS,
		PPort:           pport,
	}, n.clusterSettingsLocked())
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		c.Close()
		return err
	}
	n.cluster = c
	return nil
}

func (n *Node) stopCluster() {
	if n.cluster != nil {
		n.cluster.Close()
	}
}

// Cluster returns the node's cluster state, nil in standalone mode.
func (n *Node) Cluster() *cluster.Cluster { return n.cluster }
