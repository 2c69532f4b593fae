// Package persistence keeps a node's dataset on disk: an append-only log of
// every mutation, point-in-time snapshots of the whole keyspace in Pebble,
// and recovery (newest valid snapshot + log replay from its sequence number).
//
// The package knows nothing of the network. It talks to the node through the
// Host interface (replay one record, run under the node lock, encode and
// decode values) and to the keyspace through package store, whose per-slot
// views (store.View) give it a consistent copy-on-write image of the
// keyspace at one point of the write stream. Only this package imports
// Pebble. Every file operation goes through a vfs.FS, so tests inject
// failures with vfs/errorfs and crashes with vfs.NewStrictMem.
//
// # Data directory layout (layout version 1)
//
//	<dir>/<appenddirname>/                 the log (default "appendonlydir")
//	    <appendfilename>.<first-seq>.seg   one log segment; first-seq is the
//	                                       sequence number of its first
//	                                       record, 20 decimal digits, so names
//	                                       sort in log order
//	    *.tmp                              a segment being rewritten (torn
//	                                       tail trimmed); ignored and removed
//	<dir>/snapshots/                       a Pebble store holding snapshots
//
// # Log segment format (segment version 1)
//
// A segment is a 32-byte header followed by records. All integers are
// little-endian.
//
//	header:
//	  0  8  magic "SVLOG\x00\r\n"
//	  8  4  segment format version (1)
//	 12  4  flags (0)
//	 16  8  first sequence number in the segment
//	 24  4  reserved (0)
//	 28  4  CRC32C (Castagnoli) of bytes 0..27
//
//	record:
//	  0  4  length L of the body (bytes after this 8-byte prefix)
//	  4  4  CRC32C of the body
//	  8  L  body:
//	          8  sequence number (uint64; each record's is the previous + 1)
//	          8  timestamp: the command's time, Unix milliseconds (int64)
//	          4  database index (uint32)
//	          4  argc (uint32)
//	          argc times: 4 length + bytes of one argument
//
// A record holds one mutation in the deterministic form the command layer
// propagates (relative TTLs already turned into PEXPIREAT / SET ... PXAT),
// so replaying it later never resurrects or prolongs a key. Replay runs each
// record with the clock set to the record's timestamp, so lazy expiry and
// TTL arithmetic see the time the command originally saw. The records of
// one MULTI/EXEC are bracketed by a "MULTI" record and an "EXEC" record and
// are replayed all-or-nothing: an unterminated transaction at the end of
// the log was never acknowledged and is dropped (with a warning).
//
// Reading a log classifies every problem:
//   - A bad record (short, CRC mismatch, impossible length) that is the last
//     thing in the newest segment, or followed only by zero bytes, is a torn
//     tail: the write was cut by a crash. With aof-load-truncated yes it is
//     trimmed with a warning (the segment is rewritten up to the last good
//     record through temp file, fsync, rename, directory fsync); with no,
//     start-up stops.
//   - Anything else (bad header, bad record before the tail, a sequence
//     number out of order, a missing range between segments that the
//     replay needs) is corruption: start-up stops with a CorruptError naming
//     the file, offset and sequence number, and points at `slotvault check`.
//     A partial dataset is never served.
//
// # Writing the log: fsync policies and group commit
//
// Log implements node.WriteLog. Append runs under the node lock: it only
// encodes the record into an in-memory buffer and returns its sequence
// number. Wait runs without the node lock before the reply is sent:
//   - appendfsync always: Wait returns once the record is written and
//     fsynced. Concurrent waiters share one write+fsync: the first to take
//     the I/O lock writes everything buffered and fsyncs once; the others
//     find their record already durable (group commit).
//   - everysec: Wait writes the buffer to the file (no fsync, shared the same
//     way) before the reply, as Redis writes the AOF before replying; a
//     background goroutine fsyncs once a second without blocking writers.
//     A crash of the process loses nothing acknowledged; a crash of the
//     machine loses about the last second.
//   - no: like everysec without the periodic fsync.
//
// A failed write or fsync sets the log's error: Err returns it and the node
// refuses writes with -MISCONF; INFO shows aof_last_write_status:err. The
// bytes written since the last good fsync are kept in memory; a retry
// (every second, and on the next Wait) rewrites them at their offsets
// (WriteAt — the file is always a prefix of the intended byte stream) and
// fsyncs; on success the error clears and writes resume. Nothing panics.
//
// # Snapshots in Pebble (snapshot format version 1)
//
// All snapshots live in one Pebble store. Keys (big-endian integers, so
// Pebble's order is snapshot, database, slot):
//
//	"M" id(8)                            manifest of snapshot id (JSON, below)
//	"K" id(8) db(2) slot(2) key          one key: value = expire(8, int64
//	                                     Unix ms, 0 = none) + DUMP payload
//	                                     (RDB object encoding, RDB version,
//	                                     CRC64), as node.DumpPayload makes it
//
// The manifest is written last: {"version":1, "id", "seq" (log sequence the
// snapshot is consistent with), "start_ms", "end_ms", "dbs", "keys",
// "bytes", "sum" (order-independent checksum: sum of CRC32C(db,slot,key,
// value) per key), "complete":true}. A snapshot without a complete manifest
// does not exist (it was cut by a crash); its keys are deleted at the next
// start. Pebble's WAL is off: a snapshot is made durable by flushing the
// memtables after the manifest is written. The two newest complete
// snapshots are kept; recovery uses the newest that verifies.
//
// A snapshot is taken without stopping the node and without copying the
// dataset: when it starts at log sequence S (under the node lock), every
// non-empty slot of every database is marked pending in a store.View. A
// background goroutine serialises pending slots a few at a time, taking the
// node lock briefly for each batch. Before a command touches a still-pending
// slot, the store hands that slot's content (as it was at S) to the view,
// which encodes it; the command then proceeds. Extra memory is bounded by
// the encoded batch waiting to be written to Pebble (a few MiB; when it
// fills, it is written inline). The same mechanism serves SAVE (run to
// completion under the lock), BGSAVE, BGREWRITEAOF (a snapshot, then the
// log segments entirely before it are deleted) and, later, replica full
// sync, slot migration and backups: NewCutLocked(host, seq, fn) gives any
// consumer every key of every database exactly as it was at log sequence
// seq, slot by slot (Cut.StepLocked / FinishLocked), while the node keeps
// serving; the consumer then follows the write stream from seq+1.
//
// Every store.DB method that returns an entry or changes a slot calls the
// view hook first (store/snapshot.go); new store methods must do the same.
// Because the hook lives on the DB object, SWAPDB (which swaps DB pointers)
// and FLUSHALL (whether it flushes or replaces DB objects) keep the cut
// consistent: each view stays with the DB object it started on, numbered as
// it was at the start.
//
// # appendonly no
//
// Without the log, snapshots (SAVE, BGSAVE, save rules, and a final save on
// shutdown when save rules are set) are the only persistence, as with
// Redis's RDB. Records are still numbered, so a snapshot's seq stays
// meaningful if the log is turned on later. An existing log is not loaded
// (Redis ignores the AOF then too), and damage in it is only a warning.
//
// # INFO figures
//
// aof_current_size is the log's bytes plus the newest snapshot's bytes (the
// snapshot plays the part of Redis's base AOF); aof_base_size is that sum
// right after the last rewrite or start. auto-aof-rewrite-percentage and
// -min-size compare the two as Redis does. Fields tied to fork
// (current_cow_*, rdb_last_cow_size, module_fork_*) are always 0: there is
// no fork.
//
// # Imported snapshots
//
// ImportSnapshot writes a complete snapshot into a new, empty store from
// keys given in snapshot order (offline restore uses it: the keys of a
// verified backup, DUMP payloads copied through). It builds one sorted
// table (keys, then the complete manifest, which sorts last) and has
// Pebble ingest it, so the store holds the whole snapshot or nothing; the
// data directory is made durable in its parent as at a node's first start.
//
// # Recovery
//
// Recover opens the snapshot store, picks the newest complete snapshot whose
// manifest and key count verify, loads it, then replays the log from its
// sequence number + 1. Loading reads Pebble in a goroutine of its own, one
// batch ahead of the inserts (batches are cut at slot boundaries, and each
// slot's map is sized for its keys before they go in); values are decoded
// and inserted under the node lock. (The node relaxes its GC policy
// while it is loading: see node/gctune.go.) While loading the node answers -LOADING and INFO
// shows loading_start_time, loading_total_bytes, loading_loaded_bytes,
// loading_loaded_perc and loading_eta_seconds. The log continues in a new
// segment after the last good record.
//
// # Concurrency and lock order
//
// node lock → Log.mu (buffer) ; Log.ioMu (file writes) → Log.syncMu (fsync).
// Append takes only Log.mu. Wait takes ioMu (and syncMu for always); it
// never holds the node lock. The snapshot goroutine takes the node lock per
// batch of slots and writes to Pebble outside it. Manager.mu guards the
// save/rewrite state and is taken under the node lock by commands and
// INFO, never the other way round.
package persistence
