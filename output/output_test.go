package output

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first few lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 5; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
			shown++
		}
	}
	return b.String()
}

// render runs evs through a renderer, split into batches like a live run.
func render(t *testing.T, newR func(*bytes.Buffer) Renderer, evs []decode.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	r := newR(&buf)
	r.SetEpoch(t0)
	for i := 0; i < len(evs); i += 3 {
		if err := r.Write(evs[i:min(i+3, len(evs))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTextGolden(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	tests := []struct {
		name string
		opt  Options
	}{
		{"timeline", Options{Timeline: true}},
		{"timeline-summary", Options{Timeline: true, Summary: true}},
		{"summary-only", Options{Summary: true}},
		{"verbose", Options{Timeline: true, Verbose: true}},
		{"hex", Options{Timeline: true, Hex: true}},
		{"absolute", Options{Timeline: true, Time: TimeAbsolute}},
		{"delta", Options{Timeline: true, Time: TimeDelta}},
		{"width80", Options{Timeline: true, Width: 80}},
		{"frames", Options{Timeline: true, View: ViewFrames}},
		{"messages", Options{Timeline: true, View: ViewMessages}},
		{"verbose-pretty", Options{Timeline: true, Verbose: true, Pretty: true}},
		{"follow", Options{Timeline: true, Follow: &Follow{All: true}}},
		{"follow-pretty", Options{Timeline: true, Follow: &Follow{Conns: []int{1}}, Pretty: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, func(b *bytes.Buffer) Renderer { return NewText(b, tt.opt) }, sampleEvents())
			checkGolden(t, "text-"+tt.name+".golden", got)
			if tt.opt.Width > 0 {
				for i, line := range strings.Split(string(got), "\n") {
					if n := len([]rune(line)); n > tt.opt.Width && !strings.HasPrefix(line, "#") {
						t.Errorf("line %d is %d columns wide (> %d): %q", i+1, n, tt.opt.Width, line)
					}
				}
			}
			if tt.opt.Follow != nil {
				// The --follow view shows payloads as they are,
				// indented, under lines that are ASCII.
				var heads []string
				for _, line := range strings.Split(string(got), "\n") {
					if !strings.HasPrefix(line, indent) {
						heads = append(heads, line)
					}
				}
				got = []byte(strings.Join(heads, "\n"))
			}
			checkASCII(t, got)
		})
	}
}

// checkASCII checks that every byte outside ASCII is in a quoted payload
// preview or in a close reason (payload text), never in a structural part.
func checkASCII(t *testing.T, out []byte) {
	t.Helper()
	for i, line := range strings.Split(string(out), "\n") {
		q := strings.IndexByte(line, '"')
		head := line
		if q >= 0 {
			head = line[:q]
		}
		for _, c := range []byte(head) {
			if c >= 0x80 || (c < 0x20 && c != '\t') {
				t.Errorf("line %d has a non-ASCII byte outside a preview: %q", i+1, line)
				break
			}
		}
	}
}

func TestJSONGolden(t *testing.T) {
	got := render(t, func(b *bytes.Buffer) Renderer { return NewJSON(b, Options{Summary: true}) }, sampleEvents())
	checkGolden(t, "json.golden", got)
}

func TestTextEmpty(t *testing.T) {
	for _, opt := range []Options{{Timeline: true}, {Timeline: true, Summary: true}} {
		var buf bytes.Buffer
		r := NewText(&buf, opt)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		want := ""
		if opt.Summary {
			want = "(no WebSocket connections)\n"
		}
		if buf.String() != want {
			t.Errorf("%+v: got %q, want %q", opt, buf.String(), want)
		}
	}
}

// TestEpochDefault checks that without SetEpoch the first event is time 0.
func TestEpochDefault(t *testing.T) {
	var buf bytes.Buffer
	r := NewText(&buf, Options{Timeline: true})
	evs := sampleEvents()[2:3]
	if err := r.Write(evs); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if !strings.Contains(buf.String(), " 0.000000 ") {
		t.Errorf("first row is not at time 0:\n%s", buf.String())
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	return 0, os.ErrClosed
}

func TestWriteError(t *testing.T) {
	for name, r := range map[string]Renderer{
		"text": NewText(&failWriter{}, Options{Timeline: true, Summary: true}),
		"json": NewJSON(&failWriter{}, Options{Summary: true}),
	} {
		r.Write(sampleEvents())
		if err := r.Close(); err == nil {
			t.Errorf("%s: Close returned no error on a failing writer", name)
		}
	}
}

func TestParseTimeFormat(t *testing.T) {
	tests := []struct {
		in   string
		want TimeFormat
		ok   bool
	}{
		{"relative", TimeRelative, true}, {"r", TimeRelative, true},
		{"absolute", TimeAbsolute, true}, {"a", TimeAbsolute, true},
		{"delta", TimeDelta, true}, {"d", TimeDelta, true},
		{"", TimeRelative, false}, {"Absolute", TimeRelative, false}, {"x", TimeRelative, false},
	}
	for _, tt := range tests {
		got, ok := ParseTimeFormat(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseTimeFormat(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok {
			if back, _ := ParseTimeFormat(got.String()); back != got {
				t.Errorf("%v.String() does not parse back", got)
			}
		}
	}
}

func TestCloseCodeName(t *testing.T) {
	tests := []struct {
		code uint16
		want string
	}{
		{0, "invalid"}, {999, "invalid"},
		{1000, "normal closure"}, {1001, "going away"}, {1002, "protocol error"},
		{1003, "unsupported data"}, {1004, "reserved"}, {1005, "no status received"},
		{1006, "abnormal closure"}, {1007, "invalid frame payload data"},
		{1008, "policy violation"}, {1009, "message too big"}, {1010, "mandatory extension"},
		{1011, "internal error"}, {1012, "service restart"}, {1013, "try again later"},
		{1014, "bad gateway"}, {1015, "TLS handshake"},
		{1016, "unassigned"}, {2999, "unassigned"},
		{3000, "registered"}, {3999, "registered"},
		{4000, "private"}, {4999, "private"},
		{5000, "invalid"}, {65535, "invalid"},
	}
	for _, tt := range tests {
		if got := CloseCodeName(tt.code); got != tt.want {
			t.Errorf("CloseCodeName(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

// TestOddEvents feeds zero and absurd events through every mode: no
// panic, and the JSON stays valid.
func TestOddEvents(t *testing.T) {
	var evs []decode.Event
	for k := decode.KindConn; k <= decode.KindEnd+1; k++ {
		evs = append(evs, decode.Event{Kind: k, Conn: 7})
	}
	evs = append(evs,
		decode.Event{Kind: decode.KindFrame, Conn: 8, Packet: -1, Frame: decode.Frame{
			Header: decode.Header{Rsv: 0xFF, Opcode: 0x1F, PayloadLen: 1<<64 - 1, LenBits: 0, Len: 99},
			Offset: -5, Lost: 1<<64 - 1, Payload: []byte("\xff\x00")}},
		decode.Event{Kind: decode.KindFrame, Conn: 8, From: decode.RoleClient, Frame: decode.Frame{
			Header: decode.Header{Opcode: decode.OpClose, PayloadLen: 3}, Close: decode.Close{Reason: []byte("\xff")}}},
		decode.Event{Kind: decode.KindMessage, Conn: 8, From: 9, Message: decode.Message{Opcode: 0x7, Len: 5}},
		decode.Event{Kind: decode.KindGap, Conn: 8, Gap: -3},
		decode.Event{Kind: decode.KindEnd, Conn: 8, End: decode.End{Bytes: -1}},
		decode.Event{Kind: decode.KindAnomaly, Conn: 8, Anomaly: decode.Anomaly{Severity: 9, Code: "x\xff\"y"}},
	)
	opts := []Options{
		{Timeline: true, Summary: true, Verbose: true, Hex: true, Width: 1},
		{Timeline: true, Time: TimeAbsolute, Width: 40},
		{Timeline: true, Time: TimeDelta},
	}
	for _, opt := range opts {
		render(t, func(b *bytes.Buffer) Renderer { return NewText(b, opt) }, evs)
	}
	out := render(t, func(b *bytes.Buffer) Renderer { return NewJSON(b, Options{Summary: true}) }, evs)
	for i, line := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		if !json.Valid(line) {
			t.Errorf("line %d is not valid JSON: %s", i+1, line)
		}
	}
}

// Without a summary, a connection's counters are dropped once both
// directions ended (long live captures keep no state per past connection);
// with one, they are kept for it.
func TestForgetEndedConnections(t *testing.T) {
	for _, json := range []bool{false, true} {
		for _, summary := range []bool{false, true} {
			var r Renderer
			var conns *tracker
			if json {
				j := newJSON(io.Discard, Options{Summary: summary})
				r, conns = j, &j.conns
			} else {
				x := newText(io.Discard, Options{Timeline: true, Summary: summary})
				r, conns = x, &x.conns
			}
			var evs []decode.Event
			for id := 1; id <= 100; id++ {
				evs = append(evs,
					decode.Event{Kind: decode.KindEnd, Conn: id, From: decode.RoleClient},
					decode.Event{Kind: decode.KindEnd, Conn: id, From: decode.RoleServer})
			}
			if err := r.Write(evs); err != nil {
				t.Fatal(err)
			}
			want := 0
			if summary {
				want = 100
			}
			if conns.n != want {
				t.Errorf("json=%v summary=%v: %d connections tracked, want %d", json, summary, conns.n, want)
			}
		}
	}
}
