// Package config holds a node's typed configuration and reads it from a
// redis.conf-style file plus command-line overrides, as redis-server does.
//
// Every directive is described once in the directive table: its name, how its
// arguments parse into a typed Config field, how CONFIG GET prints it, whether
// CONFIG SET may change it at run time, and whether slotvault acts on it yet.
// Parse errors carry the file, line and reason, in the shape Redis prints.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrBadConfig is wrapped by every parse and validation error.
var ErrBadConfig = errors.New("config: bad configuration")

// FsyncPolicy is the appendfsync setting.
type FsyncPolicy int

// Fsync policies as Redis defines them.
const (
	FsyncEverysec FsyncPolicy = iota
	FsyncAlways
	FsyncNo
)

func (p FsyncPolicy) String() string {
	switch p {
	case FsyncAlways:
		return "always"
	case FsyncNo:
		return "no"
	}
	return "everysec"
}

// ProtectedAccess is the value of the enable-*-command and
// enable-protected-configs directives: who may use the feature.
type ProtectedAccess int

// ProtectedAccess values.
const (
	AccessNo    ProtectedAccess = iota // nobody
	AccessYes                          // every client
	AccessLocal                        // clients connected over loopback or a Unix socket
)

func (a ProtectedAccess) String() string {
	switch a {
	case AccessYes:
		return "yes"
	case AccessLocal:
		return "local"
	}
	return "no"
}

func parseAccess(s string) (ProtectedAccess, bool) {
	switch strings.ToLower(s) {
	case "no":
		return AccessNo, true
	case "yes":
		return AccessYes, true
	case "local":
		return AccessLocal, true
	}
	return AccessNo, false
}

// Allows reports whether a client (local: connected over loopback) may
// use a feature guarded by a.
func (a ProtectedAccess) Allows(local bool) bool {
	return a == AccessYes || (a == AccessLocal && local)
}

// SaveRule is one "save <seconds> <changes>" rule.
type SaveRule struct {
	Seconds int
	Changes int
}

// Config is a node's configuration. Fields are typed; the directive table
// converts from and to the redis.conf text form.
type Config struct {
	// Path of the config file the node was started with ("" if none).
	File string

	Port                   int
	Bind                   []string
	Dir                    string
	Daemonize              bool
	Pidfile                string
	ProtectedMode          bool
	RequirePass            string
	MaxClients             int
	MaxMemory              int64
	MaxMemoryPolicy        string
	LogLevel               string
	LogFile                string
	Databases              int
	Timeout                time.Duration
	TCPKeepalive           time.Duration
	ProtoMaxBulkLen        int64
	ClientQueryBufferLimit int64
	Hz                     int
	SlowlogLogSlowerThan   int64 // microseconds; negative disables
	SlowlogMaxLen          int
	LatencyTrackingEnabled bool
	// Who may run DEBUG, CONFIG SET of protected directives, and MODULE.
	EnableDebugCommand     ProtectedAccess
	EnableProtectedConfigs ProtectedAccess
	EnableModuleCommand    ProtectedAccess

	HashMaxListpackEntries int
	HashMaxListpackValue   int
	SetMaxIntsetEntries    int
	ZsetMaxListpackEntries int
	ZsetMaxListpackValue   int
	ListMaxListpackSize    int
	ListCompressDepth      int
	HLLSparseMaxBytes      int64

	ClusterEnabled             bool
	ClusterConfigFile          string
	ClusterNodeTimeout         time.Duration
	ClusterPort                int
	ClusterRequireFullCoverage bool
	ClusterAllowReadsWhenDown  bool

	AppendOnly               bool
	AppendFsync              FsyncPolicy
	AppendFilename           string
	AppendDirname            string
	AofLoadTruncated         bool
	AutoAofRewritePercentage int
	AutoAofRewriteMinSize    int64
	Save                     []SaveRule
	DBFilename               string
	StopWritesOnBgsaveError  bool

	// Backup holds the backup-* directives (config/backup.go).
	Backup BackupConfig
	// Obs holds metrics, log format and latency monitoring directives
	// (config/observability.go).
	Obs ObservabilityConfig
	// TLS holds the tls-* directives (config/tls.go).
	TLS TLSConfig

	// Extra holds values of directives that are parsed and validated but
	// whose behaviour belongs to a later part of slotvault.
	Extra map[string]string

	// Users are the config file's `user` lines (directives_acl.go), checked
	// and applied by the node, which knows the commands they name.
	Users []UserLine
	// ACLUsers are the current users as "user <name> <rules>" lines, kept
	// by the node for CONFIG REWRITE (written unless aclfile is set).
	ACLUsers []string
	// ClusterBusSecretFile names the file holding the cluster bus shared
	// secret ("" = bus unauthenticated); see docs/security.md.
	ClusterBusSecretFile string
}

// Default returns Redis 7.0's defaults.
func Default() *Config {
	return &Config{
		Port:                       6379,
		Bind:                       []string{"*", "-::*"},
		Dir:                        ".",
		ProtectedMode:              true,
		MaxClients:                 10000,
		MaxMemoryPolicy:            "noeviction",
		LogLevel:                   "notice",
		Databases:                  16,
		TCPKeepalive:               300 * time.Second,
		ProtoMaxBulkLen:            512 << 20,
		ClientQueryBufferLimit:     1 << 30,
		Hz:                         10,
		SlowlogLogSlowerThan:       10000,
		SlowlogMaxLen:              128,
		LatencyTrackingEnabled:     true,
		HashMaxListpackEntries:     512,
		HashMaxListpackValue:       64,
		SetMaxIntsetEntries:        512,
		ZsetMaxListpackEntries:     128,
		ZsetMaxListpackValue:       64,
		ListMaxListpackSize:        -2,
		HLLSparseMaxBytes:          3000,
		ClusterConfigFile:          "nodes.conf",
		ClusterNodeTimeout:         15 * time.Second,
		ClusterRequireFullCoverage: true,
		AppendFsync:                FsyncEverysec,
		AppendFilename:             "appendonly.aof",
		AppendDirname:              "appendonlydir",
		AofLoadTruncated:           true,
		AutoAofRewritePercentage:   100,
		AutoAofRewriteMinSize:      64 << 20,
		Save:                       []SaveRule{{3600, 1}, {300, 100}, {60, 10000}},
		DBFilename:                 "dump.rdb",
		StopWritesOnBgsaveError:    true,
		Extra:                      map[string]string{},
		Backup:                     BackupConfig{LogShipInterval: time.Second, MaxBandwidth: 32 << 20},
		TLS:                        defaultTLS(),
	}
}

// LineError is a problem found at one line of a config file (or in one
// command-line override, where Line is 0 and File is "command line").
type LineError struct {
	File   string
	Line   int
	Text   string
	Reason string
}

func (e *LineError) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s, line %d", e.File, e.Line)
	}
	return fmt.Sprintf("*** FATAL CONFIG FILE ERROR ***\nReading the configuration file %s\n>>> '%s'\n%s", where, e.Text, e.Reason)
}

func (e *LineError) Unwrap() error { return ErrBadConfig }

// Load reads a config file (path may be "" for none) and then applies the
// command-line overrides, given as redis-server takes them
// ("--port 7000 --save ”"). The returned Config is validated.
func Load(path string, overrides []string) (*Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrBadConfig, path, err)
		}
		// Kept absolute: the server changes directory to dir after loading,
		// and CONFIG REWRITE must still find the file.
		if abs, err := filepath.Abs(path); err == nil {
			c.File = abs
		} else {
			c.File = path
		}
		if err := c.parseText(path, string(data)); err != nil {
			return nil, err
		}
	}
	if len(overrides) > 0 {
		text, err := overridesToText(overrides)
		if err != nil {
			return nil, err
		}
		if err := c.parseText("command line", text); err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// overridesToText turns "--name v1 v2 --other v" into config lines.
func overridesToText(args []string) (string, error) {
	var b strings.Builder
	first := true
	for _, a := range args {
		if strings.HasPrefix(a, "--") && len(a) > 2 {
			if !first {
				b.WriteByte('\n')
			}
			first = false
			b.WriteString(a[2:])
			continue
		}
		if first {
			return "", &LineError{File: "command line", Text: a, Reason: "Invalid argument: expected --directive"}
		}
		b.WriteByte(' ')
		b.WriteString(quoteArg(a))
	}
	return b.String(), nil
}

func quoteArg(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"'\\") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// parseText applies the lines of a config text.
func (c *Config) parseText(file, text string) error {
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		args, err := SplitArgs(line)
		if err != nil {
			return &LineError{File: file, Line: i + 1, Text: line, Reason: "Unbalanced quotes in configuration line"}
		}
		if len(args) == 0 {
			continue
		}
		if strings.EqualFold(args[0], "user") {
			// Not a CONFIG parameter in Redis: kept aside with its origin.
			if len(args) < 2 {
				return &LineError{File: file, Line: i + 1, Text: line, Reason: "wrong number of arguments"}
			}
			c.Users = append(c.Users, UserLine{File: file, Line: i + 1, Args: args[1:]})
			continue
		}
		if strings.EqualFold(args[0], "cluster-bus-secret-file") {
			// slotvault's own and immutable: kept out of CONFIG GET *, whose
			// names must match Redis's (directives_acl.go).
			if len(args) != 2 {
				return &LineError{File: file, Line: i + 1, Text: line, Reason: "wrong number of arguments"}
			}
			// Absolute: the server changes into dir after loading.
			c.ClusterBusSecretFile = args[1]
			if abs, err := filepath.Abs(args[1]); err == nil {
				c.ClusterBusSecretFile = abs
			}
			continue
		}
		if err := c.apply(strings.ToLower(args[0]), args[1:], true); err != nil {
			return &LineError{File: file, Line: i + 1, Text: line, Reason: err.Error()}
		}
	}
	return nil
}

// apply sets one directive from its arguments.
func (c *Config) apply(name string, args []string, fromFile bool) error {
	d := lookup(name)
	if d == nil {
		return errors.New("Bad directive or wrong number of arguments")
	}
	if d.multiArg {
		// "save" and "bind" take a variable number of arguments. As Redis
		// 7.0 does for its MULTI_ARG configs, a single argument holding
		// spaces (--save "60 1" on the command line) is split.
		if len(args) == 1 && strings.Contains(args[0], " ") {
			args = strings.Fields(args[0])
		}
	} else if len(args) != 1 {
		return errors.New("wrong number of arguments")
	}
	return d.set(c, args)
}

// Clone returns a deep copy.
func (c *Config) Clone() *Config {
	cp := *c
	cp.Bind = append([]string(nil), c.Bind...)
	cp.Save = append([]SaveRule(nil), c.Save...)
	cp.Extra = make(map[string]string, len(c.Extra))
	for k, v := range c.Extra {
		cp.Extra[k] = v
	}
	return &cp
}

// SetError is a CONFIG SET failure; its text is the Redis error message
// without the "ERR " prefix.
type SetError struct{ Msg string }

func (e *SetError) Error() string { return e.Msg }

// Unwrap makes SetError match ErrBadConfig.
func (e *SetError) Unwrap() error { return ErrBadConfig }

// Set changes one directive at run time, as CONFIG SET does.
func (c *Config) Set(name string, value string) error {
	return c.SetMany([][2]string{{name, value}}, true)
}

// SetMany changes several directives at once, as CONFIG SET does: either
// all of them change or, on any error, none. Names are checked first
// (unknown, immutable, protected unless allowProtected, duplicate), then
// values are parsed in order.
func (c *Config) SetMany(pairs [][2]string, allowProtected bool) error {
	ds := make([]*directive, len(pairs))
	var unknown string
	var errArg, errMsg string
	for i, p := range pairs {
		d := lookup(p[0])
		if d == nil {
			if unknown == "" && errMsg == "" {
				unknown = p[0]
			}
			continue
		}
		if unknown != "" || errMsg != "" {
			continue
		}
		switch {
		case d.immutable:
			errArg, errMsg = p[0], "can't set immutable config"
		case d.protected && !allowProtected:
			errArg, errMsg = p[0], "can't set protected config"
		}
		for j := 0; j < i && errMsg == ""; j++ {
			if ds[j] == d {
				errArg, errMsg = p[0], "duplicate parameter"
			}
		}
		ds[i] = d
	}
	if unknown != "" {
		return &SetError{fmt.Sprintf("Unknown option or number of arguments for CONFIG SET - '%s'", unknown)}
	}
	if errMsg != "" {
		return &SetError{fmt.Sprintf("CONFIG SET failed (possibly related to argument '%s') - %s", errArg, errMsg)}
	}
	old := c.Clone()
	for i, p := range pairs {
		d := ds[i]
		var args []string
		if d.multiArg {
			var err error
			args, err = SplitArgs(p[1])
			if err != nil || len(args) == 0 {
				args = []string{""}
			}
		} else {
			args = []string{p[1]}
		}
		err := d.set(c, args)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			*c = *old
			return &SetError{fmt.Sprintf("CONFIG SET failed (possibly related to argument '%s') - %s", d.name, err.Error())}
		}
	}
	return nil
}

// Sensitive reports whether the directive's value must not be logged
// (requirepass, masterauth ...).
func Sensitive(name string) bool {
	d := lookup(name)
	return d != nil && d.sensitive
}

// Get returns name/value pairs for every directive matching the glob
// pattern, sorted by name.
func (c *Config) Get(pattern string, match func(pattern, name string) bool) [][2]string {
	out := c.GetMatching([]string{pattern}, match)
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// GetMatching returns the name/value pairs CONFIG GET replies with for its
// arguments: a name without glob characters is looked up directly
// (case-insensitively) and reported as given; a pattern matches every
// directive and alias name. Each directive name is reported once, in the
// order found.
func (c *Config) GetMatching(patterns []string, match func(pattern, name string) bool) [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	for _, p := range patterns {
		if !strings.ContainsAny(p, "[*?") {
			lp := strings.ToLower(p)
			if seen[lp] {
				continue
			}
			if d := lookup(lp); d != nil {
				seen[lp] = true
				out = append(out, [2]string{p, d.get(c)})
			}
			continue
		}
		for _, d := range directives {
			for _, n := range append([]string{d.name}, d.aliases...) {
				if seen[n] || !match(p, n) {
					continue
				}
				seen[n] = true
				out = append(out, [2]string{n, d.get(c)})
			}
		}
	}
	return out
}

// Validate checks cross-field constraints and reports every problem at once.
func (c *Config) Validate() error {
	errs := c.validateSecurity()
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, "port must be between 0 and 65535")
	}
	if c.Daemonize {
		errs = append(errs, "daemonize yes is not supported: run slotvault under a service manager (deploy/)")
	}
	if c.Databases < 1 {
		errs = append(errs, "databases must be at least 1")
	}
	if c.ClusterEnabled && c.TLS.Cluster && c.TLS.Port == 0 {
		errs = append(errs, "tls-cluster yes needs a tls-port")
	}
	if c.Port == 0 && c.TLS.Port == 0 {
		errs = append(errs, "port 0 needs a tls-port: the node would not listen at all")
	}
	if c.ClusterEnabled && c.Databases < 1 {
		errs = append(errs, "cluster mode needs database 0")
	}
	errs = append(errs, c.validateObservability()...)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrBadConfig, strings.Join(errs, "; "))
	}
	return nil
}

// Directive describes one config directive for documentation.
type Directive struct {
	Name      string
	Aliases   []string
	Immutable bool
	Protected bool
	Active    bool
}

// Directives lists every known directive.
func Directives() []Directive {
	out := make([]Directive, 0, len(directives))
	for _, d := range directives {
		out = append(out, Directive{d.name, append([]string(nil), d.aliases...), d.immutable, d.protected, d.active})
	}
	return out
}

// IsActive reports whether slotvault acts on the directive yet.
func IsActive(name string) bool {
	d := lookup(name)
	return d != nil && d.active
}

// SplitArgs splits a config line or inline command the way Redis's
// sdssplitargs does: spaces separate, "double quotes" take \n \r \t \b \a
// \\ \" and \xHH escapes, 'single quotes' take \'; a closing quote must be
// followed by a space or the end.
func SplitArgs(line string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r' || line[i] == '\v' || line[i] == '\f') {
			i++
		}
		if i >= len(line) {
			return out, nil
		}
		var cur []byte
		inq, insq := false, false
		for done := false; !done; {
			if inq {
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				if line[i] == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]) {
					cur = append(cur, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				} else if line[i] == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				} else if line[i] == '"' {
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, errors.New("unbalanced quotes")
					}
					done = true
				} else {
					cur = append(cur, line[i])
				}
			} else if insq {
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				if line[i] == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					cur = append(cur, '\'')
				} else if line[i] == '\'' {
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, errors.New("unbalanced quotes")
					}
					done = true
				} else {
					cur = append(cur, line[i])
				}
			} else {
				if i >= len(line) {
					break
				}
				switch line[i] {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, line[i])
				}
			}
			if i < len(line) {
				i++
			}
		}
		out = append(out, string(cur))
	}
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}

func unhex(b byte) byte {
	switch {
	case b >= '0' && b <= '9':
		return b - '0'
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10
	}
	return b - 'A' + 10
}
