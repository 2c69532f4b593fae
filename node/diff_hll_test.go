package node_test

import (
	"strconv"
	"testing"

	"github.com/slotvault/slotvault/internal/testutil"
)

func TestDiffHLLBasics(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
PFCOUNT nokey
PFADD h1
GET h1
PFCOUNT h1
GET h1
PFADD h1
PFADD h1 a
GET h1
PFADD h1 a
PFADD h1 b c d e f g
GET h1
PFCOUNT h1
GET h1
PFCOUNT h1
PFADD h1 a b c
PFCOUNT h1
PFADD h2 foo bar baz "" "\x00" "\xff\xfe"
GET h2
PFCOUNT h2
PFCOUNT h1 h2
PFCOUNT h1 h2 nokey
PFCOUNT nokey nokey2
PFMERGE h3 h1 h2
GET h3
PFCOUNT h3
PFMERGE h3
GET h3
PFMERGE h4
GET h4
PFCOUNT h4
PFMERGE h4 nokey
PFMERGE h1 h1
GET h1
PFADD
PFCOUNT
PFMERGE
PFDEBUG ENCODING h1
PFDEBUG DECODE h1
PFDEBUG DECODE h3
PFDEBUG GETREG nokey
PFDEBUG FOO h1
PFDEBUG foo nokey
PFDEBUG ENCODING nokey
PFDEBUG ENCODING
PFDEBUG TODENSE h2
PFDEBUG TODENSE h2
PFDEBUG ENCODING h2
PFDEBUG DECODE h2
GET h2
PFCOUNT h2
GET h2
PFADD h2 zzz
GET h2
PFCOUNT h2
PFMERGE h5 h1 h2
PFDEBUG ENCODING h5
GET h5
PFCOUNT h5
PFMERGE h6 h1 h3
PFDEBUG ENCODING h6
PFCOUNT h6
PFSELFTEST
PFSELFTEST x
`)
}

func TestDiffHLLInvalid(t *testing.T) {
	d := testutil.NewDiff(t)
	d.Run(`
SET s foo
PFADD s a
PFCOUNT s
PFCOUNT s nokey
PFCOUNT nokey s
PFMERGE s
PFMERGE d s
PFDEBUG ENCODING s
SET s2 "HYLL"
PFADD s2 a
SET s3 "HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
PFADD s3 a
SET s4 "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
PFADD s4 a
PFCOUNT s4
SET s5 "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
PFADD s5 a
PFCOUNT s5
# A sparse HLL covering too few registers.
SET c1 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe"
PFCOUNT c1
PFCOUNT c1 nokey
PFMERGE d2 c1
PFADD c1 a b c
# Too many registers.
SET c2 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\x80"
PFCOUNT c2
PFCOUNT c2 nokey
PFADD c2 a
PFDEBUG TODENSE c2
# Cached cardinality is trusted when valid.
SET c3 "HYLL\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
PFCOUNT c3
PFADD c3 x
PFCOUNT c3
GET c3
# Truncated XZERO opcode.
SET c4 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f"
PFCOUNT c4
PFADD c4 a
# Empty sparse body.
SET c5 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"
PFCOUNT c5
PFADD c5 a
PFMERGE c5
PFDEBUG GETREG c5
PFDEBUG DECODE c5
# Hand-built sparse HLL with VAL runs.
SET c6 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x83\x8b\x7f\xf9"
PFCOUNT c6
PFDEBUG DECODE c6
PFADD c6 a b c d e f g h i j k l m n o p
PFDEBUG DECODE c6
GET c6
PFCOUNT c6
`)
}

// TestDiffHLLGrowth adds many elements so the sparse representation goes
// through splits, merges and finally the promotion to dense; GET compares
// the bytes with Redis at each step.
func TestDiffHLLGrowth(t *testing.T) {
	d := testutil.NewDiff(t)
	n := 0
	for _, batch := range []int{1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 800, 1000, 2000, 5000} {
		args := []string{"PFADD", "g"}
		for i := 0; i < batch; i++ {
			args = append(args, "elem:"+strconv.Itoa(n))
			n++
		}
		d.Do(args...)
		d.Do("GET", "g")
		d.Do("PFCOUNT", "g")
		d.Do("PFDEBUG", "ENCODING", "g")
	}
	// Element by element near the promotion threshold, on a second key.
	for i := 0; i < 1500; i++ {
		d.Do("PFADD", "g2", "x"+strconv.Itoa(i))
		if i%50 == 0 {
			d.Do("GET", "g2")
		}
	}
	d.Do("GET", "g2")
	d.Do("PFCOUNT", "g2")
	d.Do("PFCOUNT", "g", "g2")
	d.Do("PFMERGE", "g3", "g2")
	d.Do("GET", "g3")
	d.Do("PFMERGE", "g3", "g")
	d.Do("GET", "g3")
	d.Do("PFCOUNT", "g3")
	d.Do("PFDEBUG", "GETREG", "g2")
	d.Do("GET", "g2")
}

// TestDiffHLLSparseMaxBytes promotes early with a small
// hll-sparse-max-bytes and checks integer-heavy and binary elements.
func TestDiffHLLSparseMaxBytes(t *testing.T) {
	d := testutil.NewDiff(t, "hll-sparse-max-bytes 60")
	for i := 0; i < 80; i++ {
		d.Do("PFADD", "h", strconv.Itoa(i*7919))
		d.Do("PFDEBUG", "ENCODING", "h")
	}
	d.Do("GET", "h")
	d.Do("PFCOUNT", "h")
	d.Do("PFADD", "small", "a", "b")
	d.Do("PFMERGE", "m", "small")
	d.Do("GET", "m")
	d.Do("PFMERGE", "m2", "h", "small")
	d.Do("GET", "m2")
	d.Do("PFDEBUG", "ENCODING", "m2")
	d.Do("PFCOUNT", "m2")
	// Big merges from sparse sources into a sparse destination.
	for i := 0; i < 20; i++ {
		d.Do("PFADD", "s"+strconv.Itoa(i), "e"+strconv.Itoa(i), "f"+strconv.Itoa(i))
	}
	d.Do("PFMERGE", "all", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9",
		"s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19")
	d.Do("GET", "all")
	d.Do("PFDEBUG", "ENCODING", "all")
}

func TestDiffHLLLargeCardinality(t *testing.T) {
	d := testutil.NewDiff(t)
	n := 0
	for step := 0; step < 10; step++ {
		args := []string{"PFADD", "big"}
		for i := 0; i < 5000; i++ {
			args = append(args, strconv.Itoa(n))
			n++
		}
		d.Do(args...)
		d.Do("PFCOUNT", "big")
	}
	d.Do("GET", "big")
	d.Do("PFADD", "other", "1", "2", "3", "50001", "60000")
	d.Do("PFCOUNT", "big", "other")
	d.Do("PFMERGE", "other", "big")
	d.Do("GET", "other")
	d.Do("PFCOUNT", "other")
}

func TestDiffHLLWrongArity(t *testing.T) {
	d := testutil.NewDiff(t)
	for _, cmd := range []string{"PFADD", "PFCOUNT", "PFMERGE", "PFDEBUG", "PFSELFTEST"} {
		d.Do(cmd)
	}
	d.Do("PFDEBUG", "ENCODING")
	d.Do("PFDEBUG", "ENCODING", "a", "b")
}
