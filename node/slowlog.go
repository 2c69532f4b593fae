package node

import "time"

// slowlogState is the SLOWLOG ring.
type slowlogState struct{}

func (s *slowlogState) init() {}

func (s *slowlogState) maybeAddLocked(n *Node, cl *Client, args [][]byte, start time.Time, dur time.Duration) {
}
