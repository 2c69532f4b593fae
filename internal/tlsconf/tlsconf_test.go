package tlsconf_test

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/tlsconf"
	"github.com/slotvault/slotvault/internal/tlsconf/tlstest"
)

func baseConfig(f *tlstest.Files) config.TLSConfig {
	c := config.Default().TLS
	c.Port = 6380
	c.CertFile, c.KeyFile, c.CACertFile = f.ServerCert, f.ServerKey, f.CACert
	return c
}

func TestLoadErrors(t *testing.T) {
	f := tlstest.Generate(t)
	garbage := filepath.Join(f.Dir, "garbage")
	os.WriteFile(garbage, []byte("hello"), 0o644)
	for _, tc := range []struct {
		name string
		mod  func(c *config.TLSConfig)
		want string
	}{
		{"no cert", func(c *config.TLSConfig) { c.CertFile = "" }, "No tls-cert-file configured!"},
		{"no key", func(c *config.TLSConfig) { c.KeyFile = "" }, "No tls-key-file configured!"},
		{"no CA", func(c *config.TLSConfig) { c.CACertFile = "" }, "Either tls-ca-cert-file or tls-ca-cert-dir"},
		{"missing cert", func(c *config.TLSConfig) { c.CertFile = "/nonexistent.crt" }, "/nonexistent.crt"},
		{"missing key", func(c *config.TLSConfig) { c.KeyFile = "/nonexistent.key" }, "/nonexistent.key"},
		{"garbage cert", func(c *config.TLSConfig) { c.CertFile = garbage }, "Failed to load certificate or key"},
		{"key mismatch", func(c *config.TLSConfig) { c.KeyFile = f.ClientKey }, "private key does not match"},
		{"garbage CA", func(c *config.TLSConfig) { c.CACertFile = garbage }, "no PEM certificate"},
		{"missing CA dir", func(c *config.TLSConfig) { c.CACertFile, c.CACertDir = "", "/nonexistent" }, "CA certificate(s)"},
		{"client cert alone", func(c *config.TLSConfig) { c.ClientCertFile = f.ClientCert }, "must be set together"},
		{"protocols", func(c *config.TLSConfig) { c.Protocols = "TLSv1.2 SSLv3" }, "Invalid tls-protocols"},
		{"ciphers", func(c *config.TLSConfig) { c.Ciphers = "NO-SUCH-CIPHER" }, "Failed to configure ciphers"},
		{"ciphersuites", func(c *config.TLSConfig) { c.Ciphersuites = "TLS_NOPE" }, "tls-ciphersuites"},
		{"dh params", func(c *config.TLSConfig) { c.DHParamsFile = garbage }, "DH params"},
		{"encrypted key without pass", func(c *config.TLSConfig) { c.KeyFile = encryptedKey(t, f, "pw") }, "no passphrase"},
		{"encrypted key, wrong pass", func(c *config.TLSConfig) { c.KeyFile, c.KeyFilePass = encryptedKey(t, f, "pw"), "nope" }, "passphrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig(f)
			tc.mod(&c)
			_, err := tlsconf.Load(&c)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tlsconf.ErrConfig) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// No CA is needed when nothing verifies peers.
	c := baseConfig(f)
	c.CACertFile, c.AuthClients = "", config.TLSAuthNo
	if _, err := tlsconf.Load(&c); err != nil {
		t.Fatalf("tls-auth-clients no without CA: %v", err)
	}
}

// encryptedKey writes the server key as PKCS#8 PBES2 (openssl's default)
// and returns its path; the test is skipped without openssl.
func encryptedKey(t *testing.T, f *tlstest.Files, pass string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	out := filepath.Join(t.TempDir(), "enc.key")
	if o, err := exec.Command(bin, "pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512",
		"-in", f.ServerKey, "-out", out, "-passout", "pass:"+pass).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, o)
	}
	return out
}

func TestEncryptedKeys(t *testing.T) {
	f := tlstest.Generate(t)
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	for _, v := range [][]string{
		{"pkcs8", "-topk8", "-v2", "aes-256-cbc"},
		{"pkcs8", "-topk8", "-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA1"},
		{"pkcs8", "-topk8", "-v2", "des3"},
		{"ec", "-aes256"}, // legacy "Proc-Type: 4,ENCRYPTED"
	} {
		out := filepath.Join(dir, strings.Join(v, "_")+".key")
		args := append(append([]string{}, v...), "-in", f.ServerKey, "-out", out, "-passout", "pass:pw")
		if o, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", v, err, o)
		}
		if _, err := tlsconf.LoadKeyPair(f.ServerCert, out, "pw"); err != nil {
			t.Errorf("%v: %v", v, err)
		}
		if _, err := tlsconf.LoadKeyPair(f.ServerCert, out, "wrong"); err == nil {
			t.Errorf("%v: a wrong passphrase was accepted", v)
		}
	}
}

func TestCADir(t *testing.T) {
	f := tlstest.Generate(t)
	dir := t.TempDir()
	data, _ := os.ReadFile(f.CACert)
	os.WriteFile(filepath.Join(dir, "abcd1234.0"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a cert"), 0o644)
	c := baseConfig(f)
	c.CACertFile, c.CACertDir = "", dir
	m, err := tlsconf.Load(&c)
	if err != nil {
		t.Fatal(err)
	}
	handshake(t, m.Server, f.ClientConfig(t, true))
}

func TestProtocolsAndCiphers(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi uint16
	}{
		{"", tls.VersionTLS12, tls.VersionTLS13},
		{"TLSv1.2", tls.VersionTLS12, tls.VersionTLS12},
		{"tlsv1.3", tls.VersionTLS13, tls.VersionTLS13},
		{"TLSv1 TLSv1.1", tls.VersionTLS10, tls.VersionTLS11},
		{"TLSv1.3 TLSv1.2", tls.VersionTLS12, tls.VersionTLS13},
	} {
		lo, hi, err := config.TLSProtocols(tc.in)
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("TLSProtocols(%q) = %x %x %v", tc.in, lo, hi, err)
		}
	}
	ids, err := tlsconf.CipherSuites("ECDHE-RSA-AES128-GCM-SHA256:!aNULL:HIGH:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256")
	if err != nil || len(ids) != 2 || ids[0] != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || ids[1] != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("CipherSuites = %v, %v", ids, err)
	}
	if ids, err := tlsconf.CipherSuites("DEFAULT:!MEDIUM"); err != nil || ids != nil {
		t.Fatalf("keywords only = %v, %v", ids, err)
	}

	// tls-protocols TLSv1.2 refuses a TLSv1.3-only client.
	f := tlstest.Generate(t)
	c := baseConfig(f)
	c.Protocols = "TLSv1.2"
	m, err := tlsconf.Load(&c)
	if err != nil {
		t.Fatal(err)
	}
	cli := f.ClientConfig(t, true)
	cli.MinVersion = tls.VersionTLS13
	if err := tryHandshake(m.Server, cli); err == nil {
		t.Fatal("a TLSv1.3 client was served with tls-protocols TLSv1.2")
	}
	cli.MinVersion = 0
	handshake(t, m.Server, cli)
}

// TestClientVerification: outbound links verify the peer's chain against
// the CA but not its name (peers are reached by IP), and present the
// client certificate.
func TestClientVerification(t *testing.T) {
	f := tlstest.Generate(t)
	c := baseConfig(f)
	c.ClientCertFile, c.ClientKeyFile = f.ClientCert, f.ClientKey
	m, err := tlsconf.Load(&c)
	if err != nil {
		t.Fatal(err)
	}
	cli := m.Client.Clone()
	cli.ServerName = "not-in-the-certificate"
	state := handshake(t, m.Bus, cli)
	if cn := state.PeerCertificates[0].Subject.CommonName; cn != "slotvault test server" {
		t.Fatalf("server CN = %q", cn)
	}
	// A server from another CA is refused.
	other := tlstest.Generate(t)
	oc := baseConfig(other)
	om, err := tlsconf.Load(&oc)
	if err != nil {
		t.Fatal(err)
	}
	if err := tryHandshake(om.Server, m.Client); err == nil {
		t.Fatal("a server certificate from an unknown CA was accepted")
	}
}

func handshake(t *testing.T, srv, cli *tls.Config) tls.ConnectionState {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		s := tls.Server(a, srv)
		err := s.Handshake()
		if err == nil {
			_, err = s.Write([]byte("x"))
		}
		errc <- err
	}()
	c := tls.Client(b, cli)
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
	return c.ConnectionState()
}

func tryHandshake(srv, cli *tls.Config) error {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		s := tls.Server(a, srv)
		err := s.Handshake()
		if err == nil {
			_, err = s.Write([]byte("x"))
		}
		a.Close()
		errc <- err
	}()
	c := tls.Client(b, cli)
	err := c.Handshake()
	if err == nil {
		_, err = c.Read(make([]byte, 1))
	}
	b.Close()
	if serr := <-errc; err == nil {
		err = serr
	}
	return err
}
