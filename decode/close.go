package decode

import "encoding/binary"

// closeCodeProblem returns why code must not appear in a close frame on
// the wire, or "" when it may (RFC 6455 §7.4.1, §7.4.2 and the IANA
// registry: 1012-1014 were registered after the RFC).
func closeCodeProblem(code uint16) string {
	switch {
	case code < 1000:
		return "is below 1000 (not used)"
	case code == 1004:
		return "is reserved (1004)"
	case code == 1005 || code == 1006 || code == 1015:
		// §7.4.1: "MUST NOT be set as a status code in a Close control
		// frame by an endpoint."
		return "is reserved for local use and must not be sent"
	case code >= 1016 && code <= 2999:
		return "is unassigned (1016-2999 are reserved for future RFCs)"
	case code >= 5000:
		return "is outside the defined ranges (>= 5000)"
	}
	return ""
}

// parseClose splits a close frame body into code and reason.
func parseClose(p []byte) Close {
	if len(p) < 2 {
		return Close{}
	}
	return Close{HasCode: true, Code: binary.BigEndian.Uint16(p), Reason: p[2:]}
}
