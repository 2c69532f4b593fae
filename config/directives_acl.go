package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// UserLine is one `user <name> <rules...>` line of the config file, kept
// with its origin so the node can report a bad rule at its line.
type UserLine struct {
	File string
	Line int
	Args []string // the user name and its rules
}

// ErrBusSecret is a cluster-bus-secret-file problem.
var ErrBusSecret = errors.New("config: cluster bus secret")

// MinBusSecretLen is the shortest accepted cluster bus secret, in bytes.
const MinBusSecretLen = 16

func init() {
	if d := byName["aclfile"]; d != nil {
		d.active = true
	}
	for _, n := range []string{"masteruser", "acllog-max-len", "acl-pubsub-default"} {
		if d := byName[n]; d != nil {
			d.active = true
		}
	}
}

// validateSecurity checks the ACL and cluster bus directives.
func (c *Config) validateSecurity() []string {
	var errs []string
	if len(c.Users) > 0 && c.Extra["aclfile"] != "" {
		// Redis 7's rule and text.
		errs = append(errs, "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.")
	}
	if c.ClusterBusSecretFile != "" {
		if _, err := ReadBusSecret(c.ClusterBusSecretFile); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return errs
}

// ReadBusSecret reads the cluster bus shared secret: the file's first
// line, surrounding white space removed. It must hold at least
// MinBusSecretLen bytes.
func ReadBusSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cluster-bus-secret-file %s: %v", ErrBusSecret, path, err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return nil, fmt.Errorf("%w: cluster-bus-secret-file %s, line 1: the secret is empty", ErrBusSecret, path)
	}
	if len(line) < MinBusSecretLen {
		return nil, fmt.Errorf("%w: cluster-bus-secret-file %s, line 1: the secret is %d bytes, at least %d are required", ErrBusSecret, path, len(line), MinBusSecretLen)
	}
	return []byte(line), nil
}
