package output

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestWriteTable checks writeTable's own layout against tablewriter
// (newTable) on random tables of plain cells, and that other cells are
// left to tablewriter.
func TestWriteTable(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	rng := rand.New(rand.NewPCG(11, 12))
	alphabet := "abcXYZ019 #/:.,-+|=*()[]<>~_'\\\"!?"
	cell := func() string {
		n := 1 + rng.IntN(12)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if b[0] == ' ' {
			b[0] = 'x'
		}
		if b[n-1] == ' ' {
			b[n-1] = 'y'
		}
		return string(b)
	}
	for range 300 {
		cols := 1 + rng.IntN(6)
		header := make([]string, cols)
		for i := range header {
			header[i] = cell()
		}
		rows := make([][]string, 1+rng.IntN(8))
		for i := range rows {
			rows[i] = make([]string, cols)
			for k := range rows[i] {
				rows[i][k] = cell()
			}
		}
		var got, want bytes.Buffer
		if err := writeTable(&got, header, rows); err != nil {
			t.Fatal(err)
		}
		tw := newTable(&want)
		hs := make([]any, cols)
		for i, h := range header {
			hs[i] = h
		}
		tw.Header(hs...)
		for _, r := range rows {
			tw.Append(r)
		}
		tw.Render()
		if got.String() != want.String() {
			t.Fatalf("header %q rows %q:\ngot:\n%s\nwant (tablewriter):\n%s", header, rows, got.String(), want.String())
		}
	}
	for _, c := range []string{"", " x", "x ", "é", "a\tb"} {
		if plainCell(c) {
			t.Errorf("%q counted as plain", c)
		}
	}
}
