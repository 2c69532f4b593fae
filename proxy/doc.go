// Package proxy is slotvault's cluster proxy: clients that know nothing of
// Redis Cluster (redis-cli without -c, redis-benchmark without --cluster,
// any RESP2/RESP3 library) connect to it and it routes each command to the
// node that serves its keys.
//
// # Slot map
//
// The proxy learns the cluster from CLUSTER SLOTS, asked of the seed nodes
// (Config.Cluster) and later of any known node. The map is an immutable
// snapshot (owner master per slot, masters in slot order, replicas per
// master) swapped atomically; readers never lock. A MOVED reply refreshes
// it in the background; TRYAGAIN, CLUSTERDOWN and lost connections refresh
// it before the retry. Refreshes are serialized and at most one per 50 ms.
//
// # Routing
//
// Key positions come from slotvault's own command table
// (node.CommandLookup), the table that drives the nodes' slot checks, so
// the proxy and the nodes agree on what a key is (numkeys commands,
// subcommands, shard channels). A command whose keys share one slot goes to
// that slot's master (or, with ReadFrom replica and a read-only command, to
// one of its replicas: the choice is fixed per client connection, and
// every node connection sends READONLY). Keyless commands go to the first
// master. Commands whose keys hash to different slots answer
// "CROSSSLOT Keys in request don't hash to the same slot", except:
//
//   - MGET, EXISTS, DEL, UNLINK, TOUCH, MSET are split into one command per
//     slot and the replies merged (MGET reassembled in key order, counts
//     added, MSET +OK when every part succeeded). MSET across slots is not
//     atomic: a failure can leave some slots written.
//   - DBSIZE, KEYS, FLUSHALL, FLUSHDB, RANDOMKEY and INFO go to every master
//     and are merged (sum, concatenation, all-OK, a random non-nil key, a
//     per-node summary with the keyspace summed).
//   - PING goes to every master too (mergeFirst after every reply is in):
//     PONG, or the echoed argument, only if all answered; else the first
//     error, "-ERR node ADDR unreachable: reason" for a master that cannot
//     be reached (see session.retryPinned).
//
// # SCAN cursor
//
// A proxy cursor is nodeCursor<<10 | masterIndex, masterIndex being the
// master's position in the slot map ordered by lowest slot. Cursor 0 starts
// at master 0; when a master's scan ends (node cursor 0) the next cursor is
// the next master's index with node cursor 0, and after the last master the
// cursor is 0. Node cursors must stay below 2^54 (slotvault's are slot
// numbers). A resharding during a scan may skip or repeat keys of the moved
// slots, as SCAN on a rehashing table may.
//
// # Connections, pipelining and ordering
//
// Each client connection is served by one goroutine (a session). It parses
// every complete request already buffered (up to 1024) into a batch and
// turns each command into sub-requests (one per node for a plain command,
// several for split and fan-out commands). The batch then goes out one of
// two ways, and only once all its replies are in are redirections resolved
// (one sub-request at a time: MOVED, ASK with ASKING, TRYAGAIN,
// CLUSTERDOWN, LOADING, lost or silent connections, within
// Config.RetryTimeout), replies merged and written to the client, in
// request order, with one flush. Because a batch completes before the next
// is sent, a session may switch between the two ways from batch to batch
// without reordering anything.
//
// Shared (multiplexed) connections, the default for stateless batches once
// Config.MultiplexMinClients clients are connected: each node has one
// shared connection per protocol version. A session appends all of its
// batch's requests for a node, with their count, under the connection's
// lock (so queue order is wire order); whoever finds the socket idle
// writes everything accumulated, other sessions' requests included (group
// commit), and one reader goroutine per connection reads replies in queue
// order and hands each session its replies in one piece. Many clients'
// commands thus share each write and read system call, on the proxy and on
// the node, which is what makes the proxy cheaper than a client with its
// own connections even at pipeline depth 1.
//
// Own connections, for batches that depend on connection state (WATCH,
// blocking commands and WAIT, a client's own AUTH), with
// Config.NoMultiplex, and for retries: the session writes each
// sub-request into a buffered writer of its own connection to the node,
// flushes each once, and reads the replies in the order written (a node
// answers in order). A session keeps these connections (one per node) for
// its lifetime, which keeps WATCH, MULTI/EXEC and blocking commands on one
// connection; on close, connections without pending replies or
// connection-bound state go back to a per-node pool (Config.PoolSize).
// Taking one brings it to the session's HELLO protocol and AUTH first.
//
// Either way a pipeline of 16 GETs over three masters costs three node
// round trips done in parallel, not sixteen. Requests and replies are
// copied as raw RESP bytes; only merged replies are parsed. Buffers
// (requests, replies, the per-batch op, sub-request and waiter slices) are
// reused from batch to batch, so forwarding a command does not allocate.
// A node that does not answer within Config.NodeTimeout (blocking commands
// excepted) is treated as a lost connection.
//
// Lock order: Proxy.mu, then node.mu, then sharedConn.mu; session.heldMu
// and pubsubState.mu are leaves. The slot map is read without locks.
//
// # Transactions
//
// MULTI is answered by the proxy, which queues the commands (checking that
// their keys share one slot: otherwise CROSSSLOT, and EXEC answers
// EXECABORT as Redis does). EXEC sends MULTI, the queue and EXEC to the
// slot's master in one write. If the node refused the queue with MOVED/ASK
// (nothing ran), the transaction is re-sent to the new owner. WATCH goes
// to the watched keys' master on the session's connection; EXEC of a
// transaction whose slot is served by another node than the watched keys
// returns a nil reply, as if a watched key had changed.
//
// # Pub/sub
//
// SUBSCRIBE and PSUBSCRIBE go to one connection to the first master
// (cluster PUBLISH reaches every node); SSUBSCRIBE goes to a connection to
// the master of the shard channel's slot. A relay goroutine per
// subscription connection copies messages to the client under the session's
// output lock. A subscribed session stays in pass-through mode until it
// closes; if a subscription's node goes away the client is disconnected so
// that it subscribes again.
//
// # Authentication
//
// With Config.RequirePass the proxy checks AUTH/HELLO AUTH itself and the
// node connections use Config.NodeUser/NodePassword. Without it, AUTH and
// HELLO AUTH are sent to a node and, when accepted, replayed on every node
// connection the session uses; the node credentials then serve only the
// proxy's own CLUSTER SLOTS queries.
//
// # Not supported
//
// MONITOR, SYNC/PSYNC, REPLICAOF, SHUTDOWN, CLIENT REPLY OFF|SKIP and
// client-side caching answer an error (the last two would break the
// one-request-one-reply accounting of a shared connection). CLIENT
// SETNAME and other CLIENT state land on the client's own connection to
// the first master; SELECT is the nodes' (cluster mode: db 0 only).
//
// # TLS
//
// Config.TLS holds the node's own tls-* directives (parsed by the config
// package's table, loaded by internal/tlsconf into a Material). TLS.Port
// adds a listener whose connections are wrapped by tls.Server with
// Material.Server (client certificates as tls-auth-clients says); the
// handshake runs lazily in the session goroutine. With TLS.Cluster every
// node connection (data, shared, pub/sub, CLUSTER SLOTS) is a tls.Client
// with Material.Client, handshaken within DialTimeout in node.dial. A TLS
// cluster node announces its TLS ports to TLS clients (CLUSTER SLOTS,
// MOVED, ASK), so the addresses the proxy learns are the right ones.
package proxy
