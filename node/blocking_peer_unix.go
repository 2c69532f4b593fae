//go:build unix

package node

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// watchPeerClose reports, by closing the returned channel, when the peer of
// conn closes the connection (or the connection is closed locally, as
// CLIENT KILL does). It peeks at the socket with MSG_PEEK, so input the
// client sends meanwhile (a pipelined command) stays queued for the normal
// reader. stop ends the watch and restores conn for reading; it must be
// called before the connection is read again.
//
// Known limit: a close that follows unread pipelined input is noticed only
// when that input has been read, after the wait.
func watchPeerClose(conn net.Conn) (gone <-chan struct{}, stop func()) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, func() {}
	}
	closed := make(chan struct{})
	done := make(chan struct{})
	var stopping atomic.Bool
	// A blocked client is not subject to the idle timeout the last read
	// may have armed.
	conn.SetReadDeadline(time.Time{})
	go func() {
		defer close(done)
		var buf [1]byte
		for {
			peerGone := false
			err := rc.Read(func(fd uintptr) bool {
				n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
				switch {
				case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
					return false
				case err != nil || n == 0:
					peerGone = true
					return true
				}
				// Input is pending: wait for the next socket event,
				// unless the peer has hung up behind it (peer_hup_*.go).
				if peerHungUp(fd) {
					peerGone = true
					return true
				}
				return false
			})
			if stopping.Load() {
				return
			}
			if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				conn.SetReadDeadline(time.Time{})
				continue
			}
			if peerGone || err != nil {
				close(closed)
				return
			}
		}
	}()
	stop = func() {
		stopping.Store(true)
		conn.SetReadDeadline(time.Unix(1, 0))
		<-done
		conn.SetReadDeadline(time.Time{})
	}
	return closed, stop
}
