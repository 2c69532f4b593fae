package backup

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors of this package. Match them with errors.Is.
var (
	ErrNotFound         = errors.New("backup: object not found")
	ErrBackupInProgress = errors.New("backup: a backup is already in progress")
	ErrCorrupt          = errors.New("backup: corrupt object")
	ErrWrongKey         = errors.New("backup: object encrypted with another key")
	ErrEncrypted        = errors.New("backup: object is encrypted and no key was given")
	ErrLogGap           = errors.New("backup: log records to ship are no longer available locally")
	ErrUnavailable      = errors.New("backup: object store unavailable")
	ErrAccessDenied     = errors.New("backup: access denied by the object store (check credentials)")
	ErrNoBucket         = errors.New("backup: bucket does not exist")
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string // full name relative to the store's prefix
	Size    int64
	ModTime time.Time
}

// ObjectStore is where backups go. Names are relative to the store's
// prefix and use "/" as separator. Implementations are safe for concurrent
// use.
type ObjectStore interface {
	// Put stores the bytes read from r under key, streaming: it never needs
	// the whole object in memory. The object becomes visible only when Put
	// returns nil; on error nothing is left behind (an incomplete multipart
	// upload is aborted). It returns the number of bytes stored.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get opens the object for reading; ErrNotFound if it does not exist.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns every object whose name starts with prefix, sorted by
	// name.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// IncompleteCleaner is implemented by stores that can leave partial
// uploads behind when a process dies mid-upload (S3 multipart uploads).
type IncompleteCleaner interface {
	// CleanIncomplete aborts incomplete uploads under prefix started
	// before olderThan, returning how many it aborted.
	CleanIncomplete(ctx context.Context, prefix string, olderThan time.Time) (int, error)
}

// Checker is implemented by stores that can check, once, that they are
// usable (bucket exists, credentials accepted), to report one clear error.
type Checker interface {
	Check(ctx context.Context) error
}
