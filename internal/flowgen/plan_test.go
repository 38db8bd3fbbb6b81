package flowgen

import (
	"fmt"
	"testing"
)

func TestPlanSegments(t *testing.T) {
	tests := []struct {
		name    string
		n, mss  int
		opts    []Opt
		pieces  string
		order   string
		wantErr bool
	}{
		{name: "one", n: 10, mss: 1460, pieces: "[0 10)", order: "[0 10)"},
		{name: "mss", n: 10, mss: 4, pieces: "[0 4)[4 8)[8 10)", order: "[0 4)[4 8)[8 10)"},
		{name: "split", n: 10, mss: 1460, opts: []Opt{Split(3, 7, 0, 10, 99, 3)}, pieces: "[0 3)[3 7)[7 10)", order: "[0 3)[3 7)[7 10)"},
		{name: "split then mss", n: 10, mss: 4, opts: []Opt{Split(5)}, pieces: "[0 4)[4 5)[5 9)[9 10)", order: "[0 4)[4 5)[5 9)[9 10)"},
		{name: "every", n: 7, mss: 1460, opts: []Opt{Every(3)}, pieces: "[0 3)[3 6)[6 7)", order: "[0 3)[3 6)[6 7)"},
		{name: "bytewise", n: 3, mss: 1460, opts: []Opt{Bytewise()}, pieces: "[0 1)[1 2)[2 3)", order: "[0 1)[1 2)[2 3)"},
		{name: "drop", n: 9, mss: 3, opts: []Opt{Drop(1)}, pieces: "[0 3)[3 6)[6 9)", order: "[0 3)[6 9)"},
		{name: "drop all", n: 6, mss: 3, opts: []Opt{Drop(0, 1)}, pieces: "[0 3)[3 6)", order: ""},
		{name: "swap", n: 9, mss: 3, opts: []Opt{Swap(0)}, pieces: "[0 3)[3 6)[6 9)", order: "[3 6)[0 3)[6 9)"},
		{name: "swap twice moves", n: 9, mss: 3, opts: []Opt{Swap(0), Swap(1)}, pieces: "[0 3)[3 6)[6 9)", order: "[3 6)[6 9)[0 3)"},
		{name: "swap and drop by index", n: 9, mss: 3, opts: []Opt{Swap(0), Drop(0)}, pieces: "[0 3)[3 6)[6 9)", order: "[3 6)[6 9)"},
		{name: "retransmit", n: 6, mss: 3, opts: []Opt{Retransmit(0)}, pieces: "[0 3)[3 6)", order: "[0 3)[3 6)[0 3)"},
		{name: "resend overlap", n: 6, mss: 3, opts: []Opt{Resend(2, 3), Retransmit(1)}, pieces: "[0 3)[3 6)", order: "[0 3)[3 6)[2 5)[3 6)"},
		{name: "bad swap", n: 6, mss: 3, opts: []Opt{Swap(1)}, wantErr: true},
		{name: "bad drop", n: 6, mss: 3, opts: []Opt{Drop(2)}, wantErr: true},
		{name: "bad retransmit", n: 6, mss: 3, opts: []Opt{Retransmit(5)}, wantErr: true},
		{name: "bad resend", n: 6, mss: 3, opts: []Opt{Resend(4, 3)}, wantErr: true},
		{name: "bad mss", n: 6, mss: 0, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p plan
			for _, o := range tt.opts {
				o(&p)
			}
			sp, err := p.segments(tt.n, tt.mss)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := fmtPieces(sp.pieces); got != tt.pieces {
				t.Errorf("pieces = %s, want %s", got, tt.pieces)
			}
			if got := fmtPieces(sp.order); got != tt.order {
				t.Errorf("order = %s, want %s", got, tt.order)
			}
		})
	}
}

func fmtPieces(ps []piece) string {
	s := ""
	for _, p := range ps {
		s += fmt.Sprintf("[%d %d)", p.off, p.end)
	}
	return s
}
