package decode

import (
	"bytes"
	"compress/flate"
	"slices"
	"strings"
	"testing"
)

// deflateScript builds a permessage-deflate conversation from the server
// (takeover per ext) with compressed, fragmented and plain messages.
func deflateScript(ext string, takeover bool, msgs []string) []step {
	d := newDeflater(takeover)
	steps := []step{c2s(str(testReqDeflate)), s2c(str(respWithExt(ext)))}
	for i, m := range msgs {
		switch i % 4 {
		case 0, 3: // compressed, one frame
			steps = append(steps, s2c(fb{fin: true, rsv: 4, op: OpText, payload: d.compress(m)}.bytes()))
		case 1: // compressed and fragmented in 3 frames, RSV1 on the first only
			c := d.compress(m)
			a, b := len(c)/3, 2*len(c)/3
			steps = append(steps, s2c(
				fb{fin: false, rsv: 4, op: OpText, payload: c[:a]}.bytes(),
				sf(true, OpPing, "between"),
				fb{fin: false, op: OpContinuation, payload: c[a:b]}.bytes(),
				fb{fin: true, op: OpContinuation, payload: c[b:]}.bytes()))
		case 2: // not compressed
			steps = append(steps, s2c(sf(true, OpText, m)))
		}
	}
	return steps
}

func TestDeflate(t *testing.T) {
	msgs := []string{
		`{"type":"hello","text":"héllo wörld"}`,
		strings.Repeat(`{"type":"hello","text":"héllo wörld"}`, 20),
		"plain in between",
		`{"type":"hello","text":"héllo wörld"} again`,
		"", // empty compressed message
		strings.Repeat("abcdefghij", 5000),
		"x",
		`{"type":"bye"}`,
	}
	for _, tc := range []struct {
		name, ext string
		takeover  bool
	}{
		{"takeover", "permessage-deflate", true},
		{"server no takeover", "permessage-deflate; server_no_context_takeover", false},
		{"client no takeover only", "permessage-deflate; client_no_context_takeover", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := deflateScript(tc.ext, tc.takeover, msgs)
			for sn, sp := range map[string]func(int) []int{"whole": nil, "rand": randomSplit(3)} {
				evs := run(Options{}, script, sp)
				assertNoAnomalies(t, evs)
				got := kinds(evs, KindMessage)
				if len(got) != len(msgs) {
					t.Fatalf("%s: %d messages\n%s", sn, len(got), describe(evs))
				}
				for i, m := range got {
					if string(m.Message.Payload) != msgs[i] || !m.Message.UTF8Valid || m.Message.DecodeError != "" {
						t.Errorf("%s: message %d = %q (err %q)", sn, i, trim(m.Message.Payload), m.Message.DecodeError)
					}
					if wantComp := i%4 != 2; m.Message.Compressed != wantComp {
						t.Errorf("message %d compressed=%v", i, m.Message.Compressed)
					}
				}
			}
		})
	}
}

func trim(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

// windowExceededSteps: the server agreed to server_max_window_bits=8 (256
// bytes) but refers back 1000 bytes into the previous message. The decoder
// keeps only the negotiated window (as a conforming receiver does), so the
// second message is shown raw.
func windowExceededSteps() []step {
	d := newDeflater(true)
	// The marker is ~1000 bytes back when the second message refers to it.
	first := "UNIQUE-MARKER-abcdefghijklmnopqrstuvwxyz" + strings.Repeat("0123456789", 100)
	steps := []step{
		c2s(str(strings.Replace(testReqDeflate, "client_max_window_bits", "server_max_window_bits=8", 1))),
		s2c(str(respWithExt("permessage-deflate; server_max_window_bits=8"))),
		s2c(fb{fin: true, rsv: 4, op: OpText, payload: d.compress(first)}.bytes()),
		s2c(fb{fin: true, rsv: 4, op: OpText, payload: d.compress("UNIQUE-MARKER-abcdefghijklmnopqrstuvwxyz")}.bytes()),
	}
	return steps
}

func TestDeflateWindowExceeded(t *testing.T) {
	evs := run(Options{}, windowExceededSteps(), nil)
	if !hasCode(evs, CodeInflateWindowExceeded) {
		t.Fatalf("no window anomaly\n%s", describe(evs))
	}
	msgs := kinds(evs, KindMessage)
	if len(msgs) != 2 || !strings.HasPrefix(string(msgs[0].Message.Payload), "UNIQUE-MARKER-") ||
		!strings.Contains(msgs[1].Message.DecodeError, "negotiated window") || hasCode(evs, CodeInflateFailed) {
		t.Errorf("messages\n%s", describe(evs))
	}
}

func TestDeflateFrame(t *testing.T) {
	d := newDeflater(true)
	steps := []step{
		c2s(str(strings.Replace(testReqDeflate, "permessage-deflate; client_max_window_bits", "x-webkit-deflate-frame", 1))),
		s2c(str(respWithExt("x-webkit-deflate-frame"))),
		s2c(fb{fin: false, rsv: 4, op: OpText, payload: d.compress("per-frame ")}.bytes(),
			fb{fin: true, rsv: 4, op: OpContinuation, payload: d.compress("compression")}.bytes()),
		s2c(fb{fin: true, rsv: 4, op: OpText, payload: d.compress("per-frame again")}.bytes()),
	}
	evs := run(Options{}, steps, nil)
	assertNoAnomalies(t, evs)
	msgs := kinds(evs, KindMessage)
	if len(msgs) != 2 || string(msgs[0].Message.Payload) != "per-frame compression" || string(msgs[1].Message.Payload) != "per-frame again" {
		t.Errorf("%s", describe(evs))
	}
}

func TestInflateBombBounded(t *testing.T) {
	bomb := newDeflater(true).compress(strings.Repeat("\x00", 50<<20))
	steps := []step{c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate"))),
		s2c(fb{fin: true, rsv: 4, op: OpBinary, payload: bomb}.bytes())}
	evs := run(Options{MaxInflate: 1 << 20, MaxPayload: 1000}, steps, nil)
	m := kinds(evs, KindMessage)
	if len(m) != 1 || !m[0].Message.Truncated || len(m[0].Message.Payload) != 1000 || m[0].Message.Len != 1<<20 {
		t.Fatalf("%s", describe(evs))
	}
	if !hasCode(evs, CodeInflateLimit) {
		t.Error("no inflate_limit")
	}
}

func TestMidstreamNoContext(t *testing.T) {
	// eririmba-socket.io-sample: c1 84 961f7d3d b43f723d, history missing.
	steps := []step{c2s(dehex("c1 84 961f7d3d b43f723d"))}
	evs := run(Options{DecodeAs: true}, steps, nil)
	msgs := kinds(evs, KindMessage)
	if len(msgs) != 1 || msgs[0].Message.DecodeError == "" || !bytes.Equal(msgs[0].Message.Payload, dehex("22200f00")) {
		t.Fatalf("%s", describe(evs))
	}
	if c := kinds(evs, KindConn); len(c) != 1 || !c[0].Info.Midstream || c[0].Info.ClientSide != Side0 {
		t.Errorf("conn %s", describe(c))
	}
	// A compressed message with no back-references inflates fine mid-stream.
	ok := newDeflater(false).compress("self-contained")
	evs = run(Options{DecodeAs: true}, []step{s2c(fb{fin: true, rsv: 4, op: OpText, payload: ok}.bytes())}, nil)
	if m := kinds(evs, KindMessage); len(m) != 1 || string(m[0].Message.Payload) != "self-contained" {
		t.Errorf("%s", describe(evs))
	}
}

// A sender may end a message with a final block (BFINAL, as zlib's
// Z_FINISH does) instead of a sync flush: the stream then ends where that
// block ends, usually not on a byte boundary, and the next message is a
// new DEFLATE stream (with context takeover, it may refer to the previous
// messages as its dictionary). RFC 7692 §7.2.3.3.
func TestDeflateFinalBlockMessages(t *testing.T) {
	first := `{"type":"hello","text":"a final block, not a sync flush"}`
	second := `{"type":"hello","text":"a final block again, with the window"}`
	var b1 bytes.Buffer
	w, _ := flate.NewWriter(&b1, 6)
	w.Write([]byte(first))
	w.Close() // BFINAL; not byte-aligned in general
	var b2 bytes.Buffer
	w2, _ := flate.NewWriterDict(&b2, 6, []byte(first))
	w2.Write([]byte(second))
	w2.Close()
	steps := []step{
		c2s(str(testReqDeflate)), s2c(str(respWithExt("permessage-deflate"))),
		s2c(fb{fin: true, rsv: 4, op: OpText, payload: b1.Bytes()}.bytes()),
		s2c(fb{fin: true, rsv: 4, op: OpText, payload: b2.Bytes()}.bytes()),
		s2c(fb{fin: true, rsv: 4, op: OpText, payload: newDeflater(false).compress("sync-flushed after them")}.bytes()),
	}
	for _, split := range []func(int) []int{nil, bytewise} {
		evs := run(Options{}, steps, split)
		assertNoAnomalies(t, evs)
		m := kinds(evs, KindMessage)
		if len(m) != 3 || string(m[0].Message.Payload) != first || string(m[1].Message.Payload) != second || string(m[2].Message.Payload) != "sync-flushed after them" {
			t.Fatalf("%s", describe(evs))
		}
	}
}

// Each inflate failure is an anomaly with its cause (issue 11: after the
// first failure, later ones were blamed on "history before the capture"
// and reported at most once, even under no_context_takeover).
func TestInflateFailureCauses(t *testing.T) {
	corrupt := []byte{0xff, 0xff, 0xff} // block type 3: invalid
	srv := func(p []byte) step { return s2c(fb{fin: true, rsv: 4, op: OpText, payload: p}.bytes()) }
	const msg = `{"type":"hello","text":"the same text, again and again"}`
	tk := newDeflater(true)
	tk1, tk2, tk3 := tk.compress(msg), tk.compress(msg), tk.compress(msg) // 2 and 3 refer back
	noTakeoverExt := "permessage-deflate; server_no_context_takeover"
	tests := []struct {
		name  string
		ext   string
		msgs  [][]byte
		want  []Code
		cause []string // in each message's DecodeError ("" if it inflates)
	}{
		{"no takeover: each corrupt message", noTakeoverExt, [][]byte{corrupt, corrupt, corrupt},
			[]Code{CodeInflateFailed, CodeInflateFailed, CodeInflateFailed},
			[]string{"inflate: ", "inflate: ", "inflate: "}},
		{"no takeover: references before the message", noTakeoverExt, [][]byte{tk1, tk2, tk3},
			[]Code{CodeInflateFailed, CodeInflateFailed},
			[]string{"", "no_context_takeover", "no_context_takeover"}},
		{"takeover: history lost with a failure", "permessage-deflate", [][]byte{corrupt, tk2, tk3},
			[]Code{CodeInflateFailed, CodeInflateNoContext, CodeInflateNoContext},
			[]string{"inflate: ", "message 1 did not inflate", "message 2 did not inflate"}},
		{"takeover: corrupt after good", "permessage-deflate", [][]byte{tk1, corrupt, corrupt},
			[]Code{CodeInflateFailed, CodeInflateFailed},
			[]string{"", "inflate: ", "inflate: "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps := []step{c2s(str(testReqDeflate)), s2c(str(respWithExt(tc.ext)))}
			for _, m := range tc.msgs {
				steps = append(steps, srv(m))
			}
			evs := run(Options{}, steps, nil)
			if got := codes(evs); !slices.Equal(got, tc.want) {
				t.Errorf("codes %v, want %v\n%s", got, tc.want, describe(evs))
			}
			msgs := kinds(evs, KindMessage)
			for i, m := range msgs {
				if e := m.Message.DecodeError; tc.cause[i] == "" && e != "" || !strings.Contains(e, tc.cause[i]) {
					t.Errorf("message %d: decode error %q, want %q", i+1, e, tc.cause[i])
				}
			}
		})
	}
	// Mid-stream (no handshake): every message that needs the missing
	// history says so.
	steps := []step{srv(tk2), srv(tk3)}
	evs := run(Options{DecodeAs: true}, steps, nil)
	if got := codes(evs); !slices.Equal(got, []Code{CodeInflateNoContext, CodeInflateNoContext}) {
		t.Errorf("mid-stream: codes %v\n%s", got, describe(evs))
	}
}
