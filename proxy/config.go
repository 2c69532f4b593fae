package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/tlsconf"
)

// ReadFrom says which node of a shard serves read-only commands.
type ReadFrom int

// ReadFrom values.
const (
	ReadFromMaster ReadFrom = iota
	ReadFromReplica
)

func (r ReadFrom) String() string {
	if r == ReadFromReplica {
		return "replica"
	}
	return "master"
}

// ParseReadFrom parses "master" or "replica".
func ParseReadFrom(s string) (ReadFrom, error) {
	switch strings.ToLower(s) {
	case "master", "primary":
		return ReadFromMaster, nil
	case "replica", "slave":
		return ReadFromReplica, nil
	}
	return 0, fmt.Errorf("read-from must be master or replica, not %q", s)
}

// Config is the proxy's typed configuration.
type Config struct {
	// Bind and Port are where clients connect; Port 0 with a TLS port
	// serves TLS clients only.
	Bind string
	Port int
	// TLS holds the tls-* directives, with redis.conf's names and
	// meanings: TLS.Port (tls-port) is the TLS client port, with the
	// server certificate, the CA and tls-auth-clients checking clients;
	// TLS.Cluster (tls-cluster, alias tls-nodes) makes the proxy dial the
	// nodes with TLS, presenting tls-client-cert-file (or the server
	// certificate) and verifying them against the CA. Loaded by
	// internal/tlsconf, as the node loads its own.
	TLS config.TLSConfig
	// Cluster lists seed nodes (host:port); the proxy learns the rest.
	Cluster []string
	// ReadFrom picks masters or replicas for read-only commands.
	ReadFrom ReadFrom
	// RequirePass, when set, makes the proxy authenticate clients itself
	// (AUTH / HELLO AUTH); otherwise AUTH is passed through to the nodes.
	RequirePass string
	// NodeUser and NodePassword authenticate the proxy's own connections
	// to the nodes (slot-map queries, and all traffic when RequirePass is
	// set). Empty: no AUTH.
	NodeUser, NodePassword string
	// MetricsPort serves Prometheus metrics on /metrics; 0 disables.
	MetricsPort int
	// RetryTimeout bounds how long a command is retried on TRYAGAIN,
	// CLUSTERDOWN and lost node connections before the error is returned.
	RetryTimeout time.Duration
	// DialTimeout bounds connecting to a node.
	DialTimeout time.Duration
	// NodeTimeout bounds the wait for a node's reply (blocking commands
	// and WAIT excepted); a node that does not answer in time is treated
	// as lost: the command is retried like after a broken connection.
	// 0 waits forever.
	NodeTimeout time.Duration
	// RefreshInterval is how often the slot map is re-read even without a
	// redirection (to learn new replicas, for instance); 0 disables.
	RefreshInterval time.Duration
	// NoMultiplex turns off the shared node connections: every client
	// uses its own node connections (more syscalls, no cross-client
	// coalescing; for comparison and debugging).
	NoMultiplex bool
	// MultiplexMinClients is the number of connected clients from which
	// the shared connections are used: with fewer there is little to
	// coalesce and the reader goroutine's hand-off only adds latency.
	MultiplexMinClients int
	// PoolSize is the number of idle connections kept per node.
	PoolSize int
	// MaxClients limits client connections (0: unlimited).
	MaxClients int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Bind: "127.0.0.1", Port: 7379, TLS: config.Default().TLS, RetryTimeout: 10 * time.Second,
		DialTimeout: time.Second, NodeTimeout: 5 * time.Second, RefreshInterval: 5 * time.Second, PoolSize: 64, MultiplexMinClients: 4}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", c.Port))
	}
	if c.TLS.Port < 0 || c.TLS.Port > 65535 {
		errs = append(errs, fmt.Errorf("tls-port %d out of range", c.TLS.Port))
	}
	if c.Port == 0 && c.TLS.Port == 0 {
		errs = append(errs, errors.New("port 0 needs a tls-port: the proxy would not listen at all"))
	}
	if c.Port != 0 && c.Port == c.TLS.Port {
		errs = append(errs, errors.New("tls-port must differ from port"))
	}
	if c.MetricsPort < 0 || c.MetricsPort > 65535 {
		errs = append(errs, fmt.Errorf("metrics-port %d out of range", c.MetricsPort))
	}
	if c.MetricsPort != 0 && (c.MetricsPort == c.Port || c.MetricsPort == c.TLS.Port) {
		errs = append(errs, errors.New("metrics-port must differ from port and tls-port"))
	}
	if _, err := c.loadTLS(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Cluster) == 0 {
		errs = append(errs, errors.New("cluster: at least one seed node (host:port) is required"))
	}
	for _, a := range c.Cluster {
		if _, p, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("cluster: %q: %v", a, err))
		} else if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("cluster: %q: bad port", a))
		}
	}
	if c.RetryTimeout < 0 {
		errs = append(errs, errors.New("retry-timeout must not be negative"))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, errors.New("dial-timeout must be positive"))
	}
	if c.NodeTimeout < 0 {
		errs = append(errs, errors.New("node-timeout must not be negative"))
	}
	if c.RefreshInterval < 0 {
		errs = append(errs, errors.New("refresh-interval must not be negative"))
	}
	if c.MultiplexMinClients < 0 {
		errs = append(errs, errors.New("multiplex-min-clients must not be negative"))
	}
	if c.PoolSize < 0 {
		errs = append(errs, errors.New("pool-size must not be negative"))
	}
	if c.MaxClients < 0 {
		errs = append(errs, errors.New("maxclients must not be negative"))
	}
	return errors.Join(errs...)
}

// tlsEnabled reports whether the proxy uses TLS on either side.
func (c *Config) tlsEnabled() bool { return c.TLS.Port != 0 || c.TLS.Cluster }

// loadTLS loads the certificates when TLS is used on either side (nil
// otherwise), with the checks and messages of the node's loader.
func (c *Config) loadTLS() (*tlsconf.Material, error) {
	if !c.tlsEnabled() {
		return nil, nil
	}
	// tls-replication is a node's concern; keep it from requiring a CA.
	t := c.TLS
	t.Replication = false
	return tlsconf.Load(&t)
}

// tlsDirectives are the node's tls-* directives that apply to the proxy;
// their values are parsed by the node's own config table.
var tlsDirectives = map[string]bool{
	"tls-port": true, "tls-cert-file": true, "tls-key-file": true, "tls-key-file-pass": true,
	"tls-client-cert-file": true, "tls-client-key-file": true, "tls-client-key-file-pass": true,
	"tls-ca-cert-file": true, "tls-ca-cert-dir": true, "tls-dh-params-file": true,
	"tls-auth-clients": true, "tls-cluster": true, "tls-protocols": true, "tls-ciphers": true,
	"tls-ciphersuites": true, "tls-prefer-server-ciphers": true, "tls-session-caching": true,
	"tls-session-cache-size": true, "tls-session-cache-timeout": true,
}

// setTLS applies one tls-* directive through the node's config table, so
// values are checked (and errors worded) as redis.conf's.
func (c *Config) setTLS(name, value string) error {
	nc := config.Default()
	nc.TLS = c.TLS
	if err := nc.Apply(name, value); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	c.TLS = nc.TLS
	return nil
}

// ParseSeeds splits "host:port,host:port".
func ParseSeeds(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Set applies one directive (the config file's and the flags' names).
func (c *Config) Set(name, value string) error {
	var err error
	name = strings.ToLower(name)
	if name == "tls-nodes" {
		name = "tls-cluster"
	}
	if tlsDirectives[name] {
		return c.setTLS(name, value)
	}
	switch name {
	case "bind":
		c.Bind = value
	case "port":
		c.Port, err = strconv.Atoi(value)
	case "cluster":
		c.Cluster = append(c.Cluster, ParseSeeds(value)...)
	case "read-from":
		c.ReadFrom, err = ParseReadFrom(value)
	case "requirepass":
		c.RequirePass = value
	case "node-user":
		c.NodeUser = value
	case "node-password":
		c.NodePassword = value
	case "metrics-port":
		c.MetricsPort, err = strconv.Atoi(value)
	case "retry-timeout":
		c.RetryTimeout, err = time.ParseDuration(value)
	case "dial-timeout":
		c.DialTimeout, err = time.ParseDuration(value)
	case "node-timeout":
		c.NodeTimeout, err = time.ParseDuration(value)
	case "refresh-interval":
		c.RefreshInterval, err = time.ParseDuration(value)
	case "multiplex":
		switch strings.ToLower(value) {
		case "yes":
			c.NoMultiplex = false
		case "no":
			c.NoMultiplex = true
		default:
			err = errors.New("want yes or no")
		}
	case "multiplex-min-clients":
		c.MultiplexMinClients, err = strconv.Atoi(value)
	case "pool-size":
		c.PoolSize, err = strconv.Atoi(value)
	case "maxclients":
		c.MaxClients, err = strconv.Atoi(value)
	default:
		return fmt.Errorf("unknown directive %q", name)
	}
	if err != nil {
		return fmt.Errorf("%s: bad value %q", name, value)
	}
	return nil
}

// LoadFile applies a config file of "directive value" lines ('#'
// comments), reporting file:line for each bad line, all at once.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var errs []error
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		name, value, _ := strings.Cut(text, " ")
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if err := c.Set(name, value); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %v", path, line, err))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %v", path, err))
	}
	return errors.Join(errs...)
}
