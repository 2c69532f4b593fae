package node

import "runtime/metrics"

var memSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// usedMemory approximates Redis's used_memory: bytes in live heap objects.
func usedMemory() uint64 {
	metrics.Read(memSample)
	return memSample[0].Value.Uint64()
}
