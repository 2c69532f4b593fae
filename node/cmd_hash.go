package node

func hashCommands() []*Command {
	return nil
}
