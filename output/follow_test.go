package output

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/wscap/wscap/decode"
)

// viewEvents is one connection: a single-frame text message with an
// anomaly on its frame, a fragmented message with a ping between its
// fragments, a close, and the ends.
func viewEvents() []decode.Event {
	var b builder
	C, S, N := decode.RoleClient, decode.RoleServer, decode.RoleNone
	b.add(1, 1, 0, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{
		Client: netip.MustParseAddrPort("10.0.0.2:1000"), Server: netip.MustParseAddrPort("10.0.0.1:80"), Midstream: true}})
	f := frame(true, decode.OpText, false, `{"a":1}`)
	f.Message = 1
	b.add(1, 2, 10, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(1, 2, 10, C, decode.Event{Kind: decode.KindAnomaly, Anomaly: anomaly(decode.CodeClientFrameUnmasked, "a text frame from the client is not masked")})
	b.add(1, 2, 10, C, decode.Event{Kind: decode.KindMessage, Message: textMsg(1, `{"a":1}`)})
	f = frame(false, decode.OpText, false, "one ")
	f.Message = 1
	b.add(1, 3, 20, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(1, 4, 30, S, decode.Event{Kind: decode.KindFrame, Frame: frame(true, decode.OpPing, false, "hb")})
	f = frame(true, decode.OpContinuation, false, "two")
	f.Message = 1
	b.add(1, 5, 40, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	m := textMsg(1, "one two")
	m.Frames = 2
	b.add(1, 5, 40, S, decode.Event{Kind: decode.KindMessage, Message: m})
	f = frame(true, decode.OpClose, true, "\x03\xe8")
	f.Close = decode.Close{HasCode: true, Code: 1000}
	b.add(1, 6, 50, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	b.add(1, 7, 60, S, decode.Event{Kind: decode.KindEnd, End: decode.End{Bytes: 20, Frames: 3, Messages: 1}})
	return b.evs
}

// rows renders evs with opt and returns the timeline rows (legend and
// column header left out), each cut to What, Flags and Info.
func rows(t *testing.T, opt Options, evs []decode.Event) []string {
	t.Helper()
	opt.Timeline = true
	out := render(t, func(b *bytes.Buffer) Renderer { return NewText(b, opt) }, evs)
	var rs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "No.") || strings.HasPrefix(l, "#") {
			continue
		}
		rs = append(rs, strings.Join(strings.Fields(l)[3:], " "))
	}
	return rs
}

func TestViews(t *testing.T) {
	tests := []struct {
		view View
		want []string
	}{
		{ViewDefault, []string{
			`C>S TEXT F.... 7 "{\"a\":1}"`,
			`C>S ANOMALY [error] client_frame_unmasked: a text frame from the client is not masked`,
			`S>C PING F.... 2 "hb"`,
			`S>C TEXT 7 [2 frames] "one two"`,
			`C>S CLOSE F...M 2 1000 (normal closure)`,
			`S>C END 20 capture_end frames=3 messages=1`,
		}},
		{ViewFrames, []string{
			`C>S TEXT F.... 7 "{\"a\":1}"`,
			`C>S ANOMALY [error] client_frame_unmasked: a text frame from the client is not masked`,
			`C>S MSG-TEXT 7 "{\"a\":1}"`,
			`S>C TEXT ..... 4 "one "`,
			`S>C PING F.... 2 "hb"`,
			`S>C CONT F.... 3 "two"`,
			`S>C MSG-TEXT 7 [2 frames] "one two"`,
			`C>S CLOSE F...M 2 1000 (normal closure)`,
			`S>C END 20 capture_end frames=3 messages=1`,
		}},
		{ViewMessages, []string{
			`C>S TEXT F.... 7 "{\"a\":1}"`,
			`C>S ANOMALY [error] client_frame_unmasked: a text frame from the client is not masked`,
			`S>C TEXT 7 [2 frames] "one two"`,
			`C>S CLOSE F...M 2 1000 (normal closure)`,
		}},
	}
	for _, tt := range tests {
		got := rows(t, Options{View: tt.view}, viewEvents())
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("view %d:\n got: %q\nwant: %q", tt.view, got, tt.want)
		}
	}
}

// TestPendingFallback: a frame held for its message prints as a frame
// row when something else comes first (the decoder never does that),
// and one held at the end prints at Close.
func TestPendingFallback(t *testing.T) {
	evs := viewEvents()[:3] // conn, frame, anomaly: no message
	other := evs[1]
	other.Conn = 2
	other.Frame.Payload = []byte("x")
	other.Frame.PayloadLen = 1
	for _, tail := range [][]decode.Event{nil, {other}} {
		got := rows(t, Options{}, append(append([]decode.Event{}, evs...), tail...))
		if len(got) < 2 || got[0] != `C>S TEXT F.... 7 "{\"a\":1}"` || !strings.Contains(got[1], "client_frame_unmasked") {
			t.Errorf("tail %d: got %q", len(tail), got)
		}
	}
}

// repeatedRows returns the data rows of evs's timeline (with opt) that
// repeat another: the same direction, kind, length and Info, flags and
// the MSG- prefix left out.
func repeatedRows(t *testing.T, opt Options, evs []decode.Event) []string {
	seen := map[string]bool{}
	var rep []string
	for _, r := range rows(t, opt, evs) {
		f := strings.Fields(r)
		what := strings.TrimPrefix(f[1], "MSG-")
		if what != "TEXT" && what != "BINARY" {
			continue
		}
		rest := f[2:]
		if len(rest) > 0 && len(rest[0]) == wFlags && strings.Trim(rest[0], "F.123M") == "" {
			rest = rest[1:]
		}
		key := f[0] + " " + what + " " + strings.Join(rest, " ")
		if seen[key] {
			rep = append(rep, r)
		}
		seen[key] = true
	}
	return rep
}

// TestFollowPendingFallback: in --follow, the anomalies held with a
// message's frame show even when no message comes.
func TestFollowPendingFallback(t *testing.T) {
	opt := Options{Follow: &Follow{All: true}}
	out := string(render(t, func(b *bytes.Buffer) Renderer { return NewText(b, opt) }, viewEvents()[:3]))
	if !strings.Contains(out, "client_frame_unmasked") {
		t.Errorf("the held anomaly is lost:\n%s", out)
	}
	out = string(render(t, func(b *bytes.Buffer) Renderer { return NewText(b, opt) }, viewEvents()[:4]))
	if i, j := strings.Index(out, "text, 7 bytes"), strings.Index(out, "client_frame_unmasked"); i < 0 || j < i {
		t.Errorf("the frame's anomaly does not follow its message:\n%s", out)
	}
}

// TestNoRepeatedRows checks that the default timeline prints no data row
// that repeats another, where --frames does.
func TestNoRepeatedRows(t *testing.T) {
	for i, evs := range [][]decode.Event{sampleEvents(), viewEvents()} {
		if rep := repeatedRows(t, Options{}, evs); len(rep) > 0 {
			t.Errorf("capture %d: rows repeat others: %q", i, rep)
		}
		if rep := repeatedRows(t, Options{View: ViewFrames}, evs); len(rep) == 0 {
			t.Errorf("capture %d: --frames has no repeated row: the check cannot fail", i)
		}
	}
}

func TestFollowSelects(t *testing.T) {
	evs := sampleEvents()
	opt := Options{Follow: &Follow{Conns: []int{2}}}
	out := string(render(t, func(b *bytes.Buffer) Renderer { return NewText(b, opt) }, evs))
	if strings.Contains(out, "] #1 ") || !strings.Contains(out, "] #2 ") {
		t.Errorf("--follow 2 shows other connections or none of 2:\n%s", out)
	}
	if strings.HasPrefix(out, "No.") || len(Header(opt)) != 0 {
		t.Errorf("--follow printed the column header")
	}
}

func TestAppendText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "  \n"},
		{"hi", "  hi\n"},
		{"a\nb", "  a\n  b\n"},
		{"a\r\nb\n", "  a\n  b\n\n"},
		{"tab\there \"q\" \\", "  tab\there \"q\" \\\n"},
		{"esc \x1b[31m\r bell\x07 del\x7f", `  esc \x1b[31m\x0d bell\x07 del\x7f` + "\n"},
		{"bad \xff caf\u00e9 \u202e", `  bad \xff café \u202e` + "\n"},
	}
	for _, tt := range tests {
		if got := string(appendText(nil, []byte(tt.in), "  ")); got != tt.want {
			t.Errorf("appendText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrettyJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":[1,2]}`, "{\n  \"a\": [\n    1,\n    2\n  ]\n}"},
		{` [] `, "[]"},
		{`"str"`, ""},
		{`42`, ""},
		{`{"a":`, ""},
		{`not json`, ""},
	}
	for _, tt := range tests {
		if got := string(prettyJSON([]byte(tt.in))); got != tt.want {
			t.Errorf("prettyJSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVerbosePretty(t *testing.T) {
	for _, pretty := range []bool{false, true} {
		opt := Options{Timeline: true, Verbose: true, Pretty: pretty}
		out := string(render(t, func(b *bytes.Buffer) Renderer { return NewText(b, opt) }, viewEvents()))
		want := `    websocket.payload.text: "{\"a\":1}"` + "\n"
		if pretty {
			want = "    websocket.payload.text:\n        {\n          \"a\": 1\n        }\n"
		}
		if !strings.Contains(out, want) {
			t.Errorf("pretty %v: no %q in\n%s", pretty, want, out)
		}
	}
}

// TestFollowNothingSummary: a --follow run that shows nothing prints the
// summary without the blank line that separates it from a view (as the
// pipeline's merger does).
func TestFollowNothingSummary(t *testing.T) {
	opt := Options{Timeline: true, Summary: true, Follow: &Follow{Conns: []int{99}}}
	out := render(t, func(b *bytes.Buffer) Renderer { return NewText(b, opt) }, sampleEvents())
	if len(out) == 0 || out[0] == '\n' {
		t.Errorf("output starts with a blank line:\n%q", out)
	}
}

// FuzzAppendText: whatever the payload, the follow view's text is valid
// UTF-8 with no control character but newline and tab, and every line
// starts with the indent.
func FuzzAppendText(f *testing.F) {
	f.Add([]byte("hello\nworld"))
	f.Add([]byte("\x1b]0;title\x07\r\n\xff\xfe\u202e\u2028"))
	f.Fuzz(func(t *testing.T, p []byte) {
		out := appendText(nil, p, "  ")
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			if line != "" && !strings.HasPrefix(line, "  ") {
				t.Fatalf("line without indent: %q in %q", line, out)
			}
			for _, r := range line {
				if r < 0x20 && r != '\t' || r == 0x7f || !unicode.IsPrint(r) && r != '\t' && r != ' ' {
					t.Fatalf("unescaped %U in %q", r, out)
				}
			}
		}
	})
}
