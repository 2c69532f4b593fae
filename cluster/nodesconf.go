package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// fileLock is an exclusive flock on "<nodes.conf>.lock", held for the life
// of the process: a second node started on the same nodes.conf is refused,
// as Redis refuses it. flock is released by the kernel when the process
// dies, so a crash never leaves a stale lock behind.
type fileLock struct{ f *os.File }

func lockConfig(path string) (*fileLock, error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cluster: can't open %s.lock in order to acquire a lock: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: Sorry, the cluster configuration file %s is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files", ErrLocked, path)
		}
		return nil, fmt.Errorf("cluster: impossible to lock %s: %w", path, err)
	}
	return &fileLock{f}, nil
}

func (l *fileLock) release() {
	if l != nil && l.f != nil {
		syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.f.Close()
		l.f = nil
	}
}

// configTextLocked is nodes.conf: CLUSTER NODES without handshake nodes,
// then the vars line.
func (c *Cluster) configTextLocked() string {
	return c.nodesDescriptionLocked(FlagHandshake) +
		fmt.Sprintf("vars currentEpoch %d lastVoteEpoch %d\n", c.currentEpoch, c.lastVoteEpoch)
}

// writeFileAtomic writes path through a temp file, fsync, rename and
// fsync of the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// loadConfigLocked reads nodes.conf. It returns false (and no error) when
// the file does not exist or is empty: the node starts as a new one.
func (c *Cluster) loadConfigLocked() (bool, error) {
	data, err := os.ReadFile(c.cfg.ConfigFile)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(strings.TrimSpace(string(data))) == 0) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cluster: loading the cluster node config from %s: %w", c.cfg.ConfigFile, err)
	}
	if err := c.parseConfigLocked(string(data)); err != nil {
		return false, err
	}
	c.conf.forget()
	return true, nil
}

func (c *Cluster) lookupOrCreateLocked(id string) *Node {
	n := c.nodes[id]
	if n == nil {
		n = c.newNode(id, 0)
		c.addNodeLocked(n)
	}
	return n
}

func (c *Cluster) parseConfigLocked(text string) error {
	bad := func(line int, why string) error {
		return fmt.Errorf("%w: %s line %d: %s", ErrCorruptConf, c.cfg.ConfigFile, line, why)
	}
	now := nowMs()
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "vars" {
			for j := 1; j+1 < len(f); j += 2 {
				v, err := strconv.ParseUint(f[j+1], 10, 64)
				if err != nil {
					return bad(i+1, "bad vars value")
				}
				switch strings.ToLower(f[j]) {
				case "currentepoch":
					c.currentEpoch = v
				case "lastvoteepoch":
					c.lastVoteEpoch = v
				}
			}
			continue
		}
		if len(f) < 8 {
			return bad(i+1, "fewer than 8 fields")
		}
		if !ValidID(f[0]) {
			return bad(i+1, "bad node id")
		}
		n := c.lookupOrCreateLocked(f[0])
		addr := f[1]
		if k := strings.IndexByte(addr, ','); k >= 0 {
			n.Hostname = addr[k+1:]
			addr = addr[:k]
		}
		colon := strings.LastIndexByte(addr, ':')
		if colon < 0 {
			return bad(i+1, "bad address")
		}
		ip, ports := addr[:colon], addr[colon+1:]
		pstr, cstr, hasBus := strings.Cut(ports, "@")
		port, err1 := strconv.Atoi(pstr)
		cport := port + busPortIncr
		var err2 error
		if hasBus {
			cport, err2 = strconv.Atoi(cstr)
		}
		if err1 != nil || err2 != nil {
			return bad(i+1, "bad port")
		}
		n.setAddr(ip, port, cport)
		for _, fl := range strings.Split(f[2], ",") {
			switch fl {
			case "myself":
				if c.myself != nil && c.myself != n {
					return bad(i+1, "two myself lines")
				}
				c.myself = n
				n.Flags |= FlagMyself
			case "master":
				n.Flags |= FlagMaster
			case "slave":
				n.Flags |= FlagSlave
			case "fail?":
				n.Flags |= FlagPFail
			case "fail":
				n.Flags |= FlagFail
				n.FailTime = now
			case "handshake":
				n.Flags |= FlagHandshake
			case "noaddr":
				n.Flags |= FlagNoAddr
			case "nofailover":
				n.Flags |= FlagNoFailover
			case "noflags":
			default:
				return bad(i+1, "unknown flag "+fl)
			}
		}
		if f[3] != "-" {
			if !ValidID(f[3]) {
				return bad(i+1, "bad master id")
			}
			m := c.lookupOrCreateLocked(f[3])
			n.Master = m
			m.addReplica(n)
		}
		if f[4] != "0" {
			n.PingSent = now
		}
		if f[5] != "0" {
			n.PongReceived = now
		}
		ep, err := strconv.ParseUint(f[6], 10, 64)
		if err != nil {
			return bad(i+1, "bad config epoch")
		}
		n.ConfigEpoch = ep
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				// [slot->-id] migrating, [slot-<-id] importing.
				body := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
				dash := strings.IndexByte(body, '-')
				if dash < 0 || len(body) < dash+3 {
					return bad(i+1, "bad open slot")
				}
				slot, err := strconv.Atoi(body[:dash])
				if err != nil || slot < 0 || slot >= len(c.slotOwner) {
					return bad(i+1, "bad open slot")
				}
				dir, id := body[dash+1], body[dash+3:]
				if !ValidID(id) {
					return bad(i+1, "bad open slot node")
				}
				o := c.lookupOrCreateLocked(id)
				if dir == '>' {
					c.setMigratingLocked(slot, o)
				} else {
					c.setImportingLocked(slot, o)
				}
				continue
			}
			a, b, rng := strings.Cut(s, "-")
			start, err := strconv.Atoi(a)
			end := start
			if err == nil && rng {
				end, err = strconv.Atoi(b)
			}
			if err != nil || start < 0 || end >= len(c.slotOwner) || start > end {
				return bad(i+1, "bad slot range "+s)
			}
			for j := start; j <= end; j++ {
				c.addSlotLocked(n, j)
			}
		}
	}
	if c.myself == nil {
		return fmt.Errorf("%w: %s has no myself line", ErrCorruptConf, c.cfg.ConfigFile)
	}
	if m := c.maxEpochLocked(); m > c.currentEpoch {
		c.currentEpoch = m
	}
	return nil
}
