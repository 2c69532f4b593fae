package persistence

import (
	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/store"
)

// Host is what persistence needs from the node. The node implements it
// (through a small adapter in internal/cli); tests use a fake.
type Host interface {
	// WithLock runs fn with the node lock held.
	WithLock(fn func())
	// NumDBs returns the number of databases. Node lock held.
	NumDBs() int
	// DB returns database i. Node lock held.
	DB(i int) *store.DB
	// Apply replays one logged mutation against database db as if executed
	// at nowMs (Unix milliseconds), without logging it again. Node lock
	// held. An error wrapping ErrReplayFatal (unknown command, bad arity,
	// bad database) stops recovery; other errors (an error reply) are
	// counted and logged.
	Apply(db int, argv [][]byte, nowMs int64) error
	// SetLoading switches the node's -LOADING state.
	SetLoading(loading bool)
	// Config returns the live configuration. Node lock held; read only.
	Config() *config.Config
	// Dirty returns the changes since the last save. Node lock held.
	Dirty() int64
	// LastSave returns the Unix time of the last successful save. Node
	// lock held.
	LastSave() int64
	// MarkSaved records a successful save at unix seconds: the changes
	// counted before the save started (dirtyBefore) are subtracted. Node
	// lock held.
	MarkSaved(dirtyBefore int64, unix int64)
}

// Codec turns values into snapshot payloads and back (the DUMP format:
// node.DumpPayload / node.RestorePayload). Tests inject simpler ones.
type Codec struct {
	Encode func(v store.Value) ([]byte, error)
	// Decode is called with the node lock held (it may read limits).
	Decode func(p []byte) (store.Value, error)
}
