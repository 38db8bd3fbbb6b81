package output

import (
	"bufio"
	"fmt"
	"io"
	"slices"
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
	"C>S fr/msg/bytes", "S>C fr/msg/bytes", "Close", "End", "Duration", "RTT", "Anomalies",
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

// writeSummaryTable prints one row per connection, in full (piped output).
func writeSummaryTable(w io.Writer, conns []*connStats) error {
	return writeSummaryFit(w, conns, Options{})
}

// writeSummaryFit prints one row per connection. With opt.Width (a
// terminal) the table fits it: columns empty ("-") in every row are left
// out, long cells cut with "...", and a table still too wide is wrapped
// into several tables of fewer columns, each starting with Conn. With
// opt.Color the Anomalies cells are coloured by severity.
func writeSummaryFit(w io.Writer, conns []*connStats, opt Options) error {
	if len(conns) == 0 {
		msg := "(no WebSocket connections)\n"
		if opt.Filter != nil {
			msg = "(no connection has an event that matches the display filter)\n"
		}
		_, err := io.WriteString(w, msg)
		return err
	}
	// The TLS column is there when a connection ran in TLS (wss://).
	withTLS, withApp := false, false
	for _, c := range conns {
		withTLS = withTLS || c.tls != nil
		withApp = withApp || c.app.proto != ""
	}
	header := make([]string, 0, len(summaryHeader)+1)
	for _, h := range summaryHeader {
		header = append(header, h.(string))
	}
	if withTLS {
		header = append(append(header[:tlsColumn:tlsColumn], "TLS"), header[tlsColumn:]...)
	}
	if withApp {
		header = append(header, "App")
	}
	rows := make([][]string, 0, len(conns))
	for _, c := range conns {
		row := summaryRow(c)
		if withTLS {
			row = append(append(row[:tlsColumn:tlsColumn], tlsCell(c)), row[tlsColumn:]...)
		}
		if withApp {
			row = append(row, orDash(c.app.cell()))
		}
		rows = append(rows, row)
	}
	var colors []string // of the Anomalies cells
	if opt.Color {
		colors = make([]string, len(conns))
		for i, c := range conns {
			colors[i] = anomalyCellColor(c)
		}
	}
	if opt.Width <= 0 {
		if err := writeTableColor(w, header, rows, colors); err != nil {
			return err
		}
	} else {
		for i, g := range fitTable(header, rows, opt.Width) {
			if i > 0 {
				if _, err := io.WriteString(w, "\n"); err != nil {
					return err
				}
			}
			if err := writeTableColor(w, g.header, g.rows, colors); err != nil {
				return err
			}
		}
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
	return writeTableColor(w, header, rows, nil)
}

// writeTableColor is writeTable with the cells of the Anomalies column
// (when header has one) of row i coloured with colors[i], when the layout
// is writeTable's own.
func writeTableColor(w io.Writer, header []string, rows [][]string, colors []string) error {
	anomCol := -1
	if colors != nil && len(header) > 0 && header[len(header)-1] == "Anomalies" {
		anomCol = len(header) - 1
	}
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
	row := func(r []string, sgr string) {
		line = append(line[:0], '|')
		for i, c := range r {
			line = append(line, ' ')
			if i == anomCol {
				line = paint(line, sgr, []byte(c))
			} else {
				line = append(line, c...)
			}
			for n := len(c); n < widths[i]; n++ {
				line = append(line, ' ')
			}
			line = append(line, " |"...)
		}
		line = append(line, '\n')
		bw.Write(line)
	}
	bw.Write(border)
	row(header, "")
	bw.Write(border)
	for i, r := range rows {
		sgr := ""
		if anomCol >= 0 && i < len(colors) {
			sgr = colors[i]
		}
		row(r, sgr)
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
		string(c.label(nil)),
		client,
		server,
		orDash(path),
		orDash(asciiText(c.protocol)),
		orDash(asciiText(c.extensions)),
		accept,
		dirCell(&c.dir[0]),
		dirCell(&c.dir[1]),
		closeCell(c),
		endCell(c),
		string(appendSeconds(nil, c.last.Sub(c.first))),
		rttCell(c),
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

// A tableGroup is some of the columns of a table.
type tableGroup struct {
	header []string
	rows   [][]string
}

// Columns fitTable may cut, in the order it cuts them, and the least
// width it leaves them.
var cuttable = []struct {
	name string
	min  int
}{
	{"Path", 24}, {"TLS", 24}, {"Close", 20}, {"Extensions", 18}, {"Subprotocol", 14},
}

// fitTable fits a table in width columns: it leaves out the columns that
// are "-" in every row (Conn stays), cuts the cells of long columns with
// "...", and splits what is still too wide into groups of columns, each
// starting with the first one (Conn).
func fitTable(header []string, rows [][]string, width int) []tableGroup {
	keep := []int{0}
	for i := 1; i < len(header); i++ {
		for _, r := range rows {
			if r[i] != "-" && r[i] != "" {
				keep = append(keep, i)
				break
			}
		}
	}
	h := make([]string, len(keep))
	rs := make([][]string, len(rows))
	for j, i := range keep {
		h[j] = header[i]
	}
	for k, r := range rows {
		rs[k] = make([]string, len(keep))
		for j, i := range keep {
			rs[k][j] = r[i]
		}
	}
	widths := make([]int, len(h))
	for j := range h {
		widths[j] = twwidth.Width(h[j])
		for _, r := range rs {
			widths[j] = max(widths[j], twwidth.Width(r[j]))
		}
	}
	total := func(cols []int) int {
		n := 1
		for _, j := range cols {
			n += widths[j] + 3
		}
		return n
	}
	all := make([]int, len(h))
	for j := range all {
		all[j] = j
	}
	for _, cc := range cuttable {
		over := total(all) - width
		if over <= 0 {
			break
		}
		j := slices.Index(h, cc.name)
		if j < 0 {
			continue
		}
		to := max(widths[j]-over, cc.min, twwidth.Width(h[j]))
		if to >= widths[j] {
			continue
		}
		widths[j] = to
		for _, r := range rs {
			r[j] = cutCell(r[j], to)
		}
	}
	if total(all) <= width {
		return []tableGroup{{h, rs}}
	}
	// Wrap: groups of columns, each with Conn first.
	var groups [][]int
	cur := []int{0}
	for j := 1; j < len(h); j++ {
		if len(cur) > 1 && total(append(cur, j)) > width {
			groups = append(groups, cur)
			cur = []int{0}
		}
		cur = append(cur, j)
	}
	groups = append(groups, cur)
	out := make([]tableGroup, len(groups))
	for g, cols := range groups {
		out[g].header = make([]string, len(cols))
		for k, j := range cols {
			out[g].header[k] = h[j]
		}
		out[g].rows = make([][]string, len(rs))
		for i, r := range rs {
			out[g].rows[i] = make([]string, len(cols))
			for k, j := range cols {
				out[g].rows[i][k] = r[j]
			}
		}
	}
	return out
}

// cutCell cuts cell s to at most w columns (as tablewriter measures them)
// with "..." at the end, on a character boundary.
func cutCell(s string, w int) string {
	if twwidth.Width(s) <= w {
		return s
	}
	cols := 0
	for i, r := range s {
		rw := twwidth.Width(string(r))
		if cols+rw > w-3 {
			return s[:i] + "..."
		}
		cols += rw
	}
	return s
}
