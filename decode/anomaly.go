package decode

import "fmt"

// Code is a stable snake_case identifier of an anomaly. Codes appear in
// JSON, in --fail-on decisions and in the README; they are never renamed.
//
// To add a code: 1) add the constant with a doc comment citing the rule,
// 2) add it to codeInfo (severity, reference, meaning), 3) add a table case
// in anomaly_test.go, 4) add the row to the README table (a test checks it).
type Code string

// Severity ranks anomalies like Wireshark's expert info.
type Severity uint8

const (
	SeverityInfo    Severity = iota // worth knowing, not a violation
	SeverityWarning                 // a violation a tolerant peer survives, or a capture problem
	SeverityError                   // a violation that a conforming peer must fail the connection on
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "info"
}

// ParseSeverity parses "info", "warning" (or "warn") and "error".
func ParseSeverity(s string) (Severity, bool) {
	switch s {
	case "info":
		return SeverityInfo, true
	case "warning", "warn":
		return SeverityWarning, true
	case "error":
		return SeverityError, true
	}
	return 0, false
}

// Anomaly is a protocol violation or a capture problem, reported as data.
type Anomaly struct {
	Code     Code
	Severity Severity
	Detail   string // one sentence with the numbers involved
	Ref      string // the rule it breaks, e.g. "RFC 6455 §5.1"
}

// The anomaly catalogue.
const (
	// Handshake (RFC 6455 §4).
	CodeRequestNotGet           Code = "request_not_get"         // §4.1: the method of the request MUST be GET
	CodeRequestHTTPVersion      Code = "request_http_version"    // §4.1: HTTP version MUST be at least 1.1
	CodeHostMissing             Code = "host_missing"            // §4.1: the request MUST contain a Host header
	CodeRequestUpgradeMissing   Code = "request_upgrade_missing" // §4.1: Upgrade header containing "websocket"
	CodeRequestConnMissing      Code = "request_connection_missing"
	CodeKeyMissing              Code = "key_missing"  // §4.1: Sec-WebSocket-Key MUST be present
	CodeKeyRepeated             Code = "key_repeated" // §11.3.1: MUST NOT appear more than once in a request
	CodeKeyInvalid              Code = "key_invalid"  // §4.1: base64 of a 16-byte nonce
	CodeVersionInvalid          Code = "version_invalid"
	CodeAcceptMissing           Code = "accept_missing"  // §4.1: client MUST fail without Sec-WebSocket-Accept
	CodeAcceptRepeated          Code = "accept_repeated" // §11.3.3
	CodeAcceptMismatch          Code = "accept_mismatch" // §4.1 / §4.2.2
	CodeResponseUpgradeMissing  Code = "response_upgrade_missing"
	CodeResponseConnMissing     Code = "response_connection_missing"
	CodeProtocolNotOffered      Code = "protocol_not_offered"  // §4.1: server chose a subprotocol the client did not offer
	CodeProtocolRepeated        Code = "protocol_repeated"     // §11.3.4: more than one in the response
	CodeExtensionNotOffered     Code = "extension_not_offered" // §4.1 / §9.1
	CodeExtensionsRepeated      Code = "extensions_repeated"   // §11.3.2: the header more than once in the response
	CodeHandshakeRejected       Code = "handshake_rejected"    // non-101 answer
	CodeHandshakeIncomplete     Code = "handshake_incomplete"  // request without a captured response
	CodeClientDataBeforeUpgrade Code = "client_data_before_upgrade"
	CodeHeadTooLarge            Code = "head_too_large"
	CodeHTTPMalformed           Code = "http_malformed"
	CodeHoldOverflow            Code = "hold_overflow"

	// permessage-deflate negotiation and use (RFC 7692).
	CodeDeflateParamInvalid    Code = "deflate_param_invalid"
	CodeDeflateParamDuplicate  Code = "deflate_param_duplicate"
	CodeDeflateParamNotAllowed Code = "deflate_param_not_allowed"
	CodeExtensionRepeated      Code = "extension_repeated"
	CodeRsv1OnControl          Code = "rsv1_on_control"
	CodeRsv1OnContinuation     Code = "rsv1_on_continuation"
	CodeInflateFailed          Code = "inflate_failed"
	CodeInflateWindowExceeded  Code = "inflate_window_exceeded"
	CodeInflateLimit           Code = "inflate_limit"
	CodeInflateNoContext       Code = "inflate_no_context"

	// Framing (RFC 6455 §5).
	CodeClientFrameUnmasked    Code = "client_frame_unmasked"
	CodeServerFrameMasked      Code = "server_frame_masked"
	CodeRsvUnnegotiated        Code = "rsv_unnegotiated"
	CodeOpcodeReserved         Code = "opcode_reserved"
	CodeControlTooLong         Code = "control_too_long"
	CodeControlFragmented      Code = "control_fragmented"
	CodeContinuationUnexpected Code = "continuation_unexpected"
	CodeContinuationExpected   Code = "continuation_expected"
	CodeLengthNotMinimal       Code = "length_not_minimal"
	CodeLengthMSBSet           Code = "length_msb_set"

	// Payloads and closing (RFC 6455 §5.5, §5.6, §7, §8).
	CodeTextInvalidUTF8        Code = "text_invalid_utf8"
	CodeCloseBodyOneByte       Code = "close_body_one_byte"
	CodeCloseCodeInvalid       Code = "close_code_invalid"
	CodeCloseReasonInvalidUTF8 Code = "close_reason_invalid_utf8"
	CodeDataAfterClose         Code = "data_after_close"

	// WebSocket over HTTP/2 (RFC 8441).
	CodeH2ConnectNotEnabled Code = "h2_connect_not_enabled" // §4: :protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL = 1
	CodeH2ConnectIncomplete Code = "h2_connect_incomplete"  // §4: :scheme, :path (and :authority) with :protocol; :method CONNECT

	// The capture.
	CodeFramingLost     Code = "framing_lost"
	CodeStreamTruncated Code = "stream_truncated"
	// CodeMemcapEvicted: wscap's memory budget (--memcap) was reached and
	// this connection's state was dropped (reported by the caller with
	// Conn.Report before Conn.Close).
	CodeMemcapEvicted Code = "memcap_evicted"
)

type codeDoc struct {
	Severity Severity
	Ref      string
	Meaning  string
}

// codeInfo documents every code. The README table is checked against it.
var codeInfo = map[Code]codeDoc{
	CodeRequestNotGet:           {SeverityError, "RFC 6455 §4.1", "the Upgrade request's method is not GET"},
	CodeRequestHTTPVersion:      {SeverityError, "RFC 6455 §4.1", "the Upgrade request is not HTTP/1.1 or later"},
	CodeHostMissing:             {SeverityWarning, "RFC 6455 §4.1", "the Upgrade request has no Host header"},
	CodeRequestUpgradeMissing:   {SeverityError, "RFC 6455 §4.1", "the request has no `Upgrade: websocket` (it was treated as an upgrade because of its other headers)"},
	CodeRequestConnMissing:      {SeverityError, "RFC 6455 §4.1", "the request's Connection header has no `Upgrade` token"},
	CodeKeyMissing:              {SeverityError, "RFC 6455 §4.1", "the request has no Sec-WebSocket-Key"},
	CodeKeyRepeated:             {SeverityError, "RFC 6455 §11.3.1", "Sec-WebSocket-Key appears more than once"},
	CodeKeyInvalid:              {SeverityError, "RFC 6455 §4.1", "Sec-WebSocket-Key is not the base64 encoding of 16 bytes"},
	CodeVersionInvalid:          {SeverityError, "RFC 6455 §4.1", "Sec-WebSocket-Version is missing or not 13"},
	CodeAcceptMissing:           {SeverityError, "RFC 6455 §4.1", "the 101 response has no Sec-WebSocket-Accept"},
	CodeAcceptRepeated:          {SeverityError, "RFC 6455 §11.3.3", "Sec-WebSocket-Accept appears more than once"},
	CodeAcceptMismatch:          {SeverityError, "RFC 6455 §4.1", "Sec-WebSocket-Accept is not base64(SHA-1(key + GUID))"},
	CodeResponseUpgradeMissing:  {SeverityError, "RFC 6455 §4.1", "the 101 response has no `Upgrade: websocket`"},
	CodeResponseConnMissing:     {SeverityError, "RFC 6455 §4.1", "the 101 response's Connection header has no `Upgrade` token"},
	CodeProtocolNotOffered:      {SeverityError, "RFC 6455 §4.1", "the server selected a subprotocol the client did not offer"},
	CodeProtocolRepeated:        {SeverityError, "RFC 6455 §11.3.4", "the response selects more than one subprotocol"},
	CodeExtensionsRepeated:      {SeverityError, "RFC 6455 §11.3.2", "Sec-WebSocket-Extensions appears more than once in the response"},
	CodeExtensionNotOffered:     {SeverityError, "RFC 6455 §9.1", "the server accepted an extension the client did not offer"},
	CodeHandshakeRejected:       {SeverityInfo, "RFC 6455 §4.2.2", "the server answered the Upgrade request with a status other than 101; the connection stays HTTP"},
	CodeHandshakeIncomplete:     {SeverityInfo, "RFC 6455 §4.1", "the capture holds the Upgrade request but no response"},
	CodeClientDataBeforeUpgrade: {SeverityWarning, "RFC 6455 §4.1", "the client sent frames before the server's 101 response"},
	CodeHeadTooLarge:            {SeverityError, "wscap limit", "an HTTP head is longer than the head limit; the direction is not decoded further"},
	CodeHTTPMalformed:           {SeverityError, "RFC 9112 §2", "bytes in the HTTP phase are not a valid HTTP/1.x message; the direction is not decoded further, except after an Upgrade request that is valid enough (a bad character in its request line, a line that is not a header field): its frames are decoded when the 101's Accept matches its key"},
	CodeHoldOverflow:            {SeverityWarning, "wscap limit", "the client sent more than the hold limit before the response was seen; the held bytes were dropped"},

	CodeDeflateParamInvalid:    {SeverityError, "RFC 7692 §7.1", "a permessage-deflate parameter is unknown or its value is out of range"},
	CodeDeflateParamDuplicate:  {SeverityError, "RFC 7692 §7.1", "a permessage-deflate parameter appears twice in one offer or answer"},
	CodeDeflateParamNotAllowed: {SeverityError, "RFC 7692 §7.1.2.2", "the server's answer has a parameter the client's offer did not allow"},
	CodeExtensionRepeated:      {SeverityError, "RFC 7692 §5", "the server accepted the same compression extension twice"},
	CodeRsv1OnControl:          {SeverityError, "RFC 7692 §6.1", "a control frame has RSV1 set"},
	CodeRsv1OnContinuation:     {SeverityError, "RFC 7692 §6.1", "a continuation frame has RSV1 set (only the first frame of a message may)"},
	CodeInflateFailed:          {SeverityError, "RFC 7692 §7.2.2", "a compressed message does not inflate (corrupt, or it refers to bytes before its stream, e.g. under no_context_takeover); it is shown raw with decode_error"},
	CodeInflateWindowExceeded:  {SeverityError, "RFC 7692 §7.1.2", "a compressed message refers farther back than the negotiated window (wscap keeps only that window); it is shown raw"},
	CodeInflateLimit:           {SeverityWarning, "wscap limit", "a message inflates past the inflate limit; it is truncated there"},
	CodeInflateNoContext:       {SeverityWarning, "RFC 7692 §7.2.2", "a compressed message depends on history the decoder does not have (before the capture, or lost with an earlier message that did not inflate); it is shown raw"},

	CodeClientFrameUnmasked:    {SeverityError, "RFC 6455 §5.1", "a client frame is not masked"},
	CodeServerFrameMasked:      {SeverityError, "RFC 6455 §5.1", "a server frame is masked"},
	CodeRsvUnnegotiated:        {SeverityError, "RFC 6455 §5.2", "RSV bits are set that no negotiated extension defines"},
	CodeOpcodeReserved:         {SeverityError, "RFC 6455 §5.2", "a frame uses a reserved opcode (0x3-0x7 data, 0xB-0xF control)"},
	CodeControlTooLong:         {SeverityError, "RFC 6455 §5.5", "a control frame's payload is longer than 125 bytes"},
	CodeControlFragmented:      {SeverityError, "RFC 6455 §5.5", "a control frame has FIN clear"},
	CodeContinuationUnexpected: {SeverityError, "RFC 6455 §5.4", "a continuation frame arrives while no fragmented message is open"},
	CodeContinuationExpected:   {SeverityError, "RFC 6455 §5.4", "a new text or binary frame starts while a fragmented message is still open"},
	CodeLengthNotMinimal:       {SeverityError, "RFC 6455 §5.2", "the payload length uses more bytes than needed (the minimal number of bytes MUST be used)"},
	CodeLengthMSBSet:           {SeverityError, "RFC 6455 §5.2", "a 64-bit payload length has its most significant bit set"},

	CodeTextInvalidUTF8:        {SeverityError, "RFC 6455 §8.1", "a text message is not valid UTF-8 (checked across fragments)"},
	CodeCloseBodyOneByte:       {SeverityError, "RFC 6455 §5.5.1", "a close frame has a 1-byte body (a code needs 2)"},
	CodeCloseCodeInvalid:       {SeverityError, "RFC 6455 §7.4", "a close code that must not be sent on the wire (< 1000, 1004-1006, 1015, 1016-2999 unassigned, >= 5000)"},
	CodeCloseReasonInvalidUTF8: {SeverityError, "RFC 6455 §5.5.1", "a close reason is not valid UTF-8"},
	CodeDataAfterClose:         {SeverityError, "RFC 6455 §5.5.1", "an endpoint sent a data frame after its own close frame"},

	CodeH2ConnectNotEnabled: {SeverityError, "RFC 8441 §4", "an extended CONNECT (:protocol) was sent although the server had not sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1"},
	CodeH2ConnectIncomplete: {SeverityError, "RFC 8441 §4", "an extended CONNECT lacks :scheme, :path or :authority, or its :method is not CONNECT"},

	CodeFramingLost:     {SeverityWarning, "capture", "bytes were lost inside a frame header or an HTTP head; the rest of the direction is counted, not decoded"},
	CodeStreamTruncated: {SeverityWarning, "capture", "the direction ended in the middle of a frame or a fragmented message"},
	CodeMemcapEvicted:   {SeverityWarning, "wscap limit", "wscap dropped this connection's state because the memory budget (--memcap) was reached; what was open is truncated and the rest of the connection is not decoded"},
}

// Codes returns every anomaly code, in catalogue order of the README.
func Codes() []Code {
	out := make([]Code, 0, len(codeInfo))
	for c := range codeInfo {
		out = append(out, c)
	}
	sortCodes(out)
	return out
}

func sortCodes(c []Code) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

// Info returns the severity, rule reference and meaning of a code.
func (c Code) Info() (sev Severity, ref, meaning string, ok bool) {
	d, ok := codeInfo[c]
	return d.Severity, d.Ref, d.Meaning, ok
}

// newAnomaly builds an Anomaly for c with a formatted detail sentence.
func newAnomaly(c Code, format string, args ...any) Anomaly {
	d := codeInfo[c] // every code used is in the catalogue (TestCatalogue)
	return Anomaly{Code: c, Severity: d.Severity, Detail: fmt.Sprintf(format, args...), Ref: d.Ref}
}
