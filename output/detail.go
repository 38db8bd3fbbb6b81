package output

import (
	"strconv"
	"strings"

	"github.com/wscap/wscap/decode"
)

// treeHexMax is how many payload bytes a -V tree line shows in hex.
const treeHexMax = 32

// appendTree appends the -V field tree of ev. Frame field names follow
// Wireshark's websocket.* display filter fields; fields only wscap has are
// named wscap.*.
//
// pretty pretty-prints a text message that is JSON; cid is the Community
// ID of the event's connection, shown in the handshake's tree.
func appendTree(l []byte, ev *decode.Event, pretty bool, cid string) []byte {
	switch ev.Kind {
	case decode.KindFrame:
		return appendFrameTree(l, &ev.Frame)
	case decode.KindMessage:
		l = appendMessageTree(l, &ev.Message, pretty)
		return appendAppTree(l, ev.App, ev.Message.Payload)
	case decode.KindHandshake:
		if ev.Handshake != nil {
			return appendHandshakeTree(l, ev.Handshake, cid)
		}
	case decode.KindTLS:
		return appendTLSTree(l, ev.TLS)
	case decode.KindAnomaly:
		if ev.Anomaly.Ref != "" {
			l = field(l, "wscap.anomaly.ref")
			l = appendASCII(l, ev.Anomaly.Ref)
			l = append(l, '\n')
		}
	}
	return l
}

// field starts a tree line: indent, name, ": ".
func field(l []byte, name string) []byte {
	l = append(l, indent...)
	l = append(l, name...)
	return append(l, ':', ' ')
}

func fieldUint(l []byte, name string, v uint64) []byte {
	l = field(l, name)
	l = strconv.AppendUint(l, v, 10)
	return append(l, '\n')
}

func fieldBool(l []byte, name string, v bool) []byte {
	if v {
		return fieldUint(l, name, 1)
	}
	return fieldUint(l, name, 0)
}

func appendFrameTree(l []byte, f *decode.Frame) []byte {
	l = appendFrameHeaderTree(l, f)
	more := uint64(len(f.Payload)) < f.PayloadLen
	switch {
	case f.Opcode == decode.OpClose && f.Close.HasCode:
		l = field(l, "websocket.payload.close.status_code")
		l = strconv.AppendUint(l, uint64(f.Close.Code), 10)
		l = append(l, " ("...)
		l = append(l, CloseCodeName(f.Close.Code)...)
		l = append(l, ")\n"...)
		if len(f.Close.Reason) > 0 {
			l = field(l, "websocket.payload.close.reason")
			l = appendPreview(l, f.Close.Reason, more, false, 0)
			l = append(l, '\n')
		}
	case len(f.Payload) == 0:
	case f.Opcode == decode.OpPing:
		l = treeHex(l, "websocket.payload.ping", f.Payload, more)
	case f.Opcode == decode.OpPong:
		l = treeHex(l, "websocket.payload.pong", f.Payload, more)
	case f.Opcode == decode.OpText && !f.Compressed:
		l = field(l, "websocket.payload.text")
		l = appendPreview(l, f.Payload, more, false, 0)
		l = append(l, '\n')
	default:
		l = treeHex(l, "websocket.payload", f.Payload, more)
	}
	l = appendFramePosTree(l, f)
	l = fieldUint(l, "wscap.first_pkt", uint64(max(f.FirstPacket, 0)))
	if f.Message > 0 {
		l = fieldUint(l, "wscap.message", uint64(f.Message))
	}
	l = fieldUint(l, "wscap.seen", f.Seen)
	if f.Lost > 0 {
		l = fieldUint(l, "wscap.lost", f.Lost)
	}
	if f.Cut {
		l = fieldUint(l, "wscap.cut", 1)
	}
	return l
}

// appendFramePosTree appends the frame's header length and offset.
func appendFramePosTree(l []byte, f *decode.Frame) []byte {
	l = fieldUint(l, "wscap.header_len", uint64(f.Len))
	return fieldUint(l, "wscap.offset", uint64(max(f.Offset, 0)))
}

// appendSingleFrameTree appends the header fields of the only frame of
// a message, for the message's row: the payload follows in the
// message's tree.
func appendSingleFrameTree(l []byte, f *decode.Frame) []byte {
	return appendFramePosTree(appendFrameHeaderTree(l, f), f)
}

// appendFrameHeaderTree appends the fields of a frame's header.
func appendFrameHeaderTree(l []byte, f *decode.Frame) []byte {
	l = fieldBool(l, "websocket.fin", f.Fin)
	l = field(l, "websocket.rsv")
	l = append(l, '0', 'x', hexDigits[f.Rsv&0xF], '\n')
	l = field(l, "websocket.opcode")
	l = strconv.AppendUint(l, uint64(f.Opcode), 10)
	l = append(l, " ("...)
	l = append(l, f.Opcode.String()...)
	l = append(l, ")\n"...)
	l = fieldBool(l, "websocket.mask", f.Masked)
	switch f.LenBits {
	case 16:
		l = fieldUint(l, "websocket.payload_length", 126)
		l = fieldUint(l, "websocket.payload_length_ext_16", f.PayloadLen)
	case 64:
		l = fieldUint(l, "websocket.payload_length", 127)
		l = fieldUint(l, "websocket.payload_length_ext_64", f.PayloadLen)
	default:
		l = fieldUint(l, "websocket.payload_length", f.PayloadLen)
	}
	if f.Masked {
		l = field(l, "websocket.masking_key")
		l = appendHex(l, f.MaskKey[:])
		l = append(l, '\n')
	}
	if f.Compressed {
		l = fieldUint(l, "websocket.pmc", 1)
	}
	return l
}

// treeHex writes a payload as hex, at most treeHexMax bytes, "..." when
// there is more.
func treeHex(l []byte, name string, p []byte, more bool) []byte {
	l = field(l, name)
	if len(p) > treeHexMax {
		p, more = p[:treeHexMax], true
	}
	l = appendHex(l, p)
	if more {
		l = append(l, "..."...)
	}
	return append(l, '\n')
}

func appendMessageTree(l []byte, m *decode.Message, pretty bool) []byte {
	l = fieldUint(l, "wscap.message.n", uint64(max(m.N, 0)))
	l = field(l, "wscap.message.opcode")
	l = append(l, m.Opcode.String()...)
	l = append(l, '\n')
	l = fieldUint(l, "wscap.message.frames", uint64(max(m.Frames, 0)))
	l = fieldUint(l, "wscap.message.first_pkt", uint64(max(m.FirstPacket, 0)))
	l = fieldUint(l, "wscap.message.len", m.Len)
	l = fieldUint(l, "wscap.message.wire_len", m.WireLen)
	l = fieldBool(l, "wscap.message.compressed", m.Compressed)
	if m.Opcode == decode.OpText {
		l = fieldBool(l, "wscap.message.utf8_valid", m.UTF8Valid)
	}
	if m.Truncated {
		l = fieldUint(l, "wscap.message.truncated", 1)
	}
	if m.Lost > 0 {
		l = fieldUint(l, "wscap.message.lost", m.Lost)
	}
	if m.Cut {
		l = fieldUint(l, "wscap.message.cut", 1)
	}
	if m.DecodeError != "" {
		l = field(l, "wscap.message.decode_error")
		l = appendASCII(l, m.DecodeError)
		l = append(l, '\n')
	}
	if m.Opcode == decode.OpText && m.DecodeError == "" && m.Len > 0 {
		// The whole text as kept (--max-payload), escaped as previews
		// are; the bytes are in the -x dump.
		more := messageMore(m)
		p := m.Payload
		if more {
			p = trimPartialRune(p)
		}
		if pretty && !more {
			if pj := prettyJSON(p); pj != nil {
				l = append(l, indent...)
				l = append(l, "websocket.payload.text:\n"...)
				return appendText(l, pj, indent+indent)
			}
		}
		l = field(l, "websocket.payload.text")
		l = appendPreview(l, p, more, false, 0)
		l = append(l, '\n')
	}
	return l
}

func appendHandshakeTree(l []byte, h *decode.Handshake, cid string) []byte {
	l = append(l, indent...)
	l = append(l, "request (pkt "...)
	l = strconv.AppendInt(l, int64(h.RequestPacket), 10)
	l = append(l, "): "...)
	l = appendASCII(l, h.Method)
	l = append(l, ' ')
	l = appendASCII(l, h.Path)
	l = append(l, ' ')
	l = appendASCII(l, h.Proto)
	l = append(l, '\n')
	l = appendHeaders(l, h.Request)
	l = append(l, indent...)
	if h.Status == 0 {
		l = append(l, "response: (none captured)\n"...)
	} else {
		l = append(l, "response (pkt "...)
		l = strconv.AppendInt(l, int64(h.ResponsePacket), 10)
		l = append(l, "): "...)
		l = strconv.AppendInt(l, int64(h.Status), 10)
		if h.Reason != "" {
			l = append(l, ' ')
			l = appendASCII(l, h.Reason)
		}
		l = append(l, '\n')
		l = appendHeaders(l, h.Response)
	}
	if h.H2Stream != 0 {
		// A WebSocket over HTTP/2 (RFC 8441): its stream and
		// pseudo-header fields under Wireshark's http2.* names.
		l = fieldUint(l, "http2.streamid", uint64(h.H2Stream))
		for _, hs := range [][]decode.HeaderField{h.Request, h.Response} {
			for _, f := range hs {
				if name, ok := strings.CutPrefix(f.Name, ":"); ok {
					l = field(l, "http2.headers."+name)
					l = appendASCII(l, f.Value)
					l = append(l, '\n')
				}
			}
		}
	}
	if a := acceptState(h); a != "" {
		l = field(l, "wscap.accept")
		l = append(l, a...)
		l = append(l, '\n')
	}
	if ext := agreedExtensions(h); ext != "" {
		l = field(l, "wscap.extensions")
		l = appendASCII(l, ext)
		l = append(l, '\n')
	}
	return appendCommunityID(l, cid)
}

// appendCommunityID appends the wscap.community_id line of a connection
// whose Community ID is cid (nothing when it has none).
func appendCommunityID(l []byte, cid string) []byte {
	if cid == "" {
		return l
	}
	l = field(l, "wscap.community_id")
	l = append(l, cid...)
	return append(l, '\n')
}

func appendHeaders(l []byte, hs []decode.HeaderField) []byte {
	for _, f := range hs {
		l = append(l, indent...)
		l = append(l, indent...)
		l = appendASCII(l, f.Name)
		l = append(l, ':', ' ')
		l = appendASCII(l, f.Value)
		l = append(l, '\n')
	}
	return l
}
