// Package restore rebuilds nodes and clusters from the backups package
// backup writes (see backup/doc.go for the bucket layout and formats).
//
// # Point in time
//
// Restoring node N to time T uses the newest complete backup of N whose
// snapshot time is <= T, then the log objects of N that follow the
// backup's snapshot_seq, in sequence order, keeping records whose
// timestamp is <= T. The chain of log objects must be unbroken: the first
// missing sequence number or the first object that fails its checksum or
// decoding ends the chain. The latest reachable time of a chain is the
// time of its last usable record; when the chain reaches the newest
// shipped object with nothing missing, it is the later of that and the
// newest log object's upload time (the shipper had sent everything up to
// then). A TIME past the latest reachable time is refused with an
// ErrUnreachable naming it.
//
// # Safety
//
// Fetch downloads and checks every object it uses (SHA-256 of the stored
// bytes, computed while the object streams in; every record's CRC32C; the
// end record; and for every snapshot key its DUMP payload's CRC64 and RDB
// version and that the recorded slot is the key's) and keeps the result in
// memory; callers write nothing until Fetch has returned without error.
//
// # Writing a node
//
// WriteDataDir turns a fetched snapshot into the node's own data
// directory without decoding a value: the verified entries, which a
// node's backup stream already carries in the snapshot store's order
// (database, slot, key; any other order is sorted first), are written
// into one sorted table that persistence.ImportSnapshot has Pebble ingest
// whole, manifest included. The started node loads it like a snapshot it
// saved itself. Only when log records follow the snapshot (a time past
// it, NeedsReplay) must a caller load that directory into a node, replay
// the records and save again.
//
// # Cluster shape
//
// The topology history (topology/ records) gives the slot map at T: the
// record with the highest current epoch among those written at or before
// T (ties: the newest). Each master of that map is restored from its own
// backups, keeping only the keys of the slots it owned at T; replicas get
// an empty data directory and resync from their master.
//
// The package does not execute commands: replaying log records needs the
// command table, so callers (internal/cli) apply the log records of
// Fetch's result through a node's Replayer.
package restore
