// Package store is slotvault's in-memory keyspace: one DB per logical
// database, each partitioned into 16384 per-slot tables so that everything a
// cluster does by slot (COUNTKEYSINSLOT, GETKEYSINSLOT, migration, per-slot
// snapshots) costs time proportional to the slot, not to the dataset.
//
// The store knows nothing of the network or of persistence. It holds values
// (String, List, Hash, Set, ZSet) and their absolute expiry times (Unix
// milliseconds), applies lazy expiry on lookup and offers an incremental
// active-expiry cycle.
//
// Concurrency: a DB is not safe for concurrent use. The node serialises every
// command under one lock (see package node); the store's methods assume that
// lock is held by the caller.
//
// Ownership: keys and values handed to the store are owned by it afterwards;
// callers must copy request buffers before storing them.
package store
