package tlsconf

import (
	"crypto/tls"
	"strings"
)

// openSSLNames maps OpenSSL's names of the TLSv1.2-and-below suites
// crypto/tls implements to their IDs.
var openSSLNames = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// tls13Names are the TLSv1.3 suites OpenSSL knows (tls-ciphersuites).
var tls13Names = map[string]bool{
	"TLS_AES_128_GCM_SHA256": true, "TLS_AES_256_GCM_SHA384": true, "TLS_CHACHA20_POLY1305_SHA256": true,
	"TLS_AES_128_CCM_SHA256": true, "TLS_AES_128_CCM_8_SHA256": true,
}

// CipherSuites maps a tls-ciphers list (OpenSSL syntax: names separated by
// ':', ',' or spaces) onto crypto/tls suite IDs, in the list's order.
// Names may be OpenSSL's or IANA's. Keywords and operators (HIGH,
// DEFAULT, !aNULL, +SHA ...) select by category in OpenSSL; crypto/tls's
// own selection already excludes the weak categories, so they are
// skipped. nil means crypto/tls's defaults. A list of concrete names none
// of which crypto/tls implements is an error, as in Redis.
func CipherSuites(list string) ([]uint16, error) {
	tokens := strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	if len(tokens) == 0 {
		return nil, nil
	}
	iana := map[string]uint16{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		iana[s.Name] = s.ID
	}
	var out []uint16
	seen := map[uint16]bool{}
	keywords := false
	for _, t := range tokens {
		id, ok := openSSLNames[t]
		if !ok {
			id, ok = iana[t]
		}
		if !ok {
			if isCipherKeyword(t) {
				keywords = true
			}
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(out) == 0 && !keywords {
		return nil, fail("Failed to configure ciphers: %s", list)
	}
	return out, nil
}

// isCipherKeyword reports whether t is an OpenSSL selection keyword or
// operator rather than the name of one suite.
func isCipherKeyword(t string) bool {
	if t == "" || strings.ContainsAny(t[:1], "!-+@") {
		return true
	}
	// Suite names have dashes or underscores; keywords (HIGH, aNULL,
	// ECDHE, AESGCM, kRSA) have neither.
	return !strings.ContainsAny(t, "-_")
}

// checkCiphersuites validates a tls-ciphersuites list. crypto/tls does not
// let TLSv1.3 suites be chosen (all of them are strong), so a valid list
// is accepted and has no effect.
func checkCiphersuites(list string) error {
	for _, t := range strings.Split(list, ":") {
		if t = strings.TrimSpace(t); t != "" && !tls13Names[t] {
			return fail("Failed to configure tls-ciphersuites: %s", list)
		}
	}
	return nil
}
