package node

// Error replies of replication (Redis 7.0 texts).
const (
	ErrReadOnlyReplica = "READONLY You can't write against a read only replica."
	ErrNoReplicas      = "NOREPLICAS Not enough good replicas to write."
	ErrMasterDown      = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
)

// replCommands: REPLICAOF, SLAVEOF, ROLE, WAIT, and the commands replicas
// send their master (PSYNC, SYNC, REPLCONF).
func replCommands() []*Command {
	adm := []string{"admin", "slow", "dangerous"}
	return []*Command{
		{Name: "replicaof", Arity: 3, Flags: FlagAdmin | FlagNoScript | FlagStale, Categories: adm,
			Summary: "Make the server a replica of another instance, or promote it as master.", Since: "5.0.0", Group: "server", Handler: cmdReplicaof},
		{Name: "slaveof", Arity: 3, Flags: FlagAdmin | FlagNoScript | FlagStale, Categories: adm,
			Summary: "Make the server a replica of another instance, or promote it as master.", Since: "1.0.0", Group: "server", Handler: cmdReplicaof},
		{Name: "role", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast, Categories: []string{"admin", "fast", "dangerous"},
			Summary: "Return the role of the instance in the context of replication", Since: "2.8.12", Group: "server", Handler: cmdRole},
		{Name: "wait", Arity: 3, Flags: FlagNoScript, Categories: []string{"slow", "connection"},
			Summary: "Wait for the synchronous replication of all the write commands sent in the context of the current connection", Since: "3.0.0", Group: "generic", Handler: cmdWait},
		{Name: "psync", Arity: -3, Flags: FlagAdmin | FlagNoScript | FlagNoMulti, Categories: adm,
			Summary: "Internal command used for replication", Since: "2.8.0", Group: "server", Handler: cmdPsync},
		{Name: "sync", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoMulti, Categories: adm,
			Summary: "Internal command used for replication", Since: "1.0.0", Group: "server", Handler: cmdSync},
		{Name: "replconf", Arity: -1, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale | FlagAllowBusy, Categories: adm,
			Summary: "An internal command for configuring the replication stream", Since: "3.0.0", Group: "server", Handler: cmdReplconf},
	}
}

// replBacklogMemLocked is INFO mem_replication_backlog.
func (n *Node) replBacklogMemLocked() int64 {
	if n.repl.backlog == nil {
		return 0
	}
	return n.repl.backlog.bytesHeld()
}

// replCheckLocked applies the replication checks of Redis's processCommand
// to a command about to run: NOREPLICAS (min-replicas-to-write), READONLY
// (a read-only replica), MASTERDOWN (replica-serve-stale-data no). It
// returns the error reply, or "".
func (n *Node) replCheckLocked(sub *Command) string {
	r := &n.repl
	write := sub.Flags&FlagWrite != 0
	if write && r.master == nil {
		if k := n.cfgInt("min-replicas-to-write", 0); k > 0 && n.cfgInt("min-replicas-max-lag", 10) > 0 &&
			int64(n.goodReplicasLocked()) < k {
			return ErrNoReplicas
		}
	}
	if r.master == nil {
		return ""
	}
	if write && n.cfgBool("replica-read-only", true) {
		return ErrReadOnlyReplica
	}
	if r.master.state != linkConnected && !n.cfgBool("replica-serve-stale-data", true) && sub.Flags&FlagStale == 0 {
		return ErrMasterDown
	}
	return ""
}
