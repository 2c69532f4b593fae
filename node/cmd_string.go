package node

func stringCommands() []*Command {
	return nil
}
