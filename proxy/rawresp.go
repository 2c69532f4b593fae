package proxy

import (
	"bufio"
	"errors"
	"io"
	"strconv"
)

// Errors of the RESP layer.
var (
	errProtocol   = errors.New("proxy: protocol error")
	errReplyDepth = errors.New("proxy: reply nested too deeply")
)

// Request limits, as Redis's (client-query-buffer / proto-max-bulk-len).
const (
	maxMultibulk = 1024 * 1024
	maxBulk      = 512 << 20
	maxInline    = 64 << 10
)

// readReply appends one complete RESP2/RESP3 reply read from br to dst
// without interpreting it, so replies can be relayed byte for byte.
func readReply(br *bufio.Reader, dst []byte) ([]byte, error) {
	return readReplyDepth(br, dst, 0)
}

func readReplyDepth(br *bufio.Reader, dst []byte, depth int) ([]byte, error) {
	if depth > 64 {
		return dst, errReplyDepth
	}
	start := len(dst)
	for {
		line, err := br.ReadSlice('\n')
		dst = append(dst, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return dst, err
		}
		break
	}
	line := dst[start:]
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return dst, errProtocol
	}
	switch line[0] {
	case '+', '-', ':', ',', '#', '_', '(':
		return dst, nil
	case '$', '=', '!':
		n, ok := parseInt(line[1 : len(line)-2])
		if !ok {
			return dst, errProtocol
		}
		if n < 0 {
			return dst, nil
		}
		l := len(dst)
		dst = grow(dst, int(n)+2)
		if _, err := io.ReadFull(br, dst[l:]); err != nil {
			return dst, err
		}
		return dst, nil
	case '*', '~', '>', '%', '|':
		n, ok := parseInt(line[1 : len(line)-2])
		if !ok {
			return dst, errProtocol
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		var err error
		for i := int64(0); i < n; i++ {
			if dst, err = readReplyDepth(br, dst, depth+1); err != nil {
				return dst, err
			}
		}
		if line[0] == '|' { // an attribute precedes the reply it describes
			return readReplyDepth(br, dst, depth+1)
		}
		return dst, nil
	}
	return dst, errProtocol
}

// grow extends b by n bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// parseInt parses a RESP length or integer.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := false
	if b[0] == '-' {
		neg, b = true, b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// skipReply returns the length of the complete reply at the start of b,
// or -1 if b does not hold one (replies in b come from readReply, so they
// are complete and well formed).
func skipReply(b []byte) int {
	i := indexCRLF(b)
	if i < 0 {
		return -1
	}
	switch b[0] {
	case '$', '=', '!':
		n, _ := parseInt(b[1:i])
		if n < 0 {
			return i + 2
		}
		return i + 2 + int(n) + 2
	case '*', '~', '>', '%', '|':
		n, _ := parseInt(b[1:i])
		if b[0] == '%' || b[0] == '|' {
			n *= 2
		}
		p := i + 2
		for j := int64(0); j < n; j++ {
			l := skipReply(b[p:])
			if l < 0 {
				return -1
			}
			p += l
		}
		if b[0] == '|' {
			l := skipReply(b[p:])
			if l < 0 {
				return -1
			}
			p += l
		}
		return p
	}
	return i + 2
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}

// aggregate splits an aggregate reply into its header count and the raw
// bytes of its elements; ok is false for a non-aggregate or null reply.
func aggregate(b []byte, elems [][]byte) (out [][]byte, ok bool) {
	if len(b) == 0 || (b[0] != '*' && b[0] != '~' && b[0] != '>') {
		return elems, false
	}
	i := indexCRLF(b)
	n, _ := parseInt(b[1:i])
	if n < 0 {
		return elems, false
	}
	p := i + 2
	for j := int64(0); j < n; j++ {
		l := skipReply(b[p:])
		if l < 0 {
			return elems, false
		}
		elems = append(elems, b[p:p+l])
		p += l
	}
	return elems, true
}

// replyInt returns the value of an integer reply.
func replyInt(b []byte) (int64, bool) {
	if len(b) < 3 || b[0] != ':' {
		return 0, false
	}
	return parseInt(b[1 : len(b)-2])
}

// replyBulk returns the payload of a bulk or simple string reply.
func replyBulk(b []byte) ([]byte, bool) {
	if len(b) < 3 {
		return nil, false
	}
	i := indexCRLF(b)
	switch b[0] {
	case '+':
		return b[1:i], true
	case '$', '=':
		n, _ := parseInt(b[1:i])
		if n < 0 {
			return nil, false
		}
		return b[i+2 : i+2+int(n)], true
	}
	return nil, false
}

func isErrorReply(b []byte) bool { return len(b) > 0 && (b[0] == '-' || b[0] == '!') }

func isNullReply(b []byte) bool {
	return len(b) > 0 && (b[0] == '_' || ((b[0] == '$' || b[0] == '*') && len(b) > 1 && b[1] == '-'))
}

// appendCommand appends args as a RESP multibulk request.
func appendCommand(dst []byte, args ...[]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = appendBulk(dst, a)
	}
	return dst
}

func appendBulk(dst, a []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(a)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, a...)
	return append(dst, '\r', '\n')
}

func appendArrayHeader(dst []byte, n int) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

func appendIntReply(dst []byte, n int64) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

func appendError(dst []byte, msg string) []byte {
	dst = append(dst, '-')
	dst = append(dst, msg...)
	return append(dst, '\r', '\n')
}

// parseRequest parses one request at the start of b into args (reusing
// its backing array). n is the number of bytes used, 0 if b does not hold
// a complete request yet. The args alias b.
func parseRequest(b []byte, args [][]byte) (out [][]byte, n int, err error) {
	args = args[:0]
	if len(b) == 0 {
		return args, 0, nil
	}
	if b[0] != '*' {
		return parseInline(b, args)
	}
	i := indexCRLF(b)
	if i < 0 {
		if len(b) > maxInline {
			return args, 0, errors.New("Protocol error: too big mbulk count string")
		}
		return args, 0, nil
	}
	cnt, ok := parseInt(b[1:i])
	if !ok || cnt > maxMultibulk {
		return args, 0, errors.New("Protocol error: invalid multibulk length")
	}
	p := i + 2
	for j := int64(0); j < cnt; j++ {
		if p >= len(b) {
			return args, 0, nil
		}
		if b[p] != '$' {
			return args, 0, errors.New("Protocol error: expected '$', got '" + string(b[p]) + "'")
		}
		k := indexCRLF(b[p:])
		if k < 0 {
			if len(b)-p > maxInline {
				return args, 0, errors.New("Protocol error: too big bulk count string")
			}
			return args, 0, nil
		}
		l, ok := parseInt(b[p+1 : p+k])
		if !ok || l < 0 || l > maxBulk {
			return args, 0, errors.New("Protocol error: invalid bulk length")
		}
		p += k + 2
		if p+int(l)+2 > len(b) {
			return args, 0, nil
		}
		args = append(args, b[p:p+int(l)])
		p += int(l) + 2
	}
	return args, p, nil
}

// parseInline parses a space-separated inline command (telnet style).
func parseInline(b []byte, args [][]byte) ([][]byte, int, error) {
	end := -1
	for i, c := range b {
		if c == '\n' {
			end = i
			break
		}
	}
	if end < 0 {
		if len(b) > maxInline {
			return args, 0, errors.New("Protocol error: too big inline request")
		}
		return args, 0, nil
	}
	line := b[:end]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if j > i {
			args = append(args, line[i:j])
		}
		i = j
	}
	return args, end + 1, nil
}
