package config

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// valueKind says how a directive's value is written back by CONFIG
// REWRITE.
type valueKind int

const (
	kindWord   valueKind = iota // bool, enum, integer: written as is
	kindString                  // free text: written double-quoted
	kindMemory                  // bytes: written with the largest exact unit (gb, mb, kb)
	kindList                    // several words (save, bind): written unquoted
)

type directive struct {
	name     string
	aliases  []string
	multiArg bool
	// immutable directives cannot be changed by CONFIG SET; protected ones
	// only when enable-protected-configs allows it; sensitive ones are
	// redacted from the slow log.
	immutable bool
	protected bool
	sensitive bool
	kind      valueKind
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

func lookup(name string) *directive { return byName[strings.ToLower(name)] }

func register(d *directive) {
	directives = append(directives, d)
	byName[d.name] = d
	for _, a := range d.aliases {
		byName[a] = d
	}
}

// alias makes name another name of the directive canonical (Redis's
// deprecated "ziplist" and "slave" spellings).
func alias(name, canonical string) {
	d := byName[canonical]
	d.aliases = append(d.aliases, name)
	byName[name] = d
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
	if err != nil || (mul > 1 && (v > math.MaxInt64/mul || v < math.MinInt64/mul)) {
		return 0, errors.New("argument must be a memory value")
	}
	return v * mul, nil
}

// FormatMemory renders bytes as CONFIG REWRITE does: with the largest unit
// that divides it exactly.
func FormatMemory(v int64) string {
	switch {
	case v != 0 && v%(1<<30) == 0:
		return strconv.FormatInt(v/(1<<30), 10) + "gb"
	case v != 0 && v%(1<<20) == 0:
		return strconv.FormatInt(v/(1<<20), 10) + "mb"
	case v != 0 && v%1024 == 0:
		return strconv.FormatInt(v/1024, 10) + "kb"
	}
	return strconv.FormatInt(v, 10)
}

func rangeError(min, max int64) error {
	return fmt.Errorf("argument must be between %d and %d inclusive", min, max)
}

func parseIntArg(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("argument couldn't be parsed into an integer")
	}
	return v, nil
}

func boolDir(name string, active bool, f func(c *Config) *bool) *directive {
	d := &directive{name: name, active: active,
		set: func(c *Config, a []string) error {
			v, err := ParseBool(a[0])
			if err != nil {
				return err
			}
			*f(c) = v
			return nil
		},
		get: func(c *Config) string { return fmtBool(*f(c)) }}
	register(d)
	return d
}

func intDir(name string, active, immutable bool, min, max int64, f func(c *Config) *int) *directive {
	d := &directive{name: name, active: active, immutable: immutable,
		set: func(c *Config, a []string) error {
			v, err := parseIntArg(a[0])
			if err != nil {
				return err
			}
			if v < min || v > max {
				return rangeError(min, max)
			}
			*f(c) = int(v)
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*f(c)) }}
	register(d)
	return d
}

func memDir(name string, active bool, min, max int64, f func(c *Config) *int64) *directive {
	d := &directive{name: name, active: active, kind: kindMemory,
		set: func(c *Config, a []string) error {
			v, err := ParseMemory(a[0])
			if err != nil {
				return err
			}
			if v < min || v > max {
				return rangeError(min, max)
			}
			*f(c) = v
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(*f(c), 10) }}
	register(d)
	return d
}

// memIntDir is a size given as a memory value, held in an int field.
func memIntDir(name string, min, max int64, f func(c *Config) *int) *directive {
	d := &directive{name: name, active: true, kind: kindMemory,
		set: func(c *Config, a []string) error {
			v, err := ParseMemory(a[0])
			if err != nil {
				return err
			}
			if v < min || v > max {
				return rangeError(min, max)
			}
			*f(c) = int(v)
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*f(c)) }}
	register(d)
	return d
}

func strDir(name string, active, immutable bool, f func(c *Config) *string) *directive {
	d := &directive{name: name, active: active, immutable: immutable, kind: kindString,
		set: func(c *Config, a []string) error { *f(c) = a[0]; return nil },
		get: func(c *Config) string { return *f(c) }}
	register(d)
	return d
}

func enumDir(name string, active bool, values []string, f func(c *Config) *string) *directive {
	d := &directive{name: name, active: active,
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
		get: func(c *Config) string { return *f(c) }}
	register(d)
	return d
}

// durDir is a duration given as an integer count of unit, at most max.
func durDir(name string, active bool, unit time.Duration, max int64, f func(c *Config) *time.Duration) *directive {
	d := &directive{name: name, active: active,
		set: func(c *Config, a []string) error {
			v, err := parseIntArg(a[0])
			if err != nil {
				return err
			}
			if v < 0 || v > max {
				return rangeError(0, max)
			}
			*f(c) = time.Duration(v) * unit
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(int64(*f(c)/unit), 10) }}
	register(d)
	return d
}

func accessDir(name string, f func(c *Config) *ProtectedAccess) *directive {
	d := &directive{name: name, active: true, immutable: true,
		set: func(c *Config, a []string) error {
			v, ok := parseAccess(a[0])
			if !ok {
				return errors.New("argument(s) must be one of the following: no, yes, local")
			}
			*f(c) = v
			return nil
		},
		get: func(c *Config) string { return f(c).String() }}
	register(d)
	return d
}

// ExtraDir registers a directive parsed and validated now but acted on by a
// later part of slotvault; its value lands in Config.Extra.
func ExtraDir(name, def string, validate func(string) error) {
	extraDir(name, def, kindString, validate)
}

func extraDir(name, def string, kind valueKind, validate func(string) error) *directive {
	d := &directive{name: name, active: false, kind: kind,
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
		}}
	register(d)
	return d
}

func extraBool(name string, def bool) *directive {
	d := extraDir(name, fmtBool(def), kindWord, nil)
	d.set = func(c *Config, a []string) error {
		v, err := ParseBool(a[0])
		if err != nil {
			return err
		}
		c.Extra[name] = fmtBool(v)
		return nil
	}
	return d
}

func extraInt(name string, def, min, max int64) *directive {
	d := extraDir(name, strconv.FormatInt(def, 10), kindWord, nil)
	d.set = func(c *Config, a []string) error {
		v, err := parseIntArg(a[0])
		if err != nil {
			return err
		}
		if v < min || v > max {
			return rangeError(min, max)
		}
		c.Extra[name] = strconv.FormatInt(v, 10)
		return nil
	}
	return d
}

func extraMemory(name string, def, min, max int64) *directive {
	d := extraDir(name, strconv.FormatInt(def, 10), kindMemory, nil)
	d.set = func(c *Config, a []string) error {
		v, err := ParseMemory(a[0])
		if err != nil {
			return err
		}
		if v < min || v > max {
			return rangeError(min, max)
		}
		c.Extra[name] = strconv.FormatInt(v, 10)
		return nil
	}
	return d
}

func extraEnum(name, def string, values ...string) *directive {
	d := extraDir(name, def, kindWord, nil)
	d.set = func(c *Config, a []string) error {
		v := strings.ToLower(a[0])
		for _, ok := range values {
			if v == ok {
				c.Extra[name] = v
				return nil
			}
		}
		return fmt.Errorf("argument(s) must be one of the following: %s", strings.Join(values, ", "))
	}
	return d
}

// extraList is a directive taking several words (client-output-buffer-limit,
// replicaof ...), kept as one space-separated string.
func extraList(name, def string) *directive {
	d := extraDir(name, def, kindList, nil)
	d.multiArg = true
	d.set = func(c *Config, a []string) error {
		c.Extra[name] = strings.Join(a, " ")
		return nil
	}
	return d
}

func validateBool(s string) error { _, err := ParseBool(s); return err }

func validateInt(s string) error {
	_, err := parseIntArg(s)
	return err
}

const (
	maxInt  = math.MaxInt32
	maxLong = math.MaxInt64
)

func init() {
	// Directives slotvault acts on.
	intDir("port", true, true, 0, 65535, func(c *Config) *int { return &c.Port })
	register(&directive{name: "bind", multiArg: true, active: true, immutable: true, kind: kindList,
		set: func(c *Config, a []string) error {
			if len(a) == 0 {
				return errors.New("wrong number of arguments")
			}
			c.Bind = append([]string(nil), a...)
			return nil
		},
		get: func(c *Config) string { return strings.Join(c.Bind, " ") }})
	register(&directive{name: "dir", active: true, protected: true, kind: kindString,
		set: func(c *Config, a []string) error { c.Dir = a[0]; return nil },
		get: func(c *Config) string {
			if abs, err := filepath.Abs(c.Dir); err == nil {
				return abs
			}
			return c.Dir
		}})
	boolDir("daemonize", true, func(c *Config) *bool { return &c.Daemonize }).immutable = true
	strDir("pidfile", true, true, func(c *Config) *string { return &c.Pidfile })
	boolDir("protected-mode", true, func(c *Config) *bool { return &c.ProtectedMode })
	strDir("requirepass", true, false, func(c *Config) *string { return &c.RequirePass }).sensitive = true
	intDir("maxclients", true, false, 1, math.MaxUint32, func(c *Config) *int { return &c.MaxClients })
	memDir("maxmemory", true, 0, maxLong, func(c *Config) *int64 { return &c.MaxMemory })
	enumDir("maxmemory-policy", true, []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}, func(c *Config) *string { return &c.MaxMemoryPolicy })
	enumDir("loglevel", true, []string{"debug", "verbose", "notice", "warning"}, func(c *Config) *string { return &c.LogLevel })
	strDir("logfile", true, true, func(c *Config) *string { return &c.LogFile })
	intDir("databases", true, true, 1, maxInt, func(c *Config) *int { return &c.Databases })
	durDir("timeout", true, time.Second, maxInt, func(c *Config) *time.Duration { return &c.Timeout })
	durDir("tcp-keepalive", true, time.Second, maxInt, func(c *Config) *time.Duration { return &c.TCPKeepalive })
	memDir("proto-max-bulk-len", true, 1024*1024, maxLong, func(c *Config) *int64 { return &c.ProtoMaxBulkLen })
	memDir("client-query-buffer-limit", true, 1024*1024, maxLong, func(c *Config) *int64 { return &c.ClientQueryBufferLimit })
	// hz accepts any non-negative integer and is clamped to 1..500, as
	// Redis's updateHZ does.
	register(&directive{name: "hz", active: true,
		set: func(c *Config, a []string) error {
			v, err := parseIntArg(a[0])
			if err != nil {
				return err
			}
			if v < 0 || v > maxInt {
				return rangeError(0, maxInt)
			}
			c.Hz = int(min(max(v, 1), 500))
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(c.Hz) }})
	register(&directive{name: "slowlog-log-slower-than", active: true,
		set: func(c *Config, a []string) error {
			v, err := parseIntArg(a[0])
			if err != nil {
				return err
			}
			if v < -1 {
				return rangeError(-1, maxLong)
			}
			c.SlowlogLogSlowerThan = v
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(c.SlowlogLogSlowerThan, 10) }})
	intDir("slowlog-max-len", true, false, 0, maxLong, func(c *Config) *int { return &c.SlowlogMaxLen })
	boolDir("latency-tracking", true, func(c *Config) *bool { return &c.LatencyTrackingEnabled })
	accessDir("enable-debug-command", func(c *Config) *ProtectedAccess { return &c.EnableDebugCommand })
	accessDir("enable-protected-configs", func(c *Config) *ProtectedAccess { return &c.EnableProtectedConfigs })
	accessDir("enable-module-command", func(c *Config) *ProtectedAccess { return &c.EnableModuleCommand })

	intDir("hash-max-listpack-entries", true, false, 0, maxLong, func(c *Config) *int { return &c.HashMaxListpackEntries })
	alias("hash-max-ziplist-entries", "hash-max-listpack-entries")
	memIntDir("hash-max-listpack-value", 0, maxLong, func(c *Config) *int { return &c.HashMaxListpackValue })
	alias("hash-max-ziplist-value", "hash-max-listpack-value")
	intDir("set-max-intset-entries", true, false, 0, maxLong, func(c *Config) *int { return &c.SetMaxIntsetEntries })
	intDir("zset-max-listpack-entries", true, false, 0, maxLong, func(c *Config) *int { return &c.ZsetMaxListpackEntries })
	alias("zset-max-ziplist-entries", "zset-max-listpack-entries")
	memIntDir("zset-max-listpack-value", 0, maxLong, func(c *Config) *int { return &c.ZsetMaxListpackValue })
	alias("zset-max-ziplist-value", "zset-max-listpack-value")
	intDir("list-max-listpack-size", true, false, math.MinInt32, maxInt, func(c *Config) *int { return &c.ListMaxListpackSize })
	alias("list-max-ziplist-size", "list-max-listpack-size")
	intDir("list-compress-depth", true, false, 0, maxInt, func(c *Config) *int { return &c.ListCompressDepth })

	boolDir("cluster-enabled", false, func(c *Config) *bool { return &c.ClusterEnabled }).immutable = true
	strDir("cluster-config-file", false, true, func(c *Config) *string { return &c.ClusterConfigFile })
	durDir("cluster-node-timeout", false, time.Millisecond, maxLong, func(c *Config) *time.Duration { return &c.ClusterNodeTimeout })
	intDir("cluster-port", false, true, 0, 65535, func(c *Config) *int { return &c.ClusterPort })
	boolDir("cluster-require-full-coverage", false, func(c *Config) *bool { return &c.ClusterRequireFullCoverage })
	boolDir("cluster-allow-reads-when-down", false, func(c *Config) *bool { return &c.ClusterAllowReadsWhenDown })

	boolDir("appendonly", true, func(c *Config) *bool { return &c.AppendOnly })
	register(&directive{name: "appendfsync", active: true,
		set: func(c *Config, a []string) error {
			switch strings.ToLower(a[0]) {
			case "always":
				c.AppendFsync = FsyncAlways
			case "everysec":
				c.AppendFsync = FsyncEverysec
			case "no":
				c.AppendFsync = FsyncNo
			default:
				return errors.New("argument(s) must be one of the following: everysec, always, no")
			}
			return nil
		},
		get: func(c *Config) string { return c.AppendFsync.String() }})
	strDir("appendfilename", true, true, func(c *Config) *string { return &c.AppendFilename })
	strDir("appenddirname", true, true, func(c *Config) *string { return &c.AppendDirname })
	boolDir("aof-load-truncated", true, func(c *Config) *bool { return &c.AofLoadTruncated })
	intDir("auto-aof-rewrite-percentage", true, false, 0, maxInt, func(c *Config) *int { return &c.AutoAofRewritePercentage })
	memDir("auto-aof-rewrite-min-size", true, 0, maxLong, func(c *Config) *int64 { return &c.AutoAofRewriteMinSize })
	register(&directive{name: "save", multiArg: true, active: true, kind: kindList,
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
	d := strDir("dbfilename", false, false, func(c *Config) *string { return &c.DBFilename })
	d.protected = true
	boolDir("stop-writes-on-bgsave-error", false, func(c *Config) *bool { return &c.StopWritesOnBgsaveError })

	registerExtras()
}

// registerExtras adds the rest of Redis 7.0's directives: parsed,
// validated and reported by CONFIG GET, acted on by later parts (or never,
// for tuning knobs that have no meaning in slotvault).
func registerExtras() {
	extraDir("masterauth", "", kindString, nil).sensitive = true
	extraDir("masteruser", "", kindString, nil)
	extraMemory("repl-backlog-size", 1<<20, 1, maxLong)
	extraBool("replica-read-only", true)
	alias("slave-read-only", "replica-read-only")
	extraInt("cluster-replica-validity-factor", 10, 0, maxInt)
	alias("cluster-slave-validity-factor", "cluster-replica-validity-factor")
	extraInt("cluster-migration-barrier", 1, 0, maxInt)
	extraBool("cluster-replica-no-failover", false)
	alias("cluster-slave-no-failover", "cluster-replica-no-failover")
	extraDir("cluster-announce-ip", "", kindString, nil)
	extraInt("cluster-announce-port", 0, 0, 65535)
	extraInt("cluster-announce-bus-port", 0, 0, 65535)
	extraDir("cluster-announce-hostname", "", kindString, nil)
	extraBool("cluster-allow-replica-migration", true)
	extraBool("cluster-allow-pubsubshard-when-down", true)
	extraMemory("cluster-link-sendbuf-limit", 0, 0, maxLong)
	extraEnum("cluster-preferred-endpoint-type", "ip", "ip", "hostname", "unknown-endpoint")
	extraEnum("supervised", "no", "upstart", "systemd", "auto", "no").immutable = true
	extraBool("always-show-logo", false).immutable = true
	extraBool("lazyfree-lazy-user-del", false)
	extraBool("lazyfree-lazy-user-flush", false)
	extraBool("lazyfree-lazy-eviction", false)
	extraBool("lazyfree-lazy-expire", false)
	extraBool("lazyfree-lazy-server-del", false)
	d := extraDir("notify-keyspace-events", "", kindString, nil)
	d.set = func(c *Config, a []string) error {
		flags, ok := ParseKeyspaceEvents(a[0])
		if !ok {
			return errors.New("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
		}
		c.Extra["notify-keyspace-events"] = FormatKeyspaceEvents(flags)
		return nil
	}
	extraBool("rdbcompression", true)
	extraBool("rdbchecksum", true).immutable = true
	extraBool("aof-use-rdb-preamble", true)

	extraEnum("acl-pubsub-default", "resetchannels", "allchannels", "resetchannels")
	extraDir("aclfile", "", kindString, nil).immutable = true
	extraInt("acllog-max-len", 128, 0, maxLong)
	extraInt("active-defrag-cycle-max", 25, 1, 99)
	extraInt("active-defrag-cycle-min", 1, 1, 99)
	extraMemory("active-defrag-ignore-bytes", 100<<20, 1, maxLong)
	extraInt("active-defrag-max-scan-fields", 1000, 1, maxLong)
	extraInt("active-defrag-threshold-lower", 10, 0, 1000)
	extraInt("active-defrag-threshold-upper", 100, 0, 1000)
	extraInt("active-expire-effort", 1, 1, 10)
	extraBool("activedefrag", false)
	extraBool("activerehashing", true)
	extraBool("aof-disable-auto-gc", false)
	extraBool("aof-rewrite-incremental-fsync", true)
	extraBool("aof-timestamp-enabled", false)
	extraDir("aof_rewrite_cpulist", "", kindString, nil).immutable = true
	extraDir("bgsave_cpulist", "", kindString, nil).immutable = true
	extraDir("bio_cpulist", "", kindString, nil).immutable = true
	extraDir("server_cpulist", "", kindString, nil).immutable = true
	extraDir("bind-source-addr", "", kindString, nil)
	extraInt("busy-reply-threshold", 5000, 0, maxLong)
	alias("lua-time-limit", "busy-reply-threshold")
	outputBufferLimitDir() // outbuf.go
	extraBool("crash-log-enabled", true)
	extraBool("crash-memcheck-enabled", true)
	extraBool("disable-thp", true).immutable = true
	extraBool("dynamic-hz", true)
	memDir("hll-sparse-max-bytes", true, 0, maxLong, func(c *Config) *int64 { return &c.HLLSparseMaxBytes })
	extraDir("ignore-warnings", "", kindString, nil)
	extraInt("io-threads", 1, 1, 128).immutable = true
	extraBool("io-threads-do-reads", false).immutable = true
	extraBool("jemalloc-bg-thread", true)
	extraInt("latency-monitor-threshold", 0, 0, maxLong)
	extraList("latency-tracking-info-percentiles", "50 99 99.9")
	extraInt("lfu-decay-time", 1, 0, maxInt)
	extraInt("lfu-log-factor", 10, 0, maxInt)
	extraDir("maxmemory-clients", "0", kindWord, nil)
	extraInt("maxmemory-eviction-tenacity", 10, 0, 100)
	extraInt("maxmemory-samples", 5, 1, maxInt)
	extraInt("min-replicas-max-lag", 10, 0, maxInt)
	alias("min-slaves-max-lag", "min-replicas-max-lag")
	extraInt("min-replicas-to-write", 0, 0, maxInt)
	alias("min-slaves-to-write", "min-replicas-to-write")
	extraBool("no-appendfsync-on-rewrite", false)
	extraEnum("oom-score-adj", "no", "no", "yes", "relative", "absolute")
	extraList("oom-score-adj-values", "0 200 800")
	extraDir("proc-title-template", "{title} {listen-addr} {server-mode}", kindString, nil)
	extraEnum("propagation-error-behavior", "ignore", "ignore", "panic", "panic-on-replicas")
	extraBool("rdb-del-sync-files", false)
	extraBool("rdb-save-incremental-fsync", true)
	extraInt("repl-backlog-ttl", 3600, 0, maxLong)
	extraBool("repl-disable-tcp-nodelay", false)
	extraEnum("repl-diskless-load", "disabled", "disabled", "on-empty-db", "swapdb")
	extraBool("repl-diskless-sync", true)
	extraInt("repl-diskless-sync-delay", 5, 0, maxInt)
	extraInt("repl-diskless-sync-max-replicas", 0, 0, maxInt)
	extraInt("repl-ping-replica-period", 10, 1, maxInt)
	alias("repl-ping-slave-period", "repl-ping-replica-period")
	extraInt("repl-timeout", 60, 1, maxInt)
	extraDir("replica-announce-ip", "", kindString, nil)
	alias("slave-announce-ip", "replica-announce-ip")
	extraInt("replica-announce-port", 0, 0, 65535)
	alias("slave-announce-port", "replica-announce-port")
	extraBool("replica-announced", true)
	extraBool("replica-ignore-disk-write-errors", false)
	extraBool("replica-ignore-maxmemory", true)
	alias("slave-ignore-maxmemory", "replica-ignore-maxmemory")
	extraBool("replica-lazy-flush", false)
	alias("slave-lazy-flush", "replica-lazy-flush")
	extraInt("replica-priority", 100, 0, maxInt)
	alias("slave-priority", "replica-priority")
	extraBool("replica-serve-stale-data", true)
	alias("slave-serve-stale-data", "replica-serve-stale-data")
	d = extraList("replicaof", "")
	d.immutable = true
	alias("slaveof", "replicaof")
	extraEnum("sanitize-dump-payload", "no", "no", "yes", "clients")
	extraBool("set-proc-title", true).immutable = true
	extraEnum("shutdown-on-sigint", "default", "default", "save", "nosave", "now", "force")
	extraEnum("shutdown-on-sigterm", "default", "default", "save", "nosave", "now", "force")
	extraInt("shutdown-timeout", 10, 0, maxInt)
	extraInt("socket-mark-id", 0, 0, maxInt).immutable = true
	extraMemory("stream-node-max-bytes", 4096, 0, maxLong)
	extraInt("stream-node-max-entries", 100, 0, maxLong)
	extraBool("syslog-enabled", false).immutable = true
	extraEnum("syslog-facility", "local0", "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7").immutable = true
	extraDir("syslog-ident", "redis", kindString, nil).immutable = true
	extraInt("tcp-backlog", 511, 0, maxInt).immutable = true
	// The tls-* directives are typed: config/tls.go.
	extraInt("tracking-table-max-keys", 1000000, 0, maxLong)
	extraDir("unixsocket", "", kindString, nil).immutable = true
	extraDir("unixsocketperm", "0", kindWord, nil).immutable = true
}

// Keyspace notification classes (notify-keyspace-events letters).
const (
	NotifyKeyspace = 1 << iota // K
	NotifyKeyevent             // E
	NotifyGeneric              // g
	NotifyString               // $
	NotifyList                 // l
	NotifySet                  // s
	NotifyHash                 // h
	NotifyZset                 // z
	NotifyExpired              // x
	NotifyEvicted              // e
	NotifyStream               // t
	NotifyKeyMiss              // m
	NotifyModule               // d
	NotifyNew                  // n
	// NotifyAll is what 'A' stands for.
	NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash | NotifyZset | NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule
)

var notifyLetters = []struct {
	ch   byte
	flag int
}{
	{'g', NotifyGeneric}, {'$', NotifyString}, {'l', NotifyList}, {'s', NotifySet}, {'h', NotifyHash},
	{'z', NotifyZset}, {'x', NotifyExpired}, {'e', NotifyEvicted}, {'t', NotifyStream}, {'d', NotifyModule},
	{'n', NotifyNew},
}

// ParseKeyspaceEvents parses notify-keyspace-events letters into flags.
func ParseKeyspaceEvents(s string) (int, bool) {
	flags := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A':
			flags |= NotifyAll
		case 'K':
			flags |= NotifyKeyspace
		case 'E':
			flags |= NotifyKeyevent
		case 'm':
			flags |= NotifyKeyMiss
		default:
			found := false
			for _, l := range notifyLetters {
				if l.ch == s[i] {
					flags |= l.flag
					found = true
				}
			}
			if !found {
				return 0, false
			}
		}
	}
	return flags, true
}

// FormatKeyspaceEvents renders flags in Redis's canonical letter order
// (with 'A', Redis drops 'n' from the rendering; so does this).
func FormatKeyspaceEvents(flags int) string {
	var b []byte
	if flags&NotifyAll == NotifyAll {
		b = append(b, 'A')
	} else {
		for _, l := range notifyLetters {
			if flags&l.flag != 0 {
				b = append(b, l.ch)
			}
		}
	}
	if flags&NotifyKeyspace != 0 {
		b = append(b, 'K')
	}
	if flags&NotifyKeyevent != 0 {
		b = append(b, 'E')
	}
	if flags&NotifyKeyMiss != 0 {
		b = append(b, 'm')
	}
	return string(b)
}
