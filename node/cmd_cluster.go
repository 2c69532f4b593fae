package node

import (
	"strings"

	"github.com/slotvault/slotvault/slots"
	"github.com/slotvault/slotvault/store"
)

// CLUSTER subcommands about key slots. The rest of CLUSTER (topology,
// slot ownership, failover) arrives with the cluster bus; until then those
// subcommands reply as unknown.

// redisClusterSubcommands are the subcommands Redis 7.0 knows, with their
// arity: Redis checks the arity, then refuses them all alike when cluster
// support is disabled.
var redisClusterSubcommands = map[string]int{
	"addslots": -3, "addslotsrange": -4, "bumpepoch": 2, "count-failure-reports": 3, "countkeysinslot": 3,
	"delslots": -3, "delslotsrange": -4, "failover": -2, "flushslots": 2, "forget": 3, "getkeysinslot": 4,
	"help": 2, "info": 2, "keyslot": 3, "links": 2, "meet": -4, "myid": 2, "nodes": 2, "replicas": 3,
	"replicate": 3, "reset": -2, "saveconfig": 2, "set-config-epoch": 3, "setslot": -4, "shards": 2,
	"slaves": 3, "slots": 2,
}

const errClusterDisabled = "ERR This instance has cluster support disabled"

func clusterCommands() []*Command {
	f := FlagStale
	return []*Command{{Name: "cluster", Arity: -2,
		Summary: "A container for cluster commands", Since: "3.0.0", Group: "cluster",
		Handler: cmdClusterOther,
		Subcommands: map[string]*Command{
			"keyslot": {Arity: 3, Flags: f, Summary: "Returns the hash slot of the specified key", Since: "3.0.0", Group: "cluster",
				Handler: clusterEnabled(func(c *Ctx) { c.R.Int(int64(slots.KeySlot(c.Args[2]))) })},
			"countkeysinslot": {Arity: 3, Flags: f, Summary: "Return the number of local keys in the specified hash slot", Since: "3.0.0", Group: "cluster",
				Handler: clusterEnabled(cmdClusterCountKeysInSlot)},
			"getkeysinslot": {Arity: 4, Flags: f, Summary: "Return local key names in the specified hash slot", Since: "3.0.0", Group: "cluster",
				Handler: clusterEnabled(cmdClusterGetKeysInSlot)},
			"help": {Arity: 2, Flags: FlagLoading | FlagStale, Summary: "Show helpful text about the different subcommands", Since: "5.0.0", Group: "cluster",
				Handler: clusterEnabled(func(c *Ctx) { replyHelp(c, "CLUSTER", clusterHelp) })},
		}}}
}

// clusterEnabled wraps a CLUSTER subcommand so that it refuses to run
// without cluster support, as Redis does.
func clusterEnabled(h func(c *Ctx)) func(c *Ctx) {
	return func(c *Ctx) {
		if !c.n.cfg.ClusterEnabled {
			c.Error(errClusterDisabled)
			return
		}
		h(c)
	}
}

// cmdClusterOther handles CLUSTER subcommands slotvault does not have yet.
func cmdClusterOther(c *Ctx) {
	sub := strings.ToLower(string(c.Args[1]))
	arity, ok := redisClusterSubcommands[sub]
	if !ok {
		unknownSubcommand(c)
		return
	}
	if !arityOK(arity, len(c.Args)) {
		c.Error("ERR wrong number of arguments for 'cluster|" + sub + "' command")
		return
	}
	if !c.n.cfg.ClusterEnabled {
		c.Error(errClusterDisabled)
		return
	}
	subcommandSyntaxError(c)
}

func cmdClusterCountKeysInSlot(c *Ctx) {
	slot, ok := c.ParseInt(2)
	if !ok {
		return
	}
	if slot < 0 || slot >= slots.Count {
		c.Error("ERR Invalid slot")
		return
	}
	c.R.Int(int64(c.DB.CountInSlot(int(slot))))
}

func cmdClusterGetKeysInSlot(c *Ctx) {
	slot, ok := c.ParseInt(2)
	if !ok {
		return
	}
	count, ok := c.ParseInt(3)
	if !ok {
		return
	}
	if slot < 0 || slot >= slots.Count || count < 0 {
		c.Error("ERR Invalid slot or number of keys")
		return
	}
	var keys []string
	c.DB.KeysInSlot(int(slot), func(k string, _ *store.Entry) bool {
		if int64(len(keys)) >= count {
			return false
		}
		keys = append(keys, k)
		return true
	})
	c.R.StringArray(keys)
}

var clusterHelp = []string{
	"ADDSLOTS <slot> [<slot> ...]",
	"    Assign slots to current node.",
	"ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Assign slots which are between <start-slot> and <end-slot> to current node.",
	"BUMPEPOCH",
	"    Advance the cluster config epoch.",
	"COUNT-FAILURE-REPORTS <node-id>",
	"    Return number of failure reports for <node-id>.",
	"COUNTKEYSINSLOT <slot>",
	"    Return the number of keys in <slot>.",
	"DELSLOTS <slot> [<slot> ...]",
	"    Delete slots information from current node.",
	"DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Delete slots information which are between <start-slot> and <end-slot> from current node.",
	"FAILOVER [FORCE|TAKEOVER]",
	"    Promote current replica node to being a master.",
	"FORGET <node-id>",
	"    Remove a node from the cluster.",
	"GETKEYSINSLOT <slot> <count>",
	"    Return key names stored by current node in a slot.",
	"FLUSHSLOTS",
	"    Delete current node own slots information.",
	"INFO",
	"    Return information about the cluster.",
	"KEYSLOT <key>",
	"    Return the hash slot for <key>.",
	"MEET <ip> <port> [<bus-port>]",
	"    Connect nodes into a working cluster.",
	"MYID",
	"    Return the node id.",
	"NODES",
	"    Return cluster configuration seen by node. Output format:",
	"    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
	"REPLICATE <node-id>",
	"    Configure current node as replica to <node-id>.",
	"RESET [HARD|SOFT]",
	"    Reset current node (default: soft).",
	"SET-CONFIG-EPOCH <epoch>",
	"    Set config epoch of current node.",
	"SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
	"    Set slot state.",
	"REPLICAS <node-id>",
	"    Return <node-id> replicas.",
	"SAVECONFIG",
	"    Force saving cluster configuration on disk.",
	"SLOTS",
	"    Return information about slots range mappings. Each range is made of:",
	"    start, end, master and replicas IP addresses, ports and ids",
	"SHARDS",
	"    Return information about slot range mappings and the nodes associated with them.",
	"LINKS",
	"    Return information about all network links between this node and its peers.",
	"    Output format is an array where each array element is a map containing attributes of a link",
}
