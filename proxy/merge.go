package proxy

import (
	"bytes"
	"math/rand/v2"
	"strconv"
)

// mergeOp writes op's reply to the client.
func (s *session) mergeOp(o *op) {
	subs := s.subs[o.sub0 : o.sub0+o.nsubs]
	switch o.merge {
	case mergeLocal:
		s.out.Write(s.arena[o.local.off : o.local.off+o.local.n])
		return
	case mergeRelay:
		s.out.Write(s.replyOf(&subs[0]))
		return
	}
	// Every merged reply starts by surfacing the first error.
	for i := range subs {
		if r := s.replyOf(&subs[i]); isErrorReply(r) {
			s.out.Write(r)
			return
		}
	}
	switch o.merge {
	case mergeSum:
		var total int64
		for i := range subs {
			n, ok := replyInt(s.replyOf(&subs[i]))
			if !ok {
				s.out.Write(s.replyOf(&subs[i]))
				return
			}
			total += n
		}
		var b [24]byte
		s.out.Write(appendIntReply(b[:0], total))
	case mergeAllOK:
		s.out.WriteString("+OK\r\n")
	case mergeMGet:
		if cap(s.elems) < o.nkeys {
			s.elems = make([][]byte, o.nkeys)
		}
		elems := s.elems[:o.nkeys]
		for i := range subs {
			sb := &subs[i]
			parts, ok := aggregate(s.replyOf(sb), s.elems[o.nkeys:o.nkeys])
			if !ok || len(parts) != sb.nord {
				s.out.WriteString("-ERR proxy: unexpected MGET reply from " + sb.n.addr + "\r\n")
				return
			}
			for j, p := range parts {
				elems[s.ints[sb.ord0+j]] = p
			}
		}
		var b [24]byte
		s.out.Write(appendArrayHeader(b[:0], o.nkeys))
		for _, e := range elems {
			s.out.Write(e)
		}
		clear(elems)
	case mergeConcat:
		total := 0
		var all [][]byte
		for i := range subs {
			parts, ok := aggregate(s.replyOf(&subs[i]), nil)
			if !ok {
				continue
			}
			total += len(parts)
			all = append(all, parts...)
		}
		var b [24]byte
		s.out.Write(appendArrayHeader(b[:0], total))
		for _, e := range all {
			s.out.Write(e)
		}
	case mergeRandom:
		start := rand.IntN(len(subs))
		for k := range subs {
			r := s.replyOf(&subs[(start+k)%len(subs)])
			if !isNullReply(r) {
				s.out.Write(r)
				return
			}
		}
		s.out.Write(s.replyOf(&subs[0]))
	case mergeScan:
		s.mergeScan(o, &subs[0])
	case mergeInfo:
		s.mergeInfo(subs)
	case mergeFirst:
		s.out.Write(s.replyOf(&subs[0]))
	}
}

// SCAN cursors: the proxy's cursor is nodeCursor<<scanIdxBits | index of
// the master (in slot order), so one cursor walks every master in turn.
const scanIdxBits = 10

func (s *session) mergeScan(o *op, sb *sub) {
	parts, ok := aggregate(s.replyOf(sb), nil)
	if !ok || len(parts) != 2 {
		s.out.Write(s.replyOf(sb))
		return
	}
	cb, _ := replyBulk(parts[0])
	nc, err := strconv.ParseUint(string(cb), 10, 64)
	if err != nil || nc >= 1<<(64-scanIdxBits) {
		s.out.WriteString("-ERR proxy: node cursor out of range\r\n")
		return
	}
	var cur uint64
	if nc != 0 {
		cur = nc<<scanIdxBits | uint64(o.scanIdx)
	} else if o.scanIdx+1 < o.scanMasters {
		cur = uint64(o.scanIdx + 1)
	}
	var b [48]byte
	s.out.WriteString("*2\r\n")
	s.out.Write(appendBulk(b[:0], strconv.AppendUint(b[24:24], cur, 10)))
	s.out.Write(parts[1])
}

// mergeInfo summarizes the masters' INFO: a proxy section, one line per
// node and the summed keyspace.
func (s *session) mergeInfo(subs []sub) {
	var text bytes.Buffer
	text.WriteString("# Proxy\r\nproxy:slotvault-proxy\r\nread_from:" + s.p.cfg.ReadFrom.String() +
		"\r\nconnected_clients:" + strconv.FormatInt(s.p.nclients.Load(), 10) +
		"\r\ncluster_masters:" + strconv.Itoa(len(subs)) + "\r\n\r\n# Nodes\r\n")
	var keys, expires int64
	for i := range subs {
		body, _ := replyBulk(s.replyOf(&subs[i]))
		if len(body) > 4 && body[3] == ':' && s.replyOf(&subs[i])[0] == '=' {
			body = body[4:]
		}
		f := map[string]string{}
		for _, line := range bytes.Split(body, []byte("\r\n")) {
			if k, v, ok := bytes.Cut(line, []byte(":")); ok {
				f[string(k)] = string(v)
			}
		}
		if db := f["db0"]; db != "" {
			for _, kv := range bytes.Split([]byte(db), []byte(",")) {
				k, v, _ := bytes.Cut(kv, []byte("="))
				n, _ := strconv.ParseInt(string(v), 10, 64)
				switch string(k) {
				case "keys":
					keys += n
				case "expires":
					expires += n
				}
			}
		}
		text.WriteString("node" + strconv.Itoa(i) + ":addr=" + subs[i].n.addr + ",role=" + f["role"] +
			",version=" + f["redis_version"] + ",used_memory=" + f["used_memory"] +
			",connected_clients=" + f["connected_clients"] + ",ops_per_sec=" + f["instantaneous_ops_per_sec"] +
			",db0=" + f["db0"] + "\r\n")
	}
	text.WriteString("\r\n# Keyspace\r\ndb0:keys=" + strconv.FormatInt(keys, 10) + ",expires=" +
		strconv.FormatInt(expires, 10) + ",avg_ttl=0\r\n")
	var b [24]byte
	if s.proto == 3 {
		s.out.WriteByte('=')
		s.out.Write(strconv.AppendInt(b[:0], int64(text.Len()+4), 10))
		s.out.WriteString("\r\ntxt:")
	} else {
		s.out.WriteByte('$')
		s.out.Write(strconv.AppendInt(b[:0], int64(text.Len()), 10))
		s.out.WriteString("\r\n")
	}
	s.out.Write(text.Bytes())
	s.out.WriteString("\r\n")
}
