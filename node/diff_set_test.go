package node_test

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/store"
)

func TestDiffSetBasics(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
SADD s 3 1 2
SADD s 2 3 4 -5 0
SMEMBERS s
SCARD s
SADD s
SADD
SISMEMBER s 1
SISMEMBER s 01
SISMEMBER s x
SISMEMBER s -5
SISMEMBER nokey 1
SISMEMBER s
SMISMEMBER s 1 x 4 01 -0 0
SMISMEMBER nokey a b
SMISMEMBER s
SCARD nokey
SCARD
SMEMBERS nokey
SMEMBERS
SMEMBERS a b
SREM s 1 1 9 x 2
SREM s
SREM nokey a
SMEMBERS s
SREM s 3 4 -5 0
SCARD s
SMEMBERS s
HSET s f v
HDEL s f
SADD str a b c
~ SMEMBERS str
SADD str c d
SREM str a z
~ SMEMBERS str
SADD mixed 1 a 2
~ SMEMBERS mixed
SADD ints 9223372036854775807 -9223372036854775808 9223372036854775808 1.0 +1 01 -0 " 1"
~ SMEMBERS ints
SADD ints2 9223372036854775807 -9223372036854775808 0 -1
SMEMBERS ints2
SADD "" ""
SMEMBERS ""
SISMEMBER "" ""
SADD bin "a\x00b" "\r\n"
~ SMEMBERS bin
`)
}

func TestDiffSetWrongType(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
HSET h f v
SADD s 1 2
SADD h a
SREM h a
SISMEMBER h a
SMISMEMBER h a b
SMEMBERS h
SCARD h
SPOP h
SPOP h 2
SPOP h 0
SRANDMEMBER h
SRANDMEMBER h 2
SRANDMEMBER h 0
SRANDMEMBER h -2
SMOVE h s a
SMOVE s h 1
SMOVE nokey h 1
SMOVE h nokey 1
SINTER s h
SINTER h s
SINTER nokey h
SINTER h nokey
SINTERCARD 2 s h
SINTERCARD 2 nokey h
SINTERSTORE d s h
SINTERSTORE d nokey h
SUNION s h
SUNION nokey h
SUNIONSTORE d s h
SDIFF s h
SDIFF h s
SDIFF nokey h
SDIFFSTORE d s h
SSCAN h 0
SSCAN h 0 COUNT 0
SSCAN h x
HGET h f
`)
	// *STORE overwrites a destination of any type.
	d.Run(`
SINTERSTORE h s
SMEMBERS h
HSET h2 f v
SUNIONSTORE h2 s
SMEMBERS h2
HSET h3 f v
SDIFFSTORE h3 s
SMEMBERS h3
HSET h4 f v
SDIFFSTORE h4 nokey
HSET h4 g v
HGETALL h4
`)
	if v, _ := d.SV.Do("SET", "str", "x"); !v.IsError() {
		d.Redis.Do("SET", "str", "x")
		d.Run(`
SADD str a
SMEMBERS str
SINTER s str
SUNIONSTORE str s
SMEMBERS str
`)
	}
}

func TestDiffSetPop(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
SADD s 1 2 3
SPOP s 0
SPOP s -1
SPOP s x
SPOP s 1.5
SPOP s 9223372036854775808
SPOP s 1 2
SPOP nokey
SPOP nokey 3
SPOP nokey 0
SPOP nokey -1
SPOP s 3
SCARD s
SADD s 1 2 3
SPOP s 9223372036854775807
SADD s 5 4
SPOP s 100
SADD s c b a
~ SPOP s 3
SADD s 50 30 10 20 40 a
SREM s a
# a hashtable of integers popped whole replies sorted, as Redis's SUNION
SPOP s 10
SPOP
`)
	members := hsSet([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"})
	for i := 0; i < 10; i++ {
		d.Do("SADD", "p", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")
		v := d.DoType("SPOP", "p")
		hsSubset(t, "SPOP", []string{v.Str}, members)
		d.Do("SCARD", "p")
		if r, _ := d.SV.Do("SISMEMBER", "p", v.Str); r.Int != 0 {
			t.Errorf("popped %s is still a member", v.Str)
		}
		for _, n := range []string{"1", "3", "8"} {
			d.Do("SADD", "p", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")
			v := d.DoType("SPOP", "p", n)
			got := hsStrings(t, v)
			hsSubset(t, "SPOP "+n, got, members)
			hsDistinct(t, "SPOP "+n, got)
			d.Do("SCARD", "p")
			for _, g := range got {
				if r, _ := d.SV.Do("SISMEMBER", "p", g); r.Int != 0 {
					t.Errorf("popped %s is still a member", g)
				}
			}
		}
	}
	// Popping one member at a time empties and deletes the key.
	d.Do("SADD", "one", "x")
	d.Do("SPOP", "one")
	d.Do("SCARD", "one")
	d.Do("HSET", "one", "f", "v")

	// Hashtable sets: both SPOP strategies, and the rebuild of the
	// survivors into a new set (which Redis does when few remain: a
	// hashtable of integers becomes an intset again).
	for _, tc := range []struct{ key, pop string }{{"big1", "100"}, {"big2", "595"}, {"big3", "599"}} {
		args := hsCmd([]string{"SADD", tc.key}, hsSeq("", 1, 600)...)
		d.Do(args...)
		v := d.DoType("SPOP", tc.key, tc.pop)
		hsDistinct(t, "SPOP big", hsStrings(t, v))
		d.Do("SCARD", tc.key)
	}
	d.DoType("SPOP", "big3", "1")
	d.Do("SCARD", "big3")
	d.Do("SADD", "strs", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	d.DoType("SPOP", "strs", "9")
	d.Do("SCARD", "strs")
}

func TestDiffSetRandMember(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
SADD s 5 1 4 2 3
SRANDMEMBER nokey
SRANDMEMBER nokey 3
SRANDMEMBER nokey -3
SRANDMEMBER nokey 0
SRANDMEMBER s 0
SRANDMEMBER s 5
SRANDMEMBER s 100
SRANDMEMBER s 9223372036854775807
SRANDMEMBER s x
SRANDMEMBER s 1.5
SRANDMEMBER s -9223372036854775808
SRANDMEMBER s 1 2
SRANDMEMBER
SRANDMEMBER nokey x
SADD h 50 30 10 20 40 a
SREM h a
# a hashtable of integers is returned in iteration order, not sorted
~ SRANDMEMBER h 10
`)
	members := hsSet([]string{"1", "2", "3", "4", "5"})
	for i := 0; i < 20; i++ {
		v := d.DoType("SRANDMEMBER", "s")
		hsSubset(t, "SRANDMEMBER", []string{v.Str}, members)
		for _, n := range []string{"1", "2", "4"} {
			got := hsStrings(t, d.DoType("SRANDMEMBER", "s", n))
			hsSubset(t, "SRANDMEMBER "+n, got, members)
			hsDistinct(t, "SRANDMEMBER "+n, got)
		}
		hsSubset(t, "SRANDMEMBER -30", hsStrings(t, d.DoType("SRANDMEMBER", "s", "-30")), members)
	}
	big := hsSeq("m", 1, 1000)
	d.Do(hsCmd([]string{"SADD", "big"}, big...)...)
	bigSet := hsSet(big)
	for _, n := range []string{"1", "10", "333", "334", "500", "999", "-5", "-2000"} {
		got := hsStrings(t, d.DoType("SRANDMEMBER", "big", n))
		hsSubset(t, "SRANDMEMBER big "+n, got, bigSet)
		if !strings.HasPrefix(n, "-") {
			hsDistinct(t, "SRANDMEMBER big "+n, got)
		}
	}
	d.DoSorted("SRANDMEMBER", "big", "1000")
	d.DoSorted("SRANDMEMBER", "big", "5000")
}

func TestDiffSetMove(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
SADD a 1 2 3
SADD b 3 4
SMOVE a b 1
SMEMBERS a
SMEMBERS b
SMOVE a b 3
SMEMBERS a
SMEMBERS b
SMOVE a b 9
SMOVE a a 2
SMOVE a a 9
SMOVE nokey b 1
SMOVE a c 2
SMEMBERS a
SCARD a
SMEMBERS c
SMOVE c d x
SMOVE b d 4
SMEMBERS d
SMOVE b newkey x
SMOVE d b x
SMEMBERS b
SMOVE a b
SMOVE a b c d
`)
}

func TestDiffSetAlgebra(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
SADD a 1 2 3 4 5
SADD b 4 5 6 7
SADD c 5 7 9
SADD sa x y z 5
SINTER a
SINTER a b
SINTER a b c
SINTER a a
SINTER a b nokey
SINTER nokey a
~ SINTER sa a
SINTER
SUNION a
SUNION a b
SUNION a b c nokey
SUNION nokey
~ SUNION a sa
SUNION
SDIFF a
SDIFF a b
SDIFF a b c
SDIFF a a
SDIFF a nokey b
SDIFF nokey a
~ SDIFF sa a
SDIFF b a sa
SDIFF
SINTERSTORE d a b
SMEMBERS d
SINTERSTORE d a nokey
SCARD d
SINTERSTORE d a b c
SMEMBERS d
SINTERSTORE d nokey
SINTERSTORE d
SINTERSTORE d a d
SUNIONSTORE u a b c
SMEMBERS u
SUNIONSTORE u nokey
SCARD u
SUNIONSTORE u a
SUNIONSTORE u u b
SMEMBERS u
~ SUNIONSTORE u2 sa a
~ SMEMBERS u2
SDIFFSTORE df a b
SMEMBERS df
SDIFFSTORE df a a
SCARD df
SDIFFSTORE df b a c
SMEMBERS df
SDIFFSTORE df nokey a
SDIFFSTORE df
SDIFFSTORE a a b
SMEMBERS a
SINTERCARD 1 a
SINTERCARD 2 a b
SINTERCARD 3 a b c
SINTERCARD 2 a nokey
SINTERCARD 1 nokey
SINTERCARD 2 b c LIMIT 0
SINTERCARD 2 b c LIMIT 1
SINTERCARD 2 b c limit 100
SINTERCARD 1 b LIMIT 1 LIMIT 3
SINTERCARD 1 b LIMIT -1
SINTERCARD 1 b LIMIT x
SINTERCARD 1 b LIMIT
SINTERCARD 1 b FOO 1
SINTERCARD 1 b c
SINTERCARD 0 b
SINTERCARD -1 b
SINTERCARD x b
SINTERCARD 3 a b
SINTERCARD 9223372036854775807 a
SINTERCARD 9223372036854775808 a
SINTERCARD 2 a a
SINTERCARD 1
SINTERCARD
`)
}

func TestDiffSetResp3(t *testing.T) {
	d := testutil.NewDiff(t)
	hsResp3(t, d)
	d.Run(`
SADD s 3 1 2
SMEMBERS s
SMEMBERS nokey
SINTER s
SINTER s nokey
SUNION s nokey
SDIFF s nokey
SDIFF nokey s
SMISMEMBER s 1 9
SRANDMEMBER s 10
SRANDMEMBER s 0
SRANDMEMBER nokey 2
SRANDMEMBER nokey
? SRANDMEMBER s -2
? SRANDMEMBER s 2
SPOP s 0
SPOP nokey 2
SPOP nokey
? SPOP s 2
? SPOP s 10
SSCAN s 0
SINTERCARD 1 s
`)
}

func TestDiffSetScan(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
SADD s 3 1 2 10 11 21
SSCAN s 0
SSCAN s 0 COUNT 1
SSCAN s 5 COUNT 1
SSCAN s 0 MATCH 1*
SSCAN s 0 MATCH *1 COUNT 1000
SSCAN s 0 MATCH [12]
SSCAN s 0 MATCH *
SSCAN s 0 COUNT 0
SSCAN s 0 COUNT -1
SSCAN s 0 COUNT x
SSCAN s 0 COUNT
SSCAN s 0 MATCH
SSCAN s 0 TYPE set
SSCAN s 0 foo
SSCAN s x
SSCAN s -1
SSCAN s ""
SSCAN s " 1"
SSCAN s 18446744073709551615
SSCAN s 18446744073709551616
SSCAN nokey 0
SSCAN nokey 0 COUNT 0
SSCAN nokey x
SSCAN s
`)
	d.Do("SADD", "t", "a", "b", "c")
	for _, c := range []*resp.Conn{d.Redis, d.SV} {
		if got := hsScanAll(t, c, "SSCAN", "t", "MATCH", "[ab]"); len(got) != 2 || !hsSet(got)["a"] || !hsSet(got)["b"] {
			t.Errorf("SSCAN t MATCH [ab] = %q", got)
		}
	}
	big := hsSeq("member:", 0, 999)
	d.Do(hsCmd([]string{"SADD", "big"}, big...)...)
	for _, extra := range [][]string{nil, {"COUNT", "1"}, {"COUNT", "3"}, {"COUNT", "1000"}, {"MATCH", "member:9*"}, {"MATCH", "*7", "COUNT", "2"}} {
		pat := ""
		if len(extra) >= 2 && extra[0] == "MATCH" {
			pat = extra[1]
		}
		var want []string
		for _, m := range big {
			if pat == "" || hsGlob(pat, m) {
				want = append(want, m)
			}
		}
		for _, c := range []*resp.Conn{d.Redis, d.SV} {
			got := hsSet(hsScanAll(t, c, "SSCAN", "big", extra...))
			if len(got) != len(want) {
				t.Fatalf("SSCAN %v: %d members, want %d", extra, len(got), len(want))
			}
			for _, m := range want {
				if !got[m] {
					t.Fatalf("SSCAN %v missed %s", extra, m)
				}
			}
		}
	}
	// A large intset is still returned in one reply.
	d.Do(hsCmd([]string{"SADD", "ints"}, hsSeq("", 1, 400)...)...)
	d.Do("SSCAN", "ints", "0")
	d.Do("SSCAN", "ints", "0", "MATCH", "*5")
}

func TestDiffSetLarge(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Do(hsCmd([]string{"SADD", "a"}, hsSeq("", 1, 1000)...)...)
	d.Do(hsCmd([]string{"SADD", "b"}, hsSeq("", 500, 1500)...)...)
	d.Do(hsCmd([]string{"SADD", "c"}, hsSeq("", 990, 1010)...)...)
	d.Do(hsCmd([]string{"SADD", "w"}, hsSeq("w", 1, 600)...)...)
	d.Run(`
SCARD a
~ SINTER a b
SINTER a c
~ SUNION a b
~ SDIFF a b
~ SDIFF b a
SDIFF c a
SINTERCARD 2 a b
SINTERCARD 2 a b LIMIT 17
SINTERSTORE d a b
SUNIONSTORE d a b c
SDIFFSTORE d a b
SDIFFSTORE d c b
SMEMBERS d
~ SINTER w w
SINTER w a
~ SUNION w c
~ SDIFF w a
SREM a 1 2 3
SCARD a
~ SMEMBERS a
SISMEMBER a 4
SISMEMBER a 1
SMISMEMBER a 1 4 x
`)
}

// TestDiffSetEncoding compares OBJECT ENCODING across every conversion
// rule (skipped when this build has no OBJECT command).
func TestDiffSetEncoding(t *testing.T) {
	d := testutil.NewDiff(t)
	if v, _ := d.SV.Do("OBJECT", "ENCODING", "nokey"); v.IsError() && strings.Contains(v.Str, "unknown command") {
		t.Skip("OBJECT not available")
	}
	hsEncodingScript(t, d)
}

// hsEncodingSteps are commands after which the encodings of the listed
// keys are compared with Redis's.
func hsEncodingSteps() []struct {
	cmd  []string
	keys []string
} {
	long := strings.Repeat("v", 65)
	type step = struct {
		cmd  []string
		keys []string
	}
	return []step{
		{[]string{"SADD", "s", "1", "2"}, []string{"s"}},
		{[]string{"SADD", "s", "x"}, []string{"s"}},
		{[]string{"SREM", "s", "x"}, []string{"s"}},
		{hsCmd([]string{"SADD", "i"}, hsSeq("", 1, 512)...), []string{"i"}},
		{[]string{"SADD", "i", "513"}, []string{"i"}},
		{hsCmd([]string{"SADD", "j"}, hsSeq("", 1, 513)...), []string{"j"}},
		{hsCmd([]string{"SADD", "k"}, append(hsSeq("", 1, 512), "1")...), []string{"k"}},
		{[]string{"SADD", "n", "01"}, []string{"n"}},
		{[]string{"SADD", "m", "-9223372036854775808"}, []string{"m"}},
		{[]string{"SINTERSTORE", "d1", "i", "s"}, []string{"d1"}},
		{[]string{"SUNIONSTORE", "d2", "s", "n"}, []string{"d2"}},
		{[]string{"SUNIONSTORE", "d3", "i", "j"}, []string{"d3"}},
		{[]string{"SDIFFSTORE", "d4", "j", "k"}, []string{"d4"}},
		{[]string{"SDIFFSTORE", "d5", "j", "s"}, []string{"d5"}},
		{[]string{"SMOVE", "s", "new1", "1"}, []string{"s", "new1"}},
		{[]string{"SMOVE", "n", "new2", "01"}, []string{"new2"}},
		{[]string{"SPOP", "j", "510"}, []string{"j"}},
		{[]string{"SPOP", "k", "10"}, []string{"k"}},
		{hsCmd([]string{"SADD", "A"}, hsSeq("", 1, 520)...), []string{"A"}},
		{hsCmd([]string{"SADD", "B"}, hsSeq("", 1, 10)...), []string{"B"}},
		{hsCmd([]string{"SADD", "C"}, hsSeq("", 11, 20)...), []string{"C"}},
		// SDIFF's second algorithm (chosen here) builds the result by
		// removal, so it stays a hashtable.
		{[]string{"SDIFFSTORE", "d6", "A", "B", "C"}, []string{"d6"}},
		{[]string{"SDIFFSTORE", "d7", "A", "A"}, []string{"d7"}},
		{[]string{"SDIFFSTORE", "d8", "A", "B"}, []string{"d8"}},
		{[]string{"SINTERSTORE", "d9", "A", "B"}, []string{"d9"}},
		{[]string{"SRANDMEMBER", "A", "5"}, []string{"A"}},
		{[]string{"HSET", "h", "a", "1"}, []string{"h"}},
		{[]string{"HSET", "h", "b", long}, []string{"h"}},
		{[]string{"HSET", "h2", long, "1"}, []string{"h2"}},
		{[]string{"HSET", "h3", "a", "1"}, []string{"h3"}},
		{[]string{"HSETNX", "h3", "a", long}, []string{"h3"}},
		{[]string{"HSETNX", "h3", "b", long}, []string{"h3"}},
		{[]string{"HSET", "h4", "a", "1"}, []string{"h4"}},
		{[]string{"HINCRBY", "h4", long, "1"}, []string{"h4"}},
		{[]string{"HSET", "h5", "a", "1"}, []string{"h5"}},
		{[]string{"HINCRBYFLOAT", "h5", "a", "1111111111111111111111111111111111111111111111111111111111111111111111"}, []string{"h5"}},
		{hsCmd([]string{"HSET", "h6"}, hsSeq("", 1, 1024)...), []string{"h6"}},
		{[]string{"HSET", "h6", "x", "y"}, []string{"h6"}},
		{hsCmd([]string{"HDEL", "h6"}, hsSeq("", 1, 1024)...), []string{"h6"}},
	}
}

func hsEncodingScript(t *testing.T, d *testutil.Diff) {
	for _, st := range hsEncodingSteps() {
		d.DoType(st.cmd...)
		for _, k := range st.keys {
			d.Do("OBJECT", "ENCODING", k)
		}
	}
}

// TestDiffSetHashEncodingInProc compares encodings with Redis's OBJECT
// ENCODING by reading them from the in-process node, so conversions are
// checked even in a build without OBJECT.
func TestDiffSetHashEncodingInProc(t *testing.T) {
	r := testutil.StartRedis(t)
	sv := testutil.StartInProc(t)
	rc := testutil.Dial(t, r.Addr())
	sc := testutil.Dial(t, sv.Addr())
	for _, st := range hsEncodingSteps() {
		rv, _ := rc.Do(st.cmd...)
		sv2, _ := sc.Do(st.cmd...)
		if rv.Type != sv2.Type {
			t.Fatalf("%q: redis %s, slotvault %s", st.cmd[:2], rv, sv2)
		}
		for _, k := range st.keys {
			want, _ := rc.Do("OBJECT", "ENCODING", k)
			got := "(nil)"
			sv.Node.WithLock(func() {
				if e := sv.Node.DB(0).Peek(k); e != nil {
					got = strconv.Quote(e.Value.Encoding())
				}
			})
			if want.String() != got {
				t.Errorf("after %q: encoding of %s: redis %s, slotvault %s", st.cmd[:min(len(st.cmd), 4)], k, want, got)
			}
		}
	}
}

// hsLog records the write stream of a node.
type hsLog struct {
	recs [][][]byte
}

func (l *hsLog) Append(db int, argv [][]byte) uint64 {
	cp := make([][]byte, len(argv))
	for i, a := range argv {
		cp[i] = append([]byte(nil), a...)
	}
	l.recs = append(l.recs, cp)
	return uint64(len(l.recs))
}
func (l *hsLog) Wait(uint64) error { return nil }
func (l *hsLog) Err() error        { return nil }

// TestHashSetPropagationReplay runs random and float commands, replays
// what they propagated into a fresh node and requires the same data:
// SPOP must log SREM/DEL, HINCRBYFLOAT an HSET with the result.
func TestHashSetPropagationReplay(t *testing.T) {
	src := testutil.StartInProc(t)
	log := &hsLog{}
	src.Node.WithLock(func() { src.Node.SetWriteLog(log) })
	c := testutil.Dial(t, src.Addr())
	run := func(args ...string) {
		t.Helper()
		if v, err := c.Do(args...); err != nil || v.IsError() {
			t.Fatalf("%q: %v %v", args, v, err)
		}
	}
	run(hsCmd([]string{"SADD", "big"}, hsSeq("", 1, 700)...)...)
	run("SPOP", "big", "50")  // victims picked one by one
	run("SPOP", "big", "640") // survivors rebuilt into an intset
	run("SPOP", "big")
	run(hsCmd([]string{"SADD", "strs"}, hsSeq("s", 1, 3000)...)...)
	run("SPOP", "strs", "2500") // more than one SREM batch
	run("SADD", "gone", "a", "b")
	run("SPOP", "gone", "5")
	run("HINCRBYFLOAT", "h", "f", "0.1")
	run("HINCRBYFLOAT", "h", "f", "1e-20")
	run("HINCRBYFLOAT", "h", "g", "3.0000000000000000001")
	run("SADD", "a", "1", "2", "3")
	run("SMOVE", "a", "b", "2")
	run("SINTERSTORE", "i", "a", "b")
	run("SUNIONSTORE", "u", "a", "b")
	run("HINCRBY", "h", "n", "5")
	run("HSETNX", "h", "m", "x")
	run("HDEL", "h", "m")

	keys := []string{"big", "strs", "gone", "h", "a", "b", "i", "u"}
	if v, _ := c.Do("DEL", "nosuchkey"); v.IsError() {
		// DEL belongs to another family: without it the whole-set SPOP
		// record cannot be replayed in this build, so check it is there
		// and leave its key out.
		found := false
		for i, r := range log.recs {
			if strings.EqualFold(string(r[0]), "DEL") && string(r[1]) == "gone" {
				log.recs = append(log.recs[:i], log.recs[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			t.Fatal("SPOP of a whole set did not propagate DEL")
		}
		keys = slices.DeleteFunc(keys, func(k string) bool { return k == "gone" })
	}
	for _, r := range log.recs {
		switch strings.ToUpper(string(r[0])) {
		case "SPOP", "HINCRBYFLOAT":
			t.Fatalf("%s propagated verbatim", r[0])
		}
	}

	dst := testutil.StartInProc(t)
	var err error
	dst.Node.WithLock(func() {
		rep := dst.Node.NewReplayer()
		for _, r := range log.recs {
			if err = rep.Apply(0, r); err != nil {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		var want, got string
		src.Node.WithLock(func() { want = hsDescribe(src.Node.DB(0).Peek(k)) })
		dst.Node.WithLock(func() { got = hsDescribe(dst.Node.DB(0).Peek(k)) })
		if want != got {
			t.Errorf("key %s after replay:\n  source %.200s\n  replay %.200s", k, want, got)
		}
	}
}

// hsDescribe renders a key's value order-independently.
func hsDescribe(e *store.Entry) string {
	if e == nil {
		return "(none)"
	}
	var parts []string
	switch v := e.Value.(type) {
	case *store.Set:
		parts = v.Members()
	case *store.Hash:
		for _, p := range v.Pairs() {
			parts = append(parts, p.Field+"="+p.Value)
		}
	default:
		return e.Value.Type()
	}
	sort.Strings(parts)
	return e.Value.Type() + ":" + strings.Join(parts, ",")
}
