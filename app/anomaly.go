package app

import (
	"fmt"
	"slices"

	"github.com/wscap/wscap/decode"
)

// The application layer's anomaly codes. Their ref is the specification of
// the protocol the connection was decoded as.
const (
	// CodeMalformed: a message does not parse as the protocol chosen for
	// its connection; it is shown raw.
	CodeMalformed decode.Code = "app_malformed"
)

var codeInfo = map[decode.Code]struct {
	Severity decode.Severity
	Ref      string
	Meaning  string
}{
	CodeMalformed: {decode.SeverityWarning, "the protocol's specification", "a message does not parse as the application protocol chosen for its connection (--app, subprotocol, path or first messages); it is shown raw"},
}

// Codes returns the application layer's anomaly codes, sorted.
func Codes() []decode.Code {
	out := make([]decode.Code, 0, len(codeInfo))
	for c := range codeInfo {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// CodeInfo returns the severity, reference and meaning of an application
// layer code.
func CodeInfo(c decode.Code) (sev decode.Severity, ref, meaning string, ok bool) {
	d, ok := codeInfo[c]
	return d.Severity, d.Ref, d.Meaning, ok
}

func newAnomaly(c decode.Code, format string, args ...any) decode.Anomaly {
	d := codeInfo[c]
	return decode.Anomaly{Code: c, Severity: d.Severity, Detail: fmt.Sprintf(format, args...), Ref: d.Ref}
}
