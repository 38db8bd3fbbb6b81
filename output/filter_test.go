package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wscap/wscap/dfilter"
)

func compile(t *testing.T, expr string) *dfilter.Filter {
	t.Helper()
	f, err := dfilter.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTextFilter: with -Y, the timeline shows only the matching rows,
// each exactly as without the filter (times, flags, counters), and a
// connection's legend names its handshake even when the handshake row is
// hidden; the summary lists the connections with a match, with counters
// of all their events.
func TestTextFilter(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	lines := map[View]map[string]bool{}
	for _, v := range []View{ViewDefault, ViewFrames, ViewMessages} {
		full := string(render(t, func(b *bytes.Buffer) Renderer {
			return NewText(b, Options{Timeline: true, Summary: true, View: v})
		}, sampleEvents()))
		lines[v] = map[string]bool{}
		for _, l := range strings.Split(full, "\n") {
			lines[v][l] = true
			lines[v][cells(l)] = true
		}
	}
	for _, tc := range []struct {
		view     View
		expr     string
		rows     int    // timeline rows (not legends) shown
		want     string // a line the output must have
		conns    string // connections in the summary, "#1 #2"
		notWants string
	}{
		{ViewDefault, `type == "message"`, -1, "#1 10.0.0.2:51512 -> 10.0.0.1:8080 GET /chat proto=chat", "#1 #2", "HANDSHAKE"},
		{ViewFrames, `type == frame and opcode == continuation`, -1, "", "#1", "MSG"},
		{ViewDefault, `type == frame`, -1, "", "#1 #2", "MSG"}, // control frames, and frames of no message
		{ViewMessages, `type == "message" or type == "frame"`, -1, "", "#1 #2", ""},
		{ViewDefault, `from == server`, -1, "", "#1 #2", ""},
		{ViewDefault, `conn == 2`, -1, "", "#2", "#1 "},
		{ViewDefault, `conn == 99`, 0, "(no connection has an event that matches the display filter)", "", "No."},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			got := string(render(t, func(b *bytes.Buffer) Renderer {
				return NewText(b, Options{Timeline: true, Summary: true, View: tc.view, Filter: compile(t, tc.expr)})
			}, sampleEvents()))
			timeline, table, _ := strings.Cut(got, "\n+")
			if tc.want != "" && !strings.Contains(timeline, tc.want) {
				t.Errorf("no %q in\n%s", tc.want, timeline)
			}
			if tc.notWants != "" && strings.Contains(timeline, tc.notWants) {
				t.Errorf("%q in\n%s", tc.notWants, timeline)
			}
			rows := 0
			for _, l := range strings.Split(strings.TrimSpace(timeline), "\n") {
				if l == "" || strings.HasPrefix(l, "(no ") || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "No.") || strings.HasPrefix(l, "|") {
					continue
				}
				rows++
				if !lines[tc.view][l] {
					t.Errorf("row not in the unfiltered output: %q", l)
				}
			}
			if tc.rows >= 0 && rows != tc.rows {
				t.Errorf("%d rows, want %d", rows, tc.rows)
			}
			if tc.rows < 0 && rows == 0 {
				t.Errorf("no rows:\n%s", got)
			}
			// Summary rows are those of the unfiltered table.
			var conns []string
			for _, l := range strings.Split(table, "\n") {
				if strings.HasPrefix(l, "| #") {
					if !lines[tc.view][cells(l)] {
						t.Errorf("summary row not in the unfiltered table: %q", l)
					}
					conns = append(conns, strings.Fields(l)[1])
				}
			}
			if got := strings.Join(conns, " "); got != tc.conns {
				t.Errorf("summary lists %q, want %q", got, tc.conns)
			}
		})
	}
}

// cells returns the cells of a table row without their padding.
func cells(l string) string {
	f := strings.Split(l, "|")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return strings.Join(f, "|")
}
