package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type directive struct {
	name      string
	aliases   []string
	multiArg  bool
	immutable bool
	// active is false for directives parsed and validated now whose
	// behaviour arrives in a later part of slotvault.
	active bool
	set    func(c *Config, args []string) error
	get    func(c *Config) string
}

var (
	directives []*directive
	byName     = map[string]*directive{}
)

func lookup(name string) *directive { return byName[name] }

func register(d *directive) {
	directives = append(directives, d)
	byName[d.name] = d
	for _, a := range d.aliases {
		byName[a] = d
	}
}

// ParseBool parses yes/no as Redis does.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, errors.New("argument must be 'yes' or 'no'")
}

func fmtBool(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ParseMemory parses a size like Redis's memtoll: 1k=1000, 1kb=1024, 1m,
// 1mb, 1g, 1gb; a plain number is bytes.
func ParseMemory(s string) (int64, error) {
	ls := strings.ToLower(s)
	mul := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"kb", 1024}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1000}, {"m", 1000000}, {"g", 1000000000}, {"b", 1}} {
		if strings.HasSuffix(ls, u.suf) {
			ls = strings.TrimSuffix(ls, u.suf)
			mul = u.m
			break
		}
	}
	v, err := strconv.ParseInt(ls, 10, 64)
	if err != nil {
		return 0, errors.New("argument must be a memory value")
	}
	return v * mul, nil
}

func boolDir(name string, active bool, f func(c *Config) *bool) {
	register(&directive{name: name, active: active,
		set: func(c *Config, a []string) error {
			v, err := ParseBool(a[0])
			if err != nil {
				return err
			}
			*f(c) = v
			return nil
		},
		get: func(c *Config) string { return fmtBool(*f(c)) }})
}

func intDir(name string, active, immutable bool, min, max int64, f func(c *Config) *int) {
	register(&directive{name: name, active: active, immutable: immutable,
		set: func(c *Config, a []string) error {
			v, err := strconv.ParseInt(a[0], 10, 64)
			if err != nil {
				return errors.New("argument couldn't be parsed into an integer")
			}
			if v < min || v > max {
				return fmt.Errorf("argument must be between %d and %d inclusive", min, max)
			}
			*f(c) = int(v)
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*f(c)) }})
}

func memDir(name string, active bool, min int64, f func(c *Config) *int64) {
	register(&directive{name: name, active: active,
		set: func(c *Config, a []string) error {
			v, err := ParseMemory(a[0])
			if err != nil {
				return err
			}
			if v < min {
				return fmt.Errorf("argument must be at least %d", min)
			}
			*f(c) = v
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(*f(c), 10) }})
}

func strDir(name string, active, immutable bool, f func(c *Config) *string) {
	register(&directive{name: name, active: active, immutable: immutable,
		set: func(c *Config, a []string) error { *f(c) = a[0]; return nil },
		get: func(c *Config) string { return *f(c) }})
}

func enumDir(name string, active bool, values []string, f func(c *Config) *string) {
	register(&directive{name: name, active: active,
		set: func(c *Config, a []string) error {
			v := strings.ToLower(a[0])
			for _, ok := range values {
				if v == ok {
					*f(c) = v
					return nil
				}
			}
			return fmt.Errorf("argument(s) must be one of the following: %s", strings.Join(values, ", "))
		},
		get: func(c *Config) string { return *f(c) }})
}

// durDir is a duration given as an integer count of unit.
func durDir(name string, active bool, unit time.Duration, f func(c *Config) *time.Duration) {
	register(&directive{name: name, active: active,
		set: func(c *Config, a []string) error {
			v, err := strconv.ParseInt(a[0], 10, 64)
			if err != nil {
				return errors.New("argument couldn't be parsed into an integer")
			}
			if v < 0 {
				return fmt.Errorf("argument must be between 0 and %d inclusive", int64(^uint64(0)>>1)/int64(unit))
			}
			*f(c) = time.Duration(v) * unit
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(int64(*f(c)/unit), 10) }})
}

// ExtraDir registers a directive parsed and validated now but acted on by a
// later part of slotvault; its value lands in Config.Extra.
func ExtraDir(name, def string, validate func(string) error) {
	register(&directive{name: name, active: false,
		set: func(c *Config, a []string) error {
			if validate != nil {
				if err := validate(a[0]); err != nil {
					return err
				}
			}
			c.Extra[name] = a[0]
			return nil
		},
		get: func(c *Config) string {
			if v, ok := c.Extra[name]; ok {
				return v
			}
			return def
		}})
}

func validateBool(s string) error { _, err := ParseBool(s); return err }

func validateInt(s string) error {
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return errors.New("argument couldn't be parsed into an integer")
	}
	return nil
}

func init() {
	intDir("port", true, true, 0, 65535, func(c *Config) *int { return &c.Port })
	register(&directive{name: "bind", multiArg: true, active: true, immutable: true,
		set: func(c *Config, a []string) error {
			if len(a) == 0 {
				return errors.New("wrong number of arguments")
			}
			c.Bind = append([]string(nil), a...)
			return nil
		},
		get: func(c *Config) string { return strings.Join(c.Bind, " ") }})
	register(&directive{name: "dir", active: true,
		set: func(c *Config, a []string) error { c.Dir = a[0]; return nil },
		get: func(c *Config) string {
			if abs, err := filepath.Abs(c.Dir); err == nil {
				return abs
			}
			return c.Dir
		}})
	boolDir("daemonize", true, func(c *Config) *bool { return &c.Daemonize })
	strDir("pidfile", true, true, func(c *Config) *string { return &c.Pidfile })
	boolDir("protected-mode", true, func(c *Config) *bool { return &c.ProtectedMode })
	strDir("requirepass", true, false, func(c *Config) *string { return &c.RequirePass })
	intDir("maxclients", true, false, 1, 1<<31-1, func(c *Config) *int { return &c.MaxClients })
	memDir("maxmemory", true, 0, func(c *Config) *int64 { return &c.MaxMemory })
	enumDir("maxmemory-policy", true, []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}, func(c *Config) *string { return &c.MaxMemoryPolicy })
	enumDir("loglevel", true, []string{"debug", "verbose", "notice", "warning", "nothing"}, func(c *Config) *string { return &c.LogLevel })
	strDir("logfile", true, true, func(c *Config) *string { return &c.LogFile })
	intDir("databases", true, true, 1, 1<<31-1, func(c *Config) *int { return &c.Databases })
	durDir("timeout", true, time.Second, func(c *Config) *time.Duration { return &c.Timeout })
	durDir("tcp-keepalive", true, time.Second, func(c *Config) *time.Duration { return &c.TCPKeepalive })
	memDir("proto-max-bulk-len", true, 1024*1024, func(c *Config) *int64 { return &c.ProtoMaxBulkLen })
	memDir("client-query-buffer-limit", true, 1024*1024, func(c *Config) *int64 { return &c.ClientQueryBufferLimit })
	intDir("hz", true, false, 1, 500, func(c *Config) *int { return &c.Hz })
	register(&directive{name: "slowlog-log-slower-than", active: true,
		set: func(c *Config, a []string) error {
			v, err := strconv.ParseInt(a[0], 10, 64)
			if err != nil {
				return errors.New("argument couldn't be parsed into an integer")
			}
			c.SlowlogLogSlowerThan = v
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(c.SlowlogLogSlowerThan, 10) }})
	intDir("slowlog-max-len", true, false, 0, 1<<31-1, func(c *Config) *int { return &c.SlowlogMaxLen })
	boolDir("latency-tracking", true, func(c *Config) *bool { return &c.LatencyTrackingEnabled })

	intDir("hash-max-listpack-entries", true, false, 0, 1<<31-1, func(c *Config) *int { return &c.HashMaxListpackEntries })
	byName["hash-max-ziplist-entries"] = byName["hash-max-listpack-entries"]
	intDir("hash-max-listpack-value", true, false, 0, 1<<31-1, func(c *Config) *int { return &c.HashMaxListpackValue })
	byName["hash-max-ziplist-value"] = byName["hash-max-listpack-value"]
	intDir("set-max-intset-entries", true, false, 0, 1<<31-1, func(c *Config) *int { return &c.SetMaxIntsetEntries })
	intDir("zset-max-listpack-entries", true, false, 0, 1<<31-1, func(c *Config) *int { return &c.ZsetMaxListpackEntries })
	byName["zset-max-ziplist-entries"] = byName["zset-max-listpack-entries"]
	intDir("zset-max-listpack-value", true, false, 0, 1<<31-1, func(c *Config) *int { return &c.ZsetMaxListpackValue })
	byName["zset-max-ziplist-value"] = byName["zset-max-listpack-value"]
	intDir("list-max-listpack-size", true, false, -5, 1<<31-1, func(c *Config) *int { return &c.ListMaxListpackSize })
	byName["list-max-ziplist-size"] = byName["list-max-listpack-size"]
	intDir("list-compress-depth", true, false, 0, 1<<31-1, func(c *Config) *int { return &c.ListCompressDepth })
	memDir("hll-sparse-max-bytes", true, 0, func(c *Config) *int64 { return &c.HLLSparseMaxBytes })

	boolDir("cluster-enabled", false, func(c *Config) *bool { return &c.ClusterEnabled })
	byName["cluster-enabled"].immutable = true
	strDir("cluster-config-file", false, true, func(c *Config) *string { return &c.ClusterConfigFile })
	durDir("cluster-node-timeout", false, time.Millisecond, func(c *Config) *time.Duration { return &c.ClusterNodeTimeout })
	intDir("cluster-port", false, true, 0, 65535, func(c *Config) *int { return &c.ClusterPort })
	boolDir("cluster-require-full-coverage", false, func(c *Config) *bool { return &c.ClusterRequireFullCoverage })
	boolDir("cluster-allow-reads-when-down", false, func(c *Config) *bool { return &c.ClusterAllowReadsWhenDown })

	boolDir("appendonly", false, func(c *Config) *bool { return &c.AppendOnly })
	register(&directive{name: "appendfsync", active: false,
		set: func(c *Config, a []string) error {
			switch strings.ToLower(a[0]) {
			case "always":
				c.AppendFsync = FsyncAlways
			case "everysec":
				c.AppendFsync = FsyncEverysec
			case "no":
				c.AppendFsync = FsyncNo
			default:
				return errors.New("argument(s) must be one of the following: always, everysec, no")
			}
			return nil
		},
		get: func(c *Config) string { return c.AppendFsync.String() }})
	strDir("appendfilename", false, true, func(c *Config) *string { return &c.AppendFilename })
	strDir("appenddirname", false, true, func(c *Config) *string { return &c.AppendDirname })
	boolDir("aof-load-truncated", false, func(c *Config) *bool { return &c.AofLoadTruncated })
	intDir("auto-aof-rewrite-percentage", false, false, 0, 1<<31-1, func(c *Config) *int { return &c.AutoAofRewritePercentage })
	memDir("auto-aof-rewrite-min-size", false, 0, func(c *Config) *int64 { return &c.AutoAofRewriteMinSize })
	register(&directive{name: "save", multiArg: true, active: false,
		set: func(c *Config, a []string) error {
			if len(a) == 1 && a[0] == "" {
				c.Save = nil
				return nil
			}
			if len(a)%2 != 0 {
				return errors.New("Invalid save parameters")
			}
			var rules []SaveRule
			for i := 0; i < len(a); i += 2 {
				s, err1 := strconv.Atoi(a[i])
				n, err2 := strconv.Atoi(a[i+1])
				if err1 != nil || err2 != nil || s < 1 || n < 0 {
					return errors.New("Invalid save parameters")
				}
				rules = append(rules, SaveRule{s, n})
			}
			c.Save = rules
			return nil
		},
		get: func(c *Config) string {
			parts := make([]string, 0, 2*len(c.Save))
			for _, r := range c.Save {
				parts = append(parts, strconv.Itoa(r.Seconds), strconv.Itoa(r.Changes))
			}
			return strings.Join(parts, " ")
		}})
	strDir("dbfilename", false, false, func(c *Config) *string { return &c.DBFilename })
	boolDir("stop-writes-on-bgsave-error", false, func(c *Config) *bool { return &c.StopWritesOnBgsaveError })

	// Parsed now, acted on by later parts (replication, cluster, security).
	ExtraDir("masterauth", "", nil)
	ExtraDir("masteruser", "", nil)
	ExtraDir("repl-backlog-size", "1048576", func(s string) error { _, err := ParseMemory(s); return err })
	ExtraDir("replica-read-only", "yes", validateBool)
	ExtraDir("cluster-replica-validity-factor", "10", validateInt)
	ExtraDir("cluster-migration-barrier", "1", validateInt)
	ExtraDir("cluster-replica-no-failover", "no", validateBool)
	ExtraDir("cluster-announce-ip", "", nil)
	ExtraDir("cluster-announce-port", "0", validateInt)
	ExtraDir("cluster-announce-bus-port", "0", validateInt)
	ExtraDir("supervised", "no", nil)
	ExtraDir("always-show-logo", "no", validateBool)
	ExtraDir("lazyfree-lazy-user-del", "no", validateBool)
	ExtraDir("lazyfree-lazy-user-flush", "no", validateBool)
	ExtraDir("notify-keyspace-events", "", nil)
	ExtraDir("rdbcompression", "yes", validateBool)
	ExtraDir("rdbchecksum", "yes", validateBool)
	ExtraDir("aof-use-rdb-preamble", "yes", validateBool)
}
