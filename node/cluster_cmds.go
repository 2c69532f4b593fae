package node

import (
	"errors"
	"strconv"
	"strings"

	"github.com/slotvault/slotvault/cluster"
	"github.com/slotvault/slotvault/slots"
	"github.com/tidwall/redcon"
)

// addClusterModeCommands adds the CLUSTER subcommands of cluster mode to
// the CLUSTER container (cmd_cluster.go has the key-slot ones), the
// READONLY/READWRITE/ASKING connection commands, and propagation of
// PUBLISH/SPUBLISH over the cluster bus.
func addClusterModeCommands(t commandTable) {
	parent := t["cluster"]
	if parent == nil {
		parent = &Command{Name: "cluster", Arity: -2, Summary: "A container for cluster commands",
			Since: "3.0.0", Group: "cluster", Handler: subcommandSyntaxError, Subcommands: map[string]*Command{}}
		t["cluster"] = parent
	}
	stale := FlagStale
	admin := FlagAdmin | FlagStale
	adminCats := []string{"admin", "slow", "dangerous"}
	sub := func(name string, arity int, flags CmdFlag, cats []string, summary, since string, h func(c *Ctx)) {
		parent.Subcommands[name] = &Command{Name: "cluster|" + name, Arity: arity, Flags: flags,
			Categories: cats, Summary: summary, Since: since, Group: "cluster", Handler: clusterOnly(h)}
	}
	slow := []string{"slow"}
	sub("info", 2, stale, slow, "Provides info about Redis Cluster node state", "3.0.0",
		func(c *Ctx) { c.R.Verbatim(c.n.cluster.InfoText()) })
	sub("nodes", 2, stale, slow, "Get Cluster config for the node", "3.0.0",
		func(c *Ctx) { c.R.Verbatim(c.n.clusterNodesTextLocked(c.Cl)) })
	sub("myid", 2, stale, slow, "Return the node id", "3.0.0",
		func(c *Ctx) { c.R.BulkString(c.n.cluster.MyID()) })
	// CLUSTER MYSHARDID arrived in Redis 7.2 (Redis 7.0.15 does not know
	// it); the cluster issue asks for it, so it is answered as 7.2 does.
	sub("myshardid", 2, stale, slow, "Return the node's shard id", "7.2.0",
		func(c *Ctx) { c.R.BulkString(c.n.cluster.MyShardID()) })
	sub("slots", 2, stale, slow, "Get array of Cluster slot to node mappings", "3.0.0", cmdClusterSlots)
	sub("shards", 2, stale, slow, "Get array of cluster slots to node mappings", "7.0.0", cmdClusterShards)
	sub("links", 2, stale, slow, "Returns a list of all TCP links to and from peer nodes in cluster", "7.0.0", cmdClusterLinks)
	sub("addslots", -3, admin, adminCats, "Assign new hash slots to receiving node", "3.0.0",
		func(c *Ctx) { cmdClusterSlotsUpdate(c, false, false) })
	sub("addslotsrange", -4, admin, adminCats, "Assign new hash slots to receiving node", "7.0.0",
		func(c *Ctx) { cmdClusterSlotsUpdate(c, false, true) })
	sub("delslots", -3, admin, adminCats, "Set hash slots as unbound in receiving node", "3.0.0",
		func(c *Ctx) { cmdClusterSlotsUpdate(c, true, false) })
	sub("delslotsrange", -4, admin, adminCats, "Set hash slots as unbound in receiving node", "7.0.0",
		func(c *Ctx) { cmdClusterSlotsUpdate(c, true, true) })
	sub("flushslots", 2, admin, adminCats, "Delete a node's own slots information", "3.0.0", cmdClusterFlushSlots)
	sub("meet", -4, admin, adminCats, "Force a node cluster to handshake with another node", "3.0.0", cmdClusterMeet)
	sub("forget", 3, admin, adminCats, "Remove a node from the nodes table", "3.0.0", func(c *Ctx) {
		replyOKOrErr(c, c.n.cluster.Forget(string(c.Args[2])))
	})
	sub("reset", -2, admin|FlagNoScript, adminCats, "Reset a Redis Cluster node", "3.0.0", cmdClusterReset)
	sub("setslot", -4, admin, adminCats, "Bind a hash slot to a specific node", "3.0.0", cmdClusterSetSlot)
	sub("migrateslots", -3, admin, adminCats, "Move whole slot ranges to another master in the background", "7.0.0", cmdClusterMigrateSlots)
	sub("set-config-epoch", 3, admin, adminCats, "Set the configuration epoch in a new node", "3.0.0", func(c *Ctx) {
		e, ok := c.ParseInt(2)
		if !ok {
			return
		}
		replyOKOrErr(c, c.n.cluster.SetConfigEpoch(e))
	})
	sub("bumpepoch", 2, admin, adminCats, "Advance the cluster config epoch", "3.0.0", func(c *Ctx) {
		bumped, e := c.n.cluster.BumpEpoch()
		word := "STILL"
		if bumped {
			word = "BUMPED"
		}
		c.R.Simple(word + " " + strconv.FormatUint(e, 10))
	})
	sub("saveconfig", 2, admin, adminCats, "Forces the node to save cluster state on disk", "3.0.0", func(c *Ctx) {
		replyOKOrErr(c, c.n.cluster.SaveConfig())
	})
	sub("count-failure-reports", 3, admin, adminCats, "Return the number of failure reports active for a given node", "3.0.0", func(c *Ctx) {
		v, err := c.n.cluster.CountFailureReports(string(c.Args[2]))
		if err != nil {
			c.Error(err.Error())
			return
		}
		c.R.Int(int64(v))
	})
	sub("replicate", 3, admin, adminCats, "Reconfigure a node as a replica of the specified master node", "3.0.0", func(c *Ctx) {
		replyOKOrErr(c, c.n.cluster.Replicate(string(c.Args[2]), c.n.dbs[0].Size() == 0))
	})
	sub("failover", -2, admin, adminCats, "Forces a replica to perform a manual failover of its master.", "3.0.0", cmdClusterFailover)
	replicas := func(c *Ctx) {
		lines, err := c.n.cluster.Replicas(string(c.Args[2]))
		if err != nil {
			c.Error(err.Error())
			return
		}
		if c.n.plainClientOfTLSClusterLocked(c.Cl) {
			lines = c.n.cluster.PlainDescriptions(lines)
		}
		c.R.StringArray(lines)
	}
	sub("replicas", 3, admin, adminCats, "List replica nodes of the specified master node", "5.0.0", replicas)
	sub("slaves", 3, admin, adminCats, "List replica nodes of the specified master node", "3.0.0", replicas)

	conn := []string{"fast", "connection"}
	t["readonly"] = &Command{Name: "readonly", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Categories: conn,
		Summary: "Enables read queries for a connection to a cluster replica node", Since: "3.0.0", Group: "cluster",
		Handler: clusterOnly(func(c *Ctx) { c.Cl.clusterFlags |= clReadonly; c.R.OK() })}
	t["readwrite"] = &Command{Name: "readwrite", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Categories: conn,
		Summary: "Disables read queries for a connection to a cluster replica node", Since: "3.0.0", Group: "cluster",
		Handler: clusterOnly(func(c *Ctx) { c.Cl.clusterFlags &^= clReadonly; c.R.OK() })}
	t["asking"] = &Command{Name: "asking", Arity: 1, Flags: FlagFast, Categories: conn,
		Summary: "Sent by cluster clients after an -ASK redirect", Since: "3.0.0", Group: "cluster",
		Handler: clusterOnly(func(c *Ctx) { c.Cl.clusterFlags |= clAsking; c.R.OK() })}

	// PUBLISH reaches the subscribers of every node; SPUBLISH those of the
	// nodes of this shard.
	for _, name := range []string{"publish", "spublish"} {
		p := t[name]
		if p == nil {
			continue
		}
		orig, shard := p.Handler, name == "spublish"
		p.Handler = func(c *Ctx) {
			orig(c)
			if c.n.cluster != nil {
				c.n.cluster.Publish(c.Args[1], c.Args[2], shard)
			}
		}
	}
}

// clusterOnly refuses a command when cluster support is disabled.
func clusterOnly(h func(c *Ctx)) func(c *Ctx) {
	return func(c *Ctx) {
		if c.n.cluster == nil {
			c.Error("ERR This instance has cluster support disabled")
			return
		}
		h(c)
	}
}

func replyOKOrErr(c *Ctx, err error) {
	if err != nil {
		var re cluster.ReplyError
		if errors.As(err, &re) {
			c.Error(string(re))
		} else {
			c.Error("ERR " + err.Error())
		}
		return
	}
	c.R.OK()
}

// parseSlot is getSlotOrReply.
func parseSlot(c *Ctx, i int) (int, bool) {
	v, ok := ParseInt(c.Args[i])
	if !ok || v < 0 || v >= slots.Count {
		c.Error("ERR Invalid or out of range slot")
		return 0, false
	}
	return int(v), true
}

// cmdClusterSlotsUpdate is ADDSLOTS, DELSLOTS and their RANGE forms: every
// argument is checked (in order, as Redis) before anything changes.
func cmdClusterSlotsUpdate(c *Ctx, del, ranges bool) {
	if ranges && len(c.Args)%2 == 1 {
		c.ErrArity()
		return
	}
	assigned := c.n.cluster.Assigned()
	var seen slots.Set
	check := func(start, end int) bool {
		for s := start; s <= end; s++ {
			if del && !assigned.Has(s) {
				c.Error("ERR Slot " + strconv.Itoa(s) + " is already unassigned")
				return false
			}
			if !del && assigned.Has(s) {
				c.Error("ERR Slot " + strconv.Itoa(s) + " is already busy")
				return false
			}
			if seen.Has(s) {
				c.Error("ERR Slot " + strconv.Itoa(s) + " specified multiple times")
				return false
			}
			seen.Add(s)
		}
		return true
	}
	if ranges {
		for j := 2; j < len(c.Args); j += 2 {
			start, ok := parseSlot(c, j)
			if !ok {
				return
			}
			end, ok := parseSlot(c, j+1)
			if !ok {
				return
			}
			if start > end {
				c.Error("ERR start slot number " + strconv.Itoa(start) + " is greater than end slot number " + strconv.Itoa(end))
				return
			}
			if !check(start, end) {
				return
			}
		}
	} else {
		for j := 2; j < len(c.Args); j++ {
			s, ok := parseSlot(c, j)
			if !ok {
				return
			}
			if !check(s, s) {
				return
			}
		}
	}
	replyOKOrErr(c, c.n.cluster.UpdateSlots(&seen, del))
}

func cmdClusterFlushSlots(c *Ctx) {
	if c.n.dbs[0].Size() != 0 {
		c.Error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
		return
	}
	replyOKOrErr(c, c.n.cluster.FlushSlots())
}

func cmdClusterMeet(c *Ctx) {
	if len(c.Args) > 5 {
		subcommandSyntaxError(c)
		return
	}
	cport := ""
	if len(c.Args) == 5 {
		cport = string(c.Args[4])
	}
	ip, port, cp, err := cluster.ParseMeetAddr(string(c.Args[2]), string(c.Args[3]), cport)
	if err == nil {
		err = c.n.cluster.Meet(ip, port, cp)
		if errors.Is(err, cluster.ErrInvalidAddr) {
			err = cluster.ReplyError("ERR Invalid node address specified: " + string(c.Args[2]) + ":" + string(c.Args[3]))
		}
	}
	replyOKOrErr(c, err)
}

func cmdClusterReset(c *Ctx) {
	if len(c.Args) > 3 {
		subcommandSyntaxError(c)
		return
	}
	hard := false
	if len(c.Args) == 3 {
		switch strings.ToLower(string(c.Args[2])) {
		case "hard":
			hard = true
		case "soft":
		default:
			c.ErrSyntax()
			return
		}
	}
	wasReplica := c.n.cluster.IsReplica()
	if !wasReplica && c.DB.Size() != 0 {
		c.Error("ERR CLUSTER RESET can't be called with master nodes containing keys")
		return
	}
	if wasReplica {
		// A replica turning master starts empty, as Redis's emptyData.
		for _, db := range c.n.dbs {
			db.Flush()
		}
	}
	replyOKOrErr(c, c.n.cluster.Reset(hard))
}

func cmdClusterSetSlot(c *Ctx) {
	if c.n.cluster.IsReplica() {
		c.Error("ERR Please use SETSLOT only with masters.")
		return
	}
	slot, ok := parseSlot(c, 2)
	if !ok {
		return
	}
	var action cluster.SlotAction
	switch {
	case c.ArgIs(3, "migrating") && len(c.Args) == 5:
		action = cluster.SlotMigrating
	case c.ArgIs(3, "importing") && len(c.Args) == 5:
		action = cluster.SlotImporting
	case c.ArgIs(3, "stable") && len(c.Args) == 4:
		action = cluster.SlotStable
	case c.ArgIs(3, "node") && len(c.Args) == 5:
		action = cluster.SlotNode
	default:
		c.Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
		return
	}
	id := ""
	if len(c.Args) == 5 {
		id = string(c.Args[4])
	}
	t, err := c.n.cluster.SetSlot(slot, action, id, c.n.dbs[0].CountInSlot(slot))
	if err == nil {
		c.Cl.pendConf = c.Cl.pendConf.Max(t)
	}
	replyOKOrErr(c, err)
}

// finishConfigBatch runs after the last request of a pipelined batch,
// before its replies are sent: it waits until the cluster configuration
// changes of the batch (CLUSTER SETSLOT) are in nodes.conf, as Redis saves
// it in beforeSleep before writing replies. No lock is held. If the save
// failed, the batch's replies are dropped and the connection closed (Redis
// exits when it cannot save nodes.conf): an OK must not acknowledge a
// slot change a restart would forget.
func (n *Node) finishConfigBatch(conn redcon.Conn, cl *Client) {
	t := cl.pendConf
	if t.IsZero() || n.cluster == nil {
		return
	}
	cl.pendConf = cluster.ConfigTicket{}
	err := n.cluster.WaitConfig(t)
	if err == nil {
		return
	}
	n.log.Error("CLUSTER SETSLOT: nodes.conf not saved; closing the connection", "err", err)
	if w := redcon.BaseWriter(conn); w != nil {
		w.SetBuffer(w.Buffer()[:0])
	}
	cl.closing = true
}

// nodeEntry writes a CLUSTER SLOTS node entry: ip, port, id, and a map of
// the other endpoints (none: slotvault announces no hostnames).
func nodeEntry(c *Ctx, n cluster.NodeInfo) {
	c.R.Array(4)
	c.R.BulkString(n.IP)
	c.R.Int(int64(c.n.clientPortLocked(c.Cl, n)))
	c.R.BulkString(n.ID)
	c.R.Map(0)
}

func cmdClusterSlots(c *Ctx) {
	ranges := c.n.cluster.Slots()
	c.R.Array(len(ranges))
	for _, r := range ranges {
		c.R.Array(3 + len(r.Replicas))
		c.R.Int(int64(r.Start))
		c.R.Int(int64(r.End))
		nodeEntry(c, r.Master)
		for _, rep := range r.Replicas {
			nodeEntry(c, rep)
		}
	}
}

func cmdClusterShards(c *Ctx) {
	shards := c.n.cluster.Shards()
	c.R.Array(len(shards))
	for _, s := range shards {
		c.R.Map(2)
		c.R.BulkString("slots")
		c.R.Array(2 * len(s.Ranges))
		for _, r := range s.Ranges {
			c.R.Int(int64(r.Start))
			c.R.Int(int64(r.End))
		}
		c.R.BulkString("nodes")
		c.R.Array(len(s.Nodes))
		for _, n := range s.Nodes {
			// In a TLS cluster the announced port is the TLS port and the
			// plaintext one (when known) is reported beside it, as Redis.
			port, tlsPort := n.Port, 0
			if c.n.cfg.TLS.Cluster {
				port, tlsPort = n.PPort, n.Port
			}
			fields := 6 // id ip endpoint role replication-offset health
			if n.Hostname != "" {
				fields++
			}
			if port != 0 {
				fields++
			}
			if tlsPort != 0 {
				fields++
			}
			c.R.Map(fields)
			c.R.BulkString("id")
			c.R.BulkString(n.ID)
			if port != 0 {
				c.R.BulkString("port")
				c.R.Int(int64(port))
			}
			if tlsPort != 0 {
				c.R.BulkString("tls-port")
				c.R.Int(int64(tlsPort))
			}
			c.R.BulkString("ip")
			c.R.BulkString(n.IP)
			c.R.BulkString("endpoint")
			c.R.BulkString(n.IP)
			if n.Hostname != "" {
				c.R.BulkString("hostname")
				c.R.BulkString(n.Hostname)
			}
			c.R.BulkString("role")
			health := "online"
			if n.Master {
				c.R.BulkString("master")
			} else {
				c.R.BulkString("replica")
			}
			c.R.BulkString("replication-offset")
			c.R.Int(n.ReplOffset)
			switch {
			case n.Failed:
				health = "fail"
			case !n.Master && n.ReplOffset == 0:
				health = "loading"
			}
			c.R.BulkString("health")
			c.R.BulkString(health)
		}
	}
}

func cmdClusterLinks(c *Ctx) {
	links := c.n.cluster.Links()
	c.R.Array(len(links))
	for _, l := range links {
		c.R.Map(6)
		c.R.BulkString("direction")
		c.R.BulkString(l.Direction)
		c.R.BulkString("node")
		c.R.BulkString(l.Node)
		c.R.BulkString("create-time")
		c.R.Int(l.CreateTime)
		c.R.BulkString("events")
		c.R.BulkString(l.Events)
		c.R.BulkString("send-buffer-allocated")
		c.R.Int(l.SendAlloc)
		c.R.BulkString("send-buffer-used")
		c.R.Int(l.SendUsed)
	}
}
