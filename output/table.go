package output

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// summaryHeader names the columns of the summary table.
var summaryHeader = []any{
	"Conn", "Client", "Server", "Path", "Subprotocol", "Extensions", "Accept",
	"C>S fr/msg/bytes", "S>C fr/msg/bytes", "Close", "Duration", "Anomalies",
}

// newTable is the one place tablewriter is configured: ASCII borders (the
// default is Unicode box drawing), headers as written (the default
// upper-cases them), no wrapping. Cells are kept ASCII so their width does
// not depend on RUNEWIDTH_EASTASIAN or the locale, except close reasons,
// which are text (appendCellText).
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Symbols: tw.NewSymbols(tw.StyleASCII),
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
}

// writeSummaryTable prints one row per connection.
func writeSummaryTable(w io.Writer, conns []*connStats) error {
	if len(conns) == 0 {
		_, err := io.WriteString(w, "(no WebSocket connections)\n")
		return err
	}
	// The TLS column is there when a connection ran in TLS (wss://).
	withTLS := false
	for _, c := range conns {
		withTLS = withTLS || c.tls != nil
	}
	header := make([]string, 0, len(summaryHeader)+1)
	for _, h := range summaryHeader {
		header = append(header, h.(string))
	}
	if withTLS {
		header = append(append(header[:tlsColumn:tlsColumn], "TLS"), header[tlsColumn:]...)
	}
	rows := make([][]string, 0, len(conns))
	for _, c := range conns {
		row := summaryRow(c)
		if withTLS {
			row = append(append(row[:tlsColumn:tlsColumn], tlsCell(c)), row[tlsColumn:]...)
		}
		rows = append(rows, row)
	}
	if err := writeTable(w, header, rows); err != nil {
		return err
	}
	if withTLS {
		return writeTLSFooter(w, conns)
	}
	return nil
}

// writeTable renders a table as newTable's tablewriter configuration
// does. Cells that are plain ASCII (printable, no space at either end,
// not empty) are laid out here, which is much faster and lighter than
// tablewriter for thousands of rows; anything else goes through
// tablewriter, so that its rules apply.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	widths := make([]int, len(header))
	plain := true
	for _, r := range append([][]string{header}, rows...) {
		if len(r) != len(header) {
			plain = false
			break
		}
		for i, c := range r {
			plain = plain && plainCell(c)
			widths[i] = max(widths[i], len(c))
		}
	}
	if !plain {
		t := newTable(w)
		hs := make([]any, len(header))
		for i, h := range header {
			hs[i] = h
		}
		t.Header(hs...)
		for _, r := range rows {
			if err := t.Append(r); err != nil {
				return fmt.Errorf("render summary: %w", err)
			}
		}
		if err := t.Render(); err != nil {
			return fmt.Errorf("render summary: %w", err)
		}
		return nil
	}
	var border []byte
	border = append(border, '+')
	for _, wd := range widths {
		border = append(border, strings.Repeat("-", wd+2)...)
		border = append(border, '+')
	}
	border = append(border, '\n')
	bw := bufio.NewWriterSize(w, 64<<10)
	line := make([]byte, 0, len(border))
	row := func(r []string) {
		line = append(line[:0], '|')
		for i, c := range r {
			line = append(line, ' ')
			line = append(line, c...)
			for n := len(c); n < widths[i]; n++ {
				line = append(line, ' ')
			}
			line = append(line, " |"...)
		}
		line = append(line, '\n')
		bw.Write(line)
	}
	bw.Write(border)
	row(header)
	bw.Write(border)
	for _, r := range rows {
		row(r)
	}
	bw.Write(border)
	return bw.Flush()
}

// plainCell reports whether c is laid out by writeTable itself.
func plainCell(c string) bool {
	if c == "" || c[0] == ' ' || c[len(c)-1] == ' ' {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < 0x20 || c[i] > 0x7e {
			return false
		}
	}
	return true
}

// tlsColumn is where the TLS column goes: after Accept.
const tlsColumn = 7

// summaryRow is the table row of one connection; every cell is ASCII but
// the close reasons.
func summaryRow(c *connStats) []string {
	client, server := "-", "-"
	if c.hasInfo {
		client, server = string(appendAddr(nil, c.info.Client)), string(appendAddr(nil, c.info.Server))
	}
	path := "-"
	switch {
	case c.hasHandshake:
		path = asciiText(c.path)
	case c.info.Midstream:
		path = "(midstream)"
	case c.tls != nil && !c.ws:
		path = tlsPathCell(c)
	}
	accept := c.accept
	if accept == "" {
		accept = "-"
		if c.hasHandshake {
			if c.status == 0 {
				accept = "no response"
			} else {
				accept = "status " + strconv.Itoa(c.status)
			}
		}
	}
	return []string{
		"#" + strconv.Itoa(c.id),
		client,
		server,
		orDash(path),
		orDash(asciiText(c.protocol)),
		orDash(asciiText(c.extensions)),
		accept,
		dirCell(&c.dir[0]),
		dirCell(&c.dir[1]),
		closeCell(c),
		string(appendSeconds(nil, c.last.Sub(c.first))),
		anomalyCell(c),
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dirCell(d *dirStats) string {
	return strconv.Itoa(d.frames) + "/" + strconv.Itoa(d.messages) + "/" + strconv.FormatUint(d.bytes, 10)
}

// maxReasonCell is how much of a close reason the summary shows.
const maxReasonCell = 24

// appendCellText appends s for a table cell and returns dst: printable
// text (UTF-8 included) as it is, everything else escaped as in payload
// previews (control characters, ESC, DEL and invalid UTF-8 as \xNN, other
// non-printable runes as \uXXXX, backslash as \\), without quotes. It
// takes at most budget columns (>= 4) as tablewriter measures them; when s
// needs more it is cut with "..." on a character boundary, never inside an
// escape.
func appendCellText(dst []byte, s string, budget int) []byte {
	budget = max(budget, 4)
	p := []byte(s)
	cut, cols := -1, 0
	for i := 0; i < len(p); {
		before := len(dst)
		var n, w int
		if p[i] == '"' {
			dst, n, w = append(dst, '"'), 1, 1
		} else {
			dst, n, w = previewUnit(dst, p[i:])
			if p[i] >= utf8.RuneSelf && len(dst)-before == n {
				w = twwidth.Width(string(p[i : i+n])) // kept as it is: 0, 1 or 2 columns
			}
		}
		if cut < 0 && cols+w > budget-3 {
			cut = before
		}
		if cols += w; cols > budget {
			return append(dst[:cut], "..."...)
		}
		i += n
	}
	return dst
}

// closeCell: "C:1000 bye / S:1000", "-" when nobody closed.
func closeCell(c *connStats) string {
	var parts []string
	for d, who := range [2]string{"C:", "S:"} {
		s := &c.dir[d]
		if !s.closeSeen {
			continue
		}
		p := who
		if s.closeCoded {
			p += strconv.Itoa(int(s.closeCode))
		} else {
			p += "-"
		}
		if s.closeReason != "" {
			p += " " + string(appendCellText(nil, s.closeReason, maxReasonCell))
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " / ")
}

// anomalyCell counts anomalies by severity: "2E 1W", "-" when none.
func anomalyCell(c *connStats) string {
	var parts []string
	for _, s := range []struct {
		n      int
		letter string
	}{{c.anomalies[2], "E"}, {c.anomalies[1], "W"}, {c.anomalies[0], "I"}} {
		if s.n > 0 {
			parts = append(parts, strconv.Itoa(s.n)+s.letter)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
