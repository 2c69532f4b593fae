package node

import (
	"errors"

	"github.com/slotvault/slotvault/store"
)

// ErrBadPayload is returned for DUMP payloads that cannot be restored.
var ErrBadPayload = errors.New("node: bad DUMP payload")

// DumpPayload serialises v as a Redis 7.0 DUMP payload (RDB object encoding,
// RDB version, CRC64). Snapshots store values in this form.
// (Implemented by the keyspace/rdb work; this placeholder handles nothing.)
func DumpPayload(v store.Value) ([]byte, error) {
	return nil, errors.New("node: DUMP not implemented yet")
}

// RestorePayload parses a DUMP payload into a value, applying the encoding
// limits. It verifies the RDB version and the CRC64.
func RestorePayload(p []byte, l store.Limits) (store.Value, error) {
	return nil, ErrBadPayload
}
