package node

// CommandLookup is a read-only view of the command table for routers such
// as the cluster proxy: it answers which command a request names and
// where its keys are, from the same table that drives the node's own slot
// checks, so the two can never disagree. Safe for concurrent use; the
// returned *Command must be treated as read-only.
type CommandLookup struct{ t commandTable }

// NewCommandLookup builds the command table.
func NewCommandLookup() *CommandLookup { return &CommandLookup{t: buildCommandTable()} }

// Lookup returns the command args[0] names, resolved to its subcommand
// entry when it has one for args[1] (so key positions are the
// subcommand's), or nil for an unknown command. It does not allocate for
// names up to 32 bytes.
func (l *CommandLookup) Lookup(args [][]byte) *Command {
	if len(args) == 0 {
		return nil
	}
	cmd := l.t.lookup(args[0])
	if cmd == nil || cmd.Subcommands == nil || len(args) < 2 {
		return cmd
	}
	var buf [32]byte
	name := args[1]
	if len(name) > len(buf) {
		return cmd
	}
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	if s := cmd.Subcommands[string(buf[:len(name)])]; s != nil {
		return s
	}
	return cmd
}

// ArityOK reports whether n arguments (name included) satisfy cmd's arity.
func (cmd *Command) ArityOK(n int) bool {
	if cmd.Arity >= 0 {
		return n == cmd.Arity
	}
	return n >= -cmd.Arity
}
