// Package lint enforces the dependency rules of STYLE.md: only node imports
// redcon, only persistence imports Pebble, only backup/s3 imports minio-go,
// nothing imports cmd, and store/slots/rdb stay free of the network.
package lint

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "github.com/slotvault/slotvault/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	const mod = "github.com/slotvault/slotvault/"
	rules := []struct {
		dep     string
		allowed func(p string) bool
	}{
		{"github.com/tidwall/redcon", func(p string) bool { return p == mod+"node" }},
		{"github.com/cockroachdb/pebble", func(p string) bool { return strings.HasPrefix(p, mod+"persistence") }},
		{"github.com/minio/minio-go", func(p string) bool { return strings.HasPrefix(p, mod+"backup/s3") }},
		{"github.com/prometheus/client_golang", func(p string) bool { return p == mod+"node" || p == mod+"internal/cli" || p == mod+"proxy" }},
		{mod + "cmd", func(p string) bool { return false }},
		{mod + "node", func(p string) bool {
			return !strings.HasPrefix(p, mod+"store") && !strings.HasPrefix(p, mod+"slots") && !strings.HasPrefix(p, mod+"rdb") && !strings.HasPrefix(p, mod+"config")
		}},
	}
	n := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		for _, imp := range p.Imports {
			for _, r := range rules {
				if strings.HasPrefix(imp, r.dep) && !r.allowed(p.ImportPath) {
					t.Errorf("%s imports %s, which STYLE.md's dependency rules forbid", p.ImportPath, imp)
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d packages listed", n)
	}
}
