package output

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// sgr matches the colour sequences of color.go.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestFitTable: on a terminal the summary table leaves out the columns
// empty in every row, cuts long paths, and wraps into tables of fewer
// columns rather than overflow; piped, it is the full table.
func TestFitTable(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	long := "/" + strings.Repeat("very-long-path-segment/", 8)
	var conns []*connStats
	for i := 1; i <= 3; i++ {
		c := &connStats{id: i, hasHandshake: true, path: long, accept: "ok", status: 101}
		c.dir[0] = dirStats{frames: 10 * i, messages: i, bytes: 1000}
		c.dir[1] = dirStats{closeSeen: true, closeCoded: true, closeCode: 1000, closeReason: "bye"}
		conns = append(conns, c)
	}
	var full bytes.Buffer
	if err := writeSummaryFit(&full, conns, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full.String(), long) || !strings.Contains(full.String(), "Subprotocol") {
		t.Errorf("piped table is not the full table:\n%s", full.String())
	}
	for _, width := range []int{200, 120, 80, 60, 40} {
		var b bytes.Buffer
		if err := writeSummaryFit(&b, conns, Options{Width: width}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if w := twwidth.Width(l); w > width {
				t.Errorf("width %d: line %q is %d columns", width, l, w)
			}
		}
		for _, gone := range []string{"Subprotocol", "Extensions", "Anomalies"} {
			if strings.Contains(out, gone) {
				t.Errorf("width %d: the empty column %s is shown:\n%s", width, gone, out)
			}
		}
		for _, kept := range []string{"/very-long-path-segme", "30/3/1000", "S:1000 bye", "| #3 "} {
			if !strings.Contains(out, kept) {
				t.Errorf("width %d: %q is missing:\n%s", width, kept, out)
			}
		}
		if !strings.Contains(out, "...") {
			t.Errorf("width %d: the long path is not cut:\n%s", width, out)
		}
	}
	// Coloured, the layout is the same once the colours are taken out.
	conns[1].anomalies[2] = 1
	var plain, col bytes.Buffer
	writeSummaryFit(&plain, conns, Options{Width: 80})
	writeSummaryFit(&col, conns, Options{Width: 80, Color: true})
	if !strings.Contains(col.String(), sgrError+"1E"+sgrReset) {
		t.Errorf("the error count is not red:\n%q", col.String())
	}
	if got := sgr.ReplaceAllString(col.String(), ""); got != plain.String() {
		t.Errorf("colour changed the layout:\n%s\nwant\n%s", got, plain.String())
	}
}

func TestWrapLine(t *testing.T) {
	line := "#12 10.0.0.2:51512 -> 10.0.0.1:8080 GET /" + strings.Repeat("x", 70) + " proto=chat ext=permessage-deflate accept=ok tls: TLS 1.3 TLS_AES_128_GCM_SHA256 sni=example.com"
	for _, width := range []int{200, 80, 40, 20} {
		got := string(wrapLine([]byte(line), width, indent))
		lines := strings.Split(got, "\n")
		for i, l := range lines {
			if len(l) > width {
				t.Errorf("width %d: line %q is longer", width, l)
			}
			if i > 0 && !strings.HasPrefix(l, indent) {
				t.Errorf("width %d: continuation %q is not indented", width, l)
			}
		}
		var words []string
		for i, l := range lines {
			if i > 0 {
				l = strings.TrimPrefix(l, indent)
			}
			words = append(words, l)
		}
		// Only spaces became line breaks, and long words were split.
		if strings.ReplaceAll(strings.Join(words, ""), " ", "") != strings.ReplaceAll(line, " ", "") {
			t.Errorf("width %d: wrapping lost text:\n%s", width, got)
		}
		if width >= len(line) && got != line {
			t.Errorf("width %d: a line that fits was wrapped", width)
		}
	}
}

// TestColorTimeline: directions and anomalies are coloured, and a
// coloured row is cut at the same place as a plain one.
func TestColorTimeline(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	evs := sampleEvents()
	for _, width := range []int{0, 80} {
		plain := render(t, func(b *bytes.Buffer) Renderer {
			return NewText(b, Options{Timeline: true, Summary: true, Width: width})
		}, evs)
		col := render(t, func(b *bytes.Buffer) Renderer {
			return NewText(b, Options{Timeline: true, Summary: true, Width: width, Color: true})
		}, evs)
		if bytes.Contains(plain, []byte("\x1b[")) {
			t.Errorf("width %d: colour without Options.Color", width)
		}
		for _, want := range []string{sgrClient + "C>S" + sgrReset, sgrServer + "S>C" + sgrReset, sgrLegendKey + "#1" + sgrReset} {
			if !bytes.Contains(col, []byte(want)) {
				t.Errorf("width %d: no %q in\n%s", width, want, col)
			}
		}
		if got := sgr.ReplaceAll(col, nil); !bytes.Equal(got, plain) {
			t.Errorf("width %d: colour changed the text:\n%s\nwant\n%s", width, got, plain)
		}
	}
}
