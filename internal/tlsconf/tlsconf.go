// Package tlsconf turns the tls-* directives into crypto/tls
// configurations: it loads the certificate, key (decrypting it with its
// passphrase) and CA files, and maps Redis's OpenSSL-flavoured settings
// (tls-protocols, tls-ciphers, tls-auth-clients) onto crypto/tls.
//
// A Material is immutable once built. The node keeps the current one
// behind an atomic pointer and swaps it on CONFIG SET of a tls-* file
// directive, so a reload affects new connections only and a failed reload
// keeps the old certificates.
//
// Peers are verified as Redis (OpenSSL with SSL_VERIFY_PEER) verifies
// them: the certificate chain must lead to the configured CA; host names
// and IP addresses in the certificate are not checked, because cluster
// nodes reach each other by announced IP.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/slotvault/slotvault/config"
)

// ErrConfig is wrapped by every error of Load.
var ErrConfig = errors.New("tlsconf: bad TLS configuration")

// Material is a loaded TLS configuration.
type Material struct {
	// Server serves the TLS client port; it asks for client certificates
	// as tls-auth-clients says.
	Server *tls.Config
	// Bus serves the cluster bus: peers must present a certificate
	// signed by the CA, whatever tls-auth-clients says (as Redis).
	Bus *tls.Config
	// Client is used to connect out: to a master, to bus peers, to
	// MIGRATE targets. It presents tls-client-cert-file (or the server
	// certificate) and verifies the peer against the CA.
	Client *tls.Config
}

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

// Load builds a Material from the tls-* directives, with the checks and
// messages of Redis's tlsConfigure.
func Load(c *config.TLSConfig) (*Material, error) {
	if c.CertFile == "" {
		return nil, fail("No tls-cert-file configured!")
	}
	if c.KeyFile == "" {
		return nil, fail("No tls-key-file configured!")
	}
	if (c.AuthClients != config.TLSAuthNo || c.Cluster || c.Replication) && c.CACertFile == "" && c.CACertDir == "" {
		return nil, fail("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")
	}
	serverCert, err := LoadKeyPair(c.CertFile, c.KeyFile, c.KeyFilePass)
	if err != nil {
		return nil, err
	}
	clientCert := serverCert
	if c.ClientCertFile != "" || c.ClientKeyFile != "" {
		if c.ClientCertFile == "" || c.ClientKeyFile == "" {
			return nil, fail("tls-client-cert-file and tls-client-key-file must be set together")
		}
		if clientCert, err = LoadKeyPair(c.ClientCertFile, c.ClientKeyFile, c.ClientKeyFilePass); err != nil {
			return nil, err
		}
	}
	var pool *x509.CertPool
	if c.CACertFile != "" || c.CACertDir != "" {
		if pool, err = loadCAs(c.CACertFile, c.CACertDir); err != nil {
			return nil, err
		}
	}
	if c.DHParamsFile != "" {
		// Go offers only ECDHE key exchange, so DH parameters have no
		// use; the file must still be readable PEM, as Redis requires.
		if err := checkDHParams(c.DHParamsFile); err != nil {
			return nil, err
		}
	}
	lo, hi, err := config.TLSProtocols(c.Protocols)
	if err != nil {
		return nil, fail("%s", err.Error())
	}
	suites, err := CipherSuites(c.Ciphers)
	if err != nil {
		return nil, err
	}
	if err := checkCiphersuites(c.Ciphersuites); err != nil {
		return nil, err
	}

	base := &tls.Config{
		MinVersion:             lo,
		MaxVersion:             hi,
		CipherSuites:           suites,
		SessionTicketsDisabled: !c.SessionCaching,
	}
	m := &Material{Server: base.Clone(), Bus: base.Clone(), Client: base.Clone()}

	m.Server.Certificates = []tls.Certificate{*serverCert}
	m.Server.ClientCAs = pool
	switch c.AuthClients {
	case config.TLSAuthNo:
		m.Server.ClientAuth = tls.NoClientCert
	case config.TLSAuthOptional:
		m.Server.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		m.Server.ClientAuth = tls.RequireAndVerifyClientCert
	}

	m.Bus.Certificates = []tls.Certificate{*serverCert}
	m.Bus.ClientCAs = pool
	m.Bus.ClientAuth = tls.RequireAndVerifyClientCert

	m.Client.Certificates = []tls.Certificate{*clientCert}
	// Chain verification without a host name check, done by hand:
	// crypto/tls verifies names whenever InsecureSkipVerify is false.
	m.Client.InsecureSkipVerify = true
	m.Client.VerifyConnection = verifyChain(pool)
	if c.SessionCaching && c.SessionCacheSize > 0 {
		m.Client.ClientSessionCache = tls.NewLRUClientSessionCache(c.SessionCacheSize)
	}
	return m, nil
}

// verifyChain checks that the server's chain leads to a root in pool.
func verifyChain(pool *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tlsconf: peer sent no certificate")
		}
		if pool == nil {
			return errors.New("tlsconf: no CA configured to verify the peer")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots:         pool,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		return err
	}
}

// LoadKeyPair reads a PEM certificate (chain) and its private key,
// decrypting the key with pass when it is encrypted (PKCS#8 PBES2 as
// `openssl pkcs8 -topk8` and `openssl genpkey -aes256` write, or the
// legacy "Proc-Type: 4,ENCRYPTED" PEM form).
func LoadKeyPair(certFile, keyFile, pass string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fail("Failed to load certificate: %s: %v", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fail("Failed to load private key: %s: %v", keyFile, err)
	}
	keyPEM, err = decryptKeyPEM(keyPEM, pass)
	if err != nil {
		return nil, fail("Failed to load private key: %s: %v", keyFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fail("Failed to load certificate or key: %s, %s: %v", certFile, keyFile, err)
	}
	return &cert, nil
}

// decryptKeyPEM returns keyPEM with its private key block in clear.
func decryptKeyPEM(keyPEM []byte, pass string) ([]byte, error) {
	rest := keyPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return keyPEM, nil // tls.X509KeyPair reports what is wrong
		}
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY":
			if pass == "" {
				return nil, errors.New("the key is encrypted and no passphrase is configured")
			}
			der, err := decryptPKCS8(b.Bytes, []byte(pass))
			if err != nil {
				return nil, err
			}
			return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
		//lint:ignore SA1019 legacy encrypted PEM keys are still written by openssl genrsa -aes256 (1.x)
		case strings.HasSuffix(b.Type, "PRIVATE KEY") && x509.IsEncryptedPEMBlock(b): //nolint:staticcheck
			if pass == "" {
				return nil, errors.New("the key is encrypted and no passphrase is configured")
			}
			der, err := x509.DecryptPEMBlock(b, []byte(pass)) //nolint:staticcheck
			if err != nil {
				return nil, fmt.Errorf("bad passphrase or key: %w", err)
			}
			return pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), nil
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			return keyPEM, nil
		}
	}
}

// loadCAs reads the CA bundle file and every certificate file in dir.
// OpenSSL looks CA directories up by subject hash; loading every file
// that holds certificates trusts the same set.
func loadCAs(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fail("Failed to configure CA certificate(s) file/directory: %v", err)
		}
		if !pool.AppendCertsFromPEM(data) {
			return nil, fail("Failed to configure CA certificate(s) file/directory: no PEM certificate in %s", file)
		}
	}
	if dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fail("Failed to configure CA certificate(s) file/directory: %v", err)
		}
		found := false
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err == nil && pool.AppendCertsFromPEM(data) {
				found = true
			}
		}
		if !found && file == "" {
			return nil, fail("Failed to configure CA certificate(s) file/directory: no PEM certificate in %s", dir)
		}
	}
	return pool, nil
}

func checkDHParams(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fail("Failed to load %s: %v", path, err)
	}
	if b, _ := pem.Decode(data); b == nil || b.Type != "DH PARAMETERS" {
		return fail("Failed to load DH params file: %s", path)
	}
	return nil
}
