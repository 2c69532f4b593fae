package node

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

type chunkConn struct {
	net.Conn
	data []byte
	chunk int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := c.chunk
	if n <= 0 || n > len(c.data) {
		n = len(c.data)
	}
	if n > len(p) {
		n = len(p)
	}
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}
func (c *chunkConn) SetReadDeadline(time.Time) error { return nil }

type guardReader struct {
	g *protoGuard
	c *chunkConn
}

func (r guardReader) Read(p []byte) (int, error) { return r.g.Read(r.c, p) }

func TestDbg(t *testing.T) {
	var w bytes.Buffer
	g := newProtoGuard(nil, &w)
	rd := redcon.NewReader(guardReader{g, &chunkConn{data: []byte("*abc\r\n")}})
	cmds, err := rd.ReadCommands()
	t.Logf("%q %v %q", cmds, err, w.String())
}
