package persistence

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyPersistenceImportsPebble enforces the layering rule: Pebble is an
// implementation detail of this package.
func TestOnlyPersistenceImportsPebble(t *testing.T) {
	root, _ := filepath.Abs("..")
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(rel, "persistence"+string(filepath.Separator)) {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return nil
		}
		for _, imp := range f.Imports {
			if strings.Contains(imp.Path.Value, "cockroachdb/pebble") {
				t.Errorf("%s imports %s: only package persistence may import Pebble", rel, imp.Path.Value)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
