package proxy

import (
	"bufio"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		args []string
		n    int
		err  bool
	}{
		{in: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", args: []string{"GET", "k"}, n: 20},
		{in: "*2\r\n$3\r\nGET\r\n$1\r\nk\r", n: 0},
		{in: "*2\r\n$3\r\nGET\r\n", n: 0},
		{in: "*0\r\n", n: 4},
		{in: "PING\r\n", args: []string{"PING"}, n: 6},
		{in: "  set a  b\n", args: []string{"set", "a", "b"}, n: 11},
		{in: "PING", n: 0},
		{in: "*1\r\n+x\r\n", err: true},
		{in: "*x\r\n", err: true},
		{in: "*1\r\n$-5\r\n", err: true},
	} {
		args, n, err := parseRequest([]byte(tc.in), nil)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if tc.err {
			continue
		}
		if n != tc.n {
			t.Errorf("%q: n = %d, want %d", tc.in, n, tc.n)
		}
		if n > 0 {
			var got []string
			for _, a := range args {
				got = append(got, string(a))
			}
			if strings.Join(got, "|") != strings.Join(tc.args, "|") {
				t.Errorf("%q: args %q, want %q", tc.in, got, tc.args)
			}
		}
	}
}

func TestReadReplyAndSkip(t *testing.T) {
	replies := []string{
		"+OK\r\n", "-ERR x\r\n", ":12\r\n", "$-1\r\n", "$3\r\nabc\r\n", "*-1\r\n", "_\r\n", ",1.5\r\n", "#t\r\n",
		"*2\r\n$1\r\na\r\n*1\r\n:1\r\n", "%1\r\n+k\r\n$1\r\nv\r\n", "~1\r\n:1\r\n", ">2\r\n+a\r\n+b\r\n",
		"=8\r\ntxt:abcd\r\n", "|1\r\n+a\r\n+b\r\n:1\r\n", "$0\r\n\r\n",
	}
	all := strings.Join(replies, "")
	br := bufio.NewReaderSize(strings.NewReader(all), 16)
	var buf []byte
	for _, want := range replies {
		var err error
		buf, err = readReply(br, buf[:0])
		if err != nil || string(buf) != want {
			t.Fatalf("readReply = %q %v, want %q", buf, err, want)
		}
		if n := skipReply(buf); n != len(want) {
			t.Fatalf("skipReply(%q) = %d", want, n)
		}
	}
	if _, err := readReply(br, nil); err == nil {
		t.Fatal("readReply at EOF: no error")
	}
	elems, ok := aggregate([]byte("*3\r\n$1\r\na\r\n$-1\r\n:5\r\n"), nil)
	if !ok || len(elems) != 3 || string(elems[1]) != "$-1\r\n" {
		t.Fatalf("aggregate = %q %v", elems, ok)
	}
}

func TestClassify(t *testing.T) {
	for in, want := range map[string]redirect{
		"-MOVED 12 127.0.0.1:7001\r\n": redirMoved, "-ASK 1 h:1\r\n": redirAsk,
		"-TRYAGAIN Multiple keys\r\n": redirRetry, "-CLUSTERDOWN The cluster is down\r\n": redirRetry,
		"-ERR x\r\n": redirNone, "+MOVED\r\n": redirNone,
	} {
		if got, _ := classify([]byte(in)); got != want {
			t.Errorf("classify(%q) = %d, want %d", in, got, want)
		}
	}
	if _, addr := classify([]byte("-MOVED 12 127.0.0.1:7001\r\n")); addr != "127.0.0.1:7001" {
		t.Errorf("MOVED addr %q", addr)
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Port = 0
	c.Cluster = []string{"nohostport", "h:99999"}
	c.MetricsPort = -1
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"port 0", "nohostport", "bad port", "metrics-port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, missing %q", err, want)
		}
	}
	c = DefaultConfig()
	if err := c.Set("read-from", "replica"); err != nil || c.ReadFrom != ReadFromReplica {
		t.Fatal(err)
	}
	if err := c.Set("retry-timeout", "soon"); err == nil {
		t.Fatal("bad duration accepted")
	}
}
