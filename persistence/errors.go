package persistence

import (
	"errors"
	"fmt"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrCorrupt marks data that cannot be trusted: a bad record before the
	// tail, a bad header, a sequence out of order, a missing log range.
	ErrCorrupt = errors.New("persistence: corrupt data")
	// ErrTornTail marks an incomplete last record (a write cut by a crash).
	ErrTornTail = errors.New("persistence: torn tail")
	// ErrClosed is returned by a closed Log.
	ErrClosed = errors.New("persistence: log closed")
	// ErrSnapshotInProgress is returned when a snapshot is already running.
	ErrSnapshotInProgress = errors.New("persistence: snapshot already in progress")
	// ErrNoSnapshot means the store holds no complete snapshot.
	ErrNoSnapshot = errors.New("persistence: no snapshot")
)

// CorruptError locates a problem in a log segment.
type CorruptError struct {
	File   string
	Offset int64
	// Seq is the sequence number of the record at Offset when known, else
	// the one expected there.
	Seq    uint64
	Reason string
	// Torn is true when the problem is a torn tail (ErrTornTail), false for
	// corruption (ErrCorrupt).
	Torn bool
}

func (e *CorruptError) Error() string {
	kind := "corrupt record"
	if e.Torn {
		kind = "torn record at the tail"
	}
	return fmt.Sprintf("persistence: %s in %s at offset %d (record seq %d): %s", kind, e.File, e.Offset, e.Seq, e.Reason)
}

// Unwrap makes errors.Is match ErrCorrupt or ErrTornTail.
func (e *CorruptError) Unwrap() error {
	if e.Torn {
		return ErrTornTail
	}
	return ErrCorrupt
}

// writeError is a write-path failure; its text is what Redis prints after
// "MISCONF Errors writing to the AOF file: " (strerror style).
type writeError struct {
	op  string
	err error
}

func (e *writeError) Error() string {
	var errno syscall.Errno
	msg := e.err.Error()
	if errors.As(e.err, &errno) {
		msg = errno.Error()
	}
	r, n := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[n:]
}

func (e *writeError) Unwrap() error { return e.err }
