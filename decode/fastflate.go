package decode

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// A table-driven DEFLATE (RFC 1951) decoder for the common case: a
// message that decodes without error. It writes into the direction's
// history buffer itself, so a message needs no dictionary copy and its
// output no intermediate buffer. It is at least as strict as
// compress/flate; on any error (or anything it does not handle) the
// inflater undoes what it did and runs compress/flate instead, so that
// results, errors and their messages are exactly compress/flate's.

// Huffman table entries: symbol or subtable start in the high 16 bits;
// code length (or subtable bits) in the low 4; flags.
const (
	hSub     = 1 << 4 // the entry points to a subtable
	hInvalid = 1 << 5 // no code has these bits
	litBits  = 9      // primary table bits, literal/length codes
	distBits = 8      // primary table bits, distance codes
)

type huffTable struct {
	primary uint
	t       []uint32
	// Scratch of build for codes longer than primary: per prefix, its
	// subtable bits (zero again after each build), and the prefixes used.
	subBits  [1 << litBits]uint8
	prefixes [1 << litBits]uint16
}

// build makes the decoding table of the canonical code with the given
// code lengths. It returns false where compress/flate's huffmanDecoder.init
// does (an over-subscribed or incomplete code, but a single code of length
// 1), and for an empty code (which compress/flate only rejects when used).
func (h *huffTable) build(lengths []uint8, primary uint) bool {
	var count [16]uint16
	maxLen := 0
	for _, n := range lengths {
		count[n]++
		maxLen = max(maxLen, int(n))
	}
	if maxLen == 0 {
		return false
	}
	var next [16]int
	code := 0
	for i := 1; i <= maxLen; i++ {
		code <<= 1
		next[i] = code
		code += int(count[i])
	}
	degenerate := code == 1 && maxLen == 1
	if code != 1<<uint(maxLen) && !degenerate {
		return false
	}
	h.primary = primary
	size := 1 << primary
	// Subtables: one per primary prefix of the codes longer than primary,
	// as wide as the longest of them. Codes of one length are
	// consecutive, so a prefix's codes are found by walking the long
	// codes in canonical order.
	total := size
	subBits, prefixes := &h.subBits, &h.prefixes
	np := 0
	if maxLen > int(primary) {
		c := next
		for n := int(primary) + 1; n <= maxLen; n++ {
			for k := 0; k < int(count[n]); k++ {
				r := bits.Reverse16(uint16(c[n]+k)) >> (16 - n)
				p := r & uint16(size-1)
				if subBits[p] == 0 {
					prefixes[np] = p
					np++
				}
				subBits[p] = max(subBits[p], uint8(n)-uint8(primary))
			}
		}
		for _, p := range prefixes[:np] {
			total += 1 << subBits[p]
		}
	}
	if cap(h.t) < total {
		h.t = make([]uint32, total)
	}
	h.t = h.t[:total]
	if degenerate {
		for i := range h.t {
			h.t[i] = hInvalid
		}
	}
	off := size
	for _, p := range prefixes[:np] {
		h.t[p] = uint32(off)<<16 | hSub | uint32(subBits[p])
		off += 1 << subBits[p]
		subBits[p] = 0
	}
	codes := next
	for sym, n := range lengths {
		if n == 0 {
			continue
		}
		r := int(bits.Reverse16(uint16(codes[n])) >> (16 - n))
		codes[n]++
		e := uint32(sym)<<16 | uint32(n)
		if uint(n) <= primary {
			for k := r; k < size; k += 1 << n {
				h.t[k] = e
			}
			continue
		}
		sub := h.t[r&(size-1)]
		start, sb := int(sub>>16), uint(sub&15)
		for k := r >> primary; k < 1<<sb; k += 1 << (uint(n) - primary) {
			h.t[start+k] = e
		}
	}
	return true
}

var (
	fixedOnce           sync.Once
	fixedLit, fixedDist huffTable
)

func fixedTables() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	fixedLit.build(l[:], litBits)
	// 32 distance codes of 5 bits; 30 and 31 are rejected when decoded.
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	fixedDist.build(d[:], distBits)
}

var lenBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
var distBase = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

// codeOrder is the order of the code length code lengths (RFC 1951 3.2.7).
var codeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// flateState is the reusable part of a fast decode (pooled).
type flateState struct {
	lit, dist, clen huffTable
	lens            [320]uint8
	saved           []byte // the history before the message, once it had to slide
	in              []byte // the input with the sync tail, when comp has no room for it
}

// maxRoom is the most bytes the decoder writes at once (a match is at most
// 258; stored blocks are copied in pieces of this size).
const maxRoom = 512

var flateStates = sync.Pool{New: func() any { return new(flateState) }}

// bitIn reads bits least significant first.
type bitIn struct {
	in    []byte
	pos   int
	bits  uint64
	nbits uint
}

// refill makes at least 56 bits available, or all that is left.
func (b *bitIn) refill() {
	if b.pos+8 <= len(b.in) {
		b.bits |= binary.LittleEndian.Uint64(b.in[b.pos:]) << b.nbits
		b.pos += int(63-b.nbits) >> 3
		b.nbits |= 56
		return
	}
	for b.nbits <= 56 && b.pos < len(b.in) {
		b.bits |= uint64(b.in[b.pos]) << b.nbits
		b.pos++
		b.nbits += 8
	}
}

// need reports whether n bits are available (after a refill).
func (b *bitIn) need(n uint) bool {
	if b.nbits < n {
		b.refill()
	}
	return b.nbits >= n
}

func (b *bitIn) take(n uint) uint32 {
	v := uint32(b.bits & (1<<n - 1))
	b.bits >>= n
	b.nbits -= n
	return v
}

// sym decodes one symbol with table h; ok is false for an invalid code or
// the end of the input.
func (b *bitIn) sym(h *huffTable) (int, bool) {
	if b.nbits < 15 {
		b.refill()
	}
	e := h.t[b.bits&(1<<h.primary-1)]
	if e&hSub != 0 {
		e = h.t[int(e>>16)+int(b.bits>>h.primary&(1<<(e&15)-1))]
	}
	n := uint(e & 15)
	if e&hInvalid != 0 || n > b.nbits {
		return 0, false
	}
	b.bits >>= n
	b.nbits -= n
	return int(e >> 16), true
}

// fastResult says how a fast decode went.
type fastResult uint8

const (
	fastOK      fastResult = iota
	fastLimited            // stopped at the limit
	fastFailed             // an error or something unusual: use compress/flate
)

// fastInflate decodes comp (a message without its 00 00 ff ff tail)
// after the history in f.hist (the first attempt of inflate: at most
// f.window bytes of it may be referred to). Output is appended to the
// history buffer (takeover) or a pooled window and passed to emit.
func (f *inflater) fastInflate(comp []byte, limit int64, emit func([]byte)) (inflateResult, fastResult) {
	fixedOnce.Do(fixedTables)
	st := flateStates.Get().(*flateState)
	defer flateStates.Put(st)

	var in bitIn
	// The input with the sync tail, as compress/flate reads it.
	if cap(comp)-len(comp) >= len(syncTail) {
		in.in = append(comp, syncTail...)
	} else {
		st.in = append(append(st.in[:0], comp...), syncTail...)
		in.in = st.in
		if cap(st.in) > 1<<20 {
			defer func() { st.in = nil }()
		}
	}

	// The window: the history (takeover) then the output. With takeover
	// the output goes into the direction's own history buffer while it
	// fits (at most ownMax bytes: a window and some slack, so that a
	// connection at rest holds about its negotiated window); a message
	// that outgrows it continues in a pooled buffer of 2*histMax (that
	// slides), and only the last window goes back to the own buffer.
	var out []byte
	var pooled *pbuf
	defer func() { putBuf(pooled) }()
	if f.takeover {
		out = f.hist
	} else {
		pooled = getBuf(2*histMax + maxRoom)
		out = pooled.b[:0]
	}
	ownMax := f.ownMax()
	orig := len(out)
	dictLen := min(orig, f.window)
	st.saved = st.saved[:0]
	slid := false
	j := orig    // write position
	emitted := j // output before j was emitted
	var produced int64
	res := inflateResult{}

	fail := func() (inflateResult, fastResult) {
		if f.takeover {
			if slid {
				f.hist = append(f.hist[:0], st.saved...)
			} else {
				f.hist = f.hist[:orig]
			}
		}
		return inflateResult{}, fastFailed
	}
	// room makes space for n more bytes at j: it grows the own buffer up
	// to ownMax, then slides (emitting first) in a buffer that holds
	// histMax+maxRoom bytes, switching to a pooled one if the own buffer
	// is smaller than that.
	room := func(n int) {
		if j+n <= cap(out) {
			return
		}
		if pooled == nil {
			if j+n <= ownMax {
				nb := make([]byte, j, min(max(cap(out)+cap(out)/2, j+n, 512), ownMax))
				copy(nb, out[:j])
				out = nb
				return
			}
			if cap(out) < histMax+maxRoom {
				pooled = getBuf(2*histMax + maxRoom)
				out = append(pooled.b[:0], out[:j]...)
				out = out[:cap(out)]
				return
			}
		}
		// Full: j > histMax, as n <= maxRoom.
		if !slid && f.takeover {
			st.saved = append(st.saved[:0], out[:orig]...)
		}
		slid = true
		emit(out[emitted:j])
		copy(out, out[j-histMax:j])
		j, emitted = histMax, histMax
	}
	out = out[:cap(out)]

	final := false
	for !final {
		if !in.need(3) {
			return fail()
		}
		hdr := in.take(3)
		final = hdr&1 != 0
		switch hdr >> 1 {
		case 0: // stored
			in.bits >>= in.nbits & 7
			in.nbits -= in.nbits & 7
			if !in.need(32) {
				return fail()
			}
			n := int(in.take(16))
			if in.take(16) != uint32(^uint16(n)) {
				return fail()
			}
			// Whole bytes still in the bit buffer come first.
			for n > 0 && in.nbits >= 8 {
				if produced >= limit {
					res.limited = true
					goto done
				}
				room(1)
				out = out[:cap(out)]
				out[j] = byte(in.take(8))
				j++
				n--
				produced++
			}
			if n > 0 {
				// The rest comes straight from the input: drop the bits
				// a refill loaded past nbits (they are about to be read
				// here, and refill ORs over them).
				in.bits = 0
			}
			if n > len(in.in)-in.pos {
				return fail()
			}
			for n > 0 {
				k := min(n, maxRoom)
				room(k)
				out = out[:cap(out)]
				if lim := limit - produced; int64(k) > lim {
					k = int(max(lim, 0))
					copy(out[j:], in.in[in.pos:in.pos+k])
					j += k
					produced += int64(k)
					res.limited = true
					goto done
				}
				copy(out[j:], in.in[in.pos:in.pos+k])
				in.pos += k
				j += k
				n -= k
				produced += int64(k)
			}
			continue
		case 1:
			if !fastBlock(&in, &fixedLit, &fixedDist, &out, &j, &produced, limit, dictLen, room, &res) {
				return fail()
			}
		case 2:
			if !st.readDynamic(&in) {
				return fail()
			}
			if !fastBlock(&in, &st.lit, &st.dist, &out, &j, &produced, limit, dictLen, room, &res) {
				return fail()
			}
		default:
			return fail()
		}
		if res.limited {
			goto done
		}
	}
done:
	if j > emitted {
		emit(out[emitted:j])
	}
	res.n = produced
	if f.takeover {
		if pooled == nil {
			f.hist = out[:j]
		} else {
			// Back to the own buffer: the last window.
			keep := min(j, f.window)
			if cap(f.hist) < keep {
				f.hist = make([]byte, 0, min(max(2*keep, 512), ownMax))
			}
			f.hist = append(f.hist[:0], out[j-keep:j]...)
		}
		if !res.limited && len(f.hist) >= f.window {
			f.histFull = true
		}
	}
	if res.limited {
		return res, fastLimited
	}
	return res, fastOK
}

// readDynamic reads a dynamic block header into st.lit and st.dist.
func (st *flateState) readDynamic(in *bitIn) bool {
	if !in.need(14) {
		return false
	}
	nlit := int(in.take(5)) + 257
	ndist := int(in.take(5)) + 1
	nclen := int(in.take(4)) + 4
	if nlit > 286 || ndist > 30 {
		return false
	}
	var cl [19]uint8
	for i := 0; i < nclen; i++ {
		if !in.need(3) {
			return false
		}
		cl[codeOrder[i]] = uint8(in.take(3))
	}
	if !st.clen.build(cl[:], 7) {
		return false
	}
	lens := st.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		s, ok := in.sym(&st.clen)
		if !ok {
			return false
		}
		if s < 16 {
			lens[i] = uint8(s)
			i++
			continue
		}
		var rep int
		var v uint8
		switch s {
		case 16:
			if i == 0 || !in.need(2) {
				return false
			}
			rep, v = 3+int(in.take(2)), lens[i-1]
		case 17:
			if !in.need(3) {
				return false
			}
			rep = 3 + int(in.take(3))
		default:
			if !in.need(7) {
				return false
			}
			rep = 11 + int(in.take(7))
		}
		if i+rep > len(lens) {
			return false
		}
		for k := 0; k < rep; k++ {
			lens[i] = v
			i++
		}
	}
	if lens[256] == 0 {
		return false // no end of block: compress/flate fails on it too
	}
	if !st.lit.build(lens[:nlit], litBits) {
		return false
	}
	dl := lens[nlit:]
	for _, n := range dl {
		if n != 0 {
			return st.dist.build(dl, distBits)
		}
	}
	// An empty distance code is valid as long as no distance is used.
	st.dist.empty(distBits)
	return true
}

// empty makes h a table in which every code is invalid.
func (h *huffTable) empty(primary uint) {
	h.primary = primary
	if cap(h.t) < 1<<primary {
		h.t = make([]uint32, 1<<primary)
	}
	h.t = h.t[:1<<primary]
	for i := range h.t {
		h.t[i] = hInvalid
	}
}

// fastBlock decodes the symbols of one Huffman block into (*outp)[*jp:],
// calling room before writing past the buffer.
func fastBlock(in *bitIn, lit, dist *huffTable, outp *[]byte, jp *int, produced *int64, limit int64, dictLen int, room func(int), res *inflateResult) bool {
	out, j := (*outp)[:cap(*outp)], *jp
	start := j
	left := limit - *produced // bytes that may still be produced
	done := *produced         // bytes produced before this block
	// Bits and table in locals: the loop is the hot path of inflation.
	bitsv, nbits := in.bits, in.nbits
	lt, lmask, lprim := lit.t, uint64(1)<<lit.primary-1, lit.primary
	ok := true
	defer func() {
		in.bits, in.nbits = bitsv, nbits
		*outp, *jp = out, j
		*produced = done + int64(j-start)
	}()
	refill := func() {
		in.bits, in.nbits = bitsv, nbits
		in.refill()
		bitsv, nbits = in.bits, in.nbits
	}
	makeRoom := func(n int) {
		*outp, *jp = out, j
		done += int64(j - start)
		room(n)
		out, j = (*outp)[:cap(*outp)], *jp
		start = j
	}
	for {
		if nbits < 15 {
			refill()
		}
		e := lt[bitsv&lmask]
		if e&hSub != 0 {
			e = lt[int(e>>16)+int(bitsv>>lprim&(1<<(e&15)-1))]
		}
		n := uint(e & 15)
		if e&hInvalid != 0 || n > nbits {
			return false
		}
		bitsv >>= n
		nbits -= n
		s := int(e >> 16)
		if s < 256 {
			if left <= 0 {
				res.limited = true
				return ok
			}
			if j >= len(out) {
				makeRoom(1)
			}
			out[j] = byte(s)
			j++
			left--
			continue
		}
		if s == 256 {
			return ok
		}
		s -= 257
		if s >= 29 {
			return false
		}
		length := int(lenBase[s])
		if nbits < 15+13+5 {
			refill()
		}
		if x := uint(lenExtra[s]); x > 0 {
			if nbits < x {
				return false
			}
			length += int(bitsv & (1<<x - 1))
			bitsv >>= x
			nbits -= x
		}
		in.bits, in.nbits = bitsv, nbits
		d, ok2 := in.sym(dist)
		bitsv, nbits = in.bits, in.nbits
		if !ok2 || d >= 30 {
			return false
		}
		distance := int(distBase[d])
		if x := uint(distExtra[d]); x > 0 {
			if nbits < x {
				refill()
				if nbits < x {
					return false
				}
			}
			distance += int(bitsv & (1<<x - 1))
			bitsv >>= x
			nbits -= x
		}
		// compress/flate: the distance must lie within the dictionary
		// and the output so far, at most 32 KiB back.
		if int64(distance) > min(int64(histMax), int64(dictLen)+done+int64(j-start)) {
			return false
		}
		if int64(length) > left {
			length = int(max(left, 0))
			res.limited = true
		}
		if j+length > len(out) {
			makeRoom(length)
		}
		src := j - distance
		if distance >= length {
			copy(out[j:j+length], out[src:src+length])
		} else {
			for k := 0; k < length; k++ {
				out[j+k] = out[src+k]
			}
		}
		j += length
		left -= int64(length)
		if res.limited {
			return ok
		}
	}
}
