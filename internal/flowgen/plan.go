package flowgen

import (
	"fmt"
	"slices"
)

// Opt is one step of a segmentation plan for a write ([Conn.Write]).
//
// Cutting options ([Split], [Every], [Bytewise]) decide where the write's
// bytes are cut into segments; pieces longer than the MSS are cut again.
// The segments are then numbered 0, 1, 2… in stream order, and the
// reordering options refer to those numbers: [Swap] exchanges two
// neighbours in capture order, [Drop] leaves segments out (the capture
// loses them), and [Retransmit] and [Resend] send bytes again after the
// write's segments, in the order the options were given.
type Opt func(*plan)

type plan struct {
	cuts    []int
	every   int
	drop    []int
	swaps   []int
	resends []span // in order; idx >= 0: whole segment idx
}

type span struct {
	idx      int // segment index, or -1
	off, len int // byte range when idx < 0
}

// Split cuts the write at the given byte offsets (relative to the start
// of the write). Offsets outside (0, len) are ignored.
func Split(offsets ...int) Opt {
	return func(p *plan) { p.cuts = append(p.cuts, offsets...) }
}

// Every cuts the write every n bytes.
func Every(n int) Opt { return func(p *plan) { p.every = n } }

// Bytewise sends the write one byte per segment.
func Bytewise() Opt { return Every(1) }

// Drop leaves segments i… out of the capture, as if the capture had missed
// them: the next captured segment's sequence number jumps over them.
func Drop(i ...int) Opt { return func(p *plan) { p.drop = append(p.drop, i...) } }

// Swap exchanges the capture positions of segment i and segment i+1 (it
// acts on the current order, so Swap(0), Swap(1) moves segment 0 to third
// place).
func Swap(i int) Opt { return func(p *plan) { p.swaps = append(p.swaps, i) } }

// Retransmit sends segment i again after the write's segments (an exact
// duplicate, as a retransmission after a lost ACK).
func Retransmit(i int) Opt {
	return func(p *plan) { p.resends = append(p.resends, span{idx: i}) }
}

// Resend sends bytes [off, off+n) of the write again, as one segment, after
// the write's segments. Chosen across a segment boundary it makes a
// retransmission that partially overlaps data already sent.
func Resend(off, n int) Opt {
	return func(p *plan) { p.resends = append(p.resends, span{idx: -1, off: off, len: n}) }
}

// piece is a byte range [off, end) of a write.
type piece struct{ off, end int }

type segPlan struct {
	pieces []piece // stream order
	order  []piece // capture order
}

func (p *plan) segments(n, mss int) (segPlan, error) {
	if mss <= 0 {
		return segPlan{}, fmt.Errorf("mss %d is not positive", mss)
	}
	cuts := []int{0, n}
	for _, c := range p.cuts {
		if c > 0 && c < n {
			cuts = append(cuts, c)
		}
	}
	if p.every > 0 {
		for c := p.every; c < n; c += p.every {
			cuts = append(cuts, c)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var pieces []piece
	for i := 0; i+1 < len(cuts); i++ {
		for off := cuts[i]; off < cuts[i+1]; off += mss {
			pieces = append(pieces, piece{off, min(off+mss, cuts[i+1])})
		}
	}
	idx := make([]int, len(pieces))
	for i := range idx {
		idx[i] = i
	}
	for _, s := range p.swaps {
		if s < 0 || s+1 >= len(idx) {
			return segPlan{}, fmt.Errorf("swap %d: only %d segments", s, len(idx))
		}
		idx[s], idx[s+1] = idx[s+1], idx[s]
	}
	for _, d := range p.drop {
		if d < 0 || d >= len(pieces) {
			return segPlan{}, fmt.Errorf("drop %d: only %d segments", d, len(pieces))
		}
	}
	sp := segPlan{pieces: pieces}
	for _, i := range idx {
		if !slices.Contains(p.drop, i) {
			sp.order = append(sp.order, pieces[i])
		}
	}
	for _, r := range p.resends {
		if r.idx >= 0 {
			if r.idx >= len(pieces) {
				return segPlan{}, fmt.Errorf("retransmit %d: only %d segments", r.idx, len(pieces))
			}
			sp.order = append(sp.order, pieces[r.idx])
			continue
		}
		if r.off < 0 || r.len <= 0 || r.off+r.len > n {
			return segPlan{}, fmt.Errorf("resend [%d,%d) outside a %d-byte write", r.off, r.off+r.len, n)
		}
		sp.order = append(sp.order, piece{r.off, r.off + r.len})
	}
	return sp, nil
}
