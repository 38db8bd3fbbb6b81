package app

import (
	"bytes"
	"strconv"
	"strings"
)

// SIP over WebSocket (RFC 7118 §5): each message, text or binary, is one
// SIP request or response (RFC 3261 §7): a start line, header fields
// (compact forms expanded, folded lines joined, repeated fields joined
// with ", " as §7.3.1 allows) and a body of Content-Length bytes (the
// rest of the message when the field is absent, as the WebSocket message
// frames it). A message of CRLFs only is an RFC 5626 §4.4.1 keep-alive
// (CRLFCRLF ping, CRLF pong).
//
// Detection: the subprotocol sip; without it, a message whose first line
// is a request line `METHOD sip:... SIP/2.0` (or sips:, tel:) or a status
// line `SIP/2.0 NNN reason`, ending in CRLF.

var protoSIP = &protocol{
	name:         "sip",
	subprotocols: []string{"sip"},
	sniff:        sniffSIP,
	new:          func(*Handshake, *Config) decoder { return sipDecoder{} },
	ref:          "RFC 7118 §5; RFC 3261 §7",
	summary:      "SIP over WebSocket (RFC 7118): request method and Request-URI or status and reason, Call-ID, CSeq, From, To, headers, body",
}

// sipMaxLine bounds the start line the sniffer looks at.
const sipMaxLine = 2048

func sniffSIP(m *Msg) bool {
	p := m.Payload
	if len(p) < 14 {
		return false
	}
	if p[0] == 'S' && string(p[:8]) == "SIP/2.0 " {
		return sipDigit(p[8]) && sipDigit(p[9]) && sipDigit(p[10]) && p[8] != '0' && p[11] == ' ' &&
			sipLineEnd(p[12:]) >= 0
	}
	if p[0] < 'A' || p[0] > 'Z' {
		return false
	}
	i := 1
	for i < len(p) && i < 32 && (p[i] >= 'A' && p[i] <= 'Z' || p[i] == '-') {
		i++
	}
	if i >= len(p) || p[i] != ' ' {
		return false
	}
	uri := p[i+1:]
	if !bytes.HasPrefix(uri, []byte("sip:")) && !bytes.HasPrefix(uri, []byte("sips:")) && !bytes.HasPrefix(uri, []byte("tel:")) {
		return false
	}
	end := sipLineEnd(uri)
	if end < 0 {
		return false
	}
	line := uri[:end]
	sp := bytes.IndexByte(line, ' ')
	return sp > 4 && string(line[sp:]) == " SIP/2.0"
}

// sipLineEnd returns the length of the line that starts b when it ends in
// CRLF within sipMaxLine bytes and has no control characters, else -1.
func sipLineEnd(b []byte) int {
	for i := 0; i < len(b) && i < sipMaxLine; i++ {
		switch c := b[i]; {
		case c == '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				return i
			}
			return -1
		case c < 0x20 && c != '\t' || c == 0x7f:
			return -1
		}
	}
	return -1
}

func sipDigit(c byte) bool { return c >= '0' && c <= '9' }

type sipDecoder struct{}

func (sipDecoder) size() int { return 0 }

// sipCompact maps the compact forms of RFC 3261 §7.3.3 and later RFCs
// (IANA SIP parameters registry) to their full names.
var sipCompact = map[byte]string{
	'a': "Accept-Contact", 'b': "Referred-By", 'c': "Content-Type", 'd': "Request-Disposition",
	'e': "Content-Encoding", 'f': "From", 'i': "Call-ID", 'j': "Reject-Contact", 'k': "Supported",
	'l': "Content-Length", 'm': "Contact", 'n': "Identity-Info", 'o': "Event", 'r': "Refer-To",
	's': "Subject", 't': "To", 'u': "Allow-Events", 'v': "Via", 'x': "Session-Expires", 'y': "Identity",
}

// sipCanonical spells the common header names as RFC 3261 does.
var sipCanonical = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
		"Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Type", "CSeq", "Date",
		"Error-Info", "Expires", "From", "In-Reply-To", "Max-Forwards", "Min-Expires", "MIME-Version",
		"Organization", "Priority", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require",
		"Record-Route", "Reply-To", "Require", "Retry-After", "Route", "Server", "Subject", "Supported",
		"Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
		"Event", "Allow-Events", "Subscription-State", "Refer-To", "Referred-By", "Session-Expires",
		"Min-SE", "Path", "Service-Route", "P-Asserted-Identity", "Identity", "Identity-Info",
		"Accept-Contact", "Reject-Contact", "Request-Disposition", "Flow-Timer", "RSeq", "RAck"} {
		m[strings.ToLower(n)] = n
	}
	return m
}()

func sipHeaderName(n string) string {
	if len(n) == 1 {
		if c := n[0] | 0x20; sipCompact[c] != "" {
			return sipCompact[c]
		}
	}
	if c, ok := sipCanonical[strings.ToLower(n)]; ok {
		return c
	}
	return n
}

// sipToken reports whether s is an RFC 3261 §25.1 token.
func sipToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || sipDigit(c) || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return true
}

type sipHeader struct {
	name string
	val  []byte
}

func (sipDecoder) decode(m *Msg, r *Result) {
	p := m.Payload
	if len(p) == 0 {
		return
	}
	if len(bytes.Trim(p, "\r\n")) == 0 {
		if m.Incomplete {
			return
		}
		kind := "pong"
		if bytes.Count(p, []byte("\n")) >= 2 {
			kind = "ping"
		}
		r.Add(Unit{Proto: "sip", Type: "keep-alive", Info: kind})
		return
	}
	u, err := sipParse(p, m.Incomplete)
	if err != "" {
		if !m.Incomplete {
			r.Malformed(protoSIP, "%s", err)
		}
		return
	}
	r.Add(u)
}

// sipNextLine returns the line at b[i:] without its CRLF (or LF), and the
// index after it; ok is false when no line end follows.
func sipNextLine(b []byte, i int) (line []byte, next int, ok bool) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return b[i:], len(b), false
	}
	line = b[i : i+j]
	return bytes.TrimSuffix(line, []byte("\r")), i + j + 1, true
}

// sipParse parses one SIP message. cut: the message is incomplete, so the
// body may be short and the header section unterminated.
func sipParse(p []byte, cut bool) (Unit, string) {
	u := Unit{Proto: "sip"}
	// RFC 3261 §7.5: CRLFs before the start line are ignored.
	i := 0
	for i < len(p) && (p[i] == '\r' || p[i] == '\n') {
		i++
	}
	start, i, ok := sipNextLine(p, i)
	if !ok && !cut {
		return u, "no line end after the start line"
	}
	var fs []Field
	var info strings.Builder
	status := 0
	if rest, isResp := bytes.CutPrefix(start, []byte("SIP/2.0 ")); isResp {
		code, reason, _ := bytes.Cut(rest, []byte(" "))
		if len(code) != 3 || !sipDigit(code[0]) || !sipDigit(code[1]) || !sipDigit(code[2]) || code[0] == '0' {
			return u, "bad status code " + strconv.Quote(shorten(code, 20))
		}
		status, _ = strconv.Atoi(string(code))
		u.Type = "response"
		fs = append(fs, Field{Key: "status", Value: jint(int64(status))}, Field{Key: "reason", Value: jstr(string(reason))})
		info.WriteString(string(code) + " " + shorten(bytes.ToValidUTF8(reason, []byte("\uFFFD")), infoLen))
	} else {
		parts := bytes.Split(start, []byte(" "))
		if len(parts) != 3 || !sipToken(string(parts[0])) || len(parts[1]) == 0 || bytes.IndexByte(parts[1], ':') <= 0 {
			return u, "bad start line " + strconv.Quote(shorten(start, 40))
		}
		if string(parts[2]) != "SIP/2.0" {
			return u, "bad SIP version " + strconv.Quote(shorten(parts[2], 20))
		}
		u.Type = string(parts[0])
		u.Name, u.HasName = string(parts[1]), true
		info.WriteString(string(jstr(shorten(parts[1], 2*infoLen))))
	}

	// Header fields (§7.3), up to the empty line.
	var hs []sipHeader
	ended := false
	for i < len(p) {
		var line []byte
		line, i, ok = sipNextLine(p, i)
		if len(line) == 0 && ok {
			ended = true
			break
		}
		if !ok && cut {
			break // cut inside the header section
		}
		if line[0] == ' ' || line[0] == '\t' {
			// §7.3.1: a folded continuation of the previous field.
			if len(hs) == 0 {
				return u, "header continuation before any header field"
			}
			h := &hs[len(hs)-1]
			// The full slice expression makes the first append copy: the
			// payload is never written.
			h.val = append(append(h.val[:len(h.val):len(h.val)], ' '), bytes.TrimSpace(line)...)
			continue
		}
		name, val, found := bytes.Cut(line, []byte(":"))
		name = bytes.TrimRight(name, " \t")
		if !found || !sipToken(string(name)) {
			return u, "header line without a field name " + strconv.Quote(shorten(line, 40))
		}
		hs = append(hs, sipHeader{name: sipHeaderName(string(name)), val: bytes.TrimSpace(val)})
	}
	if !ended && !cut {
		return u, "no empty line after the header fields"
	}
	body := p[i:]
	if !ended {
		body = nil
	}

	// Repeated fields joined (§7.3.1), in the order first seen.
	var vals [][]byte
	var owned []bool // vals[k] is a copy that may be appended to
	index := make(map[string]int, len(hs))
	names := make([]string, 0, len(hs))
	for _, h := range hs {
		k, seen := index[h.name]
		if !seen {
			index[h.name] = len(vals)
			names = append(names, h.name)
			vals = append(vals, h.val)
			owned = append(owned, false)
			continue
		}
		if !owned[k] {
			vals[k], owned[k] = bytes.Clone(vals[k]), true
		}
		vals[k] = append(append(vals[k], ", "...), h.val...)
	}
	get := func(name string) ([]byte, bool) {
		k, ok := index[name]
		if !ok {
			return nil, false
		}
		return vals[k], true
	}
	hf := make([]Field, len(names))
	for k, n := range names {
		hf[k] = Field{Key: n, Value: jstr(string(vals[k]))}
	}

	if cl, ok := get("Content-Length"); ok {
		n, err := strconv.Atoi(string(cl))
		switch {
		case err != nil || n < 0:
			if !cut {
				return u, "bad Content-Length " + strconv.Quote(shorten(cl, 20))
			}
		case n > len(body) && !cut:
			return u, "Content-Length " + strconv.Itoa(n) + " exceeds the " + strconv.Itoa(len(body)) + " bytes of body"
		case n < len(body):
			body = body[:n]
		}
	}
	if cseq, ok := get("CSeq"); ok {
		num, method, _ := bytes.Cut(cseq, []byte(" "))
		method = bytes.TrimSpace(method)
		n, err := strconv.ParseUint(string(num), 10, 32)
		if err != nil || !sipToken(string(method)) {
			return u, "bad CSeq " + strconv.Quote(shorten(cseq, 40))
		}
		u.ID = juint(n)
		fs = append(fs, Field{Key: "method", Value: jstr(string(method))})
		if status != 0 {
			info.WriteString(" " + string(method))
		}
		info.WriteString(" id=" + strconv.FormatUint(n, 10))
	}
	if v, ok := get("Call-ID"); ok {
		fs = append(fs, Field{Key: "call_id", Value: jstr(string(v))})
	}
	if v, ok := get("From"); ok {
		fs = append(fs, Field{Key: "from", Value: jstr(string(v))})
	}
	if v, ok := get("To"); ok {
		fs = append(fs, Field{Key: "to", Value: jstr(string(v))})
	}
	if v, ok := get("CSeq"); ok {
		fs = append(fs, Field{Key: "cseq", Value: jstr(string(v))})
	}
	if len(hf) > 0 {
		fs = append(fs, Field{Key: "headers", Value: jobj(hf...)})
	}
	if len(body) > 0 {
		fs = append(fs, blob("body", body))
		info.WriteString(" (")
		if ct, ok := get("Content-Type"); ok {
			info.WriteString(shorten(bytes.ToValidUTF8(ct, []byte("\uFFFD")), 40) + ", ")
		}
		info.WriteString(strconv.Itoa(len(body)) + " bytes)")
	}
	u.Fields = fs
	u.Info = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, info.String())
	return u, ""
}
