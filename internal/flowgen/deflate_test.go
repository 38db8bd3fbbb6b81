package flowgen

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"testing"
)

// inflate decompresses the messages of one direction the way a
// permessage-deflate receiver does (RFC 7692 §7.2.2): append 00 00 ff ff to
// each message and inflate, with one shared stream under context takeover.
func inflate(t *testing.T, msgs [][]byte, takeover bool) []string {
	t.Helper()
	var out []string
	if !takeover {
		for _, m := range msgs {
			out = append(out, inflate(t, [][]byte{m}, true)...)
		}
		return out
	}
	var stream bytes.Buffer
	for _, m := range msgs {
		stream.Write(m)
		stream.Write([]byte{0, 0, 0xff, 0xff})
	}
	// Without a final block the reader ends in io.ErrUnexpectedEOF after
	// delivering everything, so the result is all messages concatenated.
	all, err := io.ReadAll(flate.NewReader(&stream))
	if err != nil && err != io.ErrUnexpectedEOF {
		t.Fatalf("inflate: %v", err)
	}
	return []string{string(all)}
}

func TestDeflaterRoundTrip(t *testing.T) {
	msgs := []string{"Hello, Hello, Hello!", "Hello, Hello, Hello!", "", strings.Repeat("abc", 100)}
	for _, takeover := range []bool{true, false} {
		d := NewDeflater(!takeover)
		var comp [][]byte
		for _, m := range msgs {
			c := d.Compress([]byte(m))
			if bytes.HasSuffix(c, []byte{0, 0, 0xff, 0xff}) {
				t.Errorf("takeover=%v: %q keeps the 00 00 ff ff tail", takeover, m)
			}
			comp = append(comp, c)
		}
		got := strings.Join(inflate(t, comp, takeover), "")
		if want := strings.Join(msgs, ""); got != want {
			t.Errorf("takeover=%v: inflated %q, want %q", takeover, got, want)
		}
		// Every message must also inflate on its own without takeover.
		if !takeover {
			for i, c := range comp {
				if got := inflate(t, [][]byte{c}, true)[0]; got != msgs[i] {
					t.Errorf("message %d alone: %q, want %q", i, got, msgs[i])
				}
			}
		}
		if takeover && len(comp[1]) >= len(comp[0]) {
			t.Errorf("context takeover: repeated message is %d bytes, first %d", len(comp[1]), len(comp[0]))
		}
	}
}

func TestDeflaterEmptyMessage(t *testing.T) {
	if got := NewDeflater(false).Compress(nil); !bytes.Equal(got, []byte{0}) {
		t.Errorf("empty message = % x, want 00 (RFC 7692 §7.2.3.6)", got)
	}
}

func TestCompressedMessageRsv1FirstOnly(t *testing.T) {
	fs := CompressedMessage(NewDeflater(false), OpText, []byte(strings.Repeat("x", 50)), 2, 2)
	if len(fs) != 3 {
		t.Fatalf("%d frames", len(fs))
	}
	for i, f := range fs {
		if want := i == 0; (f.Rsv&Rsv1 != 0) != want {
			t.Errorf("frame %d: RSV1 = %v", i, !want)
		}
	}
}
