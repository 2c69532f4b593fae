package node

func hllCommands() []*Command {
	return nil
}
