package proxy

import "sync/atomic"

// atomicMap is an atomic pointer to the current slot map.
type atomicMap struct{ p atomic.Pointer[slotMap] }

func (a *atomicMap) Load() *slotMap   { return a.p.Load() }
func (a *atomicMap) Store(m *slotMap) { a.p.Store(m) }
