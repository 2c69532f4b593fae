package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
)

// server is one redis-server or slotvault process with its data directory.
// The directory outlives the process so that it can be killed and started
// again on the same data.
type server struct {
	name    string
	bin     string
	isRedis bool
	args    []string
	dir     string
	port    int
	cmd     *exec.Cmd
}

func newServer(name, bin string, isRedis bool, extra []string) *server {
	dir, err := os.MkdirTemp("", "svpbench-"+name)
	must(err)
	port := freePort()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--logfile", filepath.Join(dir, "server.log")}
	if isRedis {
		args = append(args, "--daemonize", "no")
	} else {
		args = append([]string{"server"}, args...)
	}
	args = append(args, extra...)
	return &server{name: name, bin: bin, isRedis: isRedis, args: args, dir: dir, port: port}
}

func (s *server) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func (s *server) pid() int { return s.cmd.Process.Pid }

// start runs the process and waits until it accepts connections (it may
// still be loading).
func (s *server) start() {
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Dir = s.dir
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(s.cmd.Start())
	for i := 0; i < 1000; i++ {
		if c, err := net.Dial("tcp", s.addr()); err == nil {
			c.Close()
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.kill()
	fatalf("%s did not start (see %s)", s.name, filepath.Join(s.dir, "server.log"))
}

// startTimed starts the process and returns the time from exec until PING
// answers PONG (not -LOADING) and DBSIZE equals keys.
func (s *server) startTimed(keys int64) time.Duration {
	t0 := time.Now()
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Dir = s.dir
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(s.cmd.Start())
	var c *resp.Conn
	for c == nil {
		if time.Since(t0) > 10*time.Minute {
			fatalf("%s: no connection after 10 minutes", s.name)
		}
		cc, err := resp.Dial(s.addr())
		if err != nil {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		c = cc
	}
	defer c.Close()
	for {
		v, err := c.Do("PING")
		if err != nil {
			fatalf("%s: PING: %v", s.name, err)
		}
		if v.Str == "PONG" {
			d, err := c.Do("DBSIZE")
			if err != nil {
				fatalf("%s: DBSIZE: %v", s.name, err)
			}
			if d.Int == keys {
				return time.Since(t0)
			}
			if !d.IsError() && d.Int != keys {
				fatalf("%s: DBSIZE %d after restart, want %d", s.name, d.Int, keys)
			}
		}
		if time.Since(t0) > 30*time.Minute {
			fatalf("%s: not loaded after 30 minutes", s.name)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// kill sends SIGKILL and reaps the process.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	s.cmd = nil
}

// destroy kills the process and removes its directory.
func (s *server) destroy() {
	s.kill()
	os.RemoveAll(s.dir)
}

func (s *server) dial() *resp.Conn {
	c, err := resp.Dial(s.addr())
	must(err)
	c.Timeout = 10 * time.Minute
	return c
}

// waitReady waits until a data command is served (not -LOADING).
func (s *server) waitReady() {
	c := s.dial()
	defer c.Close()
	for {
		v, err := c.Do("PING")
		must(err)
		if v.Str == "PONG" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// info returns the fields of one INFO section.
func info(c *resp.Conn, section string) map[string]string {
	v, err := c.Do("INFO", section)
	must(err)
	out := map[string]string{}
	for _, line := range strings.Split(v.Str, "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok {
			out[k] = val
		}
	}
	return out
}

func freePort() int {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(err)
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p < 7000 || p > 7005 {
			return p
		}
	}
}

func must(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

var cleanup []func()

func fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench/persist: "+f+"\n", a...)
	for i := len(cleanup) - 1; i >= 0; i-- {
		cleanup[i]()
	}
	os.Exit(1)
}
