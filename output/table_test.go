package output

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// TestCloseCellReason checks the close reasons in the summary table: valid
// UTF-8 is shown as text, anything that could move the cursor or change
// the terminal is escaped, and a long reason is cut on a character
// boundary (never inside an escape) within maxReasonCell columns.
func TestCloseCellReason(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	for _, tt := range []struct {
		reason string
		want   string // the cell after "C:1000 "
	}{
		{"bye", "bye"},
		{"", ""},
		{"server going away ünïcode", "server going away ünï..."},
		{"server going away é", "server going away é"},
		{"going away \u2028x", "going away \\u2028x"},
		{"server going away \u2028x", "server going away ..."},
		{"bye \x1b[2J", "bye \\x1b[2J"},
		{"bye \x1b[31mred\x1b[0m!!", "bye \\x1b[31mred\\x1b[0m!!"},
		{"bye \x1b[31mredd\x1b[0m!!", "bye \\x1b[31mredd\\x1b[..."},
		{"bye \x1b[31mredddd\x1b[0m!", "bye \\x1b[31mredddd..."},
		{"back\\slash \"quoted\"", "back\\\\slash \"quoted\""},
		{"bad \xff\xfe utf8", "bad \\xff\\xfe utf8"},
		{"abcdefghijklmnopqrst\x07xyz", "abcdefghijklmnopqrst..."},
		{"abcdefghijklmnopq\x07xyz", "abcdefghijklmnopq\\x07xyz"},
		{"abcdefghijklmnopqr\x07xyz", "abcdefghijklmnopqr..."},
		{"日本語の理由がとても長いです", "日本語の理由がとても..."},
		{"123456789012345678901234", "123456789012345678901234"},
		{"1234567890123456789012345", "123456789012345678901..."},
		{"right-to-left \u202eevil", "right-to-left \\u202eevil"},
	} {
		c := &connStats{}
		c.dir[0] = dirStats{closeSeen: true, closeCoded: true, closeCode: 1000, closeReason: tt.reason}
		got := closeCell(c)
		want := "C:1000"
		if tt.want != "" {
			want += " " + tt.want
		}
		if got != want {
			t.Errorf("reason %q: cell %q, want %q", tt.reason, got, want)
		}
		r := strings.TrimPrefix(strings.TrimPrefix(got, "C:1000"), " ")
		if w := twwidth.Width(r); w > maxReasonCell {
			t.Errorf("reason %q: %q is %d columns wide (> %d)", tt.reason, r, w, maxReasonCell)
		}
		if !utf8.ValidString(r) {
			t.Errorf("reason %q: %q is not valid UTF-8", tt.reason, r)
		}
		if strings.ContainsFunc(r, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			t.Errorf("reason %q: %q has a control character", tt.reason, r)
		}
	}
}

// TestSummaryTableUTF8Reason renders a summary with a UTF-8 close reason
// through the text renderer: the reason is text, and the table's lines
// line up.
func TestSummaryTableUTF8Reason(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	c := &connStats{id: 1}
	c.dir[1] = dirStats{closeSeen: true, closeCoded: true, closeCode: 1001, closeReason: "server going away ½ später"}
	var buf bytes.Buffer
	if err := writeSummaryTable(&buf, []*connStats{c}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "S:1001 server going away ½ s...") {
		t.Errorf("the close reason is not shown as text:\n%s", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines {
		if w := twwidth.Width(l); w != twwidth.Width(lines[0]) {
			t.Errorf("line %q is %d columns wide, the border %d", l, w, twwidth.Width(lines[0]))
		}
	}
}
