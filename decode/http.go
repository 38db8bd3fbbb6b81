package decode

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// This file is the HTTP/1.x layer of the decoder: finding the end of a head,
// telling HTTP from other bytes, parsing a head into fields, and skipping
// message bodies (RFC 9112) while a connection is still plain HTTP before its
// Upgrade. It is pure and allocates only strings copied out of the head,
// whose size the caller bounds (Options.MaxHead).

// headEnd returns the length of the complete HTTP head at the start of b,
// including the terminating empty line ("\r\n\r\n"; a bare "\n\n" or a mix
// of both is accepted too), or -1 when b does not yet hold a complete head.
// Empty lines before the start line are part of the head (parseHead skips
// them).
func headEnd(b []byte) int {
	// RFC 9112 §2.2: "In the interest of robustness, a server that is
	// expecting to receive and parse a request-line SHOULD ignore at least
	// one empty line (CRLF) received prior to the request-line."
	i := skipEmptyLines(b)
	if i == len(b) {
		return -1
	}
	// RFC 9112 §2.2: "a recipient MAY recognize a single LF as a line
	// terminator and ignore any preceding CR."
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1 // just past an LF: is the next line empty?
		if i < len(b) && b[i] == '\n' {
			return i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2
		}
		if i+1 >= len(b) {
			return -1 // cannot tell yet whether the next line is empty
		}
	}
}

// skipEmptyLines returns the length of the run of empty lines ("\r\n" or
// "\n") at the start of b. A lone trailing '\r' is counted too, so that a
// caller waiting for more bytes does not mistake it for content.
func skipEmptyLines(b []byte) int {
	i := 0
	for i < len(b) {
		switch {
		case b[i] == '\n':
			i++
		case b[i] == '\r' && (i+1 == len(b) || b[i+1] == '\n'):
			i++
		default:
			return i
		}
	}
	return i
}

// maxMethodLen bounds the method token httpPrefix waits for; the longest
// registered methods (e.g. "BASELINE-CONTROL", "UPDATEREDIRECTREF") are 17.
const maxMethodLen = 20

// httpPrefix classifies the first bytes of a direction: 1 = can only be an
// HTTP/1.x request line (METHOD SP target, METHOD an upper-case token such
// as GET, POST, OPTIONS or M-SEARCH) or a status line ("HTTP/" DIGIT),
// 0 = too few bytes to tell, -1 = not HTTP.
func httpPrefix(b []byte) int {
	b = b[skipEmptyLines(b):]
	if len(b) == 0 {
		return 0
	}
	const name = "HTTP/"
	if n := min(len(b), len(name)); string(b[:n]) == name[:n] {
		switch {
		case len(b) <= len(name):
			return 0
		case isDigit(b[len(name)]):
			return 1
		}
		return -1
	}
	// RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
	// Methods are case-sensitive tokens (RFC 9110 §9.1); every registered
	// method is upper case, which keeps binary or text protocols out.
	i := 0
	for ; i < len(b) && i <= maxMethodLen; i++ {
		c := b[i]
		switch {
		case c >= 'A' && c <= 'Z':
		case i > 0 && (c == '-' || c == '_' || isDigit(c)):
		case i > 0 && c == ' ':
			if i+1 == len(b) {
				return 0
			}
			// The request-target starts with "/" (origin-form), "*"
			// (asterisk-form) or a letter (absolute-form "http://",
			// authority-form "host:port" of CONNECT), or a digit (an IP
			// literal in the authority-form).
			if t := b[i+1]; t == '/' || t == '*' || isAlpha(t) || isDigit(t) || t == '[' {
				return 1
			}
			return -1
		default:
			return -1
		}
	}
	if i > maxMethodLen {
		return -1
	}
	return 0
}

// httpHead is a parsed HTTP/1.x head: a request line or a status line and
// the header fields.
type httpHead struct {
	isRequest             bool
	method, target, proto string // request line ("GET", "/chat", "HTTP/1.1"); proto is also set for responses
	status                int    // status line
	reason                string
	fields                []HeaderField // in order, duplicates kept, names as sent
	pseudos               []HeaderField // HTTP/2: the pseudo-header fields (see h2Head)
	// malformed names the first violation parseHead tolerated (a control
	// character in the request-target, a header line that is not a field);
	// the caller decides whether the head is trusted anyway.
	malformed string
}

// parseHead parses a complete head as delimited by headEnd (the terminating
// empty line is optional). ok is false when it is not a well-formed HTTP/1.x
// request or status line followed by header lines. It tolerates empty lines
// before the start line, obsolete line folding, LF-only line ends, a missing
// or empty reason phrase ("HTTP/1.1 101 "), whitespace around values and
// before the colon, and whitespace-led lines before the first field.
func parseHead(head []byte) (h httpHead, ok bool) {
	rest := head[skipEmptyLines(head):]
	line, rest, _ := nextLine(rest)
	if !parseStartLine(&h, line) {
		return httpHead{}, false
	}
	for {
		line, rest, _ = nextLine(rest)
		if len(line) == 0 {
			break // the empty line that ends the head, or the end of head
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(h.fields) == 0 {
				// RFC 9112 §2.2: "A recipient that receives whitespace
				// between the start-line and the first header field MUST
				// either reject the message as invalid or consume each
				// whitespace-preceded line without further processing of
				// it."
				continue
			}
			// RFC 9112 §5.2: "A user agent that receives an obs-fold in a
			// response message ... MUST replace each received obs-fold with
			// one or more SP octets prior to interpreting the field value."
			f := &h.fields[len(h.fields)-1]
			v := cleanValue(trimOWS(line))
			switch {
			case v == "":
			case f.Value == "":
				f.Value = v
			default:
				f.Value += " " + v
			}
			continue
		}
		// A line that is not a field is skipped and noted (Wireshark's
		// HTTP dissector shows it and goes on).
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			h.note(fmt.Sprintf("header line %d has no colon", len(h.fields)+1))
			continue
		}
		// RFC 9112 §5.1: "No whitespace is allowed between the field name
		// and colon." A server must reject it; a dissector tolerates it and
		// trims, like most proxies did before RFC 7230.
		name := bytes.TrimRight(line[:colon], " \t")
		if len(name) == 0 || !isToken(name) {
			h.note(fmt.Sprintf("header line %d has an invalid field name %q", len(h.fields)+1, clip(name, 40)))
			continue
		}
		h.fields = append(h.fields, HeaderField{
			Name:  string(name),
			Value: cleanValue(trimOWS(line[colon+1:])),
		})
	}
	return h, true
}

// parseStartLine parses a request line or a status line into h.
func parseStartLine(h *httpHead, line []byte) bool {
	if bytes.HasPrefix(line, []byte("HTTP/")) {
		// RFC 9112 §4: status-line = HTTP-version SP status-code SP
		// [ reason-phrase ]; status-code = 3DIGIT. "A client SHOULD ignore
		// the reason-phrase content because it is not a reliable channel
		// for information", so a missing SP after the code is tolerated.
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 || !isHTTPVersion(line[:sp]) {
			return false
		}
		code := line[sp+1:]
		if len(code) < 3 || !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) {
			return false
		}
		if len(code) > 3 && code[3] != ' ' {
			return false
		}
		h.proto = string(line[:sp])
		h.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
		if len(code) > 4 {
			h.reason = cleanValue(trimOWS(code[4:]))
		}
		return true
	}
	// RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 == sp1 {
		return false
	}
	method, target, proto := line[:sp1], bytes.Trim(line[sp1+1:sp2], " "), line[sp2+1:]
	if !isToken(method) || len(target) == 0 || !isHTTPVersion(proto) {
		return false
	}
	// RFC 9112 §3.2: the request-target has no whitespace; tolerate SP
	// (seen from broken clients), and note control characters (a tab in
	// a path): like Wireshark's HTTP dissector, the line is still taken
	// as method, target and version.
	for _, c := range target {
		if c < ' ' || c == 0x7f {
			h.note(fmt.Sprintf("the request-target has a control character 0x%02x", c))
			break
		}
	}
	h.isRequest = true
	h.method, h.target, h.proto = string(method), string(target), string(proto)
	return true
}

// note records the first tolerated violation of h.
func (h *httpHead) note(why string) {
	if h.malformed == "" {
		h.malformed = why
	}
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// nextLine splits off the first line of b without its line terminator
// ("\r\n" or "\n"). more is false when b held no line terminator.
func nextLine(b []byte) (line, rest []byte, more bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil, false
	}
	line = b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, b[i+1:], true
}

// isHTTPVersion reports whether b is HTTP-version = "HTTP" "/" DIGIT "." DIGIT
// (RFC 9112 §2.3; HTTP-name is case-sensitive).
func isHTTPVersion(b []byte) bool {
	return len(b) == 8 && string(b[:5]) == "HTTP/" && isDigit(b[5]) && b[6] == '.' && isDigit(b[7])
}

// trimOWS removes optional whitespace (SP, HTAB) around b (RFC 9110 §5.6.3).
func trimOWS(b []byte) []byte {
	return bytes.Trim(b, " \t")
}

// cleanValue returns a field value as a string, with CR and NUL replaced by
// SP. RFC 9110 §5.5: "Field values containing CR, LF, or NUL characters are
// invalid and dangerous ... a recipient of CR, LF, or NUL within a field value
// MUST either reject the message or replace each of those characters with SP
// before further processing".
func cleanValue(b []byte) string {
	if bytes.IndexByte(b, '\r') < 0 && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	out := append([]byte(nil), b...)
	for i, c := range out {
		if c == '\r' || c == 0 {
			out[i] = ' '
		}
	}
	return string(out)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// isTchar reports whether c may appear in an RFC 9110 §5.6.2 token:
// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
func isTchar(c byte) bool {
	if isDigit(c) || isAlpha(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isToken reports whether b is a non-empty RFC 9110 token.
func isToken[T string | []byte](b T) bool {
	if len(b) == 0 {
		return false
	}
	for i := 0; i < len(b); i++ {
		if !isTchar(b[i]) {
			return false
		}
	}
	return true
}

// values returns all values of the header name (case-insensitive), in
// order.
func (h *httpHead) values(name string) []string {
	var out []string
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// has reports whether the header name is present (with any value).
func (h *httpHead) has(name string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// joined returns all values of the header name joined by ", " (RFC 9110
// §5.3: a repeated field line is equivalent to one line with the values
// comma-joined), skipping empty values.
func (h *httpHead) joined(name string) string {
	var s string
	for _, f := range h.fields {
		if !strings.EqualFold(f.Name, name) || f.Value == "" {
			continue
		}
		if s != "" {
			s += ", "
		}
		s += f.Value
	}
	return s
}

// hasToken reports whether token is an element of the comma-separated list
// carried by the header name across all its occurrences, comparing
// case-insensitively ("Connection: keep-alive, Upgrade").
func (h *httpHead) hasToken(name, token string) bool {
	for _, f := range h.fields {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		for e := range strings.SplitSeq(f.Value, ",") {
			if strings.EqualFold(strings.Trim(e, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// listElems returns the non-empty elements of the comma-separated list
// carried by the header name across all its occurrences, trimmed of OWS
// (RFC 9110 §5.6.1: "a recipient MUST accept empty list elements").
func (h *httpHead) listElems(name string) []string {
	var out []string
	for _, f := range h.fields {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		for e := range strings.SplitSeq(f.Value, ",") {
			if e = strings.Trim(e, " \t"); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// isWebSocketRequest reports whether the request asks for a WebSocket
// upgrade: its Upgrade header has the token "websocket" or, tolerantly, it
// carries a Sec-WebSocket-Key.
func isWebSocketRequest(h *httpHead) bool {
	return h.isRequest && (h.hasToken("Upgrade", "websocket") || h.has("Sec-WebSocket-Key"))
}

// bodyKind says how the body of an HTTP message is delimited (RFC 9112 §6.3).
type bodyKind uint8

const (
	bodyNone       bodyKind = iota // no body: the next message starts after the head
	bodyLength                     // Content-Length bytes
	bodyChunked                    // chunked transfer coding, up to and including the trailer section
	bodyUntilClose                 // everything until the direction ends
)

var bodyKindNames = [...]string{"none", "length", "chunked", "until-close"}

func (k bodyKind) String() string {
	if int(k) < len(bodyKindNames) {
		return bodyKindNames[k]
	}
	return "body" + strconv.Itoa(int(k))
}

// requestBody returns how the body of request h is delimited and, for
// bodyLength, its length.
func requestBody(h *httpHead) (bodyKind, int64) {
	if k, ok := transferCoding(h); ok {
		if k == bodyChunked {
			return bodyChunked, 0
		}
		// RFC 9112 §6.3: "If a Transfer-Encoding header field is present in
		// a request and the chunked transfer coding is not the final
		// encoding, the message body length cannot be determined reliably;
		// the server MUST respond with the 400 (Bad Request) status code and
		// then close the connection."
		return bodyUntilClose, 0
	}
	if k, n := contentLength(h); k != bodyNone {
		return k, n
	}
	// RFC 9112 §6.3: "If this is a request message and none of the above
	// are true, then the message body length is zero (no message body is
	// present)."
	return bodyNone, 0
}

// responseBody returns how the body of response h to a request with method
// reqMethod is delimited and, for bodyLength, its length.
func responseBody(h *httpHead, reqMethod string) (bodyKind, int64) {
	// RFC 9112 §6.3: "Any response to a HEAD request and any response with
	// a 1xx (Informational), 204 (No Content), or 304 (Not Modified) status
	// code is always terminated by the first empty line after the header
	// fields, regardless of the header fields present in the message, and
	// thus cannot contain a message body or trailer section."
	if reqMethod == "HEAD" || (h.status >= 100 && h.status < 200) || h.status == 204 || h.status == 304 {
		return bodyNone, 0
	}
	// RFC 9112 §6.3: "Any 2xx (Successful) response to a CONNECT request
	// implies that the connection will become a tunnel immediately after
	// the empty line that concludes the header fields."
	if reqMethod == "CONNECT" && h.status >= 200 && h.status < 300 {
		return bodyUntilClose, 0
	}
	if k, ok := transferCoding(h); ok {
		// RFC 9112 §6.3: "If a Transfer-Encoding header field is present in
		// a response and the chunked transfer coding is not the final
		// encoding, the message body length is determined by reading the
		// connection until it is closed by the server."
		return k, 0
	}
	if k, n := contentLength(h); k != bodyNone {
		return k, n
	}
	// RFC 9112 §6.3: "Otherwise, this is a response message without a
	// declared message body length, so the message body length is
	// determined by the number of octets received prior to the server
	// closing the connection."
	return bodyUntilClose, 0
}

// transferCoding looks at Transfer-Encoding: ok is false when it is absent,
// k is bodyChunked when chunked is the final coding and bodyUntilClose
// otherwise.
func transferCoding(h *httpHead) (k bodyKind, ok bool) {
	// RFC 9112 §6.3: "If a message is received with both a
	// Transfer-Encoding and a Content-Length header field, the
	// Transfer-Encoding overrides the Content-Length."
	codings := h.listElems("Transfer-Encoding")
	if len(codings) == 0 {
		return bodyNone, false
	}
	// RFC 9112 §6.3: "If a Transfer-Encoding header field is present and
	// the chunked transfer coding is the final encoding, the message body
	// length is determined by reading and decoding the chunked data until
	// the transfer coding indicates the data is complete."
	last := codings[len(codings)-1]
	if i := strings.IndexByte(last, ';'); i >= 0 {
		last = strings.Trim(last[:i], " \t") // transfer-parameters
	}
	if strings.EqualFold(last, "chunked") {
		return bodyChunked, true
	}
	return bodyUntilClose, true
}

// contentLength looks at Content-Length: bodyNone when absent, bodyLength
// with its value when valid, bodyUntilClose when invalid.
func contentLength(h *httpHead) (bodyKind, int64) {
	vals := h.values("Content-Length")
	if len(vals) == 0 {
		return bodyNone, 0
	}
	// RFC 9110 §8.6: a list of identical values ("42, 42") "likely
	// indicates that a duplicate was generated or combined by an upstream
	// message processor", and may be replaced by the single value.
	n := int64(-1)
	for _, v := range vals {
		for e := range strings.SplitSeq(v, ",") {
			m, ok := parseDecimal(strings.Trim(e, " \t"))
			if !ok || (n >= 0 && m != n) {
				// RFC 9112 §6.3: "If a message is received without
				// Transfer-Encoding and with an invalid Content-Length
				// header field, then the message framing is invalid and the
				// recipient MUST treat it as an unrecoverable error".
				return bodyUntilClose, 0
			}
			n = m
		}
	}
	return bodyLength, n
}

// parseDecimal parses Content-Length = 1*DIGIT without overflow.
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		d := int64(s[i] - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// Chunked parser states (RFC 9112 §7.1).
const (
	chSize      uint8 = iota // in chunk-size hex digits
	chExt                    // in chunk-ext, up to the LF
	chSizeLF                 // after CR of the chunk-size line
	chData                   // in chunk-data
	chDataCR                 // after chunk-data: expecting CRLF
	chDataLF                 // after CR that follows chunk-data
	chTrailer                // at the start of a trailer line (or the final CRLF)
	chTrailerLn              // inside a trailer field line
	chFinalLF                // after CR of the final empty line
)

// bodySkipper consumes an HTTP message body without keeping it. It is
// resumable across calls and its state is a few integers whatever the body
// claims: chunk sizes are capped at int64 and never allocated.
type bodySkipper struct {
	kind   bodyKind
	left   int64 // bodyLength: bytes left; bodyChunked: chunk-data bytes left
	size   int64 // chunk-size being parsed
	digits int   // hex digits seen in chunk-size
	st     uint8 // chunked parser state
	done   bool
	bad    bool
}

// newBodySkipper returns a skipper for a body of kind k (and length n for
// bodyLength).
func newBodySkipper(k bodyKind, n int64) bodySkipper {
	b := bodySkipper{kind: k}
	switch k {
	case bodyNone:
		b.done = true
	case bodyLength:
		b.left = max(n, 0)
		b.done = b.left == 0
	case bodyChunked:
		b.st = chSize
	}
	return b
}

// skip consumes body bytes from the start of p. n is how many bytes belong
// to the body (never more than the body holds: p[n:] is the next message);
// done is true when the body, including a chunked trailer section, has
// ended; bad is true when chunked framing is invalid (the caller then gives
// up on the direction). Once done or bad, skip consumes nothing.
func (b *bodySkipper) skip(p []byte) (n int, done, bad bool) {
	if b.done || b.bad {
		return 0, b.done, b.bad
	}
	switch b.kind {
	case bodyLength:
		n = int(min(b.left, int64(len(p))))
		b.left -= int64(n)
		b.done = b.left == 0
		return n, b.done, false
	case bodyUntilClose:
		return len(p), false, false
	case bodyChunked:
		return b.chunked(p)
	}
	b.done = true
	return 0, true, false
}

// chunked runs the RFC 9112 §7.1 chunked-body grammar over p:
//
//	chunked-body   = *chunk last-chunk trailer-section CRLF
//	chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	chunk-size     = 1*HEXDIG
//	last-chunk     = 1*("0") [ chunk-ext ] CRLF
//	trailer-section = *( field-line CRLF )
//
// Bare LF is accepted wherever CRLF is expected (RFC 9112 §2.2).
func (b *bodySkipper) chunked(p []byte) (int, bool, bool) {
	i := 0
	for i < len(p) {
		c := p[i]
		switch b.st {
		case chSize:
			if v, ok := hexVal(c); ok {
				// Cap the size: a chunk-size that does not fit in int64 is
				// not a body anyone can send; treat it as bad framing.
				if b.size > (1<<63-1)>>4 {
					return b.fail(i)
				}
				b.size = b.size<<4 | int64(v)
				b.digits++
				i++
				continue
			}
			if b.digits == 0 {
				return b.fail(i)
			}
			switch c {
			case ';', ' ', '\t':
				// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS
				// chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
				b.st = chExt
			case '\r':
				b.st = chSizeLF
			case '\n':
				b.endSizeLine()
			default:
				return b.fail(i)
			}
			i++
		case chExt:
			switch {
			case c == '\n':
				b.endSizeLine()
			case c == '\r':
				b.st = chSizeLF
			case c < ' ' && c != '\t', c == 0x7f:
				return b.fail(i)
			}
			i++
		case chSizeLF:
			if c != '\n' {
				return b.fail(i)
			}
			b.endSizeLine()
			i++
		case chData:
			n := int(min(b.left, int64(len(p)-i)))
			b.left -= int64(n)
			i += n
			if b.left == 0 {
				b.st = chDataCR
			}
		case chDataCR:
			switch c {
			case '\r':
				b.st = chDataLF
			case '\n':
				b.st = chSize
			default:
				return b.fail(i)
			}
			i++
		case chDataLF:
			if c != '\n' {
				return b.fail(i)
			}
			b.st = chSize
			i++
		case chTrailer:
			i++
			switch c {
			case '\n':
				b.done = true
				return i, true, false
			case '\r':
				b.st = chFinalLF
			default:
				b.st = chTrailerLn
			}
		case chTrailerLn:
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				return len(p), false, false
			}
			i += j + 1
			b.st = chTrailer
		case chFinalLF:
			if c != '\n' {
				return b.fail(i)
			}
			b.done = true
			return i + 1, true, false
		}
	}
	return i, false, false
}

// endSizeLine moves past a complete chunk-size line.
func (b *bodySkipper) endSizeLine() {
	if b.size == 0 {
		b.st = chTrailer // last-chunk
	} else {
		b.left, b.st = b.size, chData
	}
	b.size, b.digits = 0, 0
}

func (b *bodySkipper) fail(n int) (int, bool, bool) {
	b.bad = true
	return n, false, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case isDigit(c):
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
