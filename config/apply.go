package config

import "strings"

// Apply sets one directive as a config-file line would (no CONFIG SET
// restrictions on immutable directives), returning the reason
// redis-server would print. For tools that accept some of the node's
// directives in their own files, such as the cluster proxy's tls-*.
func (c *Config) Apply(name string, args ...string) error {
	return c.apply(strings.ToLower(name), args, true)
}
