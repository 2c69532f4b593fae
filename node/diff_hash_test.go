package node_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
)

// Helpers shared by the hash and set differential tests are prefixed hs
// so they cannot clash with other families' test helpers.

// hsArgs builds "prefix1 prefix2 ... " + generated members.
func hsSeq(prefix string, from, to int) []string {
	out := make([]string, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

func hsCmd(base []string, rest ...string) []string {
	return append(append([]string(nil), base...), rest...)
}

// hsStrings returns the bulk strings of an array reply.
func hsStrings(t *testing.T, v resp.Value) []string {
	t.Helper()
	if v.Type != '*' && v.Type != '~' && v.Type != '%' {
		t.Fatalf("not an aggregate reply: %s", v)
	}
	out := make([]string, 0, len(v.Elems))
	for _, e := range v.Elems {
		out = append(out, e.Str)
	}
	return out
}

func hsSet(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// hsSubset requires every element of got to be in of (random replies).
func hsSubset(t *testing.T, what string, got []string, of map[string]bool) {
	t.Helper()
	for _, g := range got {
		if !of[g] {
			t.Errorf("%s: %q is not a member", what, g)
		}
	}
}

func hsDistinct(t *testing.T, what string, got []string) {
	t.Helper()
	if len(hsSet(got)) != len(got) {
		t.Errorf("%s: duplicates in %q", what, got)
	}
}

// hsResp3 switches both connections to RESP3, skipping the test when
// slotvault does not implement HELLO in this build.
func hsResp3(t *testing.T, d *testutil.Diff) {
	t.Helper()
	v, err := d.SV.Do("HELLO", "3")
	if err != nil || v.IsError() {
		t.Skip("HELLO 3 not available")
	}
	if v, err := d.Redis.Do("HELLO", "3"); err != nil || v.IsError() {
		t.Fatalf("redis HELLO 3: %v %v", v, err)
	}
}

// hsScanAll runs a full HSCAN/SSCAN iteration and returns every element.
func hsScanAll(t *testing.T, c *resp.Conn, cmd, key string, extra ...string) []string {
	t.Helper()
	cursor := "0"
	var all []string
	for i := 0; ; i++ {
		v, err := c.Do(append([]string{cmd, key, cursor}, extra...)...)
		if err != nil || v.Type != '*' || len(v.Elems) != 2 {
			t.Fatalf("%s %s %s: %v %v", cmd, key, cursor, v, err)
		}
		cursor = v.Elems[0].Str
		all = append(all, hsStrings(t, v.Elems[1])...)
		if cursor == "0" {
			return all
		}
		if i > 1_000_000 {
			t.Fatal("scan does not terminate")
		}
	}
}

func TestDiffHashBasics(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
HSET h f1 v1
HSET h f1 v1
HSET h f2 v2 f3 v3 f1 new
HSET h a
HSET h a b c
HSET h
HSET
HGETALL h
HKEYS h
HVALS h
HLEN h
HGET h f1
HGET h nofield
HGET nokey f
HGET h
HGET h a b
HMSET h f4 v4 f5 v5
HMSET h f4
HMSET h f4 v4 f5
HMGET h f1 nofield f4 f1
HMGET nokey a b
HMGET h
HSETNX h f1 other
HSETNX h f6 v6
HSETNX newhash f v
HSETNX h f6
HGET newhash f
HGETALL h
HSTRLEN h f1
HSTRLEN h nofield
HSTRLEN nokey f
HSTRLEN h
HEXISTS h f1
HEXISTS h nofield
HEXISTS nokey f
HEXISTS h
HLEN nokey
HLEN
HLEN a b
HKEYS nokey
HVALS nokey
HGETALL nokey
HKEYS
HVALS a b
HGETALL
HDEL h f2 f2 nofield f3
HDEL h
HDEL nokey a
HGETALL h
HDEL h f1 f4 f5 f6
HLEN h
HGETALL h
# the emptied key is gone: it can take another type
SADD h x
SREM h x
HSET "" "" ""
HGET "" ""
HSTRLEN "" ""
HGETALL ""
HSET bin "a\x00b" "c\r\nd"
HGETALL bin
HSTRLEN bin "a\x00b"
`)
}

func TestDiffHashWrongType(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
SADD s a b 1
HSET s f v
HMSET s f v
HSETNX s f v
HGET s f
HMGET s f g
HDEL s f
HLEN s
HSTRLEN s f
HEXISTS s f
HKEYS s
HVALS s
HGETALL s
HINCRBY s f 1
HINCRBYFLOAT s f 1
HRANDFIELD s
HRANDFIELD s 1
HRANDFIELD s -1 WITHVALUES
HRANDFIELD s 0
HSCAN s 0
HSCAN s 0 COUNT 0
HSCAN s x
~ SMEMBERS s
`)
	if v, _ := d.SV.Do("SET", "str", "x"); !v.IsError() {
		d.Redis.Do("SET", "str", "x")
		d.Run(`
HSET str f v
HGET str f
HGETALL str
HINCRBY str f 1
HSCAN str 0
`)
	}
}

func TestDiffHashIncr(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
HINCRBY h a 1
HINCRBY h a -5
HINCRBY h a 0
HINCRBY h a x
HINCRBY h a 1.5
HINCRBY h a ""
HINCRBY h a 9223372036854775808
HINCRBY h a " 1"
HINCRBY h big 9223372036854775807
HINCRBY h big 1
HINCRBY h big 0
HINCRBY h big -9223372036854775808
HINCRBY h small -9223372036854775808
HINCRBY h small -1
HINCRBY h small 9223372036854775807
HSET h s foo sp " 1" lz 01 neg -0 plus +1 empty "" fl 1.5 ok -17
HINCRBY h s 1
HINCRBY h sp 1
HINCRBY h lz 1
HINCRBY h neg 1
HINCRBY h plus 1
HINCRBY h empty 1
HINCRBY h fl 1
HINCRBY h ok 17
HINCRBY newkey f 5
HGETALL newkey
HINCRBY h a
HINCRBY h a 1 2
HINCRBY nokey2 f x
HLEN nokey2
HINCRBYFLOAT f x 1
HINCRBYFLOAT f x 1.5
HINCRBYFLOAT f x -0.5
HINCRBYFLOAT f x 0.1
HINCRBYFLOAT f x 0.2
HINCRBYFLOAT f y 10.50
HINCRBYFLOAT f y 0.1
HINCRBYFLOAT f z 1e400
HINCRBYFLOAT f z 1e400
HINCRBYFLOAT f w 1.7e308
HINCRBYFLOAT f w 1.7e308
HINCRBYFLOAT f v 1e4932
HINCRBYFLOAT f v 1e4932
HINCRBYFLOAT f v 1e4933
HINCRBYFLOAT f v 1e-5000
HINCRBYFLOAT f u 1e-4940
HINCRBYFLOAT f u +1
HINCRBYFLOAT f u " 1"
HINCRBYFLOAT f u "1 "
HINCRBYFLOAT f u nan
HINCRBYFLOAT f u inf
HINCRBYFLOAT f u -inf
HINCRBYFLOAT f u +Infinity
HINCRBYFLOAT f u 1_0
HINCRBYFLOAT f u ""
HINCRBYFLOAT f u abc
HINCRBYFLOAT f u 0x10
HINCRBYFLOAT f u 0x1p3
HINCRBYFLOAT f u 0x
HINCRBYFLOAT f u 1e
HINCRBYFLOAT f u .5
HINCRBYFLOAT f u 5.
HINCRBYFLOAT f u 1E3
HINCRBYFLOAT f t 3.0000000000000000001
HINCRBYFLOAT f r 1.23456789012345678901234
HINCRBYFLOAT f q -1.5
HINCRBYFLOAT f q 1.5
HINCRBYFLOAT f q -0.0
HINCRBYFLOAT f p 1111111111111111111111111111111111111111111111111111111111111111111111
HINCRBYFLOAT f o 0.0000001
HINCRBYFLOAT f o 1e-17
HINCRBYFLOAT f o 1e-18
HINCRBYFLOAT f n -123456789.987654321
HSET f str abc sp " 2" hex 0x10 e 1e3 inf inf neg -0 emp ""
HINCRBYFLOAT f str 1
HINCRBYFLOAT f sp 1
HINCRBYFLOAT f hex 1
HINCRBYFLOAT f e 1
HINCRBYFLOAT f inf 1
HINCRBYFLOAT f neg 0
HINCRBYFLOAT f emp 1
HINCRBY f e 1
HINCRBYFLOAT f
HINCRBYFLOAT f a b c
HINCRBYFLOAT nokey3 a inf
HLEN nokey3
~ HGETALL f
`)
}

func TestDiffHashRandField(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
HSET h a 1 b 2 c 3 d 4 e 5
HRANDFIELD nokey
HRANDFIELD nokey 3
HRANDFIELD nokey -3 WITHVALUES
HRANDFIELD h 0
HRANDFIELD h 0 WITHVALUES
HRANDFIELD h 5
HRANDFIELD h 100
HRANDFIELD h 5 WITHVALUES
HRANDFIELD h 9223372036854775807
HRANDFIELD h 100 withvalues
HRANDFIELD h x
HRANDFIELD h 1.5
HRANDFIELD h 1 WITHVALUE
HRANDFIELD h 1 WITHVALUES x
HRANDFIELD h -9223372036854775808
HRANDFIELD h -9223372036854775807 WITHVALUES
HRANDFIELD h -4611686018427387904 WITHVALUES
HRANDFIELD h 4611686018427387904 WITHVALUES
HRANDFIELD h x WITHVALUES
? HRANDFIELD h
`)
	fields := hsSet([]string{"a", "b", "c", "d", "e"})
	for i := 0; i < 20; i++ {
		v := d.DoType("HRANDFIELD", "h")
		hsSubset(t, "HRANDFIELD", []string{v.Str}, fields)
		for _, n := range []string{"1", "2", "3", "4"} {
			v = d.DoType("HRANDFIELD", "h", n)
			got := hsStrings(t, v)
			hsSubset(t, "HRANDFIELD "+n, got, fields)
			hsDistinct(t, "HRANDFIELD "+n, got)
		}
		v = d.DoType("HRANDFIELD", "h", "-20")
		hsSubset(t, "HRANDFIELD -20", hsStrings(t, v), fields)
		v = d.DoType("HRANDFIELD", "h", "-7", "WITHVALUES")
		hsCheckPairs(t, v.Elems)
		v = d.DoType("HRANDFIELD", "h", "3", "WITHVALUES")
		hsCheckPairs(t, v.Elems)
		hsDistinct(t, "HRANDFIELD 3 WITHVALUES", hsEvery(hsStrings(t, v), 0))
	}
	// A hashtable-encoded hash.
	big := hsCmd([]string{"HSET", "big"})
	bigFields := map[string]bool{}
	for i := 0; i < 700; i++ {
		f := "f" + strconv.Itoa(i)
		big = append(big, f, "v"+strconv.Itoa(i))
		bigFields[f] = true
	}
	d.Do(big...)
	for _, n := range []string{"1", "10", "99", "233", "234", "600", "699"} {
		v := d.DoType("HRANDFIELD", "big", n)
		got := hsStrings(t, v)
		hsSubset(t, "HRANDFIELD big "+n, got, bigFields)
		hsDistinct(t, "HRANDFIELD big "+n, got)
		v = d.DoType("HRANDFIELD", "big", n, "WITHVALUES")
		hsDistinct(t, "HRANDFIELD big WITHVALUES "+n, hsEvery(hsStrings(t, v), 0))
	}
	d.DoSorted("HRANDFIELD", "big", "700")
	d.DoSorted("HRANDFIELD", "big", "1000", "WITHVALUES")
	v := d.DoType("HRANDFIELD", "big", "-1000", "WITHVALUES")
	hsSubset(t, "HRANDFIELD big -1000", hsEvery(hsStrings(t, v), 0), bigFields)
}

// hsEvery returns every other element starting at off (fields of a flat
// field/value list).
func hsEvery(ss []string, off int) []string {
	var out []string
	for i := off; i < len(ss); i += 2 {
		out = append(out, ss[i])
	}
	return out
}

// hsCheckPairs checks field/value pairs of the test hash h (a=1 ... e=5).
func hsCheckPairs(t *testing.T, elems []resp.Value) {
	t.Helper()
	for i := 0; i+1 < len(elems); i += 2 {
		f, v := elems[i].Str, elems[i+1].Str
		if len(f) != 1 || v != strconv.Itoa(int(f[0]-'a')+1) {
			t.Errorf("pair %q=%q is not from the hash", f, v)
		}
	}
}

func TestDiffHashRandFieldResp3(t *testing.T) {
	d := testutil.NewDiff(t)
	hsResp3(t, d)
	d.Run(`
HSET h a 1 b 2 c 3
HGETALL h
HGETALL nokey
HKEYS h
HVALS h
HMGET h a x
HGET h x
HRANDFIELD nokey
HRANDFIELD h 10 WITHVALUES
HRANDFIELD h 10
HRANDFIELD h 0 WITHVALUES
HRANDFIELD nokey 1 WITHVALUES
? HRANDFIELD h -5 WITHVALUES
? HRANDFIELD h 2 WITHVALUES
HINCRBYFLOAT h a 1.5
HSCAN h 0
`)
}

func TestDiffHashScan(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
HSET h name Alice age 30 city Paris nick ali
HSCAN h 0
HSCAN h 0 COUNT 1
HSCAN h 7 COUNT 1
HSCAN h 0 MATCH a*
HSCAN h 0 match *i* count 100
HSCAN h 0 MATCH *
HSCAN h 0 MATCH nomatch
HSCAN h 0 MATCH [a-c]*
HSCAN h 0 MATCH a* MATCH n*
HSCAN h 0 COUNT 0
HSCAN h 0 COUNT -1
HSCAN h 0 COUNT x
HSCAN h 0 COUNT
HSCAN h 0 MATCH
HSCAN h 0 TYPE string
HSCAN h 0 NOVALUES
HSCAN h 0 foo bar
HSCAN h x
HSCAN h -1
HSCAN h +5
HSCAN h -05
HSCAN h 007
HSCAN h ""
HSCAN h " 5"
HSCAN h "5 "
HSCAN h 1.5
HSCAN h 18446744073709551615
HSCAN h 18446744073709551616
HSCAN h +
HSCAN nokey 0
HSCAN nokey 0 COUNT 0
HSCAN nokey x
HSCAN h
`)
	// Hashtable encoding: a full iteration returns every pair once per
	// pair (Redis may repeat, but not with a stable table), whatever COUNT.
	args := []string{"HSET", "big"}
	want := map[string]string{}
	for i := 0; i < 1000; i++ {
		f, v := "field:"+strconv.Itoa(i), "value:"+strconv.Itoa(i)
		args = append(args, f, v)
		want[f] = v
	}
	d.Do(args...)
	for _, extra := range [][]string{nil, {"COUNT", "1"}, {"COUNT", "7"}, {"COUNT", "500"}, {"MATCH", "field:1*"}, {"MATCH", "*9", "COUNT", "3"}} {
		for _, c := range []*resp.Conn{d.Redis, d.SV} {
			got := hsScanAll(t, c, "HSCAN", "big", extra...)
			seen := map[string]string{}
			for i := 0; i+1 < len(got); i += 2 {
				seen[got[i]] = got[i+1]
			}
			n := 0
			for f, v := range want {
				pat := ""
				if len(extra) >= 2 && extra[0] == "MATCH" {
					pat = extra[1]
				}
				if pat != "" && !hsGlob(pat, f) {
					continue
				}
				n++
				if seen[f] != v {
					t.Fatalf("HSCAN %v missed %s", extra, f)
				}
			}
			if len(seen) != n {
				t.Fatalf("HSCAN %v returned %d fields, want %d", extra, len(seen), n)
			}
		}
	}
}

// hsGlob is the subset of glob matching the scan tests use: a literal
// prefix and/or suffix around one '*'.
func hsGlob(pat, s string) bool {
	i := strings.IndexByte(pat, '*')
	if i < 0 {
		return pat == s
	}
	return strings.HasPrefix(s, pat[:i]) && strings.HasSuffix(s[i:], pat[i+1:])
}

// TestDiffHashScanMutating checks the SCAN guarantee while the hash grows
// and shrinks between calls: fields present throughout are returned.
func TestDiffHashScanMutating(t *testing.T) {
	sv := testutil.StartInProc(t)
	c := testutil.Dial(t, sv.Addr())
	args := []string{"HSET", "h"}
	for i := 0; i < 2000; i++ {
		args = append(args, "keep"+strconv.Itoa(i), "v")
	}
	c.Do(args...)
	seen := map[string]bool{}
	cursor := "0"
	for step := 0; ; step++ {
		v, err := c.Do("HSCAN", "h", cursor, "COUNT", "20")
		if err != nil {
			t.Fatal(err)
		}
		cursor = v.Elems[0].Str
		for i, e := range v.Elems[1].Elems {
			if i%2 == 0 {
				seen[e.Str] = true
			}
		}
		switch {
		case step < 30:
			more := []string{"HSET", "h"}
			for j := 0; j < 200; j++ {
				more = append(more, fmt.Sprintf("tmp%d_%d", step, j), "x")
			}
			c.Do(more...)
		case step < 60:
			for j := 0; j < 200; j++ {
				c.Do("HDEL", "h", fmt.Sprintf("tmp%d_%d", step-30, j))
			}
		}
		if cursor == "0" {
			break
		}
	}
	for i := 0; i < 2000; i++ {
		if !seen["keep"+strconv.Itoa(i)] {
			t.Fatalf("keep%d missed by HSCAN", i)
		}
	}
}

func TestDiffHashLarge(t *testing.T) {
	d := testutil.NewDiff(t)
	args := []string{"HSET", "h"}
	for i := 0; i < 600; i++ {
		args = append(args, "f"+strconv.Itoa(i), strconv.Itoa(i*i))
	}
	d.Do(args...)
	d.Run(`
HLEN h
~ HKEYS h
~ HVALS h
~ HGETALL h
HGET h f150
HMGET h f1 f599 f600
HDEL h f0 f1 f2
HLEN h
HINCRBY h f10 5
HINCRBYFLOAT h f11 0.5
HSTRLEN h f599
HEXISTS h f3
~ HGETALL h
`)
	long := strings.Repeat("x", 100)
	d.Do("HSET", "lv", "a", "1", "b", long)
	d.DoSorted("HGETALL", "lv")
	d.Do("HSETNX", "lv", "c", long)
	d.DoSorted("HGETALL", "lv")
	// Deleting everything from a hashtable-encoded hash deletes the key.
	del := []string{"HDEL", "h"}
	for i := 0; i < 600; i++ {
		del = append(del, "f"+strconv.Itoa(i))
	}
	d.Do(del...)
	d.Do("HLEN", "h")
	d.Do("SADD", "h", "1")
}

// TestDiffHashSmallConfig runs with small listpack limits so the order of
// small hashes is checked exactly right up to the conversion.
func TestDiffHashSmallConfig(t *testing.T) {
	d := testutil.NewDiff(t, "hash-max-listpack-entries 4", "hash-max-listpack-value 8")
	d.Run(`
HSET h c 3 a 1 b 2
HSET h a 10
HGETALL h
HSET h d 4
HGETALL h
HKEYS h
HDEL h a
HSET h a 11
HGETALL h
HSET h 12345678 12345678
~ HGETALL h
HSET s x 123456789
~ HGETALL s
HSET t 123456789 x
~ HGETALL t
`)
}
