package rdb_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/rdb"
)

// These tests check the codec against a real redis-server 7.0: DUMP
// payloads Redis produces decode to the value Redis reports, slotvault's
// encoding is byte-identical where Redis's is deterministic, and Redis
// RESTOREs what slotvault encodes.

type redis struct {
	t *testing.T
	c *resp.Conn
}

func startRedis(t *testing.T) *redis {
	p := testutil.StartRedis(t)
	return &redis{t: t, c: testutil.Dial(t, p.Addr())}
}

func (r *redis) do(args ...string) resp.Value {
	r.t.Helper()
	v, err := r.c.Do(args...)
	if err != nil {
		r.t.Fatalf("%q: %v", args, err)
	}
	if v.IsError() {
		r.t.Fatalf("%q: %s", args, v.Str)
	}
	return v
}

func (r *redis) dump(key string) []byte {
	r.t.Helper()
	return []byte(r.do("DUMP", key).Str)
}

func strs(v resp.Value) []string {
	out := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		out[i] = e.Str
	}
	return out
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func bs(s []string) [][]byte {
	out := make([][]byte, len(s))
	for i, x := range s {
		out[i] = []byte(x)
	}
	return out
}

func toStrs(b [][]byte) []string {
	out := make([]string, len(b))
	for i, x := range b {
		out[i] = string(x)
	}
	return out
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// view renders key's value as Redis reports it, order-normalised for
// unordered types.
func (r *redis) view(key string) string {
	r.t.Helper()
	switch typ := r.do("TYPE", key).Str; typ {
	case "string":
		return "string:" + r.do("GET", key).Str
	case "list":
		return fmt.Sprintf("list:%q", strs(r.do("LRANGE", key, "0", "-1")))
	case "set":
		return fmt.Sprintf("set:%q", sorted(strs(r.do("SMEMBERS", key))))
	case "zset":
		return fmt.Sprintf("zset:%q", strs(r.do("ZRANGE", key, "0", "-1", "WITHSCORES")))
	case "hash":
		h := strs(r.do("HGETALL", key))
		var pairs []string
		for i := 0; i+1 < len(h); i += 2 {
			pairs = append(pairs, h[i]+"="+h[i+1])
		}
		return fmt.Sprintf("hash:%q", sorted(pairs))
	default:
		return typ
	}
}

// objView renders an Object the way view renders a key.
func objView(o rdb.Object) string {
	switch o.Kind {
	case rdb.KindString:
		return "string:" + string(o.Str)
	case rdb.KindList:
		return fmt.Sprintf("list:%q", toStrs(o.List))
	case rdb.KindSet:
		return fmt.Sprintf("set:%q", sorted(toStrs(o.Set)))
	case rdb.KindZSet:
		var s []string
		for _, e := range o.ZSet {
			s = append(s, string(e.Member), formatDouble(e.Score))
		}
		return fmt.Sprintf("zset:%q", s)
	case rdb.KindHash:
		var pairs []string
		for _, f := range o.Hash {
			pairs = append(pairs, string(f.Field)+"="+string(f.Value))
		}
		return fmt.Sprintf("hash:%q", sorted(pairs))
	}
	return "?"
}

func formatDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

// check decodes Redis's DUMP of key, compares it with Redis's view,
// re-encodes it (with the encoding Redis reports) and requires byte
// equality when exact is set, then RESTOREs slotvault's payload into Redis
// and compares again.
func (r *redis) check(key string, exact bool) {
	r.t.Helper()
	want := r.view(key)
	payload := r.dump(key)
	o, err := rdb.DecodePayload(payload)
	if err != nil {
		r.t.Fatalf("%s: decode Redis payload: %v (%q)", key, err, payload)
	}
	if got := objView(o); got != want {
		r.t.Fatalf("%s: decoded %s\nredis has %s", key, got, want)
	}
	o.Encoding = r.do("OBJECT", "ENCODING", key).Str
	mine, err := rdb.EncodePayload(&o)
	if err != nil {
		r.t.Fatal(err)
	}
	if exact && !bytes.Equal(mine, payload) {
		i := 0
		for i < len(mine) && i < len(payload) && mine[i] == payload[i] {
			i++
		}
		from := max(0, i-20)
		r.t.Errorf("%s (%s): payload differs at byte %d of %d/%d\n redis:     %q\n slotvault: %q", key, o.Encoding,
			i, len(payload), len(mine), payload[from:min(len(payload), i+40)], mine[from:min(len(mine), i+40)])
	}
	r.do("RESTORE", key+":back", "0", string(mine), "REPLACE")
	if got := r.view(key + ":back"); got != want {
		r.t.Errorf("%s: Redis restored slotvault's payload as %s\nwant %s", key, got, want)
	}
	if enc := r.do("OBJECT", "ENCODING", key+":back").Str; enc != o.Encoding {
		r.t.Errorf("%s: restored encoding %s, want %s", key, enc, o.Encoding)
	}
}

func TestRedisStrings(t *testing.T) {
	r := startRedis(t)
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []string{"", "0", "-1", "127", "128", "-128", "-129", "32767", "32768", "-32769",
		"2147483647", "2147483648", "-2147483648", "-2147483649", "12345678901", "007", "+1", " 1",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "1.5",
		"hello", string(bytes.Repeat([]byte("ab"), 30)), string(bytes.Repeat([]byte{0}, 5000)),
		"aaaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabcabcabcX", "01234567890123456789x"}
	for i := 0; i < 300; i++ {
		n := 15 + rng.IntN(400)
		alpha := 2 + rng.IntN(30)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + rng.IntN(alpha))
		}
		vals = append(vals, string(b))
	}
	for i := 0; i < 50; i++ {
		b := make([]byte, 17+rng.IntN(40))
		for j := range b {
			b[j] = byte('a' + rng.IntN(3))
		}
		vals = append(vals, string(b))
	}
	for i, v := range vals {
		key := "s" + strconv.Itoa(i)
		r.do("SET", key, v)
		r.check(key, true)
		// APPEND makes the value raw-encoded; the payload does not change.
		r.do("APPEND", key, "")
	}
}

func TestRedisHashes(t *testing.T) {
	r := startRedis(t)
	r.do("HSET", "h1", "a", "1", "b", "hello", "-5", "x", "big", "99999999999999")
	r.check("h1", true)
	args := []string{"HSET", "h2"}
	for i := 0; i < 200; i++ {
		args = append(args, "field:"+strconv.Itoa(i), strconv.Itoa(i*i))
	}
	r.do(args...)
	r.check("h2", false)
	r.do("HSET", "h3", "f", string(bytes.Repeat([]byte("v"), 65)))
	r.check("h3", true)
	r.do("HSET", "h4", "long", string(bytes.Repeat([]byte("abc"), 20)), "x", "")
	r.check("h4", true)
}

func TestRedisSets(t *testing.T) {
	r := startRedis(t)
	r.do("SADD", "i1", "1", "2", "3", "-5", "100")
	r.check("i1", true)
	r.do("SADD", "i2", "1", "70000")
	r.check("i2", true)
	r.do("SADD", "i3", "1", "-9223372036854775808")
	r.check("i3", true)
	args := []string{"SADD", "i4"}
	for i := 0; i < 600; i++ {
		args = append(args, strconv.Itoa(i*3))
	}
	r.do(args...)
	r.check("i4", false)
	r.do("SADD", "s1", "a", "b", "c", "1")
	r.check("s1", false)
}

func TestRedisZSets(t *testing.T) {
	r := startRedis(t)
	r.do("ZADD", "z1", "1.1", "a", "2", "b", "-0.0", "c", "1e20", "d", "inf", "e", "-inf", "f", "4503599627370496", "g", "0.1", "h")
	r.check("z1", true)
	args := []string{"ZADD", "z2"}
	for i := 0; i < 200; i++ {
		args = append(args, strconv.FormatFloat(float64(i)/7, 'g', -1, 64), "m"+strconv.Itoa(i))
	}
	r.do(args...)
	r.check("z2", true)
	r.do("ZADD", "z3", "1", string(bytes.Repeat([]byte("m"), 65)), "2", "x")
	r.check("z3", true)
}

func TestRedisLists(t *testing.T) {
	r := startRedis(t)
	r.do("RPUSH", "l1", "a", "b", "1", "2", "300", "-70000", "9223372036854775807", "")
	r.check("l1", true)
	args := []string{"RPUSH", "l2"}
	for i := 0; i < 5000; i++ {
		args = append(args, "element-"+strconv.Itoa(i))
	}
	r.do(args...)
	r.check("l2", true)
	args = []string{"RPUSH", "l3"}
	for i := 0; i < 100; i++ {
		args = append(args, string(bytes.Repeat([]byte{byte('a' + i%26)}, 300+i*10)))
	}
	r.do(args...)
	r.check("l3", true)
	r.do("RPUSH", "l4", string(bytes.Repeat([]byte("x"), 20000)), "y")
	r.check("l4", true)
	// Compressed quicklist nodes are written as LZF blobs.
	r.do("CONFIG", "SET", "list-compress-depth", "1")
	args[1] = "l5"
	r.do(args...)
	r.do("RPUSH", "l5", "tail")
	r.check("l5", false)
	r.do("CONFIG", "SET", "list-compress-depth", "0")
}

// Legacy encodings Redis 7.0 no longer writes but still loads: slotvault's
// decoder must read them as Redis does. The payloads are built here and
// validated by Redis's own RESTORE.

type ziplist struct {
	entries [][]byte
	prev    int
	n       int
}

func (z *ziplist) add(s string) {
	var e []byte
	if z.prev < 254 {
		e = append(e, byte(z.prev))
	} else {
		e = append(e, 0xFE)
		e = binary.LittleEndian.AppendUint32(e, uint32(z.prev))
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(v, 10) == s && len(s) < 32 {
		switch {
		case v >= 0 && v <= 12:
			e = append(e, 0xF1+byte(v))
		case v >= math.MinInt8 && v <= math.MaxInt8:
			e = append(e, 0xFE, byte(v))
		case v >= math.MinInt16 && v <= math.MaxInt16:
			e = append(e, 0xC0)
			e = binary.LittleEndian.AppendUint16(e, uint16(v))
		case v >= -(1<<23) && v < 1<<23:
			u := uint32(v)
			e = append(e, 0xF0, byte(u), byte(u>>8), byte(u>>16))
		case v >= math.MinInt32 && v <= math.MaxInt32:
			e = append(e, 0xD0)
			e = binary.LittleEndian.AppendUint32(e, uint32(v))
		default:
			e = append(e, 0xE0)
			e = binary.LittleEndian.AppendUint64(e, uint64(v))
		}
	} else {
		switch n := len(s); {
		case n < 64:
			e = append(e, byte(n))
		case n < 16384:
			e = append(e, 0x40|byte(n>>8), byte(n))
		default:
			e = append(e, 0x80)
			e = binary.BigEndian.AppendUint32(e, uint32(n))
		}
		e = append(e, s...)
	}
	z.entries = append(z.entries, e)
	z.prev = len(e)
	z.n++
}

func (z *ziplist) bytes() []byte {
	body := bytes.Join(z.entries, nil)
	tail := 10
	if len(z.entries) > 0 {
		tail = 10 + len(body) - len(z.entries[len(z.entries)-1])
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(10+len(body)+1))
	b = binary.LittleEndian.AppendUint32(b, uint32(tail))
	b = binary.LittleEndian.AppendUint16(b, uint16(z.n))
	b = append(b, body...)
	return append(b, 0xFF)
}

func rawString(b []byte, s []byte) []byte {
	switch n := len(s); {
	case n < 64:
		b = append(b, byte(n))
	case n < 16384:
		b = append(b, 0x40|byte(n>>8), byte(n))
	default:
		b = append(b, 0x80)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	return append(b, s...)
}

func payload(body []byte, version uint16) []byte {
	b := binary.LittleEndian.AppendUint16(append([]byte(nil), body...), version)
	return binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
}

func TestRedisLegacyEncodings(t *testing.T) {
	r := startRedis(t)
	elems := []string{"a", "0", "12", "13", "-1", "127", "-200", "30000", "-8000000", "2000000000",
		"-9000000000", "hello world", string(bytes.Repeat([]byte("q"), 300)), "", "007"}
	zl := func(items []string) []byte {
		var z ziplist
		for _, s := range items {
			z.add(s)
		}
		return z.bytes()
	}
	var pairs []string
	for i, e := range elems {
		pairs = append(pairs, "f"+strconv.Itoa(i), e)
	}
	var zpairs []string
	for i, e := range elems {
		zpairs = append(zpairs, e, strconv.Itoa(i*3-7)) // ascending scores
	}
	zpairs = append(zpairs, "frac", "100.5", "inf", "inf")
	cases := map[string][]byte{}
	cases["list-ziplist"] = rawString([]byte{byte(rdb.TypeListZiplist)}, zl(elems))
	cases["hash-ziplist"] = rawString([]byte{byte(rdb.TypeHashZiplist)}, zl(pairs))
	cases["zset-ziplist"] = rawString([]byte{byte(rdb.TypeZSetZiplist)}, zl(zpairs))
	ql := []byte{byte(rdb.TypeListQuicklist), 2}
	ql = rawString(ql, zl(elems[:5]))
	ql = rawString(ql, zl(elems[5:]))
	cases["list-quicklist"] = ql
	q2 := []byte{byte(rdb.TypeListQuicklist2), 3, 2}
	q2 = rawString(q2, lpBytes("a", "1"))
	q2 = append(q2, 1)
	q2 = rawString(q2, []byte("plain node element"))
	q2 = append(q2, 2)
	q2 = rawString(q2, lpBytes("-5", "z"))
	cases["list-quicklist2-plain"] = q2
	l := []byte{byte(rdb.TypeList), byte(len(elems))}
	for _, e := range elems {
		l = rawString(l, []byte(e))
	}
	cases["list-linked"] = l
	z := []byte{byte(rdb.TypeZSet), 3}
	z = rawString(z, []byte("a"))
	z = append(z, 3, '1', '.', '5')
	z = rawString(z, []byte("b"))
	z = append(z, 254)
	z = rawString(z, []byte("c"))
	z = append(z, 255)
	cases["zset-text-scores"] = z
	// zipmap: <zmlen> <len>key <len><free>value ... 0xFF
	zm := []byte{2, 1, 'k', 3, 2, 'v', 'a', 'l', 0, 0, 3, 'k', 'e', 'y', 0, 0, 0xFF}
	cases["hash-zipmap"] = rawString([]byte{byte(rdb.TypeHashZipmap)}, zm)
	for name, body := range cases {
		p := payload(body, 9)
		if v, err := r.c.Do("RESTORE", name, "0", string(p)); err != nil || v.IsError() {
			t.Fatalf("%s: Redis refused the payload: %v %v", name, v, err)
		}
		o, err := rdb.DecodePayload(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := objView(o), r.view(name); got != want {
			t.Errorf("%s: decoded %s\nredis has %s", name, got, want)
		}
	}
}

// Redis 7.2 (RDB 11) encodings Redis 7.0 cannot load: a listpack set and a
// listpack-only quicklist node. 7.0 refuses version 11; slotvault accepts.
func TestRDB11Payloads(t *testing.T) {
	r := startRedis(t)
	lp := lpBytes("a", "b", "1")
	body := rawString([]byte{byte(rdb.TypeSetListpack)}, lp)
	p := payload(body, 11)
	v, _ := r.c.Do("RESTORE", "x", "0", string(p))
	if v.Str != "ERR DUMP payload version or checksum are wrong" {
		t.Errorf("redis 7.0 on a version 11 payload: %v", v)
	}
	o, err := rdb.DecodePayload(p)
	if err != nil || objView(o) != `set:["1" "a" "b"]` {
		t.Errorf("listpack set: %v %s", err, objView(o))
	}
}

// lpBytes builds a listpack of strings through a Redis list round trip:
// the first node of a small list's quicklist2 payload.
func lpBytes(items ...string) []byte {
	o := rdb.Object{Kind: rdb.KindList, List: bs(items)}
	b, _ := rdb.AppendObject(nil, &o)
	// [type 18][1 node][container 2][len][listpack]
	n := int(b[3])
	return b[4 : 4+n]
}
