package node_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/node"
	"github.com/slotvault/slotvault/store"
)

// listDiff is testutil.Diff plus access to the in-process node, so keys of
// another type can be planted for WRONGTYPE checks while this branch has no
// string commands (SET on Redis, a store.String in slotvault).
type listDiff struct {
	t      *testing.T
	Redis  *resp.Conn
	SV     *resp.Conn
	node   *node.Node
	rAddr  string
	svAddr string
	cmds   int
}

func newListDiff(t *testing.T, lines ...string) *listDiff {
	t.Helper()
	var extra []string
	for _, l := range lines {
		args, _ := config.SplitArgs(l)
		extra = append(extra, "--"+args[0])
		extra = append(extra, args[1:]...)
	}
	r := testutil.StartRedis(t, extra...)
	s := testutil.StartInProc(t, lines...)
	return &listDiff{t: t, Redis: testutil.Dial(t, r.Addr()), SV: testutil.Dial(t, s.Addr()),
		node: s.Node, rAddr: r.Addr(), svAddr: s.Addr()}
}

// Do sends args to both servers and requires identical replies.
func (d *listDiff) Do(args ...string) resp.Value {
	d.t.Helper()
	d.cmds++
	rv, err := d.Redis.Do(args...)
	if err != nil {
		d.t.Fatalf("redis %q: %v", args, err)
	}
	sv, err := d.SV.Do(args...)
	if err != nil {
		d.t.Fatalf("slotvault %q: %v", args, err)
	}
	if rv.String() != sv.String() {
		d.t.Errorf("%s\n  redis:     %s\n  slotvault: %s", quoteArgs(args), rv, sv)
	}
	return sv
}

// SetString makes key a string on both servers.
func (d *listDiff) SetString(key, val string) {
	d.t.Helper()
	if v, err := d.Redis.Do("SET", key, val); err != nil || v.IsError() {
		d.t.Fatalf("redis SET: %v %v", v, err)
	}
	d.node.WithLock(func() {
		d.node.DB(0).Set(key, &store.String{B: []byte(val)}, 0)
	})
}

// Run runs a script, one command per line in redis-cli syntax; "#" starts
// a comment and "!string key value" plants a string key.
func (d *listDiff) Run(script string) {
	d.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args, err := config.SplitArgs(strings.TrimPrefix(line, "!"))
		if err != nil {
			d.t.Fatalf("bad script line %q", line)
		}
		if strings.HasPrefix(line, "!string ") {
			d.SetString(args[1], args[2])
			continue
		}
		d.Do(args...)
	}
}

func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strconv.Quote(a)
	}
	return strings.Join(out, " ")
}

func TestDiffListPush(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
LPUSH l a
LPUSH l b c d
RPUSH l e f
LRANGE l 0 -1
LLEN l
RPUSH l "" "with space" 0 -1 01 123456789012345678901234567890
LRANGE l 0 -1
LPUSHX nolist a
RPUSHX nolist a b
LLEN nolist
LPUSHX l x y
RPUSHX l z
LRANGE l 0 -1
LPUSH
LPUSH l
RPUSH l
LPUSHX l
RPUSHX
LLEN
LLEN a b
!string s v
LPUSH s a
RPUSH s a
LPUSHX s a
RPUSHX s a
LLEN s
LPUSH Other 1 2 3
RPUSH other 1 2 3
LRANGE Other 0 -1
LRANGE other 0 -1
`)
}

func TestDiffListPop(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
RPUSH l a b c d e f g
LPOP l
RPOP l
LRANGE l 0 -1
LPOP l 2
RPOP l 2
LRANGE l 0 -1
LPOP l 0
RPOP l 0
LPOP l 1
LPOP l 100
LLEN l
LPOP l
RPOP l
LPOP l 1
RPOP l 5
LPOP l 0
LPOP l -1
RPOP l -1
LPOP l abc
LPOP nokey abc
LPOP l 1.5
LPOP l 9223372036854775807
RPOP l 9223372036854775808
LPOP l 1 2
LPOP
RPOP
RPUSH l x y z
RPOP l 9223372036854775807
LLEN l
RPUSH l x
LPOP l 1
LPOP l
!string s v
LPOP s
RPOP s
LPOP s 1
RPOP s 0
LPOP s -1
LPOP s abc
`)
}

func TestDiffListIndexSetRange(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
RPUSH l a b c d e
LINDEX l 0
LINDEX l 4
LINDEX l 5
LINDEX l -1
LINDEX l -5
LINDEX l -6
LINDEX l 9223372036854775807
LINDEX l -9223372036854775808
LINDEX l 9223372036854775808
LINDEX l abc
LINDEX l 1.0
LINDEX l " 1"
LINDEX l +1
LINDEX nokey 0
LINDEX nokey abc
LINDEX l
LINDEX l 0 1
LSET l 0 A
LSET l -1 E
LSET l 2 C
LSET l 5 X
LSET l -6 X
LSET l 9223372036854775807 X
LSET l -9223372036854775808 X
LSET l abc X
LSET nokey 0 X
LSET nokey abc X
LSET l 0 ""
LSET l 1
LRANGE l 0 -1
LRANGE l 0 0
LRANGE l 1 3
LRANGE l -3 -1
LRANGE l -100 100
LRANGE l 3 1
LRANGE l 5 10
LRANGE l -1 -5
LRANGE l 0 -6
LRANGE l -6 0
LRANGE l -9223372036854775808 9223372036854775807
LRANGE l 9223372036854775807 -9223372036854775808
LRANGE l a 1
LRANGE l 0 b
LRANGE nokey 0 -1
LRANGE nokey a b
LRANGE l 0
!string s v
LINDEX s 0
LINDEX s abc
LSET s 0 x
LSET s abc x
LRANGE s 0 -1
LRANGE s a 0
LLEN s
`)
}

func TestDiffListTrimRem(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
RPUSH l 1 2 3 4 5 6 7 8 9 10
LTRIM l 0 -1
LRANGE l 0 -1
LTRIM l 1 -2
LRANGE l 0 -1
LTRIM l -5 100
LRANGE l 0 -1
LTRIM l 2 1
LRANGE l 0 -1
LLEN l
RPUSH l 1 2 3
LTRIM l 5 10
LLEN l
RPUSH l 1 2 3
LTRIM l -100 -4
LLEN l
RPUSH l 1 2 3
LTRIM l -9223372036854775808 9223372036854775807
LRANGE l 0 -1
LTRIM l 0 0
LRANGE l 0 -1
LTRIM l a 0
LTRIM l 0 b
LTRIM nokey 0 1
LTRIM nokey a 1
LTRIM l 0
RPUSH r a b a c a b a
LREM r 0 zz
LREM r 1 a
LRANGE r 0 -1
LREM r -1 a
LRANGE r 0 -1
LREM r 2 b
LRANGE r 0 -1
RPUSH r a a a x a
LREM r -2 a
LRANGE r 0 -1
LREM r 0 a
LRANGE r 0 -1
LREM r 100 x
LREM r -100 c
LLEN r
RPUSH r a a a
LREM r -9223372036854775808 a
LLEN r
RPUSH r a a a
LREM r 9223372036854775807 a
LREM r abc a
LREM nokey 1 a
LREM nokey abc a
LREM r 1
RPUSH r 1 01 1.0 1
LREM r 0 1
LRANGE r 0 -1
!string s v
LTRIM s 0 1
LTRIM s a 1
LREM s 1 a
LREM s abc a
`)
}

func TestDiffListInsertPos(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
RPUSH l a b c b a
LINSERT l BEFORE b X
LRANGE l 0 -1
LINSERT l after b Y
LRANGE l 0 -1
LINSERT l AfTeR a Z
LINSERT l before a W
LRANGE l 0 -1
LINSERT l before nopivot x
LINSERT l middle a x
LINSERT nokey before a x
LINSERT nokey middle a x
LINSERT l before a
LINSERT l after Z last
LRANGE l 0 -1
LINSERT l before "" x
RPUSH e ""
LINSERT e after "" y
LRANGE e 0 -1
RPUSH p a b c 1 2 3 c c
LPOS p c
LPOS p c RANK 1
LPOS p c RANK 2
LPOS p c RANK 3
LPOS p c RANK 4
LPOS p c RANK -1
LPOS p c RANK -2
LPOS p c RANK -3
LPOS p c RANK -4
LPOS p c COUNT 0
LPOS p c COUNT 1
LPOS p c COUNT 2
LPOS p c COUNT 100
LPOS p c RANK 2 COUNT 0
LPOS p c RANK -1 COUNT 0
LPOS p c RANK -2 COUNT 2
LPOS p c MAXLEN 2
LPOS p c MAXLEN 3
LPOS p c MAXLEN 0
LPOS p c COUNT 0 MAXLEN 7
LPOS p c RANK -1 MAXLEN 1
LPOS p c RANK -1 MAXLEN 3 COUNT 0
LPOS p a RANK -1 MAXLEN 7
LPOS p zz
LPOS p zz COUNT 0
LPOS p zz COUNT 5
LPOS p 1
LPOS p 01
LPOS p c RANK 0
LPOS p c RANK abc
LPOS p c RANK 9223372036854775807
LPOS p c RANK -9223372036854775808
LPOS p c RANK -9223372036854775808 COUNT 2
LPOS p c RANK -9223372036854775807 COUNT 0
LPOS p c RANK 9223372036854775808
LPOS p c COUNT -1
LPOS p c COUNT abc
LPOS p c MAXLEN -1
LPOS p c MAXLEN abc
LPOS p c COUNT
LPOS p c RANK
LPOS p c MAXLEN
LPOS p c FOO 1
LPOS p c rank 1 rank 2
LPOS p c count 1 count 0
LPOS p c rank 0 count -1
LPOS p c count -1 rank 0
LPOS nokey c
LPOS nokey c COUNT 0
LPOS nokey c RANK 0
LPOS nokey c COUNT -1
LPOS nokey c RANK 2 MAXLEN 10
LPOS l
!string s v
LINSERT s before a b
LINSERT s middle a b
LPOS s a
LPOS s a COUNT 0
LPOS s a RANK 0
`)
}

func TestDiffListMove(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
RPUSH {t}a 1 2 3
LMOVE {t}a {t}b LEFT RIGHT
LMOVE {t}a {t}b left left
LMOVE {t}a {t}b RIGHT RIGHT
LRANGE {t}a 0 -1
LRANGE {t}b 0 -1
LMOVE {t}a {t}b RIGHT LEFT
LLEN {t}a
LMOVE {t}b {t}b LEFT RIGHT
LRANGE {t}b 0 -1
LMOVE {t}b {t}b RIGHT LEFT
LRANGE {t}b 0 -1
RPUSH {t}one x
LMOVE {t}one {t}one LEFT RIGHT
LRANGE {t}one 0 -1
LMOVE {t}one {t}one LEFT LEFT
LLEN {t}one
LMOVE {t}none {t}b LEFT LEFT
LMOVE {t}a {t}b UP LEFT
LMOVE {t}a {t}b LEFT DOWN
LMOVE {t}none {t}b LEFT DOWN
LMOVE {t}a {t}b LEFT
RPOPLPUSH {t}b {t}c
RPOPLPUSH {t}b {t}c
LRANGE {t}b 0 -1
LRANGE {t}c 0 -1
RPOPLPUSH {t}c {t}c
LRANGE {t}c 0 -1
RPOPLPUSH {t}none {t}c
RPOPLPUSH {t}b
!string {t}s v
LMOVE {t}s {t}c LEFT LEFT
LMOVE {t}c {t}s LEFT LEFT
LMOVE {t}none {t}s LEFT LEFT
LMOVE {t}s {t}none LEFT LEFT
RPOPLPUSH {t}s {t}c
RPOPLPUSH {t}c {t}s
RPOPLPUSH {t}none {t}s
LRANGE {t}c 0 -1
`)
}

func TestDiffListMpop(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
RPUSH {t}a 1 2 3 4 5
RPUSH {t}b x y
LMPOP 1 {t}a LEFT
LMPOP 1 {t}a RIGHT
LMPOP 2 {t}none {t}a LEFT COUNT 2
LMPOP 2 {t}b {t}a right count 10
LMPOP 2 {t}b {t}a RIGHT COUNT 10
LMPOP 2 {t}b {t}a LEFT
LMPOP 3 {t}none {t}b {t}a LEFT
LMPOP 1 {t}none LEFT
LMPOP 1 {t}none LEFT COUNT 3
RPUSH {t}a 1 2 3
LMPOP 1 {t}a LEFT COUNT 9223372036854775807
LMPOP 0 {t}a LEFT
LMPOP -1 {t}a LEFT
LMPOP abc {t}a LEFT
LMPOP 2 {t}a LEFT
LMPOP 3 {t}a {t}b LEFT
LMPOP 9223372036854775807 {t}a LEFT
LMPOP 1 {t}a UP
LMPOP 1 {t}a LEFT COUNT 0
LMPOP 1 {t}a LEFT COUNT -1
LMPOP 1 {t}a LEFT COUNT abc
LMPOP 1 {t}a LEFT COUNT
LMPOP 1 {t}a LEFT COUNT 1 COUNT 2
LMPOP 1 {t}a LEFT FOO
LMPOP 1 {t}a
LMPOP 1
LMPOP
!string {t}s v
RPUSH {t}a q
LMPOP 2 {t}s {t}a LEFT
LMPOP 2 {t}a {t}s LEFT
LMPOP 2 {t}none {t}s LEFT
LMPOP 2 {t}a {t}s LEFT
LMPOP 1 {t}s LEFT COUNT 0
`)
}

func TestDiffListBlockingImmediate(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
RPUSH {t}a 1 2 3
RPUSH {t}b x
BLPOP {t}a 0
BRPOP {t}a 0
BLPOP {t}none {t}b {t}a 1
BRPOP {t}none {t}a 0.5
LLEN {t}a
RPUSH {t}a 1 2 3
BLMOVE {t}a {t}c LEFT RIGHT 0
BLMOVE {t}a {t}c right left 0
BRPOPLPUSH {t}a {t}c 0
LRANGE {t}c 0 -1
RPUSH {t}a 1 2 3
BLMPOP 0 2 {t}none {t}a LEFT COUNT 2
BLMPOP 0.1 1 {t}a RIGHT
BLMPOP 0 1 {t}c RIGHT COUNT 100
RPUSH {t}a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20
BLPOP {t}a abc
BLPOP {t}a -1
BLPOP {t}a ""
BLPOP {t}a " 1"
BLPOP {t}a "1 "
BLPOP {t}a nan
BLPOP {t}a inf
BLPOP {t}a -inf
BLPOP {t}a +inf
BLPOP {t}a 1e400
BLPOP {t}a 1e5000
BLPOP {t}a 1e-5000
BLPOP {t}a 9.3e15
BLPOP {t}a 9223371000000000
BLPOP {t}a 1_0
BLPOP {t}a 0b1
BLPOP {t}a 1p3
BLPOP {t}a 1e
BLPOP {t}a .
BLPOP {t}a 0x
BRPOP {t}a -0.5
BRPOP {t}a -1e-3
BLPOP 0
BLPOP
BLMOVE {t}a {t}c UP LEFT 0
BLMOVE {t}a {t}c LEFT UP abc
BLMOVE {t}a {t}c LEFT LEFT abc
BLMOVE {t}a {t}c LEFT LEFT -1
BLMOVE {t}a {t}c LEFT LEFT
BRPOPLPUSH {t}a {t}c abc
BRPOPLPUSH {t}a {t}c -1
BRPOPLPUSH {t}a {t}c
BLMPOP abc 1 {t}a LEFT
BLMPOP -1 1 {t}a LEFT
BLMPOP abc 0 {t}a LEFT
BLMPOP abc 1 {t}a UP
BLMPOP abc 1 {t}a LEFT COUNT 0
BLMPOP 0 2 {t}a LEFT
BLMPOP 0 1 {t}a LEFT COUNT
BLMPOP 0 1 {t}a LEFT COUNT 1 COUNT 1
BLMPOP 0 1 {t}a
BLMPOP 0 1
!string {t}s v
RPUSH {t}a 1
RPUSH {t}c 1 2 3
BLPOP {t}s 0
BLPOP {t}none {t}s {t}a 0
BLPOP {t}a {t}s 0
BLPOP {t}s abc
BLMOVE {t}s {t}c LEFT LEFT 0
BLMOVE {t}c {t}s LEFT LEFT 0
BRPOPLPUSH {t}c {t}s 0
BRPOPLPUSH {t}s {t}c 0
BLMPOP 0 2 {t}none {t}s LEFT
LRANGE {t}c 0 -1
`)
}

// TestDiffListTimeoutOnly checks replies that block briefly and time out.
func TestDiffListTimeoutOnly(t *testing.T) {
	d := newListDiff(t)
	d.Run(`
BLPOP {t}none 0.01
BRPOP {t}none {t}none2 0.01
BLMOVE {t}none {t}c LEFT LEFT 0.01
BRPOPLPUSH {t}none {t}c 0.01
BLMPOP 0.01 2 {t}none {t}none2 LEFT COUNT 3
BLPOP {t}none 0x1p-6
BLPOP {t}none 1e-2
`)
}

func TestDiffListResp3(t *testing.T) {
	d := newListDiff(t)
	if v, _ := d.SV.Do("HELLO", "3"); v.IsError() {
		t.Skip("HELLO is not implemented in this branch")
	}
	d.Redis.Do("HELLO", "3")
	d.Run(`
RPUSH {t}a 1 2 3
LPOP {t}none
LPOP {t}none 2
LPOP {t}a 0
LINDEX {t}a 10
LPOS {t}a zz
LPOS {t}none zz COUNT 0
LMPOP 1 {t}none LEFT
LMOVE {t}none {t}b LEFT LEFT
BLPOP {t}none 0.01
BLMPOP 0.01 1 {t}none LEFT
BLMOVE {t}none {t}b LEFT LEFT 0.01
BLMPOP 0 1 {t}a LEFT COUNT 2
BLPOP {t}a 0
`)
}

// TestDiffListLarge exercises long lists (ring growth, wrap-around,
// shrinking) and big ranges.
func TestDiffListLarge(t *testing.T) {
	d := newListDiff(t)
	args := []string{"RPUSH", "big"}
	for i := 0; i < 1000; i++ {
		args = append(args, strconv.Itoa(i%37))
	}
	d.Do(args...)
	args[0] = "LPUSH"
	d.Do(args...)
	d.Run(`
LLEN big
LRANGE big 990 1010
LINDEX big 1500
LINDEX big -1500
LPOS big 5 COUNT 0 MAXLEN 300
LPOS big 5 RANK -3 COUNT 4
LREM big 3 7
LREM big -3 8
LINSERT big AFTER 36 x
LSET big 1001 y
LPOP big 333
RPOP big 333
LRANGE big 0 20
LRANGE big -20 -1
LTRIM big 100 -100
LLEN big
LREM big 0 1
LLEN big
LRANGE big 500 520
`)
	for i := 0; i < 50; i++ {
		d.Do("LPUSH", "rot", fmt.Sprint(i))
		d.Do("RPOPLPUSH", "rot", "rot")
		if i%7 == 0 {
			d.Do("RPOP", "rot")
		}
	}
	d.Do("LRANGE", "rot", "0", "-1")
	if d.cmds < 100 {
		t.Fatalf("only %d commands compared", d.cmds)
	}
}

func TestDiffListArity(t *testing.T) {
	d := newListDiff(t)
	cmds := map[string]int{
		"LPUSH": -3, "RPUSH": -3, "LPUSHX": -3, "RPUSHX": -3, "LPOP": -2, "RPOP": -2,
		"LLEN": 2, "LINDEX": 3, "LSET": 4, "LRANGE": 4, "LTRIM": 4, "LREM": 4,
		"LINSERT": 5, "LPOS": -3, "LMOVE": 5, "RPOPLPUSH": 3, "LMPOP": -4,
		"BLPOP": -3, "BRPOP": -3, "BLMOVE": 6, "BRPOPLPUSH": 4, "BLMPOP": -5,
	}
	for name, arity := range cmds {
		n := arity
		if n < 0 {
			n = -n
		}
		for argc := 1; argc < n; argc++ {
			args := []string{strings.ToLower(name)}
			for i := 1; i < argc; i++ {
				args = append(args, "{t}x")
			}
			d.Do(args...)
		}
		if arity > 0 {
			args := []string{name}
			for i := 1; i <= arity; i++ {
				args = append(args, "1")
			}
			d.Do(args...)
		}
	}
}

func TestDiffListBinaryAndBig(t *testing.T) {
	d := newListDiff(t)
	bin := "a\x00b\r\n\xff"
	big := strings.Repeat("x", 100000)
	d.Do("RPUSH", "l", bin, big, "", bin)
	d.Do("LRANGE", "l", "0", "-1")
	d.Do("LPOS", "l", bin, "COUNT", "0")
	d.Do("LINSERT", "l", "AFTER", big, bin)
	d.Do("LREM", "l", "2", bin)
	d.Do("LSET", "l", "0", big+big)
	d.Do("LINDEX", "l", "0")
	d.Do("LRANGE", "l", "0", "-1")
	d.Do("LPOP", "l", "10")
}
