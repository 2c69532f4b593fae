// Package file is a backup.ObjectStore in a local directory (file:///PATH
// targets). An object is a file named by its key below the root; a Put
// writes a temporary file in the same directory, fsyncs it, renames it into
// place and fsyncs the directory, so an object is either whole or absent.
// Temporary files start with ".tmp-"; List ignores them and
// CleanIncomplete removes old ones (left by a process that died).
package file

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/slotvault/slotvault/backup"
)

const tmpPrefix = ".tmp-"

// Store keeps objects below Root.
type Store struct {
	Root string
}

var (
	_ backup.ObjectStore       = (*Store)(nil)
	_ backup.IncompleteCleaner = (*Store)(nil)
	_ backup.Checker           = (*Store)(nil)
)

// New returns a store rooted at dir, creating it if needed.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("backup/file: %w", err)
	}
	return &Store{Root: dir}, nil
}

func (s *Store) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "..") || strings.Contains(filepath.Base(key), tmpPrefix) {
		return "", fmt.Errorf("backup/file: bad object name %q", key)
	}
	return filepath.Join(s.Root, filepath.FromSlash(key)), nil
}

// Check implements backup.Checker: the root must be a writable directory.
func (s *Store) Check(ctx context.Context) error {
	st, err := os.Stat(s.Root)
	if err != nil {
		return fmt.Errorf("backup/file: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("backup/file: %s is not a directory", s.Root)
	}
	f, err := os.CreateTemp(s.Root, tmpPrefix+"check-")
	if err != nil {
		return fmt.Errorf("backup/file: %s is not writable: %w", s.Root, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Put implements backup.ObjectStore.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:])+"-"+filepath.Base(p))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get implements backup.ObjectStore.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", backup.ErrNotFound, key)
	}
	return f, err
}

// List implements backup.ObjectStore.
func (s *Store) List(ctx context.Context, prefix string) ([]backup.ObjectInfo, error) {
	var out []backup.ObjectInfo
	err := filepath.WalkDir(s.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(s.Root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		out = append(out, backup.ObjectInfo{Key: key, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, err
}

// Delete implements backup.ObjectStore; empty directories left behind are
// removed.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for dir := filepath.Dir(p); dir != s.Root && strings.HasPrefix(dir, s.Root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// CleanIncomplete implements backup.IncompleteCleaner: it removes
// temporary files older than olderThan under prefix.
func (s *Store) CleanIncomplete(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	n := 0
	err := filepath.WalkDir(s.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, _ := filepath.Rel(s.Root, p)
		if !strings.HasPrefix(filepath.ToSlash(rel), prefix) && !strings.HasPrefix(prefix, filepath.ToSlash(filepath.Dir(rel))) {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(olderThan) {
			if os.Remove(p) == nil {
				n++
			}
		}
		return nil
	})
	return n, err
}
