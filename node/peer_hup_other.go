//go:build !linux

package node

// peerHungUp is only known on Linux (POLLRDHUP); elsewhere a hang-up
// behind unread input is noticed once that input is read.
func peerHungUp(fd uintptr) bool { return false }
