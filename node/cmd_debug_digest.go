package node

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"

	"github.com/slotvault/slotvault/rdb"
	"github.com/slotvault/slotvault/slots"
	"github.com/slotvault/slotvault/store"
)

// DEBUG DIGEST and DEBUG DIGEST-VALUE compute Redis's dataset and value
// digests (debug.c: xorDigest, mixDigest, xorObjectDigest,
// computeDatasetDigest), bit for bit, so a value's digest on slotvault
// equals its digest on redis-server. redis-cli --cluster compares them
// when MIGRATE meets an existing key (BUSYKEY).
//
// A digest is 20 bytes. Unordered parts (set members, hash fields, sorted
// set entries, keys) are combined with XOR of their SHA1s, so the result
// does not depend on iteration order; ordered parts (list elements) are
// mixed in sequence.

type digest [20]byte

// xor XORs SHA1(p) into d.
func (d *digest) xor(p []byte) {
	h := sha1.Sum(p)
	for i := range d {
		d[i] ^= h[i]
	}
}

// mix XORs SHA1(p) into d, then replaces d by SHA1(d).
func (d *digest) mix(p []byte) {
	d.xor(p)
	*d = sha1.Sum(d[:])
}

func (d *digest) hex() string { return hex.EncodeToString(d[:]) }

// Redis's object type numbers, hashed into each value's digest.
var redisTypeCode = map[rdb.Kind]uint32{
	rdb.KindString: 0, rdb.KindList: 1, rdb.KindSet: 2, rdb.KindZSet: 3, rdb.KindHash: 4,
}

// digestScore formats a score as Redis's digest does: "%.17g".
func digestScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	case math.IsNaN(f):
		return []byte("nan")
	}
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}

// xorObjectDigest adds the value held in e to d, as Redis's
// xorObjectDigest: the type, the content, and a marker when the key has an
// expiry.
func xorObjectDigest(d *digest, e *store.Entry) {
	o, err := ValueObject(e.Value)
	if err != nil {
		return
	}
	var aux [4]byte
	binary.BigEndian.PutUint32(aux[:], redisTypeCode[o.Kind])
	d.mix(aux[:])
	switch o.Kind {
	case rdb.KindString:
		d.mix(o.Str)
	case rdb.KindList:
		for _, el := range o.List {
			d.mix(el)
		}
	case rdb.KindSet:
		for _, m := range o.Set {
			d.xor(m)
		}
	case rdb.KindZSet:
		for _, ze := range o.ZSet {
			var ed digest
			ed.mix(ze.Member)
			ed.mix(digestScore(ze.Score))
			d.xor(ed[:])
		}
	case rdb.KindHash:
		for _, f := range o.Hash {
			var ed digest
			ed.mix(f.Field)
			ed.mix(f.Value)
			d.xor(ed[:])
		}
	}
	if e.Expire != 0 {
		d.xor([]byte("!!expire!!"))
	}
}

// cmdDebugDigest serves DEBUG DIGEST and DEBUG DIGEST-VALUE key...; called
// by cmdDebug once the command is allowed.
func cmdDebugDigest(c *Ctx) {
	if c.ArgIs(1, "digest-value") {
		c.R.Array(len(c.Args) - 2)
		for _, k := range c.Args[2:] {
			var d digest
			// Like Redis, logically expired keys still count: no Lookup.
			if e := c.DB.Peek(string(k)); e != nil {
				xorObjectDigest(&d, e)
			}
			c.R.Simple(d.hex())
		}
		return
	}
	if len(c.Args) != 2 {
		subcommandSyntaxError(c)
		return
	}
	d := c.n.datasetDigestLocked()
	c.R.Simple(d.hex())
}

// datasetDigestLocked is Redis's computeDatasetDigest: per non-empty db its
// number, then the XOR of each key's (key, value) digest. Node lock held.
func (n *Node) datasetDigestLocked() digest {
	var final digest
	for i, db := range n.dbs {
		if db.Size() == 0 {
			continue
		}
		var aux [4]byte
		binary.BigEndian.PutUint32(aux[:], uint32(i))
		final.mix(aux[:])
		for s := db.NextNonEmptySlot(0); s >= 0 && s < slots.Count; s = db.NextNonEmptySlot(s + 1) {
			db.KeysInSlot(s, func(key string, e *store.Entry) bool {
				var d digest
				d.mix([]byte(key))
				xorObjectDigest(&d, e)
				final.xor(d[:])
				return true
			})
		}
	}
	return final
}
