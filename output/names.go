package output

import "github.com/wscap/wscap/decode"

var closeCodeNames = [...]string{
	1000 - 1000: "normal closure",
	1001 - 1000: "going away",
	1002 - 1000: "protocol error",
	1003 - 1000: "unsupported data",
	1004 - 1000: "reserved",
	1005 - 1000: "no status received",
	1006 - 1000: "abnormal closure",
	1007 - 1000: "invalid frame payload data",
	1008 - 1000: "policy violation",
	1009 - 1000: "message too big",
	1010 - 1000: "mandatory extension",
	1011 - 1000: "internal error",
	1012 - 1000: "service restart",
	1013 - 1000: "try again later",
	1014 - 1000: "bad gateway",
	1015 - 1000: "TLS handshake",
}

// CloseCodeName names a WebSocket close status code (RFC 6455 §7.4 and the
// IANA registry): "normal closure" for 1000, "registered" for 3000-3999,
// "private" for 4000-4999, "unassigned" for 1016-2999 and "invalid" for
// anything below 1000 or above 4999.
func CloseCodeName(code uint16) string {
	switch {
	case code >= 1000 && int(code-1000) < len(closeCodeNames):
		return closeCodeNames[code-1000]
	case code >= 1016 && code <= 2999:
		return "unassigned"
	case code >= 3000 && code <= 3999:
		return "registered"
	case code >= 4000 && code <= 4999:
		return "private"
	}
	return "invalid"
}

// frameWhat is the What column of a frame row.
func frameWhat(op decode.Opcode) string {
	switch op {
	case decode.OpContinuation:
		return "CONT"
	case decode.OpText:
		return "TEXT"
	case decode.OpBinary:
		return "BINARY"
	case decode.OpClose:
		return "CLOSE"
	case decode.OpPing:
		return "PING"
	case decode.OpPong:
		return "PONG"
	}
	if op > 0xF {
		return "OP-?"
	}
	return reservedWhat[op]
}

var reservedWhat = [16]string{
	"OP-0x0", "OP-0x1", "OP-0x2", "OP-0x3", "OP-0x4", "OP-0x5", "OP-0x6", "OP-0x7",
	"OP-0x8", "OP-0x9", "OP-0xA", "OP-0xB", "OP-0xC", "OP-0xD", "OP-0xE", "OP-0xF",
}

// messageWhat is the What column of a message row.
func messageWhat(op decode.Opcode) string {
	switch op {
	case decode.OpText:
		return "MSG-TEXT"
	case decode.OpBinary:
		return "MSG-BINARY"
	}
	return "MSG"
}

// roleJSON is the JSON "from" value of a role ("" for none).
func roleJSON(r decode.Role) string {
	switch r {
	case decode.RoleClient:
		return "client"
	case decode.RoleServer:
		return "server"
	}
	return ""
}
