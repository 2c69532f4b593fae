package node

func keyspaceCommands() []*Command {
	return nil
}
