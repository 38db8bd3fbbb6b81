package dfilter

import (
	"testing"

	"github.com/wscap/wscap/decode"
)

// BenchmarkMatch measures the cost of a filter per event, over a mix of
// events of every kind.
func BenchmarkMatch(b *testing.B) {
	evs := events()
	info := &decode.ConnInfo{}
	for _, bc := range []struct{ name, expr string }{
		{"conn", `conn == 2`},
		{"type", `type == "message"`},
		{"and3", `type == "message" and from == "server" and text contains "error"`},
		{"set", `code in {close_code_invalid text_invalid_utf8}`},
		{"not-or", `not (opcode in {ping pong} or len > 1000)`},
		{"matches", `text matches "err(or)?"`},
	} {
		f, err := Compile(bc.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for i := range evs {
					if f.Match(&evs[i], info) {
						n++
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
		})
	}
}
