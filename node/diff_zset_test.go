package node_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotvault/slotvault/config"
	"github.com/slotvault/slotvault/internal/resp"
	"github.com/slotvault/slotvault/internal/testutil"
	"github.com/slotvault/slotvault/node"
	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/store"
)

// zh drives redis-server and an in-process slotvault node side by side,
// like testutil.Diff, with access to the node so the sorted-set tests can
// prepare keys of other types and inspect encodings and key existence
// without depending on other command families.
type zh struct {
	t       *testing.T
	n       *node.Node
	r, s    *resp.Conn
	rAddr   string
	sAddr   string
	hasCmds map[string]bool
}

func newZH(t *testing.T, lines ...string) *zh {
	t.Helper()
	var extra []string
	for _, l := range lines {
		args, _ := config.SplitArgs(l)
		extra = append(extra, "--"+args[0])
		extra = append(extra, args[1:]...)
	}
	r := testutil.StartRedis(t, extra...)
	s := testutil.StartInProc(t, lines...)
	h := &zh{t: t, n: s.Node, r: testutil.Dial(t, r.Addr()), s: testutil.Dial(t, s.Addr()),
		rAddr: r.Addr(), sAddr: s.Addr(), hasCmds: map[string]bool{}}
	return h
}

// has reports whether slotvault knows the command (other families may not
// be merged yet). It probes with an argument list chosen to fail without
// side effects: no arguments for variadic-key commands, a bogus protocol
// version for HELLO, an extra argument for MULTI.
func (h *zh) has(name string) bool {
	if v, ok := h.hasCmds[name]; ok {
		return v
	}
	probe := []string{name}
	switch strings.ToUpper(name) {
	case "HELLO":
		probe = append(probe, "999")
	case "MULTI":
		probe = append(probe, "extra")
	}
	v, err := h.s.Do(probe...)
	known := err == nil && !(v.IsError() && strings.HasPrefix(v.Str, "ERR unknown command"))
	h.hasCmds[name] = known
	return known
}

func (h *zh) both(args []string) (resp.Value, resp.Value) {
	h.t.Helper()
	rv, err := h.r.Do(args...)
	if err != nil {
		h.t.Fatalf("redis %q: %v", args, err)
	}
	sv, err := h.s.Do(args...)
	if err != nil {
		h.t.Fatalf("slotvault %q: %v", args, err)
	}
	return rv, sv
}

// do compares one command; mode '~' compares unordered, '?' types only.
func (h *zh) do(mode byte, args ...string) resp.Value {
	h.t.Helper()
	rv, sv := h.both(args)
	a, b := rv.String(), sv.String()
	switch mode {
	case '~':
		a, b = rv.Sorted().String(), sv.Sorted().String()
	case '?':
		a = fmt.Sprintf("%c %v %d", rv.Type, rv.Null, len(rv.Elems))
		b = fmt.Sprintf("%c %v %d", sv.Type, sv.Null, len(sv.Elems))
		if rv.IsError() || sv.IsError() {
			a, b = rv.String(), sv.String()
		}
	}
	if a != b {
		h.t.Errorf("%s\n  redis:     %s\n  slotvault: %s", strings.Join(args, " "), a, b)
	}
	return sv
}

// withNode runs fn on slotvault's database 0 under the node lock.
func (h *zh) withNode(fn func(db *store.DB)) {
	h.n.WithLock(func() { fn(h.n.DB(0)) })
}

// run executes a script, one command per line (redis-cli quoting). Prefix
// "~ " compares unordered, "? " types only. Directives:
//
//	!string key value   a string key on both servers
//	!del key...         delete keys on both
//	!encoding key       compare OBJECT ENCODING
//	!exists key         compare key existence
//	!zscanall key opt.. compare the member/score pairs of full ZSCAN runs
func (h *zh) run(script string) {
	h.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mode := byte(0)
		if strings.HasPrefix(line, "~ ") || strings.HasPrefix(line, "? ") {
			mode, line = line[0], line[2:]
		}
		args, err := config.SplitArgs(line)
		if err != nil {
			h.t.Fatalf("bad script line %q", line)
		}
		switch args[0] {
		case "!string":
			h.r.Do("SET", args[1], args[2])
			h.withNode(func(db *store.DB) { db.Set(args[1], &store.String{B: []byte(args[2])}, 0) })
		case "!del":
			h.r.Do(append([]string{"DEL"}, args[1:]...)...)
			h.withNode(func(db *store.DB) {
				for _, k := range args[1:] {
					db.Delete(k)
				}
			})
		case "!encoding":
			h.encoding(args[1])
		case "!exists":
			h.exists(args[1])
		case "!zscanall":
			h.zscanAll(args[1], args[2:]...)
		default:
			h.do(mode, args...)
		}
	}
}

func (h *zh) encoding(key string) {
	h.t.Helper()
	rv, _ := h.r.Do("OBJECT", "ENCODING", key)
	want := rv.Str
	if rv.Null {
		want = "(nil)"
	}
	got := "(nil)"
	h.withNode(func(db *store.DB) {
		if e := db.Peek(key); e != nil {
			got = e.Value.Encoding()
		}
	})
	if got != want {
		h.t.Errorf("OBJECT ENCODING %s: redis %s, slotvault %s", key, want, got)
	}
}

// scanAll runs a ZSCAN iteration to its end and returns the sorted
// "member=score" pairs.
func (h *zh) scanAll(c *resp.Conn, key string, extra ...string) []string {
	h.t.Helper()
	var out []string
	cursor := "0"
	for i := 0; ; i++ {
		v, err := c.Do(append([]string{"ZSCAN", key, cursor}, extra...)...)
		if err != nil || len(v.Elems) != 2 {
			h.t.Fatalf("ZSCAN %s: %v %v", key, v, err)
		}
		cursor = v.Elems[0].Str
		for j := 0; j+1 < len(v.Elems[1].Elems); j += 2 {
			out = append(out, v.Elems[1].Elems[j].Str+"="+v.Elems[1].Elems[j+1].Str)
		}
		if cursor == "0" {
			break
		}
		if i > 100000 {
			h.t.Fatal("ZSCAN does not terminate")
		}
	}
	sort.Strings(out)
	return out
}

func (h *zh) zscanAll(key string, extra ...string) {
	h.t.Helper()
	rs, ss := h.scanAll(h.r, key, extra...), h.scanAll(h.s, key, extra...)
	if strings.Join(rs, ",") != strings.Join(ss, ",") {
		h.t.Errorf("full ZSCAN %s %v\n  redis:     %v\n  slotvault: %v", key, extra, rs, ss)
	}
}

func (h *zh) exists(key string) {
	h.t.Helper()
	rv, _ := h.r.Do("EXISTS", key)
	var got int64
	h.withNode(func(db *store.DB) {
		if db.Peek(key) != nil {
			got = 1
		}
	})
	if rv.Int != got {
		h.t.Errorf("EXISTS %s: redis %d, slotvault %d", key, rv.Int, got)
	}
}

func TestDiffZsetZadd(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD z 1 a
ZADD z 2 b 3 c 1 a
ZRANGE z 0 -1 WITHSCORES
ZADD z 10 a 20 b 30 d
ZRANGE z 0 -1 WITHSCORES
ZADD z CH 10 a 21 b 30 d 40 e
ZADD z NX 100 a 50 f
ZADD z NX CH 100 a 51 g
ZADD z XX 100 a 50 zz
ZADD z XX CH 101 a 50 zz
ZADD z GT 1 a 200 b
ZADD z GT CH 1 a 300 b
ZADD z LT CH 1 a 300 b 5 newlt
ZADD z XX GT CH 5 a 500 b
ZADD z XX LT CH 5 a 500 b
ZADD z gt xx ch 600 b
ZRANGE z 0 -1 WITHSCORES
ZADD z INCR 5 a
ZADD z INCR -5.5 a
ZADD z INCR 5 newincr
ZADD z XX INCR 5 nosuch
ZADD z NX INCR 5 a
ZADD z NX INCR 5 nxincr
ZADD z GT INCR -1 a
ZADD z LT INCR -1 a
ZADD z GT INCR 1 a
ZADD z CH INCR 0 a
ZADD z INCR +inf infm
ZADD z INCR -inf infm
ZADD z INCR inf infm
ZSCORE z infm
ZADD z NX XX 1 a
ZADD z xx nx 1 a
ZADD z GT LT 1 a
ZADD z NX GT 1 a
ZADD z NX LT 1 a
ZADD z LT GT XX 1 a
ZADD z INCR 1 a 2 b
ZADD z 1
ZADD z NX
ZADD z 1 a 2
ZADD z nx 1
ZADD z abc a
ZADD z 1 a abc b
ZADD z nan a
ZADD z NaN a
ZADD z "" a
ZADD z " 1" a
ZADD z "1 " a
ZADD z 1e400 a
ZADD z -1e400 a
ZADD z 1e-400 a
ZADD z 1_000 a
ZADD z 0x10 hex
ZADD z 0X1p3 hex2
ZADD z 0x 0
ZADD z 1e a
ZADD z .5 dot
ZADD z 5. dot2
ZADD z +3 plus
ZADD z 1e-310 denorm
ZADD z infinity inf2
ZADD z -Infinity inf3
ZRANGE z 0 -1 WITHSCORES
ZADD
ZADD z
ZADD z INCR
ZADD nokey XX 1 a
!exists nokey
ZADD nokey XX INCR 1 a
!exists nokey
ZADD nokey2 NX GT 1 a
ZADD nokey3 GT 1 a
ZADD nokey3 LT 5 a
ZADD nokey3 GT 5 a
ZRANGE nokey3 0 -1 WITHSCORES
ZCARD z
!string str foo
ZADD str 1 a
ZADD str abc a
ZADD str NX XX 1 a
ZINCRBY str 1 a
ZINCRBY str abc a
ZINCRBY zi 1 a
ZINCRBY zi 1.5 a
ZINCRBY zi -0.5 a
ZINCRBY zi abc a
ZINCRBY zi inf a
ZINCRBY zi -inf a
ZINCRBY zi nx a
ZINCRBY zi 1
ZINCRBY zi 1 a b
ZSCORE zi a
`)
}

func TestDiffZsetScoreFormatting(t *testing.T) {
	h := newZH(t)
	vals := []string{"1.1", "0.1", "1e20", "3.0", "-0.0", "-0", "0", "inf", "-inf", "+inf", "1e-5", "0.0001",
		"123456789.123", "1e15", "1e16", "1e17", "1e21", "5e-324", "1.7976931348623157e308", "-1.5",
		"4611686018427387904", "4611686018427387903", "-4611686018427387904", "9223372036854775807",
		"3.14159265358979323846", "2.5", "100", "1e300", "0.30000000000000004", "12345678901234567890",
		"0x1p-1074", "1.0000000000000002", "4.35", "8.3", "-1e-300"}
	// Listpack-encoded and skiplist-encoded sets store scores differently
	// (integral scores as integers in a listpack, so -0 becomes 0).
	for i, v := range vals {
		m := "m" + strconv.Itoa(i)
		h.do(0, "ZADD", "lp", v, m)
		h.do(0, "ZSCORE", "lp", m)
		h.do(0, "ZADD", "sl", v, m)
		h.do(0, "ZADD", "sl", "0", strings.Repeat("x", 70))
		h.do(0, "ZSCORE", "sl", m)
		h.do(0, "ZINCRBY", "inc", v, m)
		h.do(0, "ZADD", "inc2", "INCR", v, m)
	}
	h.run(`
!encoding lp
!encoding sl
ZRANGE lp 0 -1 WITHSCORES
ZRANGE sl 0 -1 WITHSCORES
ZREVRANGE lp 0 -1 WITHSCORES
ZSCAN lp 0 COUNT 1000
!zscanall sl COUNT 1000
!zscanall sl
ZMSCORE lp m0 m1 m2 m3 m4 m5 m6 m7 m8 nosuch
ZRANGE inc 0 -1 WITHSCORES
ZRANGE inc2 0 -1 WITHSCORES
ZADD negz -0 a
ZSCORE negz a
ZINCRBY negz 0 a
ZSCORE negz a
ZADD negz INCR -0 b
ZSCORE negz b
ZADD negsl 0 ` + strings.Repeat("y", 65) + `
ZADD negsl -0 a
ZSCORE negsl a
ZINCRBY negsl 0 a
ZSCORE negsl a
ZADD negsl INCR -0 b
ZSCORE negsl b
!zscanall negsl MATCH ?
ZUNIONSTORE negu 1 negsl
ZSCORE negu a
ZRANGESTORE negr negsl 0 -1
ZSCORE negr a
`)
}

func TestDiffZsetReads(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD z 1 a 1 b 1 c 2 d 2 e 3 f -inf ninf +inf pinf 0 zero
ZCARD z
ZCARD nokey
ZCARD
ZCARD z extra
ZSCORE z a
ZSCORE z nosuch
ZSCORE nokey a
ZSCORE z
ZMSCORE z a nosuch pinf ninf
ZMSCORE nokey a b
ZMSCORE z
ZRANK z a
ZRANK z c
ZRANK z pinf
ZRANK z ninf
ZRANK z nosuch
ZRANK nokey a
ZREVRANK z a
ZREVRANK z pinf
ZREVRANK z nosuch
ZREVRANK nokey a
ZRANK z a withscore
ZRANK z
ZCOUNT z -inf +inf
ZCOUNT z 1 2
ZCOUNT z (1 2
ZCOUNT z (1 (2
ZCOUNT z 1 (2
ZCOUNT z 2 1
ZCOUNT z (1 1
ZCOUNT z 1 1
ZCOUNT z -inf -inf
ZCOUNT z (-inf +inf
ZCOUNT z (inf +inf
ZCOUNT z inf inf
ZCOUNT z " 1" 2
ZCOUNT z "1 " 2
ZCOUNT z "" ""
ZCOUNT z ( (
ZCOUNT z 0x1 0x2
ZCOUNT z 1e400 1e500
ZCOUNT z -1e400 1
ZCOUNT z nan 1
ZCOUNT z 1 (nan
ZCOUNT z a b
ZCOUNT z 1 b
ZCOUNT z ((1 2
ZCOUNT z -infinity infinity
ZCOUNT nokey 0 1
ZCOUNT nokey a b
ZCOUNT z 1
ZADD lex 0 a 0 b 0 c 0 d 0 e 0 ab 0 "" 0 "\xff"
ZLEXCOUNT lex - +
ZLEXCOUNT lex + -
ZLEXCOUNT lex - -
ZLEXCOUNT lex + +
ZLEXCOUNT lex [a [c
ZLEXCOUNT lex (a [c
ZLEXCOUNT lex (a (c
ZLEXCOUNT lex [a (a
ZLEXCOUNT lex [a [a
ZLEXCOUNT lex (a (a
ZLEXCOUNT lex [ +
ZLEXCOUNT lex ( +
ZLEXCOUNT lex - [
ZLEXCOUNT lex [c [a
ZLEXCOUNT lex a c
ZLEXCOUNT lex [a c
ZLEXCOUNT lex "" +
ZLEXCOUNT lex -a +
ZLEXCOUNT lex - +a
ZLEXCOUNT nokey - +
ZLEXCOUNT nokey a b
!string str x
ZCARD str
ZSCORE str a
ZMSCORE str a
ZRANK str a
ZREVRANK str a
ZCOUNT str 0 1
ZCOUNT str a b
ZLEXCOUNT str - +
ZLEXCOUNT str a b
`)
}

func TestDiffZsetRange(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD z 1 a 1 b 1 c 2 d 2 e 3 f 4 g 5 h -inf ninf +inf pinf
ZRANGE z 0 -1
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 0 -1 withscores
ZRANGE z 2 4
ZRANGE z -3 -1
ZRANGE z -100 100
ZRANGE z 5 2
ZRANGE z 100 200
ZRANGE z -1 -100
ZRANGE z 0 0
ZRANGE z -1 -1
ZRANGE z 0 -1 REV
ZRANGE z 0 2 REV WITHSCORES
ZRANGE z -2 -1 REV
ZRANGE z a b
ZRANGE z 0 b
ZRANGE z 0 9223372036854775807
ZRANGE z -9223372036854775808 9223372036854775807
ZRANGE z 0 -1 LIMIT 0 1
ZRANGE z 0 -1 LIMIT 0 -1
ZRANGE z 0 -1 LIMIT 1 -1
ZRANGE z 0 -1 LIMIT
ZRANGE z 0 -1 LIMIT 0
ZRANGE z 0 -1 LIMIT a b
ZRANGE z 0 -1 REV REV
ZRANGE z 0 -1 foo
ZRANGE z 0 -1 WITHSCORES WITHSCORES
ZRANGE z 1 3 BYSCORE
ZRANGE z (1 3 BYSCORE
ZRANGE z (1 (3 BYSCORE WITHSCORES
ZRANGE z -inf +inf BYSCORE
ZRANGE z +inf -inf BYSCORE REV
ZRANGE z 3 1 BYSCORE REV
ZRANGE z (3 1 BYSCORE REV WITHSCORES
ZRANGE z 1 3 BYSCORE REV
ZRANGE z -inf +inf BYSCORE LIMIT 2 3
ZRANGE z -inf +inf BYSCORE LIMIT 2 -1
ZRANGE z -inf +inf BYSCORE LIMIT -1 3
ZRANGE z -inf +inf BYSCORE LIMIT 0 0
ZRANGE z -inf +inf BYSCORE LIMIT 100 1
ZRANGE z -inf +inf BYSCORE LIMIT 9 1
ZRANGE z -inf +inf BYSCORE LIMIT 10 1
ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2 WITHSCORES
ZRANGE z -inf +inf BYSCORE LIMIT 1 2 LIMIT 0 1
ZRANGE z a b BYSCORE
ZRANGE z 1 b BYSCORE
ZRANGE z -inf +inf BYSCORE BYLEX
ZRANGE z -inf +inf BYSCORE BYSCORE
ZRANGE z - + BYLEX
ZRANGE z - + BYLEX WITHSCORES
ZRANGE z - + BYLEX LIMIT 0 2
ZRANGE z 0 1 BYLEX
ZRANGE z 0 -1 WITHSCORES LIMIT 0 1
ZRANGE nokey 0 -1
ZRANGE nokey a b
ZRANGE nokey 0 -1 LIMIT 0 1
ZRANGE nokey 0 1 BYSCORE
ZRANGE z
ZRANGE z 0
ZADD lex 0 alpha 0 bar 0 cool 0 down 0 elephant 0 foo 0 great 0 hill 0 omega
ZRANGE lex - + BYLEX
ZRANGE lex [bar [foo BYLEX
ZRANGE lex (bar (foo BYLEX
ZRANGE lex [foo [bar BYLEX REV
ZRANGE lex + - BYLEX REV
ZRANGE lex + - BYLEX REV LIMIT 1 3
ZRANGE lex - + BYLEX LIMIT 2 2
ZRANGE lex - + BYLEX LIMIT -1 2
ZRANGE lex - + BYLEX LIMIT 0 -5
ZRANGE lex [c [c BYLEX
ZRANGE lex [cool [cool BYLEX
ZRANGE lex (cool [cool BYLEX
ZRANGE lex [d + BYLEX
ZRANGE lex - (d BYLEX
ZRANGE lex + - BYLEX
ZRANGEBYLEX lex - +
ZRANGEBYLEX lex [bar (great
ZRANGEBYLEX lex [bar (great LIMIT 1 2
ZRANGEBYLEX lex - + WITHSCORES
ZRANGEBYLEX lex - + REV
ZRANGEBYLEX lex - + BYSCORE
ZRANGEBYLEX lex a b
ZRANGEBYLEX lex - + LIMIT 0
ZREVRANGEBYLEX lex + -
ZREVRANGEBYLEX lex (great [bar
ZREVRANGEBYLEX lex + - LIMIT 2 3
ZREVRANGEBYLEX lex - +
ZREVRANGEBYLEX lex + - WITHSCORES
ZRANGEBYSCORE z -inf +inf
ZRANGEBYSCORE z -inf +inf WITHSCORES
ZRANGEBYSCORE z 1 2 WITHSCORES LIMIT 1 10
ZRANGEBYSCORE z 1 2 LIMIT 1 10 WITHSCORES
ZRANGEBYSCORE z (1 5 LIMIT 0 -1
ZRANGEBYSCORE z 1 2 REV
ZRANGEBYSCORE z 1 2 BYSCORE
ZRANGEBYSCORE z 2 1
ZRANGEBYSCORE z a 1
ZRANGEBYSCORE z 1 2 LIMIT x 1
ZRANGEBYSCORE z 1 2 LIMIT 1
ZRANGEBYSCORE nokey 1 2
ZREVRANGEBYSCORE z +inf -inf
ZREVRANGEBYSCORE z +inf -inf WITHSCORES
ZREVRANGEBYSCORE z 2 1
ZREVRANGEBYSCORE z (2 (1
ZREVRANGEBYSCORE z 1 2
ZREVRANGEBYSCORE z 5 1 LIMIT 1 2 WITHSCORES
ZREVRANGEBYSCORE z 5 1 LIMIT -1 2
ZREVRANGE z 0 -1
ZREVRANGE z 0 -1 WITHSCORES
ZREVRANGE z 1 2
ZREVRANGE z -2 -1
ZREVRANGE z 0 -1 REV
ZREVRANGE z 0 -1 BYSCORE
ZREVRANGE z 0 -1 LIMIT 0 1
ZREVRANGE z 0 -1 foo
ZREVRANGE nokey 0 -1
!string str x
ZRANGE str 0 -1
ZRANGE str a b
ZRANGE str 0 -1 foo
ZRANGEBYSCORE str 0 1
ZRANGEBYLEX str - +
ZREVRANGE str 0 -1
`)
}

func TestDiffZsetRangeStore(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD src 1 a 2 b 3 c 4 d 5 e
ZRANGESTORE dst src 0 -1
ZRANGE dst 0 -1 WITHSCORES
!encoding dst
ZRANGESTORE dst src 1 2
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 0 -1 REV
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 2 4 BYSCORE
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 4 2 BYSCORE REV LIMIT 1 1
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src [a [c BYLEX
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 10 20
!exists dst
ZRANGESTORE dst src 0 -1
ZRANGESTORE dst nokey 0 -1
!exists dst
ZRANGESTORE dst2 nokey 0 -1
ZRANGESTORE dst src 0 -1 WITHSCORES
ZRANGESTORE dst src 0 -1 LIMIT 0 1
ZRANGESTORE dst src a b
ZRANGESTORE dst src a b BYSCORE
ZRANGESTORE dst src a b BYLEX
ZRANGESTORE dst src 0
ZRANGESTORE src src 1 3
ZRANGE src 0 -1 WITHSCORES
!string str x
ZRANGESTORE dst str 0 -1
ZRANGESTORE str src 0 -1
ZRANGE str 0 -1
ZADD long 1 a 2 ` + strings.Repeat("L", 65) + `
!encoding long
ZRANGESTORE ldst long 0 0
!encoding ldst
ZRANGESTORE ldst long 0 -1
!encoding ldst
`)
}

func TestDiffZsetRem(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g
ZREM z a
ZREM z a
ZREM z b c nosuch c
ZREM z
ZREM nokey a
ZRANGE z 0 -1
ZREM z d e f g
!exists z
!string str x
ZREM str a
ZADD r 1 a 2 b 3 c 4 d 5 e 6 f 7 g
ZREMRANGEBYRANK r 0 0
ZREMRANGEBYRANK r -1 -1
ZREMRANGEBYRANK r 10 20
ZREMRANGEBYRANK r 3 1
ZREMRANGEBYRANK r -100 -50
ZREMRANGEBYRANK r a 1
ZREMRANGEBYRANK r 1 a
ZREMRANGEBYRANK r 1
ZRANGE r 0 -1
ZREMRANGEBYRANK r 1 -2
ZRANGE r 0 -1
ZREMRANGEBYRANK r 0 100
!exists r
ZREMRANGEBYRANK nokey 0 1
ZREMRANGEBYRANK nokey a 1
ZREMRANGEBYRANK str 0 1
ZREMRANGEBYRANK str a 1
ZADD s 1 a 2 b 3 c 4 d 5 e -inf ni +inf pi
ZREMRANGEBYSCORE s 2 3
ZREMRANGEBYSCORE s (4 5
ZREMRANGEBYSCORE s 10 20
ZREMRANGEBYSCORE s 5 1
ZREMRANGEBYSCORE s a b
ZREMRANGEBYSCORE s (1 (1
ZRANGE s 0 -1 WITHSCORES
ZREMRANGEBYSCORE s -inf (0
ZREMRANGEBYSCORE s -inf +inf
!exists s
ZREMRANGEBYSCORE nokey 0 1
ZREMRANGEBYSCORE nokey a b
ZREMRANGEBYSCORE str 0 1
ZREMRANGEBYSCORE str a b
ZADD l 0 a 0 b 0 c 0 d 0 e 0 f
ZREMRANGEBYLEX l [b (d
ZREMRANGEBYLEX l (e +
ZREMRANGEBYLEX l + -
ZREMRANGEBYLEX l a b
ZREMRANGEBYLEX l [z [zz
ZRANGE l 0 -1
ZREMRANGEBYLEX l - +
!exists l
ZREMRANGEBYLEX nokey - +
ZREMRANGEBYLEX nokey a b
ZREMRANGEBYLEX str - +
ZREMRANGEBYLEX str a b
`)
}

func TestDiffZsetPop(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD z 1 a 2 b 3 c 4 d 5 e 5 e2 6 f
ZPOPMIN z
ZPOPMAX z
ZPOPMIN z 2
ZPOPMAX z 2
ZPOPMIN z 0
ZPOPMAX z 0
ZPOPMIN z -1
ZPOPMIN z abc
ZPOPMIN z 1 2
ZPOPMIN z 100
!exists z
ZPOPMIN z
ZPOPMAX z 5
ZPOPMIN nokey
ZPOPMIN nokey 0
ZPOPMIN nokey -1
!string str x
ZPOPMIN str
ZPOPMAX str 0
ZPOPMIN str -1
ZPOPMIN
ZADD m1 1 a 2 b 3 c
ZADD m2 10 x 20 y
ZMPOP 1 m1 MIN
ZMPOP 1 m1 MAX
ZMPOP 2 nokey m2 MIN COUNT 5
!exists m2
ZMPOP 2 nokey m1 max count 1
ZMPOP 2 nokey m1 MIN
ZMPOP 1 m1 MIN
ZMPOP 2 nokey nokey2 MIN
ZMPOP 2 str m1 MIN
ZMPOP 2 nokey str MIN
ZMPOP 0 m1 MIN
ZMPOP -1 m1 MIN
ZMPOP abc m1 MIN
ZMPOP 1 m1 foo
ZMPOP 1 m1 MIN COUNT 0
ZMPOP 1 m1 MIN COUNT -1
ZMPOP 1 m1 MIN COUNT abc
ZMPOP 1 m1 MIN COUNT
ZMPOP 1 m1 MIN COUNT 1 COUNT 1
ZMPOP 1 m1 MIN foo
ZMPOP 2 m1 MIN
ZMPOP 3 m1 MIN
ZMPOP 5 m1 MIN
ZMPOP 1 m1
ZMPOP 1
BZPOPMIN nokey str 0
ZADD bz 1 a 2 b 3 c
BZPOPMIN nokey bz 0
BZPOPMAX nokey bz 0
BZPOPMIN bz nokey 1
ZADD bz 1 a 2 b 3 c 4 d 5 e
BZPOPMIN bz -1
BZPOPMIN bz abc
BZPOPMIN bz ""
BZPOPMIN bz " 1"
BZPOPMIN bz nan
BZPOPMIN bz -inf
BZPOPMIN bz 1e400
BZPOPMIN bz 0x10
BZPOPMIN str 0
BZPOPMIN nokey 0.01
BZPOPMAX nokey 0.01
ZADD bm 1 a 2 b 3 c 4 d
BZMPOP 0 1 bm MIN
BZMPOP 0 2 nokey bm MAX COUNT 2
BZMPOP 0 1 bm MIN COUNT 10
!exists bm
BZMPOP 0.01 1 bm MIN
BZMPOP 0.01 2 nokey bm MAX COUNT 2
BZMPOP -1 1 bm MIN
BZMPOP abc 1 bm MIN
BZMPOP 0 0 bm MIN
BZMPOP abc 0 bm MIN
BZMPOP -1 1 bm foo
BZMPOP 0 1 bm MIN COUNT 0
BZMPOP 0 1 str MIN
BZMPOP 0 1 bm
BZMPOP 0 1
BZMPOP 0 5 bm MIN
`)
}

func TestDiffZsetRandmember(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD z 1 a 2 b 3 c 4 d 5 e
? ZRANDMEMBER z
ZRANDMEMBER nokey
ZRANDMEMBER z 0
ZRANDMEMBER z 0 WITHSCORES
ZRANDMEMBER z 5
ZRANDMEMBER z 5 WITHSCORES
ZRANDMEMBER z 100 WITHSCORES
ZRANDMEMBER z 6
? ZRANDMEMBER z 1
? ZRANDMEMBER z 1 WITHSCORES
? ZRANDMEMBER z 2
? ZRANDMEMBER z 4 WITHSCORES
? ZRANDMEMBER z -1
? ZRANDMEMBER z -10
? ZRANDMEMBER z -10 WITHSCORES
ZRANDMEMBER nokey 5
ZRANDMEMBER nokey -5 WITHSCORES
ZRANDMEMBER z abc
ZRANDMEMBER nokey abc
ZRANDMEMBER z 1 foo
ZRANDMEMBER z 1 WITHSCORES foo
ZRANDMEMBER z -9223372036854775808
ZRANDMEMBER z -9223372036854775807 WITHSCORES
ZRANDMEMBER z 9223372036854775807 WITHSCORES
ZRANDMEMBER z -4611686018427387904 WITHSCORES
ZRANDMEMBER nokey 4611686018427387904 WITHSCORES
ZRANDMEMBER z 9223372036854775807
!string str x
ZRANDMEMBER str
ZRANDMEMBER str 1
ZRANDMEMBER str abc
`)
	// Unique-member draws: same members, possibly in another order.
	for i := 0; i < 20; i++ {
		rv, sv := h.both([]string{"ZRANDMEMBER", "z", "3", "WITHSCORES"})
		if len(rv.Elems) != 6 || len(sv.Elems) != 6 {
			t.Fatalf("ZRANDMEMBER 3 WITHSCORES: %s / %s", rv, sv)
		}
		seen := map[string]bool{}
		for j := 0; j < 6; j += 2 {
			m, s := sv.Elems[j].Str, sv.Elems[j+1].Str
			if seen[m] || strconv.Itoa(int(m[0]-'a'+1)) != s {
				t.Fatalf("bad ZRANDMEMBER reply %s", sv)
			}
			seen[m] = true
		}
	}
	// Big set: every case of the algorithm.
	args := []string{"ZADD", "big"}
	for i := 0; i < 300; i++ {
		args = append(args, strconv.Itoa(i), "m"+strconv.Itoa(i))
	}
	h.do(0, args...)
	h.run(`
!encoding big
ZRANDMEMBER big 300 WITHSCORES
ZRANDMEMBER big 1000
? ZRANDMEMBER big 200
? ZRANDMEMBER big 20 WITHSCORES
? ZRANDMEMBER big -500
`)
	sv := h.do('?', "ZRANDMEMBER", "big", "150")
	uniq := map[string]bool{}
	for _, e := range sv.Elems {
		uniq[e.Str] = true
	}
	if len(uniq) != 150 {
		t.Fatalf("ZRANDMEMBER big 150 returned %d distinct members", len(uniq))
	}
}

func TestDiffZsetSetOps(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD z1 1 a 2 b 3 c
ZADD z2 10 b 20 c 30 d
ZADD z3 100 c 200 d 300 e 400 f
ZUNION 2 z1 z2
ZUNION 2 z1 z2 WITHSCORES
ZUNION 3 z1 z2 z3 WITHSCORES
ZUNION 3 z1 z2 z3 WEIGHTS 1 2 3 WITHSCORES
ZUNION 3 z1 z2 z3 WEIGHTS 1 2 3 AGGREGATE MIN WITHSCORES
ZUNION 3 z1 z2 z3 AGGREGATE MAX WITHSCORES
ZUNION 3 z1 z2 z3 AGGREGATE max WEIGHTS 2 0 -1 WITHSCORES
ZUNION 3 z1 z2 z3 aggregate sum weights 1 1 1 withscores
ZUNION 2 z1 nokey WITHSCORES
ZUNION 2 nokey nokey2 WITHSCORES
ZUNION 1 z1 WEIGHTS 0 WITHSCORES
ZUNION 1 z1 WEIGHTS -0.5 WITHSCORES
ZUNION 2 z1 z1 WITHSCORES
ZINTER 2 z1 z2
ZINTER 2 z1 z2 WITHSCORES
ZINTER 3 z1 z2 z3 WITHSCORES
ZINTER 2 z2 z3 WEIGHTS 2 3 WITHSCORES
ZINTER 2 z2 z3 AGGREGATE MIN WITHSCORES
ZINTER 2 z2 z3 AGGREGATE MAX WITHSCORES
ZINTER 2 z1 nokey WITHSCORES
ZINTER 2 z1 z1 WITHSCORES
ZINTER 2 z1 z1 WEIGHTS 2 3 AGGREGATE MAX WITHSCORES
ZDIFF 2 z3 z2
ZDIFF 2 z3 z2 WITHSCORES
ZDIFF 3 z3 z2 z1 WITHSCORES
ZDIFF 1 z3 WITHSCORES
ZDIFF 2 z3 z3
ZDIFF 2 nokey z3
ZDIFF 2 z3 nokey WITHSCORES
ZDIFF 2 z3 z2 WEIGHTS 1 1
ZDIFF 2 z3 z2 AGGREGATE SUM
ZUNIONSTORE dst 2 z1 z2
ZRANGE dst 0 -1 WITHSCORES
!encoding dst
ZUNIONSTORE dst 2 z1 z2 WEIGHTS 1 -1 AGGREGATE MIN
ZRANGE dst 0 -1 WITHSCORES
ZINTERSTORE dst 2 z1 z2
ZRANGE dst 0 -1 WITHSCORES
ZINTERSTORE dst 2 z1 z3 AGGREGATE MAX
ZRANGE dst 0 -1 WITHSCORES
ZINTERSTORE dst 2 z1 nokey
!exists dst
ZUNIONSTORE dst 3 z1 z2 z3
ZDIFFSTORE dst 2 z3 z2
ZRANGE dst 0 -1 WITHSCORES
ZDIFFSTORE dst 2 z3 z3
!exists dst
ZDIFFSTORE dst 1 nokey
ZUNIONSTORE z1 2 z1 z2
ZRANGE z1 0 -1 WITHSCORES
ZINTERCARD 2 z1 z2
ZINTERCARD 3 z1 z2 z3
ZINTERCARD 2 z1 z2 LIMIT 1
ZINTERCARD 2 z1 z2 LIMIT 0
ZINTERCARD 2 z1 z2 LIMIT 100
ZINTERCARD 2 z1 nokey
ZINTERCARD 1 nokey
ZINTERCARD 2 z1 z2 LIMIT -1
ZINTERCARD 2 z1 z2 LIMIT abc
ZINTERCARD 2 z1 z2 LIMIT
ZINTERCARD 2 z1 z2 WITHSCORES
ZINTERCARD 2 z1 z2 WEIGHTS 1 1
ZINTERCARD 2 z1 z2 AGGREGATE MIN
ZINTERCARD 0 z1
ZINTERCARD -1 z1
ZINTERCARD abc z1
ZINTERCARD 3 z1 z2
ZADD inf1 +inf a -inf b 1 c
ZADD inf2 -inf a +inf b 0 c
ZUNION 2 inf1 inf2 WITHSCORES
ZINTER 2 inf1 inf2 WITHSCORES
ZUNION 2 inf1 inf2 WEIGHTS 0 1 WITHSCORES
ZINTER 2 inf1 inf2 WEIGHTS 0 0 WITHSCORES
ZINTER 2 inf1 inf2 WEIGHTS 1 0 AGGREGATE MIN WITHSCORES
ZINTER 2 inf1 inf2 WEIGHTS 1 0 AGGREGATE MAX WITHSCORES
ZUNION 2 inf1 inf2 WEIGHTS inf -inf WITHSCORES
ZADD fa 0.1 x 0.2 y
ZADD fb 0.2 x 0.1 y 0.3 z
ZADD fc 0.3 x 0.3 y
ZUNION 3 fa fb fc WITHSCORES
ZUNION 3 fc fb fa WITHSCORES
ZINTER 3 fa fb fc WITHSCORES
ZINTER 3 fc fb fa WITHSCORES
ZUNION 0 z1
ZUNION -1 z1
ZUNION abc z1
ZUNION 2 z1
ZUNION 1 z1 WEIGHTS
ZUNION 1 z1 WEIGHTS abc
ZUNION 1 z1 WEIGHTS nan
ZUNION 1 z1 WEIGHTS 1 2
ZUNION 2 z1 z2 WEIGHTS 1
ZUNION 1 z1 AGGREGATE
ZUNION 1 z1 AGGREGATE foo
ZUNION 1 z1 WITHSCORES WITHSCORES
ZUNION 1 z1 foo
ZUNIONSTORE dst 1 z1 WITHSCORES
ZUNIONSTORE dst 0 z1
ZUNIONSTORE dst abc z1
ZUNIONSTORE dst 3 z1
ZINTERSTORE dst 0 z1
ZDIFFSTORE dst 0 z1
ZDIFF 0 z1
ZINTER 0 z1
ZUNION 1
ZUNIONSTORE dst 1
!string str x
ZUNION 2 z1 str
ZUNION 2 str nokey
ZINTER 2 nokey str
ZDIFF 2 z1 str
ZINTERCARD 2 z1 str
ZUNIONSTORE dst 2 z1 str
ZUNIONSTORE str 1 z1
ZRANGE str 0 -1
ZUNION 2 z1 str WEIGHTS abc
`)
	// Sets as inputs (scores 1), when the set family is present.
	if h.has("SADD") {
		h.run(`
SADD s1 a b x
SADD s2 1 2 3
ZUNION 2 z1 s1 WITHSCORES
ZINTER 2 z1 s1 WITHSCORES
ZINTER 2 s1 z1 WEIGHTS 5 2 WITHSCORES
ZDIFF 2 s1 z1 WITHSCORES
ZDIFF 2 z1 s1 WITHSCORES
ZUNION 2 s1 s2 WITHSCORES
ZUNIONSTORE dst 2 s1 s2
!encoding dst
ZINTERCARD 2 s1 z1
ZADD zn 5 1 6 2
ZINTER 2 s2 zn WITHSCORES
`)
	}
}

func TestDiffZsetScan(t *testing.T) {
	h := newZH(t)
	h.run(`
ZADD z 1 a 2 b 3 c 1.5 abc 10 xyz
ZSCAN z 0
ZSCAN z 0 COUNT 1
ZSCAN z 12345
ZSCAN z 0 MATCH a*
ZSCAN z 0 MATCH *
ZSCAN z 0 match ?b? count 100
ZSCAN z 0 MATCH nomatch
ZSCAN z ""
ZSCAN z -1
ZSCAN z +0
ZSCAN z 18446744073709551615
ZSCAN z 18446744073709551616
ZSCAN z abc
ZSCAN z " 0"
ZSCAN z 1.5
ZSCAN z -
ZSCAN z 0 COUNT 0
ZSCAN z 0 COUNT -1
ZSCAN z 0 COUNT abc
ZSCAN z 0 COUNT
ZSCAN z 0 MATCH
ZSCAN z 0 TYPE zset
ZSCAN z 0 foo bar
ZSCAN nokey 0
ZSCAN nokey 0 foo
ZSCAN nokey abc
!string str x
ZSCAN str 0
ZSCAN str abc
ZSCAN z
`)
	// A skiplist set: a full iteration returns every member once.
	args := []string{"ZADD", "big"}
	for i := 0; i < 500; i++ {
		args = append(args, strconv.Itoa(i), "member:"+strconv.Itoa(i))
	}
	h.do(0, args...)
	for _, extra := range [][]string{nil, {"COUNT", "7"}, {"MATCH", "member:1*", "COUNT", "50"}} {
		h.zscanAll("big", extra...)
	}
}

func TestDiffZsetEncodings(t *testing.T) {
	h := newZH(t, "zset-max-listpack-entries 4", "zset-max-listpack-value 8")
	h.run(`
ZADD e 1 a 2 b 3 c
!encoding e
ZADD e 4 d
!encoding e
ZADD e 5 e
!encoding e
ZREM e a b c d
!encoding e
ZADD v 1 a
ZADD v 2 123456789
!encoding v
ZADD v 3 1234567890
!encoding v
ZADD first 1 123456789 2 a
!encoding first
ZADD inc INCR 1 12345678901
!encoding inc
ZUNIONSTORE u 1 e
!encoding u
ZADD big 1 a 2 b 3 c 4 d 5 e
ZUNIONSTORE u 1 big
!encoding u
ZINTERSTORE u 2 big big
!encoding u
ZDIFFSTORE u 1 big
!encoding u
ZREMRANGEBYRANK big 0 2
!encoding big
ZUNIONSTORE u 1 big
!encoding u
ZRANGESTORE r big 0 -1
!encoding r
ZADD lv 1 123456789
ZUNIONSTORE u 1 lv
!encoding u
ZRANGESTORE u lv 0 -1
!encoding u
ZPOPMIN lv
!exists lv
`)
	h2 := newZH(t, "zset-max-listpack-entries 0")
	h2.run(`
ZADD z 1 a
!encoding z
ZRANGESTORE r z 0 -1
!encoding r
ZUNIONSTORE u 1 z
!encoding u
`)
}

// TestDiffZsetLarge covers sets past the listpack limit (skiplist) with
// score ties, negative ranks and LIMIT, and a random operation mix.
func TestDiffZsetLarge(t *testing.T) {
	h := newZH(t)
	args := []string{"ZADD", "big"}
	for i := 0; i < 400; i++ {
		args = append(args, strconv.Itoa(i%37), fmt.Sprintf("m%03d", (i*7919)%400))
	}
	h.do(0, args...)
	h.run(`
!encoding big
ZCARD big
ZRANGE big 0 -1 WITHSCORES
ZRANGE big -50 -1 REV WITHSCORES
ZRANGE big 100 120
ZRANGE big -1000 5
ZRANGE big 5 (10 BYSCORE WITHSCORES
ZRANGE big (30 +inf BYSCORE LIMIT 3 7 WITHSCORES
ZRANGE big +inf -inf BYSCORE REV LIMIT 10 5
ZRANGE big - + BYLEX LIMIT 100 10
ZRANGEBYSCORE big 10 10
ZREVRANGEBYSCORE big 10 10 WITHSCORES
ZCOUNT big 5 15
ZCOUNT big (5 (15
ZRANK big m000
ZRANK big m399
ZREVRANK big m123
ZSCORE big m123
ZMSCORE big m001 m002 nosuch
ZRANGESTORE part big 0 99
!encoding part
ZRANGESTORE part big 0 127
!encoding part
ZRANGESTORE part big 0 128
!encoding part
ZUNIONSTORE u 2 big part
!encoding u
ZINTER 2 big part WITHSCORES
ZDIFF 2 big part WITHSCORES
ZREMRANGEBYSCORE big 30 32
ZREMRANGEBYRANK big -20 -10
ZCARD big
ZPOPMIN big 3
ZPOPMAX big 3
ZMPOP 1 big MAX COUNT 2
ZRANGE big 0 -1 WITHSCORES
!encoding big
`)
	// Lexicographic ranges over a skiplist whose members share a score.
	args = []string{"ZADD", "lexbig"}
	for i := 0; i < 300; i++ {
		args = append(args, "0", fmt.Sprintf("w%03d", (i*7919)%300))
	}
	h.do(0, args...)
	h.run(`
!encoding lexbig
ZRANGE lexbig [w100 (w150 BYLEX
ZRANGE lexbig (w250 - BYLEX REV
ZRANGE lexbig (w250 - BYLEX REV LIMIT 5 5
ZRANGEBYLEX lexbig [w0 [w1 LIMIT 10 3
ZREVRANGEBYLEX lexbig [w2 [w1
ZLEXCOUNT lexbig [w100 [w199
ZLEXCOUNT lexbig (w100 (w199
ZREMRANGEBYLEX lexbig [w200 [w210
ZREMRANGEBYLEX lexbig - (w010
ZRANGE lexbig 0 20
ZCARD lexbig
`)
	// Mixed scores in a listpack: Redis walks the listpack linearly.
	h.run(`
ZADD mix 1 b 2 a 3 d 4 c 5 f 6 e
ZRANGEBYLEX mix [a [a
ZRANGEBYLEX mix [b [c
ZRANGEBYLEX mix - [c
ZRANGEBYLEX mix (a +
ZREVRANGEBYLEX mix [e [b
ZREVRANGEBYLEX mix + (d
ZLEXCOUNT mix [b [e
ZLEXCOUNT mix [a [c
ZLEXCOUNT mix [c +
ZREMRANGEBYLEX mix [b [c
ZRANGE mix 0 -1
ZREMRANGEBYLEX mix - [d
ZRANGE mix 0 -1
`)
	r := rand.New(rand.NewPCG(7, 11))
	scores := []string{"0", "1", "-1", "2.5", "+inf", "-inf", "3", "1e10", "0.1"}
	for i := 0; i < 1500; i++ {
		m := "r" + strconv.Itoa(r.IntN(200))
		s := scores[r.IntN(len(scores))]
		switch r.IntN(12) {
		case 0, 1, 2, 3:
			h.do(0, "ZADD", "rnd", s, m)
		case 4:
			h.do(0, "ZINCRBY", "rnd", s, m)
		case 5:
			h.do(0, "ZREM", "rnd", m)
		case 6:
			h.do(0, "ZRANK", "rnd", m)
		case 7:
			h.do(0, "ZRANGE", "rnd", strconv.Itoa(r.IntN(50)-25), strconv.Itoa(r.IntN(50)-25), "WITHSCORES")
		case 8:
			h.do(0, "ZRANGEBYSCORE", "rnd", "("+scores[r.IntN(len(scores))], scores[r.IntN(len(scores))], "LIMIT", strconv.Itoa(r.IntN(5)), strconv.Itoa(r.IntN(10)-2))
		case 9:
			h.do(0, "ZCOUNT", "rnd", scores[r.IntN(len(scores))], "("+scores[r.IntN(len(scores))])
		case 10:
			h.do(0, "ZADD", "rnd", []string{"GT", "LT", "XX", "NX"}[r.IntN(4)], "CH", s, m)
		case 11:
			h.do(0, "ZREMRANGEBYRANK", "rnd", strconv.Itoa(r.IntN(6)), strconv.Itoa(r.IntN(6)))
		}
	}
	h.do(0, "ZRANGE", "rnd", "0", "-1", "WITHSCORES")
	h.encoding("rnd")
}

func TestDiffZsetArity(t *testing.T) {
	h := newZH(t)
	for _, cmd := range []string{"ZADD", "ZINCRBY", "ZREM", "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZSCORE", "ZMSCORE",
		"ZRANK", "ZREVRANK", "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGEBYLEX",
		"ZREVRANGE", "ZRANGESTORE", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX", "ZPOPMIN", "ZPOPMAX",
		"BZPOPMIN", "BZPOPMAX", "ZMPOP", "BZMPOP", "ZRANDMEMBER", "ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE",
		"ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD", "ZSCAN"} {
		h.do(0, cmd)
		h.do(0, cmd, "k")
		if strings.HasPrefix(cmd, "BZPOP") {
			h.do(0, cmd, "k", "0.01")
		} else {
			h.do(0, cmd, "k", "1")
		}
	}
	for _, args := range [][]string{{"ZCARD", "a", "b"}, {"ZSCORE", "a", "b", "c"}, {"ZCOUNT", "k", "1", "2", "3"},
		{"ZRANK", "k", "a", "b", "c"}, {"ZINCRBY", "k", "1", "a", "b"}, {"ZREMRANGEBYRANK", "k", "0", "1", "2"}} {
		h.do(0, args...)
	}
	// COMMAND INFO's arity, flags and key positions are compared for every
	// command by TestCommandTableMatchesRedis; key specs are simplified.
}

// TestDiffZsetBlocking covers BZPOPMIN/BZPOPMAX/BZMPOP clients that block
// and are served by a later write, in FIFO order.
func TestDiffZsetBlocking(t *testing.T) {
	h := newZH(t)
	type pair struct{ r, s *resp.Conn }
	dial := func() pair {
		return pair{testutil.Dial(t, h.rAddr), testutil.Dial(t, h.sAddr)}
	}
	send := func(p pair, args ...string) {
		if err := p.r.Send(args...); err != nil {
			t.Fatal(err)
		}
		if err := p.s.Send(args...); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p pair, what string) {
		var wg sync.WaitGroup
		var rv, sv resp.Value
		var rerr, serr error
		wg.Add(2)
		go func() { defer wg.Done(); rv, rerr = p.r.Read() }()
		go func() { defer wg.Done(); sv, serr = p.s.Read() }()
		wg.Wait()
		if rerr != nil || serr != nil {
			t.Fatalf("%s: read errors %v / %v", what, rerr, serr)
		}
		if rv.String() != sv.String() {
			t.Errorf("%s\n  redis:     %s\n  slotvault: %s", what, rv, sv)
		}
	}
	// waitBlocked waits until both servers report n blocked clients
	// (slotvault: until the blocked commands are registered).
	waitBlocked := func(n int) {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			v, _ := h.r.Do("INFO", "clients")
			if strings.Contains(v.Str, "blocked_clients:"+strconv.Itoa(n)+"\r") {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(30 * time.Millisecond)
	}

	c1, c2, c3 := dial(), dial(), dial()
	send(c1, "BZPOPMIN", "bk1", "bk2", "0")
	waitBlocked(1)
	send(c2, "BZPOPMAX", "bk2", "0")
	waitBlocked(2)
	h.do(0, "ZADD", "bk2", "1", "a", "2", "b", "3", "c")
	read(c1, "BZPOPMIN bk1 bk2 0 (served)")
	read(c2, "BZPOPMAX bk2 0 (served)")
	h.do(0, "ZRANGE", "bk2", "0", "-1", "WITHSCORES")

	send(c1, "BZMPOP", "0", "2", "bm1", "bm2", "MAX", "COUNT", "5")
	waitBlocked(1)
	send(c2, "BZMPOP", "0", "1", "bm2", "MIN")
	waitBlocked(2)
	send(c3, "BZPOPMIN", "bm2", "0")
	waitBlocked(3)
	h.do(0, "ZADD", "bm2", "1", "a", "2", "b", "3", "c", "4", "d")
	read(c1, "BZMPOP 0 2 bm1 bm2 MAX COUNT 5 (served)")
	h.do(0, "ZADD", "bm2", "5", "e", "6", "f")
	read(c2, "BZMPOP 0 1 bm2 MIN (served)")
	read(c3, "BZPOPMIN bm2 0 (served)")
	h.do(0, "ZRANGE", "bm2", "0", "-1", "WITHSCORES")

	// A write of another type does not serve a zset waiter.
	send(c1, "BZPOPMIN", "bt", "0.3")
	waitBlocked(1)
	h.run("!string bt x")
	read(c1, "BZPOPMIN bt 0.3 (timeout)")

	// Timeouts.
	send(c1, "BZPOPMAX", "nokey", "0.05")
	read(c1, "BZPOPMAX nokey 0.05 (timeout)")
	send(c1, "BZMPOP", "0.05", "1", "nokey", "MIN", "COUNT", "2")
	read(c1, "BZMPOP timeout")
}

// TestZsetPropagationReplays checks that the write stream of sorted-set
// commands (including served blocking pops and ZMPOP, which are rewritten
// as ZPOPMIN/ZPOPMAX) replays to the same dataset.
func TestZsetPropagationReplays(t *testing.T) {
	src := testutil.StartInProc(t)
	log := &zsetMemLog{}
	src.Node.SetWriteLog(log)
	c := testutil.Dial(t, src.Addr())
	c2 := testutil.Dial(t, src.Addr())
	script := [][]string{
		{"ZADD", "a", "1", "x", "2", "y", "3", "z", "4", "w"},
		{"ZADD", "a", "INCR", "1.5", "x"},
		{"ZINCRBY", "a", "-1", "y"},
		{"ZADD", "a", "NX", "100", "x"},
		{"ZREM", "a", "nosuch"},
		{"ZPOPMIN", "a"},
		{"ZMPOP", "1", "a", "MAX", "COUNT", "10"},
		{"ZADD", "b", "1", "p", "2", "q", "3", "r"},
		{"ZUNIONSTORE", "u", "1", "b", "WEIGHTS", "2"},
		{"ZRANGESTORE", "rs", "b", "0", "1"},
		{"ZREMRANGEBYSCORE", "b", "3", "3"},
		{"BZPOPMAX", "b", "0"},
		{"BZMPOP", "0", "1", "b", "MIN", "COUNT", "3"},
		{"ZADD", "c", "5", "m", "6", "n"},
		{"ZRANDMEMBER", "c", "-5"},
		{"ZINTERSTORE", "i", "2", "c", "u"},
		{"ZDIFFSTORE", "d", "1", "c"},
	}
	for _, args := range script {
		if v, err := c.Do(args...); err != nil || v.IsError() {
			t.Fatalf("%v: %v %v", args, v, err)
		}
	}
	// A blocked pop served by a later write.
	if err := c2.Send("BZPOPMIN", "blk", "0"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	c.Do("ZADD", "blk", "1", "one", "2", "two")
	if v, err := c2.Read(); err != nil || len(v.Elems) != 3 {
		t.Fatalf("served BZPOPMIN: %v %v", v, err)
	}
	if err := c2.Send("BZMPOP", "0", "2", "blk2", "blk3", "MAX", "COUNT", "2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	c.Do("ZADD", "blk3", "1", "a", "2", "b", "3", "c")
	if v, err := c2.Read(); err != nil || len(v.Elems) != 2 {
		t.Fatalf("served BZMPOP: %v %v", v, err)
	}

	for _, rec := range log.records() {
		switch strings.ToUpper(string(rec[0])) {
		case "BZPOPMIN", "BZPOPMAX", "BZMPOP", "ZMPOP", "ZRANDMEMBER":
			t.Errorf("%s must not be propagated as is: %q", rec[0], rec)
		}
	}
	dst := testutil.StartInProc(t)
	rp := dst.Node.NewReplayer()
	dst.Node.WithLock(func() {
		for _, rec := range log.records() {
			if err := rp.Apply(0, rec); err != nil {
				t.Fatalf("replay %q: %v", rec, err)
			}
		}
	})
	want, got := zsetDump(src.Node), zsetDump(dst.Node)
	if want != got {
		t.Fatalf("replayed dataset differs\n  source: %s\n  replay: %s", want, got)
	}
	if !strings.Contains(want, "blk=[two") || !strings.Contains(want, "blk3=[a") {
		t.Fatalf("unexpected dataset %s", want)
	}
}

type zsetMemLog struct {
	mu   sync.Mutex
	recs [][][]byte
}

func (l *zsetMemLog) Append(db int, argv [][]byte) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	cp := make([][]byte, len(argv))
	for i, a := range argv {
		cp[i] = append([]byte(nil), a...)
	}
	l.recs = append(l.recs, cp)
	return uint64(len(l.recs))
}
func (l *zsetMemLog) Wait(uint64) error { return nil }
func (l *zsetMemLog) Err() error        { return nil }
func (l *zsetMemLog) records() [][][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][][]byte(nil), l.recs...)
}

// zsetDump renders every sorted set of database 0 with its encoding.
func zsetDump(n *node.Node) string {
	var parts []string
	n.WithLock(func() {
		db := n.DB(0)
		for s := db.NextNonEmptySlot(0); s >= 0; s = db.NextNonEmptySlot(s + 1) {
			db.KeysInSlot(s, func(k string, e *store.Entry) bool {
				z, ok := e.Value.(*store.ZSet)
				if !ok {
					parts = append(parts, k+"=?")
					return true
				}
				var o rdb.Object = z.Object()
				var b strings.Builder
				for _, ze := range o.ZSet {
					fmt.Fprintf(&b, "%s:%v ", ze.Member, ze.Score)
				}
				parts = append(parts, k+"=["+strings.TrimSpace(b.String())+"]/"+z.Encoding())
				return true
			})
		}
	})
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// TestDiffZsetResp3 compares RESP3 reply shapes (nested WITHSCORES pairs,
// doubles, nulls) once HELLO is available.
func TestDiffZsetResp3(t *testing.T) {
	h := newZH(t)
	if !h.has("HELLO") {
		t.Skip("HELLO not implemented in this build")
	}
	h.r.Do("HELLO", "3")
	h.s.Do("HELLO", "3")
	h.run(`
ZADD z 1 a 2.5 b 3 c -0 d inf e
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 0 -1
ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 0 2
ZREVRANGE z 0 1 WITHSCORES
ZRANGE z - + BYLEX
ZSCORE z b
ZSCORE z e
ZSCORE z nosuch
ZSCORE nokey a
ZMSCORE z a nosuch e
ZRANK z nosuch
ZINCRBY z 1.5 a
ZADD z INCR 1 a
ZADD z XX INCR 1 nosuch
ZUNION 1 z WITHSCORES
ZINTER 1 z WITHSCORES
ZDIFF 1 z WITHSCORES
ZSCAN z 0
ZRANDMEMBER z 100 WITHSCORES
ZRANDMEMBER z 100
ZRANDMEMBER nokey
ZRANDMEMBER nokey 5
ZPOPMIN z
ZPOPMIN z 1
ZPOPMAX z 0
ZPOPMIN nokey
ZPOPMIN nokey 2
ZADD z 1 a 2 b
BZPOPMIN z 0
ZMPOP 1 z MAX COUNT 5
ZMPOP 1 z MAX
BZPOPMIN nokey 0.01
BZMPOP 0.01 1 nokey MIN
ZADD r 1 a 2 b
? ZRANDMEMBER r -3 WITHSCORES
? ZRANDMEMBER r 1 WITHSCORES
`)
}

// TestDiffZsetMulti checks that blocking pops do not block inside
// MULTI, once transactions are available.
func TestDiffZsetMulti(t *testing.T) {
	h := newZH(t)
	if !h.has("MULTI") {
		t.Skip("MULTI not implemented in this build")
	}
	h.run(`
MULTI
BZPOPMIN nokey 0
BZPOPMAX nokey 0
BZMPOP 0 1 nokey MIN
ZADD mz 1 a
BZPOPMIN mz 0
EXEC
`)
}
