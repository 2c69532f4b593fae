package node

// pubsubState is the channel and pattern registry.
type pubsubState struct{}

func (p *pubsubState) init()                         {}
func (p *pubsubState) removeClientLocked(cl *Client) {}

func pubsubCommands() []*Command {
	return nil
}
