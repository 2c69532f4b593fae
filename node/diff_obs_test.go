package node_test

// observabilityOnly names the directives and commands slotvault adds for
// observability (docs/observability.md): metrics-port and log-format, and
// Valkey 8's CLUSTER SLOT-STATS.
func observabilityOnly(name string) bool {
	return name == "metrics-port" || name == "log-format" || name == "cluster|slot-stats"
}
