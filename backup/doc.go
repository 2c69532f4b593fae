// Package backup copies a node's data to object storage: full backups
// (a consistent snapshot streamed, compressed, optionally encrypted and
// uploaded) on a cron schedule or on demand, continuous shipping of the
// write log in small objects so that a restore can reach any second, a
// history of the cluster topology, retention, and verification.
//
// The package knows nothing of Pebble, S3 or the network. It reads the
// dataset through two small interfaces that persistence satisfies
// (SnapshotSource: a consistent stream of keys at one log sequence number;
// LogSource: the log records after a sequence number) and writes through
// ObjectStore, implemented by backup/s3 (any S3-compatible store, the only
// package importing minio-go), backup/file (a local directory) and MemStore
// (in memory, with fault injection, for tests). backup/target opens a store
// from a target URL; backup/persistsrc adapts persistence to the two
// source interfaces (FakeSource is the in-memory fake).
//
// # Bucket layout (layout version 1)
//
// Every name below is relative to the target's prefix (s3://BUCKET/PREFIX or
// file:///PATH). Numbers in names are zero-padded decimal so that names sort
// in numeric order.
//
//	nodes/<node-id>/backups/<backup-id>/snapshot.svs   the snapshot (data object)
//	nodes/<node-id>/backups/<backup-id>/manifest.json  the manifest, written last
//	nodes/<node-id>/log/<first-seq:20>-<last-seq:20>-<sha256>.svl
//	                                                   one shipped log object:
//	                                                   records first..last; sha256
//	                                                   is the hex SHA-256 of the
//	                                                   stored bytes
//	topology/<unix-ms:13>-<node-id>.json               one topology history record
//
// <node-id> is the node's cluster node ID (40 hex characters); a standalone
// node uses an ID kept in its data directory. <backup-id> is the UTC start
// time and the first 8 characters of the node ID,
// "20060102T150405.000Z-abcdef01": unique across the bucket and sortable by
// time.
//
// A backup exists only if its manifest exists: the manifest is uploaded after
// every data object has been uploaded completely, so a backup cut by a crash,
// a failed upload or a stopped store has no manifest. Such leftovers (data
// objects without a manifest, incomplete multipart uploads) are deleted by
// the next retention pass once they are older than an hour, and at once when
// the upload fails while the node is running.
//
// # Object encoding
//
// Every object except topology records is written through the same pipeline,
// streaming, never holding a whole object in memory or on local disk:
//
//	record stream  ->  zstd  ->  [AES-256-GCM, chunked]  ->  SHA-256  ->  upload
//
// The SHA-256 and size recorded in manifests and log object names are those
// of the stored bytes (after compression and encryption), so verification
// can check an object before decrypting it. Manifests are JSON; with
// encryption on they are encrypted (not compressed) too, so the bucket holds
// no plaintext at all except topology records (node IDs, addresses, slots).
//
// # Record stream (stream version 1)
//
// A stream is an 16-byte header followed by records. Integers are
// little-endian.
//
//	header:
//	  0  8  magic: "SVBKSNAP" (snapshot) or "SVBKLOG\x00" (log object)
//	  8  4  stream version (1)
//	 12  4  flags (0)
//
//	record:
//	  0  4  length L of the body
//	  4  4  CRC32C (Castagnoli) of the body
//	  8  L  body; its first byte is the record type
//
//	'K' key (snapshot streams):
//	    1  type 'K'
//	    2  database index (uint16)
//	    2  slot (uint16)
//	    8  expire: absolute Unix ms (int64), 0 = no expiry
//	    4  key length, key bytes
//	    4  value length, value: the DUMP payload (RDB object encoding, RDB
//	       version, CRC64), as persistence stores it
//	'R' log record (log streams), the fields of persistence's log records:
//	    1  type 'R'
//	    8  sequence number (uint64)
//	    8  timestamp: the command's time, Unix ms (int64)
//	    4  database index (uint32)
//	    4  argc (uint32), then argc times: 4 length + bytes of one argument
//	'E' end, always the last record:
//	    1  type 'E'
//	    8  number of records before it (uint64)
//	    8  snapshot: the log sequence the snapshot is consistent with;
//	       log: the last sequence number in the object
//
// A stream without its end record is truncated, and is reported as such.
// Log records are in the deterministic form the node propagates (absolute
// expiry times), bracketed by MULTI/EXEC for transactions, exactly as
// persistence logs them; replaying a log object's records in sequence
// order, after the snapshot whose sequence precedes them, rebuilds the
// dataset at any record's time.
//
// # Encryption (AES-256-GCM, chunked; encryption version 1)
//
// With backup-encryption-key-file set (64 hex characters: a 256-bit master
// key), each object is encrypted client-side before upload. A fresh random
// 32-byte salt per object derives the object key with HKDF-SHA256
// (info "slotvault backup object v1"), so nonces never repeat across objects.
// The compressed stream is cut into 64 KiB chunks, each sealed on its own, so
// encryption and decryption stream:
//
//	header (48 bytes):
//	  0  4  magic "SVBE"
//	  4  1  encryption version (1)
//	  5  1  log2 of the chunk size (16)
//	  6  2  reserved (0)
//	  8  8  key ID: first 8 bytes of HMAC-SHA256(master key, "slotvault key id")
//	 16 32  salt
//	then chunks: AES-256-GCM(object key, nonce, chunk, aad = header) =
//	  ciphertext (chunk size bytes, the last chunk shorter) + 16-byte tag
//	nonce (12 bytes): chunk index (big-endian uint64, from 0) + 3 zero bytes
//	  + final flag (1 for the last chunk, else 0)
//
// The final flag makes a truncated object fail authentication instead of
// looking complete; the header as additional data binds salt and key ID. The
// key ID lets a reader report "wrong key" rather than "corrupt object".
//
// # Manifest (manifest format version 1)
//
//	{
//	  "format": "slotvault-backup", "format_version": 1,
//	  "backup_id": "20060102T150405.000Z-abcdef01",
//	  "node_id": "...", "shard_id": "...", "role": "master",
//	  "slots": [[0, 5460]], "config_epoch": 3, "current_epoch": 6,
//	  "replication": {"id": "...", "offset": 123},
//	  "snapshot_seq": 1234,            log sequence the snapshot is consistent with
//	  "time_range": {"start": "RFC 3339", "snapshot": "RFC 3339", "end": "RFC 3339"},
//	  "keys": 1000, "dbs": 16,
//	  "compression": "zstd",
//	  "encryption": {"scheme": "aes-256-gcm-chunked-v1", "key_id": "hex"},  or absent
//	  "objects": [{"name": "snapshot.svs", "kind": "snapshot",
//	               "size": 1234, "sha256": "hex", "raw_size": 5678, "records": 1001}]
//	}
//
// time_range.start is when the backup began, snapshot the moment the
// snapshot is consistent with, end when the manifest was written. Point in
// time restore to T uses the newest backup whose snapshot time is <= T and
// the log objects that follow its snapshot_seq, replaying records whose
// timestamp is <= T. Object names are relative to the manifest's directory.
//
// # Log shipping
//
// Every backup-log-ship-interval the shipper reads the log records after the
// last shipped sequence and uploads them as one log object (at most 16 MiB of
// records per object; a log object is assembled in memory, compressed and
// encrypted, because its name carries its SHA-256 — snapshots, which can be
// large, stream instead). The last shipped sequence is found at start by listing
// the node's log objects; a shipped object is never rewritten. While the
// store is unreachable the shipper retries with exponential backoff (up to a
// minute) and asks the LogSource to keep every unshipped record on local disk
// (Retain); nothing is lost while the local log keeps them. If the local log
// no longer has the records after the last shipped one (ErrLogGap), a full
// backup is started at once so that the chain of snapshot + log is whole
// again, and the gap is reported in INFO.
//
// # Topology history
//
// At each backup and whenever the node's view of the cluster changes (a new
// current epoch or a changed slot map), the node writes one record:
//
//	{"format_version": 1, "time": "RFC 3339", "node_id": "...",
//	 "current_epoch": 6,
//	 "nodes": [{"id": "...", "addr": "host:port", "role": "master",
//	            "master_id": "", "config_epoch": 3, "slots": [[0, 5460]]}]}
//
// Several nodes write records for the same change; a restore reading them in
// time order learns who owned each slot at any moment.
//
// # Retention
//
// backup-keep-last N keeps the N newest complete backups of each node (0 =
// no count limit); backup-max-age D removes complete backups older than D
// (0 = no age limit). The newest complete backup of a node is never removed.
// Log objects are removed only when every record in them is at or before the
// snapshot sequence of the oldest backup kept, so every kept backup can still
// be rolled forward.
//
// # Full backups: where the bytes come from, and what they cost the node
//
// A full backup does not write a local snapshot first. persistsrc takes a
// persistence.Cut of the live dataset (copy-on-write per slot, see
// store.View) and streams it: a few thousand keys per node-lock hold, the
// values only copied under the lock, encoded outside it, then record
// stream -> zstd (fastest level; the stream is mostly values that RDB
// encoding already packed) -> optional encryption -> SHA-256 -> multipart
// upload with two parts in flight. The cut is drained as fast as the node
// allows, not at the upload's pace: while it is open, every command that
// touches a slot the backup has not read yet copies that slot under the
// node lock, so the cut must close quickly. Encoded entries the upload has
// not taken yet wait in memory (64 MiB), then in a temp file in the data
// directory, written and read outside the node lock (see persistsrc); so a
// throttled backup needs up to about the dataset's encoded size of local
// disk while it runs, as a BGSAVE would.
//
// backup-max-bandwidth (stored bytes per second, default 32mb, 0 =
// unlimited; CONFIG SET applies to a running backup) paces the upload and
// with it compression and encryption; reading the cut is not paced.
// Encoding uses at most half of GOMAXPROCS goroutines. Log shipping is
// never capped. docs/backup-benchmarks.md has the figures.
//
// # Concurrency
//
// Agent runs one goroutine for shipping and one cron goroutine; at most one
// full backup runs at a time (a second request gets ErrBackupInProgress).
// Agent.mu guards status fields and is never held during I/O or while
// calling a source. Sources are called without any lock of this package.
package backup
