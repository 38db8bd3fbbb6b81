package output

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/wscap/wscap/decode"
)

// The --follow view: the conversation of the followed connections, one
// block per data message in capture order:
//
//	#1 10.0.0.2:51512 -> 10.0.0.1:8080 GET /chat accept=ok
//	[0.003678 pkt 6] #1 handshake: GET /chat HTTP/1.1 -> 101 Switching Protocols
//	[0.006555 pkt 8] #1 client -> server: text, 30 bytes
//	    {"type":"join","user":"alice"}
//	[0.265207 pkt 26] #1 server -> client: ping "heartbeat-1"
//
// A text message is shown whole (as far as --max-payload kept it), line
// by line, indented; control characters, invalid UTF-8 and invisible
// characters are escaped (\xNN, \uXXXX) so that a payload cannot drive
// the terminal. A binary message, or one that could not be decoded, is a
// hex and ASCII dump. Control frames, anomalies, gaps and the ends of
// the directions are one line each. Data frames have no line of their
// own: their message stands for them.

// follower is the state of the --follow view.
type follower struct {
	pretty []byte // scratch for --pretty
}

// follow renders ev in the --follow view. As in the timeline, the
// anomalies of a message's only frame follow the message's block.
func (t *textRenderer) follow(ev *decode.Event, c *connStats) {
	if t.pend.on && !t.pend.takes(ev) {
		t.flushPending()
	}
	switch ev.Kind {
	case decode.KindConn:
		if ev.Info != nil {
			c.info, c.hasInfo = *ev.Info, true
		}
		if c.hasInfo && c.info.Midstream {
			t.legend(c, nil)
		}
		return
	case decode.KindTLS:
		c.setTLS(ev.TLS) // shown in the legend
		return
	case decode.KindHandshake:
		if ev.Handshake == nil {
			return
		}
		t.legend(c, ev.Handshake)
	}
	if !c.ws {
		return // not (yet) a WebSocket connection
	}
	// Events that print no line of their own come back before the
	// time: with -t delta each line's time is from the previous line.
	switch ev.Kind {
	case decode.KindFrame:
		if f := &ev.Frame; f.Message > 0 {
			// Its message stands for it.
			if f.Fin && f.Opcode != decode.OpContinuation {
				t.hold(ev)
			}
			return
		}
	case decode.KindAnomaly:
		if t.pend.on {
			t.pend.anoms = append(t.pend.anoms, *ev)
			return
		}
	case decode.KindHandshake, decode.KindMessage, decode.KindGap, decode.KindEnd:
	default:
		return
	}
	if !c.legend {
		t.legend(c, c.hs)
		c.hs = nil
	}
	l := t.line[:0]
	l = append(l, '[')
	l = t.appendTime(l, ev.Time)
	l = append(l, " pkt "...)
	l = strconv.AppendInt(l, int64(ev.Packet), 10)
	l = append(l, "] "...)
	l = c.label(l)
	l = append(l, ' ')
	switch ev.From {
	case decode.RoleClient:
		l = append(l, "client -> server: "...)
	case decode.RoleServer:
		l = append(l, "server -> client: "...)
	}
	switch ev.Kind {
	case decode.KindHandshake:
		l = append(l, "handshake: "...)
		l = appendHandshakeInfo(l, ev.Handshake)
		l = append(l, '\n')
	case decode.KindFrame:
		l = t.followFrame(l, &ev.Frame)
	case decode.KindMessage:
		l = t.followMessage(l, &ev.Message, ev.App)
		if t.pend.on {
			t.line = l
			t.write(l)
			t.pend.on = false
			for i := range t.pend.anoms {
				t.follow(&t.pend.anoms[i], c)
			}
			t.pend.anoms = t.pend.anoms[:0]
			return
		}
	case decode.KindAnomaly:
		a := &ev.Anomaly
		l = append(l, "anomaly ["...)
		l = append(l, a.Severity.String()...)
		l = append(l, "] "...)
		l = appendASCII(l, string(a.Code))
		if a.Detail != "" {
			l = append(l, ": "...)
			l = appendASCII(l, a.Detail)
		}
		l = append(l, '\n')
	case decode.KindGap:
		l = append(l, "capture gap: "...)
		l = strconv.AppendInt(l, ev.Gap, 10)
		l = append(l, " bytes lost\n"...)
	case decode.KindEnd:
		e := &ev.End
		l = append(l, "end: "...)
		l = plural(l, e.Frames, "frame")
		l = append(l, ", "...)
		l = plural(l, e.Messages, "message")
		l = append(l, ", "...)
		l = plural(l, int(e.Bytes), "byte")
		if e.Undecoded > 0 {
			l = append(l, ", "...)
			l = strconv.AppendInt(l, e.Undecoded, 10)
			l = append(l, " undecoded"...)
		}
		l = append(l, " ("...)
		l = append(l, e.Reason.String()...)
		l = append(l, ')')
		l = append(l, '\n')
	default:
		return
	}
	t.line = l
	t.write(l)
}

// plural appends "n noun" or "n nouns".
func plural(l []byte, n int, noun string) []byte {
	l = strconv.AppendInt(l, int64(n), 10)
	l = append(l, ' ')
	l = append(l, noun...)
	if n != 1 {
		l = append(l, 's')
	}
	return l
}

// followFrame is the line of a frame that belongs to no message: a
// control frame, a reserved opcode, a continuation with no message open.
// appendCloseBody appends what close frame f says: "1000 (Normal
// Closure) bye", "(no status code)" or "(malformed body) ..." (--follow
// and the HTML report's conversations).
func appendCloseBody(l []byte, f *decode.Frame) []byte {
	more := uint64(len(f.Payload)) < f.PayloadLen
	switch {
	case f.Close.HasCode:
		l = strconv.AppendUint(l, uint64(f.Close.Code), 10)
		l = append(l, " ("...)
		l = append(l, CloseCodeName(f.Close.Code)...)
		l = append(l, ')')
		if len(f.Close.Reason) > 0 {
			l = append(l, ' ')
			l = appendPreview(l, f.Close.Reason, more, false, 0)
		}
	case f.PayloadLen == 0:
		l = append(l, "(no status code)"...)
	default:
		l = append(l, "(malformed body) "...)
		l = appendPreview(l, f.Payload, more, true, 0)
	}
	return l
}

func (t *textRenderer) followFrame(l []byte, f *decode.Frame) []byte {
	more := uint64(len(f.Payload)) < f.PayloadLen
	switch f.Opcode {
	case decode.OpClose:
		l = append(l, "close "...)
		l = appendCloseBody(l, f)
		return append(l, '\n')
	case decode.OpPing, decode.OpPong:
		l = append(l, f.Opcode.String()...)
	case decode.OpContinuation:
		l = append(l, "continuation (no message open)"...)
	default:
		l = append(l, "opcode "...)
		l = append(l, frameWhat(f.Opcode)...)
	}
	l = append(l, ", "...)
	l = plural(l, int(min(f.PayloadLen, 1<<62)), "byte")
	if len(f.Payload) > 0 {
		l = append(l, ' ')
		l = appendPreview(l, f.Payload, more, f.Opcode != decode.OpPing && f.Opcode != decode.OpPong, 0)
	}
	return append(l, '\n')
}

// followMessage is the block of a data message: a line that says what it
// is, then its payload, indented.
func (t *textRenderer) followMessage(l []byte, m *decode.Message, app *decode.AppInfo) []byte {
	if m.Opcode == decode.OpText {
		l = append(l, "text, "...)
	} else {
		l = append(l, "binary, "...)
	}
	l = plural(l, int(min(m.Len, 1<<62)), "byte")
	if m.Frames > 1 {
		l = append(l, " ["...)
		l = strconv.AppendInt(l, int64(m.Frames), 10)
		l = append(l, " frames]"...)
	}
	if m.Compressed {
		l = append(l, ' ')
		l = appendBytesNote(l, "compressed", m.WireLen)
		l = l[:len(l)-1]
	}
	if m.Lost > 0 {
		l = append(l, ' ')
		l = appendBytesNote(l, "lost", m.Lost)
		l = l[:len(l)-1]
	}
	if m.Cut {
		l = append(l, " [cut]"...)
	}
	if m.Opcode == decode.OpText && !m.UTF8Valid && m.DecodeError == "" {
		l = append(l, " [invalid UTF-8]"...)
	}
	if m.DecodeError != "" {
		l = append(l, " decode_error: "...)
		l = appendASCII(l, m.DecodeError)
	}
	l = append(l, '\n')
	l = appendAppFollow(l, app, indent)

	p := m.Payload
	more := messageMore(m)
	switch {
	case len(p) == 0:
	case m.Opcode == decode.OpText && m.DecodeError == "":
		if more {
			p = trimPartialRune(p)
		}
		if t.opt.Pretty && !more {
			if pj := prettyJSONInto(t.fw.pretty[:0], p); pj != nil {
				t.fw.pretty = pj
				p = pj
			}
		}
		l = appendText(l, p, indent)
	default:
		l = appendHexDump(l, p, indent)
	}
	if kept := uint64(len(m.Payload)); m.Len > kept && (m.Truncated || m.Cut) {
		l = append(l, indent...)
		l = append(l, "... "...)
		l = strconv.AppendUint(l, m.Len-kept, 10)
		l = append(l, " more bytes not kept"...)
		if m.Truncated {
			l = append(l, " (--max-payload)"...)
		}
		l = append(l, '\n')
	}
	return l
}

// prettyJSON returns p indented when it is a JSON object or array, else
// nil.
func prettyJSON(p []byte) []byte {
	return prettyJSONInto(nil, p)
}

// prettyJSONInto is prettyJSON appending to dst[:0].
func prettyJSONInto(dst, p []byte) []byte {
	q := bytes.TrimLeft(p, " \t\r\n")
	if len(q) == 0 || q[0] != '{' && q[0] != '[' || !json.Valid(p) {
		return nil
	}
	b := bytes.NewBuffer(dst[:0])
	if json.Indent(b, p, "", "  ") != nil {
		return nil
	}
	return bytes.TrimSpace(b.Bytes())
}

// appendText appends p as lines of text, each starting with ind; the
// last ends with a newline. Tabs are kept; other control characters, DEL
// and invalid UTF-8 become \xNN and invisible characters \uXXXX (as in
// previews), so that a payload cannot drive the terminal; \r\n ends a
// line like \n. Quotes and backslashes are not escaped: the text is
// shown as it is.
func appendText(dst []byte, p []byte, ind string) []byte {
	dst = append(dst, ind...)
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\n':
			dst = append(dst, '\n')
			dst = append(dst, ind...)
			i++
		case c == '\r' && i+1 < len(p) && p[i+1] == '\n':
			i++
		case c == '\t' || c >= 0x20 && c < 0x7f:
			dst = append(dst, c)
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xF])
			i++
		default:
			var n int
			dst, n, _ = previewUnit(dst, p[i:])
			i += n
		}
	}
	if len(p) > 0 && p[len(p)-1] == '\n' {
		dst = dst[:len(dst)-len(ind)] // an empty last line: no trailing spaces
	}
	return append(dst, '\n')
}
