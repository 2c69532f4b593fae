package config

// The cluster directives are acted on by the cluster package (cluster
// mode, bus, announce addresses). This runs after directives.go's init,
// which registers them.
func init() {
	for _, name := range []string{
		"cluster-enabled", "cluster-config-file", "cluster-node-timeout", "cluster-port",
		"cluster-require-full-coverage", "cluster-allow-reads-when-down",
		"cluster-announce-ip", "cluster-announce-port", "cluster-announce-bus-port",
	} {
		if d := byName[name]; d != nil {
			d.active = true
		}
	}
}
