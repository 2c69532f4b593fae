package persistence

import (
	"errors"
	"github.com/cockroachdb/pebble/vfs"
	"io/fs"
	"os"
	"strings"
)

var errNotExist = fs.ErrNotExist

// isNotExist reports a missing file or directory, from the OS or from
// vfs.MemFS (which reports its own error text).
func isNotExist(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	return strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "no such file")
}

// FS is the file-system seam every persistence file operation goes
// through (Pebble's vfs.FS), so that other packages can inject faults
// without importing Pebble.
type FS = vfs.FS

// File is a file of an FS.
type File = vfs.File

// DefaultFS is the operating system's file system.
var DefaultFS FS = vfs.Default
