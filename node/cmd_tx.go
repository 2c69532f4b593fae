package node

func txCommands() []*Command {
	return nil
}
