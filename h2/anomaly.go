package h2

import (
	"fmt"

	"github.com/wscap/wscap/decode"
)

// The HTTP/2 anomaly codes. Capture problems use decode.CodeFramingLost and
// decode.CodeStreamTruncated.
const (
	CodePrefaceMissing         decode.Code = "h2_preface_missing"
	CodeFrameSize              decode.Code = "h2_frame_size"
	CodeHPACKError             decode.Code = "h2_hpack_error"
	CodeContinuationExpected   decode.Code = "h2_continuation_expected"
	CodeContinuationUnexpected decode.Code = "h2_continuation_unexpected"
	CodeDataAfterEndStream     decode.Code = "h2_data_after_end_stream"
	CodeStreamID               decode.Code = "h2_stream_id"
	CodeStreamIdle             decode.Code = "h2_stream_idle"
	CodePadding                decode.Code = "h2_padding"
	CodeSettingsInvalid        decode.Code = "h2_settings_invalid"
	CodeHeaderListSize         decode.Code = "h2_header_list_size"
	CodeStreamsLimit           decode.Code = "h2_streams_limit"
	CodeStreamReset            decode.Code = "h2_stream_reset"
	codeFramingLost                        = decode.CodeFramingLost
	codeStreamTruncated                    = decode.CodeStreamTruncated
)

type codeDoc struct {
	Severity decode.Severity
	Ref      string
	Meaning  string
}

var codeInfo = map[decode.Code]codeDoc{
	CodePrefaceMissing:         {decode.SeverityError, "RFC 9113 §3.4", "the client did not start with the connection preface, or a side's first frame is not SETTINGS; without the client preface the direction is not decoded"},
	CodeFrameSize:              {decode.SeverityError, "RFC 9113 §4.2", "a frame is longer than the receiver's SETTINGS_MAX_FRAME_SIZE, or a fixed-size frame (SETTINGS, PING, RST_STREAM, WINDOW_UPDATE, PRIORITY, GOAWAY) has the wrong length; it is skipped (a header-carrying one loses the direction)"},
	CodeHPACKError:             {decode.SeverityError, "RFC 9113 §4.3", "a header block does not decode (RFC 7541); the HPACK state is lost and the rest of the direction is counted, not decoded"},
	CodeContinuationExpected:   {decode.SeverityError, "RFC 9113 §6.10", "a frame other than a CONTINUATION of the same stream interrupts a header block; the rest of the direction is counted, not decoded"},
	CodeContinuationUnexpected: {decode.SeverityError, "RFC 9113 §6.10", "a CONTINUATION frame arrives while no header block is open; it is skipped"},
	CodeDataAfterEndStream:     {decode.SeverityError, "RFC 9113 §5.1", "a DATA or HEADERS frame on a stream after its sender's END_STREAM"},
	CodeStreamID:               {decode.SeverityError, "RFC 9113 §5.1.1", "a frame uses a stream identifier its type does not allow (0 for a stream frame, non-0 for a connection frame), or a stream is opened by the wrong side (client streams are odd, server streams even)"},
	CodeStreamIdle:             {decode.SeverityError, "RFC 9113 §5.1", "a DATA, RST_STREAM or CONTINUATION frame on a stream that was never opened"},
	CodePadding:                {decode.SeverityError, "RFC 9113 §6.1", "the pad length is not smaller than the frame payload; the frame's content is dropped (in a header-carrying frame the direction is lost)"},
	CodeSettingsInvalid:        {decode.SeverityError, "RFC 9113 §6.5.2", "a SETTINGS value is out of range (ENABLE_PUSH, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, ENABLE_CONNECT_PROTOCOL not 0 or 1, or set back to 0 after 1, RFC 8441 §3); it is ignored"},
	CodeHeaderListSize:         {decode.SeverityWarning, "wscap limit", "a decoded header list is longer than the header list limit; the event carries the fields before it (Truncated)"},
	CodeStreamsLimit:           {decode.SeverityWarning, "wscap limit", "more open streams than the stream limit; the new stream's state is not tracked"},
	CodeStreamReset:            {decode.SeverityWarning, "RFC 9113 §6.4", "an RST_STREAM with an error code ended the stream of a WebSocket over HTTP/2 (a frame or message it cut is stream_truncated besides)"},
}

// Codes returns the HTTP/2 anomaly codes, sorted.
func Codes() []decode.Code {
	out := make([]decode.Code, 0, len(codeInfo))
	for c := range codeInfo {
		out = append(out, c)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// CodeInfo returns the severity, rule reference and meaning of an HTTP/2
// code (and of decode's codes through decode.Code.Info).
func CodeInfo(c decode.Code) (sev decode.Severity, ref, meaning string, ok bool) {
	if d, ok := codeInfo[c]; ok {
		return d.Severity, d.Ref, d.Meaning, true
	}
	return c.Info()
}

// NewAnomaly builds an anomaly of code c (an HTTP/2 code or one of
// decode's) with a formatted detail sentence.
func NewAnomaly(c decode.Code, format string, args ...any) decode.Anomaly {
	return newAnomaly(c, format, args...)
}

func newAnomaly(c decode.Code, format string, args ...any) decode.Anomaly {
	sev, ref, _, _ := CodeInfo(c)
	return decode.Anomaly{Code: c, Severity: sev, Detail: fmt.Sprintf(format, args...), Ref: ref}
}
