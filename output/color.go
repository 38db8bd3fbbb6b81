package output

import "github.com/wscap/wscap/decode"

// ANSI SGR sequences of the coloured text output (Options.Color): what
// the eye should find first is coloured, the rest is left alone. Colours
// are added around cells and columns after their width is known, so they
// never change the layout.
const (
	sgrReset     = "\x1b[0m"
	sgrBold      = "\x1b[1m"
	sgrError     = "\x1b[1;31m" // bold red
	sgrWarning   = "\x1b[33m"   // yellow
	sgrInfo      = "\x1b[36m"   // cyan
	sgrClient    = "\x1b[32m"   // green: what the client sent
	sgrServer    = "\x1b[34m"   // blue: what the server sent
	sgrLegendKey = sgrBold
)

// severityColor is the colour of an anomaly of severity s.
func severityColor(s decode.Severity) string {
	switch s {
	case decode.SeverityError:
		return sgrError
	case decode.SeverityWarning:
		return sgrWarning
	}
	return sgrInfo
}

// dirColor is the colour of the Dir column for a row from role r ("" for
// none).
func dirColor(r decode.Role) string {
	switch r {
	case decode.RoleClient:
		return sgrClient
	case decode.RoleServer:
		return sgrServer
	}
	return ""
}

// anomalyCellColor colours the summary's Anomalies cell by the most
// severe anomaly of the connection.
func anomalyCellColor(c *connStats) string {
	switch {
	case c.anomalies[decode.SeverityError] > 0:
		return sgrError
	case c.anomalies[decode.SeverityWarning] > 0:
		return sgrWarning
	case c.anomalies[decode.SeverityInfo] > 0:
		return sgrInfo
	}
	return ""
}

// paintCol appends s coloured with sgr (s alone when sgr is "").
func paint(l []byte, sgr string, s []byte) []byte {
	if sgr == "" {
		return append(l, s...)
	}
	l = append(l, sgr...)
	l = append(l, s...)
	return append(l, sgrReset...)
}
