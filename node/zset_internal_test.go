package node

import (
	"testing"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/store"
)

// TestZsetResp3Shapes checks sorted-set replies byte for byte against what
// redis-server 7.0.15 sends a RESP3 client (captured after HELLO 3), so
// the RESP3 forms are covered before HELLO itself is available.
// TestDiffZsetResp3 compares against a live server once it is.
func TestZsetResp3Shapes(t *testing.T) {
	n, err := New(config.Default(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl := &Client{ID: 1, RESP: 3, Authenticated: true, User: "default"}
	cl.reply.resp3 = true
	steps := []struct {
		cmd  []string
		want string
	}{
		{[]string{"zadd", "z", "1", "a", "2.5", "b", "3", "c"}, ":3\r\n"},
		{[]string{"zadd", "z", "-0", "d", "inf", "e", "1e20", "f"}, ":3\r\n"},
		{[]string{"zrange", "z", "0", "-1", "withscores"}, "*6\r\n*2\r\n$1\r\nd\r\n,0\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nf\r\n,1e+20\r\n*2\r\n$1\r\ne\r\n,inf\r\n"},
		{[]string{"zrevrangebyscore", "z", "+inf", "-inf", "withscores", "limit", "1", "2"}, "*2\r\n*2\r\n$1\r\nf\r\n,1e+20\r\n*2\r\n$1\r\nc\r\n,3\r\n"},
		{[]string{"zunion", "1", "z", "withscores"}, "*6\r\n*2\r\n$1\r\nd\r\n,0\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nf\r\n,1e+20\r\n*2\r\n$1\r\ne\r\n,inf\r\n"},
		{[]string{"zinter", "1", "z"}, "*6\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nf\r\n$1\r\ne\r\n"},
		{[]string{"zdiff", "1", "z", "withscores"}, "*6\r\n*2\r\n$1\r\nd\r\n,0\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nf\r\n,1e+20\r\n*2\r\n$1\r\ne\r\n,inf\r\n"},
		{[]string{"zrandmember", "z", "100", "withscores"}, "*6\r\n*2\r\n$1\r\ne\r\n,inf\r\n*2\r\n$1\r\nf\r\n,1e+20\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nd\r\n,0\r\n"},
		{[]string{"zadd", "one", "7", "x"}, ":1\r\n"},
		{[]string{"zrandmember", "one", "1", "withscores"}, "*1\r\n*2\r\n$1\r\nx\r\n,7\r\n"},
		{[]string{"zrandmember", "one", "-2", "withscores"}, "*2\r\n*2\r\n$1\r\nx\r\n,7\r\n*2\r\n$1\r\nx\r\n,7\r\n"},
		{[]string{"zscan", "z", "0"}, "*2\r\n$1\r\n0\r\n*12\r\n$1\r\nd\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nf\r\n$5\r\n1e+20\r\n$1\r\ne\r\n$3\r\ninf\r\n"},
		{[]string{"zpopmax", "z", "2"}, "*2\r\n*2\r\n$1\r\ne\r\n,inf\r\n*2\r\n$1\r\nf\r\n,1e+20\r\n"},
		{[]string{"zpopmin", "z"}, "*2\r\n$1\r\nd\r\n,0\r\n"},
		{[]string{"bzpopmax", "z", "0"}, "*3\r\n$1\r\nz\r\n$1\r\nc\r\n,3\r\n"},
		{[]string{"zmpop", "1", "z", "min", "count", "1"}, "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n"},
		{[]string{"zmscore", "z", "b", "nosuch"}, "*2\r\n,2.5\r\n_\r\n"},
		{[]string{"zscore", "z", "b"}, ",2.5\r\n"},
		{[]string{"zscore", "z", "nosuch"}, "_\r\n"},
		{[]string{"zadd", "z", "incr", "1", "b"}, ",3.5\r\n"},
		{[]string{"zadd", "z", "xx", "incr", "1", "zz"}, "_\r\n"},
		{[]string{"zincrby", "z", "1.5", "b"}, ",5\r\n"},
		{[]string{"zrank", "z", "zz"}, "_\r\n"},
		{[]string{"zrandmember", "nokey"}, "_\r\n"},
		{[]string{"zrandmember", "nokey", "5"}, "*0\r\n"},
		{[]string{"zmpop", "1", "nokey", "min"}, "_\r\n"},
		{[]string{"zpopmin", "nokey"}, "*0\r\n"},
		{[]string{"zpopmin", "nokey", "5"}, "*0\r\n"},
		{[]string{"zpopmax", "z", "0"}, "*0\r\n"},
	}
	for _, s := range steps {
		args := make([][]byte, len(s.cmd))
		for i, a := range s.cmd {
			args[i] = []byte(a)
		}
		cl.reply.Reset()
		n.execute(cl, n.cmds.lookup(args[0]), args)
		if got := string(cl.reply.Bytes()); got != s.want {
			t.Errorf("%v\n  got:  %q\n  want: %q", s.cmd, got, s.want)
		}
	}
}

// fakeSet is a plain-set value for the set-input tests, standing in for
// the set type of the set family.
type fakeSet map[string]struct{}

func (fakeSet) Type() string         { return "set" }
func (fakeSet) Encoding() string     { return "listpack" }
func (s fakeSet) Clone() store.Value { return s }
func (s fakeSet) Len() int           { return len(s) }
func (s fakeSet) Has(m string) bool  { _, ok := s[m]; return ok }
func (s fakeSet) Range(fn func(string) bool) {
	for m := range s {
		if !fn(m) {
			return
		}
	}
}

// objSet exposes its members only through the rdb neutral form.
type objSet []string

func (objSet) Type() string         { return "set" }
func (objSet) Encoding() string     { return "listpack" }
func (s objSet) Clone() store.Value { return s }
func (s objSet) Object() rdb.Object {
	o := rdb.Object{Kind: rdb.KindSet}
	for _, m := range s {
		o.Set = append(o.Set, []byte(m))
	}
	return o
}

// TestZsetSetInputs checks plain sets as inputs of the set-algebra
// commands (score 1), against replies captured from redis-server 7.0.15.
func TestZsetSetInputs(t *testing.T) {
	for _, set := range []store.Value{fakeSet{"a": {}, "b": {}, "x": {}}, objSet{"a", "b", "x"}} {
		n, err := New(config.Default(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		n.DB(0).Set("s1", set, 0)
		cl := &Client{ID: 1, RESP: 2, Authenticated: true, User: "default"}
		steps := []struct {
			cmd  []string
			want string
		}{
			{[]string{"zadd", "z1", "1", "a", "2", "b", "3", "c"}, ":3\r\n"},
			{[]string{"zunion", "2", "z1", "s1", "withscores"}, "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\nc\r\n$1\r\n3\r\n"},
			{[]string{"zinter", "2", "s1", "z1", "weights", "5", "2", "withscores"}, "*4\r\n$1\r\na\r\n$1\r\n7\r\n$1\r\nb\r\n$1\r\n9\r\n"},
			{[]string{"zdiff", "2", "s1", "z1", "withscores"}, "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"},
			{[]string{"zdiff", "2", "z1", "s1", "withscores"}, "*2\r\n$1\r\nc\r\n$1\r\n3\r\n"},
			{[]string{"zintercard", "2", "s1", "z1"}, ":2\r\n"},
			{[]string{"zunionstore", "dst", "2", "s1", "s1", "weights", "1", "2"}, ":3\r\n"},
			{[]string{"zrange", "dst", "0", "-1", "withscores"}, "*6\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\nx\r\n$1\r\n3\r\n"},
			{[]string{"zrange", "s1", "0", "-1"}, "-" + ErrWrongType + "\r\n"},
			{[]string{"zrandmember", "s1"}, "-" + ErrWrongType + "\r\n"},
			{[]string{"zscan", "s1", "0"}, "-" + ErrWrongType + "\r\n"},
		}
		for _, s := range steps {
			args := make([][]byte, len(s.cmd))
			for i, a := range s.cmd {
				args[i] = []byte(a)
			}
			cl.reply.Reset()
			n.execute(cl, n.cmds.lookup(args[0]), args)
			if got := string(cl.reply.Bytes()); got != s.want {
				t.Errorf("%T %v\n  got:  %q\n  want: %q", set, s.cmd, got, s.want)
			}
		}
		if e := n.DB(0).Peek("dst"); e == nil || e.Value.Encoding() != "listpack" {
			t.Errorf("dst encoding: %v", e)
		}
	}
}
