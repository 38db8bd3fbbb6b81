package flowgen

import (
	"bytes"
	"compress/flate"
)

// Deflater compresses the messages of one direction for permessage-deflate
// (RFC 7692 §7.2.1): each message is deflated, flushed with a sync flush,
// and the trailing 00 00 ff ff is removed. With context takeover the LZ77
// window carries over from message to message; without it every message
// starts afresh. The window is always 32 KiB (compress/flate has no other),
// which a peer that negotiated max_window_bits 15 expects.
//
// compress/flate's output has been stable across Go releases for years,
// but it is a property of the Go version: the fixtures built with it are
// checked against the toolchain that runs the tests.
type Deflater struct {
	// NoContextTakeover resets the compressor before every message.
	NoContextTakeover bool

	w   *flate.Writer
	buf bytes.Buffer
}

// NewDeflater returns a compressor for one direction.
func NewDeflater(noContextTakeover bool) *Deflater {
	return &Deflater{NoContextTakeover: noContextTakeover}
}

// Compress returns the compressed payload of one message (or, for
// x-webkit-deflate-frame, of one frame). An empty message compresses to
// the single byte 00.
func (d *Deflater) Compress(msg []byte) []byte {
	d.buf.Reset()
	if d.w == nil {
		// Only invalid levels make NewWriter fail.
		d.w, _ = flate.NewWriter(&d.buf, flate.DefaultCompression)
	} else if d.NoContextTakeover {
		d.w.Reset(&d.buf)
	}
	d.w.Write(msg) // writes to a bytes.Buffer cannot fail
	d.w.Flush()
	out := bytes.TrimSuffix(d.buf.Bytes(), []byte{0, 0, 0xff, 0xff})
	return bytes.Clone(out)
}

// CompressedMessage compresses msg with d and fragments the compressed
// bytes like [Fragment]: RSV1 is set on the first frame only (RFC 7692
// §6.1).
func CompressedMessage(d *Deflater, op Opcode, msg []byte, sizes ...int) []Frame {
	fs := Fragment(op, d.Compress(msg), sizes...)
	fs[0].Rsv |= Rsv1
	return fs
}
