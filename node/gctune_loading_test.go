package node

import "testing"

// TestGCTunerLoading: while any node of the process loads, the headroom
// is the maximum whatever the live heap; the usual policy resumes after.
func TestGCTunerLoading(t *testing.T) {
	g := newGCTuner()
	g.ownLimit = false
	if !g.ownPercent {
		t.Skip("GOGC set in the environment")
	}
	g.setLoading(true)
	g.setLoading(true)
	if g.percent != gcMaxPercent {
		t.Fatalf("loading: percent %d", g.percent)
	}
	g.setLoading(false)
	if g.loading.Load() != 1 || g.percent != gcMaxPercent {
		t.Fatalf("one node still loading: loading %d percent %d", g.loading.Load(), g.percent)
	}
	g.setLoading(false)
	if g.loading.Load() != 0 {
		t.Fatalf("loading count %d", g.loading.Load())
	}
	processGC.tune() // put the process's own policy back
}
