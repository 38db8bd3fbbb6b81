package pipeline

import (
	"strings"
	"testing"

	"github.com/wscap/wscap/output"
)

// TestDiscardBatches runs parallel workers that drop their batches
// (WSCAP_BENCH_DISCARD=1, bench/run's "dispatcher alone"): the run ends,
// decodes nothing and still writes the (empty) summary.
func TestDiscardBatches(t *testing.T) {
	defer func(old bool) { discardBatches = old }(discardBatches)
	pkts := packets(t, "chat")
	for _, json := range []bool{false, true} {
		cfg := Config{Workers: 2, JSON: json, Output: output.Options{Timeline: true, Summary: true}}
		discardBatches = false
		full, _ := runAll(t, cfg, pkts)
		discardBatches = true
		got, p := runAll(t, cfg, pkts)
		if full == got || strings.Contains(got, "message") {
			t.Errorf("json=%v: workers decoded with discardBatches:\n%s", json, got)
		}
		if st := p.Stats(); st.Conns != 0 {
			t.Errorf("json=%v: %d connections decoded", json, st.Conns)
		}
	}
}
