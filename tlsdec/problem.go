package tlsdec

import (
	"fmt"
	"slices"
)

// Code is a stable snake_case identifier of a TLS problem. Codes are never
// renamed; they are mapped onto decode anomalies by the caller.
type Code string

// Severity ranks problems like decode.Severity does.
type Severity uint8

const (
	SeverityInfo    Severity = iota // worth knowing, not a violation
	SeverityWarning                 // a capture problem or a limit of the analyzer
	SeverityError                   // a violation or a record that does not authenticate
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

// Problem is a TLS problem reported as data, never as a Go error.
type Problem struct {
	Code     Code
	Severity Severity
	Detail   string // one sentence with the numbers involved
	Ref      string // the rule or limit involved, e.g. "RFC 8446 §5.2"
}

// The problem catalogue.
const (
	CodeNoKey             Code = "tls_no_key"             // no usable key log entry for the connection's client random
	CodeAuthFailed        Code = "tls_auth_failed"        // a record failed authentication: that direction stops decrypting
	CodeMidstream         Code = "tls_midstream"          // the capture starts after the handshake: cannot decrypt
	CodeUnsupportedCipher Code = "tls_unsupported_cipher" // the negotiated suite or version is not decryptable here
	CodeGap               Code = "tls_gap"                // bytes were lost: that direction stops decrypting
	CodeAlert             Code = "tls_alert"              // an alert other than close_notify
	CodeMalformed         Code = "tls_malformed"          // a record or handshake message is not well formed
	CodeTruncated         Code = "tls_truncated"          // the direction ended inside a record
)

type codeDoc struct {
	Severity Severity
	Ref      string
	Meaning  string
}

var codeInfo = map[Code]codeDoc{
	CodeNoKey:             {SeverityWarning, "NSS key log", "the key log has no usable secret for this connection's client random; its records are counted, not decrypted"},
	CodeAuthFailed:        {SeverityError, "RFC 8446 §5.2, RFC 5246 §6.2.3", "a record failed authentication (wrong key or corrupted capture); the direction is not decrypted further"},
	CodeMidstream:         {SeverityWarning, "capture", "the capture starts after the TLS handshake, so the connection cannot be decrypted"},
	CodeUnsupportedCipher: {SeverityWarning, "wscap limit", "the negotiated protocol version or cipher suite is one wscap cannot decrypt"},
	CodeGap:               {SeverityWarning, "capture", "bytes of the direction are missing from the capture; it is not decrypted further"},
	CodeAlert:             {SeverityWarning, "RFC 8446 §6", "an endpoint sent a TLS alert other than close_notify"},
	CodeMalformed:         {SeverityError, "RFC 8446 §5.1, §4", "a TLS record or handshake message is not well formed or exceeds a size limit; the direction is not decoded further"},
	CodeTruncated:         {SeverityWarning, "capture", "the direction ended in the middle of a TLS record"},
}

// Codes returns every problem code, sorted.
func Codes() []Code {
	out := make([]Code, 0, len(codeInfo))
	for c := range codeInfo {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Info returns the severity, rule reference and meaning of a code.
func (c Code) Info() (sev Severity, ref, meaning string, ok bool) {
	d, ok := codeInfo[c]
	return d.Severity, d.Ref, d.Meaning, ok
}

func newProblem(c Code, format string, args ...any) *Problem {
	d := codeInfo[c] // every code used is in the catalogue (TestCatalogue)
	return &Problem{Code: c, Severity: d.Severity, Detail: fmt.Sprintf(format, args...), Ref: d.Ref}
}

// alertNames maps alert descriptions (RFC 8446 §6, RFC 5246 §7.2) to names.
var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
	22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
	42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
	45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
	70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
	109: "missing_extension", 110: "unsupported_extension", 111: "certificate_unobtainable",
	112: "unrecognized_name", 113: "bad_certificate_status_response",
	114: "bad_certificate_hash_value", 115: "unknown_psk_identity", 116: "certificate_required",
	120: "no_application_protocol", 121: "ech_required",
}

func alertName(d uint8) string {
	if n, ok := alertNames[d]; ok {
		return n
	}
	return fmt.Sprintf("alert_%d", d)
}
