package node

func bitmapCommands() []*Command {
	return nil
}
