package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// TLSAuthClients is the tls-auth-clients setting: whether clients of the
// TLS port must present a certificate signed by the configured CA.
type TLSAuthClients int

// TLSAuthClients values, as Redis names them.
const (
	TLSAuthYes      TLSAuthClients = iota // a valid client certificate is required
	TLSAuthNo                             // no client certificate is asked for
	TLSAuthOptional                       // a certificate is checked when one is given
)

func (a TLSAuthClients) String() string {
	switch a {
	case TLSAuthNo:
		return "no"
	case TLSAuthOptional:
		return "optional"
	}
	return "yes"
}

// TLSConfig holds the tls-* directives. File names are kept as given; the
// node loads them (and reloads them when CONFIG SET changes one).
type TLSConfig struct {
	// Port is the TLS client port (tls-port); 0 disables it.
	Port int

	CertFile    string // tls-cert-file: the server certificate (PEM)
	KeyFile     string // tls-key-file: its private key (PEM)
	KeyFilePass string // tls-key-file-pass: the key's passphrase, if encrypted
	// Client* are used when this node connects out (replication, cluster
	// bus, MIGRATE); when unset the server certificate is used.
	ClientCertFile    string
	ClientKeyFile     string
	ClientKeyFilePass string
	CACertFile        string // tls-ca-cert-file: CA bundle that verifies peers
	CACertDir         string // tls-ca-cert-dir: directory of CA certificates
	DHParamsFile      string // tls-dh-params-file: accepted; Go uses ECDHE only

	AuthClients TLSAuthClients
	Replication bool // tls-replication: replicas dial their master with TLS
	Cluster     bool // tls-cluster: the bus, MIGRATE and announcements use TLS

	// Protocols is the tls-protocols list ("TLSv1.2 TLSv1.3"); "" means
	// TLSv1.2 and TLSv1.3. It is checked when TLS is configured, as Redis
	// does, so a value is accepted while TLS is off.
	Protocols    string
	Ciphers      string // tls-ciphers: OpenSSL cipher list (TLSv1.2 and below)
	Ciphersuites string // tls-ciphersuites: TLSv1.3 suites

	PreferServerCiphers bool
	SessionCaching      bool
	SessionCacheSize    int
	SessionCacheTimeout time.Duration

	// AnnouncePort is cluster-announce-tls-port: the TLS port announced on
	// the cluster bus when tls-cluster is on (0 = Port).
	AnnouncePort int
}

// Enabled reports whether any part of the node uses TLS, which is when
// the certificate files must load.
func (t *TLSConfig) Enabled() bool { return t.Port != 0 || t.Replication || t.Cluster }

// defaultTLS is Redis 7.0's default TLS configuration.
func defaultTLS() TLSConfig {
	return TLSConfig{
		AuthClients:         TLSAuthYes,
		SessionCaching:      true,
		SessionCacheSize:    20480,
		SessionCacheTimeout: 300 * time.Second,
	}
}

// TLSFileDirectives are the directives naming files or passphrases: a
// CONFIG SET of any of them reloads the certificates.
var TLSFileDirectives = []string{
	"tls-cert-file", "tls-key-file", "tls-key-file-pass",
	"tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass",
	"tls-ca-cert-file", "tls-ca-cert-dir", "tls-dh-params-file",
}

func init() {
	t := func(c *Config) *TLSConfig { return &c.TLS }
	intDir("tls-port", true, false, 0, 65535, func(c *Config) *int { return &t(c).Port })
	for _, f := range []struct {
		name      string
		sensitive bool
		field     func(*TLSConfig) *string
	}{
		{"tls-cert-file", false, func(t *TLSConfig) *string { return &t.CertFile }},
		{"tls-key-file", false, func(t *TLSConfig) *string { return &t.KeyFile }},
		{"tls-key-file-pass", true, func(t *TLSConfig) *string { return &t.KeyFilePass }},
		{"tls-client-cert-file", false, func(t *TLSConfig) *string { return &t.ClientCertFile }},
		{"tls-client-key-file", false, func(t *TLSConfig) *string { return &t.ClientKeyFile }},
		{"tls-client-key-file-pass", true, func(t *TLSConfig) *string { return &t.ClientKeyFilePass }},
		{"tls-ca-cert-file", false, func(t *TLSConfig) *string { return &t.CACertFile }},
		{"tls-ca-cert-dir", false, func(t *TLSConfig) *string { return &t.CACertDir }},
		{"tls-dh-params-file", false, func(t *TLSConfig) *string { return &t.DHParamsFile }},
		{"tls-protocols", false, func(t *TLSConfig) *string { return &t.Protocols }},
		{"tls-ciphers", false, func(t *TLSConfig) *string { return &t.Ciphers }},
		{"tls-ciphersuites", false, func(t *TLSConfig) *string { return &t.Ciphersuites }},
	} {
		field := f.field
		strDir(f.name, true, false, func(c *Config) *string { return field(t(c)) }).sensitive = f.sensitive
	}
	register(&directive{name: "tls-auth-clients", active: true,
		set: func(c *Config, a []string) error {
			switch strings.ToLower(a[0]) {
			case "yes":
				c.TLS.AuthClients = TLSAuthYes
			case "no":
				c.TLS.AuthClients = TLSAuthNo
			case "optional":
				c.TLS.AuthClients = TLSAuthOptional
			default:
				return errors.New("argument(s) must be one of the following: no, yes, optional")
			}
			return nil
		},
		get: func(c *Config) string { return c.TLS.AuthClients.String() }})
	boolDir("tls-replication", true, func(c *Config) *bool { return &t(c).Replication })
	boolDir("tls-cluster", true, func(c *Config) *bool { return &t(c).Cluster })
	boolDir("tls-prefer-server-ciphers", true, func(c *Config) *bool { return &t(c).PreferServerCiphers })
	boolDir("tls-session-caching", true, func(c *Config) *bool { return &t(c).SessionCaching })
	intDir("tls-session-cache-size", true, false, 0, maxInt, func(c *Config) *int { return &t(c).SessionCacheSize })
	durDir("tls-session-cache-timeout", true, time.Second, maxInt, func(c *Config) *time.Duration { return &t(c).SessionCacheTimeout })
	intDir("cluster-announce-tls-port", true, false, 0, 65535, func(c *Config) *int { return &t(c).AnnouncePort })
}

// TLSProtocols parses a tls-protocols value into the lowest and highest
// protocol versions (crypto/tls constants) it enables. Go negotiates a
// contiguous range, so "TLSv1 TLSv1.3" enables everything in between;
// docs/tls.md says so. "" means TLSv1.2 and TLSv1.3, Redis's default.
func TLSProtocols(s string) (lo, hi uint16, err error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return tlsVersion12, tlsVersion13, nil
	}
	for _, f := range fields {
		var v uint16
		switch strings.ToLower(f) {
		case "tlsv1":
			v = tlsVersion10
		case "tlsv1.1":
			v = tlsVersion11
		case "tlsv1.2":
			v = tlsVersion12
		case "tlsv1.3":
			v = tlsVersion13
		default:
			return 0, 0, errors.New("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
		}
		if lo == 0 || v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi, nil
}

// Protocol version numbers as crypto/tls defines them; config does not
// import crypto/tls for four constants.
const (
	tlsVersion10 = 0x0301
	tlsVersion11 = 0x0302
	tlsVersion12 = 0x0303
	tlsVersion13 = 0x0304
)

// ClusterClientPort is the client port the cluster announces, as Redis's
// deriveAnnouncedPorts: the TLS port when tls-cluster is on, with
// cluster-announce-tls-port (or cluster-announce-port) overriding it.
// plain is the plaintext port also announced in a TLS cluster (0 if none).
func (c *Config) ClusterClientPort() (port, plain int) {
	announce, _ := strconv.Atoi(c.Extra["cluster-announce-port"])
	if c.TLS.Cluster {
		port, plain = c.TLS.Port, c.Port
		if c.TLS.AnnouncePort != 0 {
			port, plain = c.TLS.AnnouncePort, announce
		} else if announce != 0 {
			port = announce
		}
		return port, plain
	}
	port = c.Port
	if announce != 0 {
		port = announce
	}
	return port, 0
}
