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
// bytes, every record's CRC, the end record) and keeps the result in
// memory; callers write nothing until Fetch has returned without error.
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
// command table, so callers (internal/cli) apply Fetch's result through a
// node's Replayer.
package restore
