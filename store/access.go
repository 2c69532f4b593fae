package store

import "math/rand/v2"

// Access tracking for OBJECT IDLETIME / OBJECT FREQ and eviction.
// Entry.LRU holds what Redis keeps in robj.lru:
//
//   - LRU mode: the LRU clock, Unix seconds modulo 2^24 (LRUClockMax+1),
//     set on every access; idle time is computed modulo the same period.
//   - LFU mode (db.LFU): last decrement time in minutes modulo 2^16 in the
//     upper 16 bits, a logarithmic access counter in the lower 8.
//
// Switching modes at run time leaves stale data that converges as keys are
// accessed, as in Redis.
const (
	// LRUClockMax is the largest LRU clock value (24 bits).
	LRUClockMax = 1<<24 - 1
	// LFUInitVal is the counter of a new key under LFU.
	LFUInitVal = 5
)

func (db *DB) lruClock() uint32 { return uint32(db.Now()/1000) & LRUClockMax }

func (db *DB) lfuMinutes() uint32 { return uint32(db.Now()/60000) & 0xFFFF }

func (db *DB) initAccess(e *Entry) {
	if db.LFU {
		e.LRU = db.lfuMinutes()<<8 | LFUInitVal
	} else {
		e.LRU = db.lruClock()
	}
}

// Touch records an access to e.
func (db *DB) Touch(e *Entry) {
	if !db.LFU {
		e.LRU = db.lruClock()
		return
	}
	c := db.LFUCounter(e)
	if c < 255 {
		r := rand.Float64()
		base := float64(c) - LFUInitVal
		if base < 0 {
			base = 0
		}
		factor := db.LFULogFactor
		if factor < 0 {
			factor = 10
		}
		if r < 1.0/(base*float64(factor)+1) {
			c++
		}
	}
	e.LRU = db.lfuMinutes()<<8 | c
}

// LFUCounter returns e's access counter after applying decay for the time
// since its last decrement (Redis's LFUDecrAndReturn).
func (db *DB) LFUCounter(e *Entry) uint32 {
	ldt := e.LRU >> 8
	c := e.LRU & 255
	if db.LFUDecayTime > 0 {
		now := db.lfuMinutes()
		var elapsed uint32
		if now >= ldt {
			elapsed = now - ldt
		} else {
			elapsed = 65535 - ldt + now
		}
		if periods := elapsed / uint32(db.LFUDecayTime); periods > 0 {
			if periods > c {
				c = 0
			} else {
				c -= periods
			}
		}
	}
	return c
}

// IdleSeconds returns the seconds since e was last accessed (LRU mode).
func (db *DB) IdleSeconds(e *Entry) int64 {
	clock := db.lruClock()
	lru := e.LRU & LRUClockMax
	if clock >= lru {
		return int64(clock - lru)
	}
	return int64(clock + (LRUClockMax - lru))
}

// SetIdle makes e look idle for the given seconds (RESTORE IDLETIME),
// wrapping as Redis's objectSetLRUOrLFU does.
func (db *DB) SetIdle(e *Entry, idle int64) {
	clock := int64(db.lruClock())
	idle = idle * 1000 / 1000 // Redis scales by the clock resolution; keep its overflow
	abs := clock - idle
	if abs < 0 {
		abs = (clock + LRUClockMax/2) % LRUClockMax
	}
	e.LRU = uint32(abs)
}

// SetFreq sets e's LFU counter (RESTORE FREQ), 0..255.
func (db *DB) SetFreq(e *Entry, freq uint8) {
	e.LRU = db.lfuMinutes()<<8 | uint32(freq)
}
