package node

func listCommands() []*Command {
	return nil
}
