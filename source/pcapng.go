package source

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// pcapng block types (pcapng specification §4, Appendix A).
const (
	blockIDB = 0x00000001
	blockPB  = 0x00000002 // obsolete Packet Block
	blockSPB = 0x00000003
	blockEPB = 0x00000006
)

// ngIface is what a pcapng Interface Description Block says that packets
// need: a few bytes each, so that the interfaces of a section stay cheap.
type ngIface struct {
	link    layers.LinkType
	snaplen uint32
	units   uint64 // timestamp units per second
	offset  int64  // if_tsoffset: seconds added to every timestamp
}

// ngReader reads the blocks of a pcapng stream. Every block length is
// checked before the block is read: against the smallest block, 4-byte
// alignment, maxBlock for the blocks parsed whole, what is left of a
// regular file, and the copy of the length at the end of the block.
// A block that fails a check stops the reading with an error that names
// it; the packets before it have been delivered.
type ngReader struct {
	f      *file
	order  binary.ByteOrder
	ifaces []ngIface
}

// firstSection reads the section header at the start of the file.
func (r *ngReader) firstSection() error {
	err := r.section()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if e, ok := err.(cutShort); ok && e.detail == "" {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// section reads a Section Header Block: its byte order, length and version.
func (r *ngReader) section() error {
	f := r.f
	h, err := f.peek(12)
	if err != nil {
		return noEOF(err)
	}
	switch m := binary.LittleEndian.Uint32(h[8:12]); m {
	case byteOrderMagic:
		r.order = binary.LittleEndian
	case 0x4d3c2b1a:
		r.order = binary.BigEndian
	default:
		return fmt.Errorf("section header: byte order magic %08x is neither 1a2b3c4d nor 4d3c2b1a: %w", m, errDamaged)
	}
	b, err := r.whole(h, 28)
	if err != nil {
		return fmt.Errorf("section header: %w", err)
	}
	if major, minor := r.order.Uint16(b[12:14]), r.order.Uint16(b[14:16]); major != 1 {
		return fmt.Errorf("section header: pcapng version %d.%d is not supported (only 1.x)", major, minor)
	}
	r.ifaces = r.ifaces[:0]
	f.br.Discard(len(b))
	return nil
}

// checkLength checks the length of a block (header h) of at least min
// bytes.
func (r *ngReader) checkLength(h []byte, min uint32) (uint32, error) {
	n := r.order.Uint32(h[4:8])
	switch {
	case n < min:
		return 0, fmt.Errorf("block length %d is less than the %d bytes this block type needs: %w", n, min, errDamaged)
	case n%4 != 0:
		return 0, fmt.Errorf("block length %d is not a multiple of 4: %w", n, errDamaged)
	}
	if left := r.f.left(int64(n)); left >= 0 && int64(n) > left {
		return 0, cutShort{fmt.Sprintf("block claims %d bytes, %d are left", n, left)}
	}
	return n, nil
}

// whole returns the block whose header is h, of at least min bytes and at
// most maxBlock, in place in the read buffer (valid until the next read),
// after checking its trailing length.
func (r *ngReader) whole(h []byte, min uint32) ([]byte, error) {
	b, err := r.block(h, min)
	if err != nil {
		return nil, err
	}
	if err := r.trailer(b[len(b)-4:], uint32(len(b))); err != nil {
		return nil, err
	}
	return b, nil
}

// block is whole without the check of the trailing length, for a block
// whose own fields make claims worth naming first.
func (r *ngReader) block(h []byte, min uint32) ([]byte, error) {
	n, err := r.checkLength(h, min)
	if err != nil {
		return nil, err
	}
	if n > maxBlock {
		return nil, fmt.Errorf("block claims %d bytes, more than the %d a packet, section or interface block may have: %w", n, maxBlock, errDamaged)
	}
	b, err := r.f.peek(int(n))
	if err != nil {
		return nil, noEOF(err)
	}
	return b, nil
}

// trailer checks the copy of the block length at the end of a block.
func (r *ngReader) trailer(t []byte, n uint32) error {
	if end := r.order.Uint32(t); end != n {
		return fmt.Errorf("block length %d at its start but %d at its end: %w", n, end, errDamaged)
	}
	return nil
}

// next returns the next packet, reading the blocks before it.
func (r *ngReader) next() (Packet, error) {
	f := r.f
	for {
		off := f.offset()
		h, err := f.peek(8)
		if err == io.EOF {
			return Packet{}, io.EOF
		}
		if err != nil {
			return Packet{}, f.wrap("block", off, err)
		}
		typ := r.order.Uint32(h[0:4])
		switch typ {
		case blockSHB:
			if err := r.section(); err != nil {
				return Packet{}, f.wrap("block", off, err)
			}
		case blockIDB:
			if err := r.iface(h); err != nil {
				return Packet{}, f.wrap("interface block", off, err)
			}
		case blockEPB, blockPB, blockSPB:
			p, err := r.packet(typ, h)
			if err != nil {
				return Packet{}, f.wrap("record", off, err)
			}
			return p, nil
		default:
			if err := r.skip(typ, h); err != nil {
				return Packet{}, f.wrap("block", off, err)
			}
		}
	}
}

// iface reads an Interface Description Block.
func (r *ngReader) iface(h []byte) error {
	b, err := r.whole(h, 20)
	if err != nil {
		return err
	}
	if len(r.ifaces) >= MaxInterfaces {
		return fmt.Errorf("more than %d interfaces in one section: %w", MaxInterfaces, errDamaged)
	}
	in := ngIface{
		link:    layers.LinkType(r.order.Uint16(b[8:10])),
		snaplen: r.order.Uint32(b[12:16]),
		units:   1e6,
	}
	opts := b[16 : len(b)-4]
	for len(opts) >= 4 {
		code, n := r.order.Uint16(opts[0:2]), int(r.order.Uint16(opts[2:4]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == 9 && n >= 1: // if_tsresol
			e := v[0] & 0x7f
			if v[0]&0x80 != 0 {
				if e > 63 {
					return fmt.Errorf("timestamp resolution 2^-%d is not supported: %w", e, errDamaged)
				}
				in.units = 1 << e
			} else {
				if e > 19 {
					return fmt.Errorf("timestamp resolution 10^-%d is not supported: %w", e, errDamaged)
				}
				in.units = 1
				for range e {
					in.units *= 10
				}
			}
		case code == 14 && n >= 8: // if_tsoffset
			in.offset = int64(r.order.Uint64(v))
		}
		opts = opts[4+(n+3)&^3:]
	}
	r.ifaces = append(r.ifaces, in)
	r.f.br.Discard(len(b))
	return nil
}

// time converts a timestamp of interface in.
func (in *ngIface) time(ts uint64) time.Time {
	sec, frac := ts/in.units, ts%in.units
	hi, lo := bits.Mul64(frac, 1e9)
	ns, _ := bits.Div64(hi, lo, in.units)
	return time.Unix(int64(sec)+in.offset, int64(ns)).UTC()
}

// packet reads an Enhanced, Simple or (obsolete) Packet Block.
func (r *ngReader) packet(typ uint32, h []byte) (Packet, error) {
	least := uint32(32)
	if typ == blockSPB {
		least = 16
	}
	// The captured length is checked before the trailer: a block that
	// lies about it is named by that claim.
	b, err := r.block(h, least)
	if err != nil {
		return Packet{}, err
	}
	var (
		id              int
		capLen, origLen uint32
		ts              uint64
		data            = b[:len(b)-4]
	)
	switch typ {
	case blockSPB:
		id = 0
		origLen = r.order.Uint32(b[8:12])
		data = data[12:]
	case blockEPB:
		id = int(r.order.Uint32(b[8:12]))
	case blockPB:
		id = int(r.order.Uint16(b[8:10]))
	}
	if id >= len(r.ifaces) {
		return Packet{}, fmt.Errorf("packet of interface %d, but the section describes %d interfaces: %w", id, len(r.ifaces), errDamaged)
	}
	in := &r.ifaces[id]
	var t time.Time
	if typ == blockSPB {
		capLen = min32(origLen, uint32(len(data)))
		if in.snaplen != 0 {
			capLen = min32(capLen, in.snaplen)
		}
	} else {
		ts = uint64(r.order.Uint32(b[12:16]))<<32 | uint64(r.order.Uint32(b[16:20]))
		capLen, origLen = r.order.Uint32(b[20:24]), r.order.Uint32(b[24:28])
		data = data[28:]
		t = in.time(ts)
	}
	if err := r.f.checkCapLen(capLen, in.snaplen); err != nil {
		return Packet{}, err
	}
	if int64(capLen) > int64(len(data)) {
		return Packet{}, fmt.Errorf("record claims %d bytes, but its block of %d bytes holds at most %d: %w", capLen, len(b), len(data), errDamaged)
	}
	if err := r.trailer(b[len(b)-4:], uint32(len(b))); err != nil {
		return Packet{}, err
	}
	r.f.br.Discard(len(b))
	return Packet{Data: data[:capLen], Time: t, CapLen: int(capLen), Len: int(origLen), LinkType: in.link}, nil
}

// skip skips a block wscap does not parse, collecting the key log of a
// TLS Decryption Secrets Block on the way. It never holds more of the
// block than maxSecretsBlock.
func (r *ngReader) skip(typ uint32, h []byte) error {
	n, err := r.checkLength(h, 12)
	if err != nil {
		return err
	}
	f := r.f
	f.br.Discard(8)
	body := int64(n) - 12
	if typ == blockDSB && body <= maxSecretsBlock {
		var b bytes.Buffer
		if _, err := io.CopyN(&b, f.br, body); err != nil {
			return noEOF(err)
		}
		f.secretsBlock(r.order, b.Bytes())
	} else if _, err := f.br.Discard(int(body)); err != nil {
		return noEOF(err)
	}
	t, err := f.peek(4)
	if err != nil {
		return noEOF(err)
	}
	if err := r.trailer(t, n); err != nil {
		return err
	}
	f.br.Discard(4)
	return nil
}

func min32(a, b uint32) uint32 { return min(a, b) }
