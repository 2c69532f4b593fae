package node

func clusterCommands() []*Command {
	return nil
}
