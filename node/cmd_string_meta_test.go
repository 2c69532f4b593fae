package node

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
)

// TestStringFamilyMetadata compares the command-table entries of the
// string, bitmap and HyperLogLog families (arity, flags, key positions,
// ACL categories) with COMMAND INFO of a real Redis 7.0.
func TestStringFamilyMetadata(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var c *resp.Conn
	for i := 0; i < 100; i++ {
		if c, err = resp.Dial("127.0.0.1:" + strconv.Itoa(port)); err == nil {
			if v, err := c.Do("PING"); err == nil && v.Str == "PONG" {
				break
			}
			c.Close()
			c = nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c == nil {
		t.Fatal("redis-server did not start")
	}
	defer c.Close()

	var cmds []*Command
	cmds = append(cmds, stringCommands()...)
	cmds = append(cmds, bitmapCommands()...)
	cmds = append(cmds, hllCommands()...)
	for _, cm := range cmds {
		v, err := c.Do("COMMAND", "INFO", cm.Name)
		if err != nil || len(v.Elems) != 1 || len(v.Elems[0].Elems) < 7 {
			t.Fatalf("COMMAND INFO %s: %v %v", cm.Name, v, err)
		}
		info := v.Elems[0].Elems
		var flags, cats []string
		for _, f := range info[2].Elems {
			flags = append(flags, f.Str)
		}
		for _, f := range info[6].Elems {
			cats = append(cats, strings.TrimPrefix(f.Str, "@"))
		}
		step := cm.Step
		if step == 0 && cm.FirstKey > 0 {
			step = 1
		}
		got := []string{strconv.Itoa(cm.Arity), strings.Join(cm.Flags.FlagNames(), ","),
			strconv.Itoa(cm.FirstKey), strconv.Itoa(cm.LastKey), strconv.Itoa(step), strings.Join(cm.Categories, ",")}
		want := []string{strconv.FormatInt(info[1].Int, 10), strings.Join(flags, ","),
			strconv.FormatInt(info[3].Int, 10), strconv.FormatInt(info[4].Int, 10), strconv.FormatInt(info[5].Int, 10), strings.Join(cats, ",")}
		if strings.Join(got, " | ") != strings.Join(want, " | ") {
			t.Errorf("%s:\n  got  %s\n  want %s", cm.Name, strings.Join(got, " | "), strings.Join(want, " | "))
		}
		d, err := c.Do("COMMAND", "DOCS", cm.Name)
		if err != nil || len(d.Elems) != 2 {
			t.Fatalf("COMMAND DOCS %s: %v %v", cm.Name, d, err)
		}
		doc := map[string]string{}
		for i := 0; i+1 < len(d.Elems[1].Elems); i += 2 {
			doc[d.Elems[1].Elems[i].Str] = d.Elems[1].Elems[i+1].Str
		}
		if doc["summary"] != cm.Summary || doc["since"] != cm.Since || doc["group"] != cm.Group {
			t.Errorf("%s docs: got %q %q %q, want %q %q %q", cm.Name, cm.Summary, cm.Since, cm.Group,
				doc["summary"], doc["since"], doc["group"])
		}
	}
}
