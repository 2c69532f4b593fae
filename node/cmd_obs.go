package node

// observabilityCommands: LATENCY, MEMORY, MONITOR (CLUSTER SLOT-STATS is
// in cluster_slotstats.go).
func observabilityCommands() []*Command {
	return []*Command{latencyCommand(), memoryCommand(),
		{Name: "monitor", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale,
			Categories: []string{"admin", "slow", "dangerous"},
			Summary:    "Listen for all requests received by the server in real time", Since: "1.0.0", Group: "server",
			Handler: cmdMonitor},
	}
}
