//go:build !unix

package node

import "net"

// watchPeerClose is not available on this platform: a blocked client that
// disconnects stays registered until it is served or times out.
func watchPeerClose(conn net.Conn) (gone <-chan struct{}, stop func()) {
	return nil, func() {}
}
