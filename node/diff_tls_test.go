package node_test

import (
	"testing"

	"github.com/slotvault/slotvault/internal/testutil"
)

// TestDiffTLSConfig compares the tls-* directives with Redis while TLS is
// off: values are checked for syntax only (files are loaded once TLS is in
// use), as in Redis. The TLS behaviour itself is tested end to end in
// internal/e2e/tls_test.go.
func TestDiffTLSConfig(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
~ CONFIG GET tls-*
CONFIG GET cluster-announce-tls-port
CONFIG SET tls-auth-clients optional
CONFIG GET tls-auth-clients
CONFIG SET tls-auth-clients NO
CONFIG GET tls-auth-clients
CONFIG SET tls-auth-clients maybe
CONFIG SET tls-auth-clients yes
CONFIG SET tls-replication maybe
CONFIG SET tls-cluster 1
CONFIG SET tls-prefer-server-ciphers yes
CONFIG SET tls-session-caching no
CONFIG SET tls-session-cache-size -1
CONFIG SET tls-session-cache-size abc
CONFIG SET tls-session-cache-size 100
CONFIG SET tls-session-cache-timeout 2147483648
CONFIG SET tls-session-cache-timeout 60
CONFIG SET cluster-announce-tls-port 70000
CONFIG SET cluster-announce-tls-port 6390
CONFIG SET tls-cert-file /nonexistent/cert.pem
CONFIG SET tls-key-file /nonexistent/key.pem tls-ca-cert-dir /nonexistent
CONFIG SET tls-protocols "TLSv1.2 bogus"
CONFIG SET tls-ciphers "HIGH:!aNULL"
CONFIG SET tls-ciphersuites TLS_AES_128_GCM_SHA256
CONFIG SET tls-key-file-pass secret
CONFIG SET tls-port 70000
CONFIG SET tls-port abc
~ CONFIG GET tls-*
CONFIG GET cluster-announce-tls-port
CONFIG SET tls-session-caching yes tls-session-caching no
? CONFIG SET tls-port 0 tls-cert-file x
`)
}
