package node_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/store"
)

// strPair drives a real redis-server and an in-process node whose keyspace the
// test can reach directly.
type strPair struct {
	t     *testing.T
	node  *testutil.InProc
	redis *resp.Conn
	sv    *resp.Conn
}

func newStrPair(t *testing.T) *strPair {
	t.Helper()
	r := testutil.StartRedis(t)
	n := testutil.StartInProc(t)
	return &strPair{t: t, node: n, redis: testutil.Dial(t, r.Addr()), sv: testutil.Dial(t, n.Addr())}
}

// run sends a script line by line to both servers and requires identical
// replies.
func (p *strPair) run(script string) {
	p.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args, err := config.SplitArgs(line)
		if err != nil {
			p.t.Fatalf("bad line %q", line)
		}
		rv, err1 := p.redis.Do(args...)
		sv, err2 := p.sv.Do(args...)
		if err1 != nil || err2 != nil {
			p.t.Fatalf("%s: redis err %v, slotvault err %v", line, err1, err2)
		}
		if rv.String() != sv.String() {
			p.t.Errorf("%s\n  redis:     %s\n  slotvault: %s", line, rv, sv)
		}
	}
}

// fakeList stands in for a list value until the list family exists in
// this build: the string commands only need to see a non-string type.
type fakeList struct{}

func (fakeList) Type() string         { return "list" }
func (fakeList) Encoding() string     { return "listpack" }
func (f fakeList) Clone() store.Value { return f }

// TestStringWrongType checks WRONGTYPE handling of every string, bitmap and
// HLL command against a key holding a list (RPUSH on Redis, an injected
// non-string value on slotvault).
func TestStringWrongType(t *testing.T) {
	p := newStrPair(t)
	for _, k := range []string{"wt", "wt2"} {
		if _, err := p.redis.Do("RPUSH", k, "x"); err != nil {
			t.Fatal(err)
		}
		p.node.Node.WithLock(func() { p.node.Node.DB(0).Set(k, fakeList{}, 0) })
	}
	p.run(`
GET wt
SET wt v GET
SET wt v NX GET
SET wt v XX GET
SET wt v EX 0 GET
GETSET wt v
GETEX wt
GETEX wt EX 100
GETEX wt PERSIST
GETEX wt EX -1
GETDEL wt
MGET wt nokey
INCR wt
DECR wt
INCRBY wt 1
INCRBY wt abc
DECRBY wt 1
DECRBY wt -9223372036854775808
INCRBYFLOAT wt 1
INCRBYFLOAT wt abc
APPEND wt x
STRLEN wt
GETRANGE wt 0 -1
GETRANGE wt a b
SUBSTR wt 0 -1
SETRANGE wt 0 x
SETRANGE wt 0 ""
SETRANGE wt -1 x
LCS wt nokey
LCS nokey wt
LCS wt wt IDX
LCS wt nokey FOO
SETBIT wt 0 1
SETBIT wt -1 1
SETBIT wt 0 5
GETBIT wt 0
GETBIT wt -1
BITCOUNT wt
BITCOUNT wt 0 -1
BITCOUNT wt a b
BITPOS wt 1
BITPOS wt 2
BITPOS wt 1 a
BITOP AND dest wt
BITOP AND dest nokey wt
BITOP NOT dest wt
BITOP OR wt nokey
BITFIELD wt GET u8 0
BITFIELD wt SET u8 0 1
BITFIELD wt GET u64 0
BITFIELD_RO wt GET u8 0
BITFIELD_RO wt SET u8 0 1
BITFIELD wt
PFADD wt a
PFADD wt
PFCOUNT wt
PFCOUNT wt nokey
PFCOUNT nokey wt
PFMERGE wt
PFMERGE dest2 wt
PFMERGE dest3 nokey wt
PFDEBUG ENCODING wt
SET wt2 v
GET wt2
MSETNX wt 1 x 2
MSET wt 1
GET wt
`)
	// SET and MSET replaced the non-string values on both sides.
	p.run(`
SET wt3 v
GET wt3
`)
}

// TestStringEncodingMatchesRedis compares the encoding slotvault records for
// each kind of string write (what OBJECT ENCODING will report) with Redis's
// OBJECT ENCODING.
func TestStringEncodingMatchesRedis(t *testing.T) {
	p := newStrPair(t)
	p.run(`
SET e1 123
SET e2 -9223372036854775808
SET e3 9223372036854775808
SET e4 0123
SET e5 hello
SET e6 "` + strings.Repeat("y", 44) + `"
SET e7 "` + strings.Repeat("x", 45) + `"
SET e8 ""
SET e9 123 EX 100
SETNX e10 42
SETEX e11 100 42
PSETEX e12 100000 abc
GETSET e13 7
MSET e14 1 e15 x
INCR e16
SET e17 5
INCRBY e17 10
SET e18 abc
APPEND e18 d
APPEND e19 12
SET e20 12
APPEND e20 3
SET e21 12
APPEND e21 ""
INCRBYFLOAT e22 3
INCRBYFLOAT e23 1.5
INCRBYFLOAT e24 1e50
SET e25 12
SETRANGE e25 0 3
SETRANGE e26 0 3
SET e27 12
SETRANGE e27 0 ""
SET e28 12
SETBIT e28 0 0
SETBIT e29 0 1
SET e30 12
GETBIT e30 0
BITFIELD e30 GET u8 0
SET e31 12
BITFIELD e31 SET u8 0 49
BITOP NOT e32 e1
PFADD e33 a
SET e34 12
SET e35 x
INCR e36
INCRBYFLOAT e36 1
SET e37 10
GETEX e37 EX 100
SET e38 "-0"
SET e39 "1.5"
SET e40 " 1"
SET e41 12
BITFIELD e41 OVERFLOW FAIL INCRBY u8 0 1000
SET e42 ab
GETDEL e42
SET e42 "` + strings.Repeat("z", 100) + `"
SET e43 12
BITCOUNT e43
BITPOS e43 1
LCS e43 e1
SET e44 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
PFCOUNT e44
SET e45 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
PFCOUNT e45 e44
SET e46 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
PFADD e46
`)
	for i := 1; i <= 46; i++ {
		key := "e" + strconv.Itoa(i)
		rv, err := p.redis.Do("OBJECT", "ENCODING", key)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		p.node.Node.WithLock(func() {
			if e := p.node.Node.DB(0).Lookup(key); e != nil {
				got = e.Value.Encoding()
			}
		})
		want := rv.Str
		if rv.Null {
			want = ""
		}
		if got != want {
			t.Errorf("%s: encoding %q, redis %q", key, got, want)
		}
	}
}
