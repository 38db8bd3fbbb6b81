package output

import (
	"io"
	"testing"

	"github.com/wscap/wscap/decode"
)

// steadyFrames are typical frame and message events of one connection
// whose conn and handshake events were already rendered.
func steadyFrames() (warmup, frames []decode.Event) {
	evs := sampleEvents()
	warmup = evs[:2] // conn + handshake of connection 1
	for _, ev := range evs {
		if ev.Conn == 1 && (ev.Kind == decode.KindFrame || ev.Kind == decode.KindMessage) {
			frames = append(frames, ev)
		}
	}
	return warmup, frames
}

// frameEvent is one masked 120-byte text frame, the common case.
func frameEvent() decode.Event {
	evs := sampleEvents()
	ev := evs[2]
	payload := []byte("{\"type\":\"trade\",\"symbol\":\"BTC-USD\",\"price\":64123.5,\"size\":0.0123,\"side\":\"buy\",\"ts\":1714557600123456,\"id\":123456789}")
	ev.Frame.Payload = payload
	ev.Frame.PayloadLen = uint64(len(payload))
	ev.Frame.Seen = uint64(len(payload))
	return ev
}

func benchRenderer(b *testing.B, r Renderer) {
	warm, _ := steadyFrames()
	if err := r.Write(warm); err != nil {
		b.Fatal(err)
	}
	evs := []decode.Event{frameEvent()}
	b.ReportAllocs()
	b.SetBytes(int64(evs[0].Frame.Len) + int64(evs[0].Frame.PayloadLen))
	for b.Loop() {
		if err := r.Write(evs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONFrame(b *testing.B) {
	benchRenderer(b, NewJSON(io.Discard, Options{Summary: true}))
}

func BenchmarkTextFrame(b *testing.B) {
	benchRenderer(b, NewText(io.Discard, Options{Timeline: true, Summary: true, Width: 120}))
}

func BenchmarkTextFrameVerboseHex(b *testing.B) {
	benchRenderer(b, NewText(io.Discard, Options{Timeline: true, Verbose: true, Hex: true}))
}

// TestSteadyStateAllocs requires zero allocations per frame and message
// event once a connection is known, in every output mode.
func TestSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	warm, frames := steadyFrames()
	modes := map[string]func() Renderer{
		"json":        func() Renderer { return NewJSON(io.Discard, Options{Summary: true}) },
		"text":        func() Renderer { return NewText(io.Discard, Options{Timeline: true, Summary: true}) },
		"text-width":  func() Renderer { return NewText(io.Discard, Options{Timeline: true, Width: 80}) },
		"text-abs":    func() Renderer { return NewText(io.Discard, Options{Timeline: true, Time: TimeAbsolute}) },
		"text-delta":  func() Renderer { return NewText(io.Discard, Options{Timeline: true, Time: TimeDelta}) },
		"text-V-x":    func() Renderer { return NewText(io.Discard, Options{Timeline: true, Verbose: true, Hex: true}) },
		"summaryonly": func() Renderer { return NewText(io.Discard, Options{Summary: true}) },
	}
	for name, newR := range modes {
		r := newR()
		if err := r.Write(warm); err != nil {
			t.Fatal(err)
		}
		r.Write(frames) // grow the line buffers once
		for i := range frames {
			ev := frames[i : i+1]
			if n := testing.AllocsPerRun(50, func() { r.Write(ev) }); n != 0 {
				t.Errorf("%s: %v allocations rendering %v %v event %d", name, n, ev[0].Kind, ev[0].Frame.Opcode, i)
			}
		}
	}
}

// BenchmarkJSONMessage renders a 64 KiB text message (escaping dominates).
func BenchmarkJSONMessage(b *testing.B) {
	r := NewJSON(io.Discard, Options{})
	warm, _ := steadyFrames()
	r.Write(warm)
	var payload []byte
	for len(payload) < 64<<10 {
		payload = append(payload, `{"k":"value \u00e9 caf`+"\u00e9"+` 12345","n":[1,2,3]}`...)
	}
	evs := []decode.Event{{Kind: decode.KindMessage, Conn: 1, From: decode.RoleServer, Message: decode.Message{
		N: 1, Opcode: decode.OpText, Frames: 1, Len: uint64(len(payload)), Payload: payload, UTF8Valid: true,
	}}}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		r.Write(evs)
	}
}
