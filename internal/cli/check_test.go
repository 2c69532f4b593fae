package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/persistence"
)

func writeTestLog(t *testing.T, dir string, n int) string {
	t.Helper()
	l, err := persistence.OpenLog(persistence.LogOptions{Dir: filepath.Join(dir, "appendonlydir"), Prefix: "appendonly.aof", Policy: config.FsyncAlways}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		l.Wait(l.Append(0, [][]byte{[]byte("SET"), []byte("k"), []byte("v")}))
	}
	l.Close()
	segs, _ := persistence.ListSegments(nil, filepath.Join(dir, "appendonlydir"), "appendonly.aof")
	return segs[len(segs)-1].Path
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	path := writeTestLog(t, dir, 10)
	var out bytes.Buffer
	if err := runCheck(&out, strings.NewReader(""), dir, "appendonlydir", "appendonly.aof", false, false); err != nil {
		t.Fatalf("clean dir: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "10 good records") || !strings.Contains(out.String(), "Result: OK") {
		t.Fatalf("report:\n%s", out.String())
	}
	// Damage the middle of the last segment.
	b, _ := os.ReadFile(path)
	b[32+40] ^= 0xff
	os.WriteFile(path, b, 0o644)
	out.Reset()
	if err := runCheck(&out, strings.NewReader(""), dir, "appendonlydir", "appendonly.aof", false, false); err == nil {
		t.Fatal("damaged dir passed")
	}
	if !strings.Contains(out.String(), "CORRUPT") || !strings.Contains(out.String(), "offset 32") {
		t.Fatalf("report:\n%s", out.String())
	}
	// --fix without stdin refuses.
	out.Reset()
	if err := runCheck(&out, strings.NewReader(""), dir, "appendonlydir", "appendonly.aof", true, false); err == nil || !strings.Contains(out.String(), "refusing") {
		t.Fatalf("fix without an answer: %v\n%s", err, out.String())
	}
	// "n" leaves it; --yes fixes.
	out.Reset()
	runCheck(&out, strings.NewReader("n\n"), dir, "appendonlydir", "appendonly.aof", true, false)
	if !strings.Contains(out.String(), "Not changed") {
		t.Fatalf("report:\n%s", out.String())
	}
	out.Reset()
	if err := runCheck(&out, strings.NewReader(""), dir, "appendonlydir", "appendonly.aof", true, true); err != nil {
		t.Fatalf("fix: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0 good records") {
		t.Fatalf("after fix:\n%s", out.String())
	}
}
