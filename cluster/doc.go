// Package cluster is a node's Redis Cluster state and its cluster bus: the
// node table, the slot map, epochs, nodes.conf, and the gossip protocol
// (MEET, PING/PONG, FAIL, UPDATE, PUBLISH) that keeps the view of every
// node in agreement, as the Redis Cluster specification describes.
//
// # State
//
// A Cluster holds myself (this node), every known node by its 40-hex ID,
// and three slot tables: the owner of each of the 16384 slots, and the
// slots this node is migrating to / importing from another node. The
// configEpoch of each master versions its slot claims: a claim with a
// greater configEpoch wins (clusterUpdateSlotsConfigWith), two masters with
// the same configEpoch are split by the smaller node ID taking a new one,
// and a node that hears an outdated claim answers with UPDATE.
// currentEpoch is the greatest epoch seen.
//
// cluster_state is ok when every slot is served by a node not flagged
// FAIL (with cluster-require-full-coverage yes) and a majority of the
// masters serving slots is reachable; a master waits 2 s after start, and
// a node back from a minority partition waits node-timeout (0.5-5 s),
// before turning ok again, as Redis.
//
// # Failure detection
//
// A node that has not answered a PING for cluster-node-timeout (and sent
// nothing else in that time) is flagged PFAIL locally. Every PING/PONG
// carries a gossip section: a random sample of about a tenth of the known
// nodes (at least three) plus every node flagged PFAIL. A master gossiping
// a node as PFAIL or FAIL leaves a failure report, valid for twice the node
// timeout. When the reports of a majority of the slot-serving masters
// (counting myself when I am one) agree, the node is flagged FAIL and a
// FAIL message is broadcast. FAIL is cleared when the node answers again:
// at once for replicas and slot-less masters, after twice the node timeout
// for masters with slots.
//
// # Replication and failover
//
// The cluster decides roles and the node follows them: each cron tick
// reads the node's replication state (ReplicationHost) and, outside the
// lock, makes a replica replicate from its master's address (CLUSTER
// REPLICATE, nodes.conf at start, an UPDATE or a newer slot claim that
// demotes a returning master) and promotes a master that still
// replicates. The header's replOffset is that state's offset.
//
// When its master is FAIL, a replica (unless cluster-replica-no-failover,
// and only when its data is fresh enough: link down for at most
// repl-ping-replica-period + node-timeout * cluster-replica-validity-factor)
// schedules an election after 500 ms + 0-500 ms + rank s, rank being the
// number of sibling replicas with a greater offset; it then bumps
// currentEpoch and broadcasts FAILOVER_AUTH_REQUEST. A master with slots
// grants at most one vote per epoch (lastVoteEpoch, saved before the
// ACK), at most one per failed master in 2 * node-timeout, and none when
// a claimed slot has an owner with a greater configEpoch. With the votes
// of a majority of the slot-serving masters within max(2 * node-timeout,
// 2 s), the replica takes the election's epoch as configEpoch, claims its
// master's slots and broadcasts PONG; the claim's greater configEpoch
// re-points the other replicas and, when it returns, the old master.
//
// CLUSTER FAILOVER (manual): the replica sends MFSTART; its master pauses
// client writes and pings the replica with mflags PAUSED and its final
// offset; once the replica has applied that offset it runs the election
// at once, its request flagged FORCEACK (granted although the master is
// not failing). FORCE skips the handshake, TAKEOVER the election (the
// replica bumps the epoch itself). Either ends within 5 s, when writes
// resume.
//
// Replica migration: a master with slots that had replicas and has no
// working one left is orphaned; after 5 s, the replica with the smallest
// ID of a master with the most working replicas (more than
// cluster-migration-barrier) becomes its replica, unless
// cluster-allow-replica-migration is no.
//
// A node whose cron has not run for node-timeout (a stopped process)
// answers cluster_state fail until it has caught up, so it never takes a
// write for slots reassigned while it was away. When its cron resumes
// after a stall of half the node timeout, pings pending from before are
// re-armed (the silence was ours, not the peers': Redis reads the bus
// before its cron runs) and a master waits the rejoin delay before turning
// ok, time to hear an UPDATE.
//
// # nodes.conf
//
// nodes.conf is CLUSTER NODES (minus nodes in handshake) followed by
// "vars currentEpoch <n> lastVoteEpoch <n>", the format Redis writes, so
// a Redis nodes.conf loads and vice versa. It is read at start, so a
// restarted node keeps its ID, epochs, slots and peers.
// "<nodes.conf>.lock" is held with flock(LOCK_EX|LOCK_NB) for the life of
// the process: a second node on the same file is refused.
//
// It is saved as Redis saves it (confsave.go): a change only asks for a
// save, and the file is written once for all the changes asked for
// meanwhile, with no cluster lock held, in place (a new file is created
// through a temp file, fsync and rename), then fsynced when one of the
// changes needs it: those learnt from the bus, failovers, epoch bumps.
// CLUSTER SETSLOT is answered only once its change is in the file (the
// node waits once per pipelined batch, as Redis's beforeSleep saves before
// it writes replies); SETSLOT NODE that bumps the epoch also waits for the
// fsync. The vote for a failover and the administrative commands (ADDSLOTS,
// FORGET, RESET, REPLICATE, SAVECONFIG...) save and fsync before they
// answer.
//
// # Bus wire format (version 1)
//
// The bus listens on port+10000 (cluster-port overrides). Every frame is
//
//	magic "SVCB" | version u16 (=1) | type u16 | length u32 | payload
//
// big-endian, length counting the payload only; a peer with another
// version is disconnected. The payload starts with the sender's header:
//
//	sender [40]byte | currentEpoch u64 | configEpoch u64 | replOffset u64 |
//	master [40]byte (zeros: none) | slots [2048]byte (bit j = slot j) |
//	flags u16 | stateOK u8 | mflags u8 | port u16 | cport u16 | ipLen u8 | ip
//
// (a replica sends its master's configEpoch and slots; ip is the announced
// IP, empty when the receiver should use the connection's address). Then,
// by type:
//
//	0 PING, 1 PONG, 2 MEET: count u16, then count gossip entries:
//	   id [40]byte | pingSent u64 | pongRecv u64 | flags u16 | port u16 |
//	   cport u16 | ipLen u8 | ip
//	3 FAIL:          id [40]byte
//	4 PUBLISH,
//	5 PUBLISHSHARD:  channelLen u32 | channel | messageLen u32 | message
//	6 UPDATE:        id [40]byte | configEpoch u64 | slots [2048]byte
//	7 FAILOVER_AUTH_REQUEST, 8 FAILOVER_AUTH_ACK, 9 MFSTART: header only
//
// mflags bit 0 (PAUSED): the sender, a master in a manual failover, has
// paused writes and its offset is final; bit 1 (FORCEACK): a vote request
// of a manual failover, granted although the master is not failing.
//
// Each node keeps one outbound link to every known node, on which it sends
// PING/MEET (answered with PONG on the same link), FAIL, UPDATE and
// PUBLISH, and accepts inbound links from the others. A MEET adds its
// sender directly under the ID it carries; the node sending MEET knows the
// peer under a random handshake name until the PONG gives its real ID.
//
// # Concurrency and lock order
//
// One RWMutex guards the whole state. Bus readers, the cron (10 Hz) and
// the command operations take it; frames are queued to per-link writer
// goroutines, so nothing blocks on the network with the lock held. The
// node calls in holding its own lock, so the order is node lock, then
// cluster lock; the cluster never calls the Host with its lock held.
// nodes.conf is written and fsynced with neither lock held (the cluster
// lock is read-locked only to render it); its writer's own mutex comes
// last in the order (confsave.go). WaitConfig is called with no lock.
package cluster
