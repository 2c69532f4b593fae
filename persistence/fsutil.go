package persistence

import (
	"errors"
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
