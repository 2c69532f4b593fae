package node

import "golang.org/x/sys/unix"

// peerHungUp reports whether the peer of socket fd has shut down its
// side (POLLRDHUP), even while unread input is queued before the FIN. A
// TLS client always sends a close_notify alert before closing, so without
// this check a blocked TLS client's hang-up would look like pending input
// (see watchPeerClose). Redis frees such a client too: it reads the input
// and then the EOF.
func peerHungUp(fd uintptr) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
	n, err := unix.Poll(p, 0)
	return err == nil && n == 1 && p[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
}
