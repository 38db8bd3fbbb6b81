package app

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// STOMP 1.0, 1.1 and 1.2 over WebSocket (https://stomp.github.io/).
//
// A frame is COMMAND EOL *(header EOL) EOL body NUL *(EOL), EOL being LF or
// (1.2) CRLF; a content-length header gives the body's length, and the body
// may then hold NULs. Header names and values are escaped (\n \c \\, and
// \r in 1.2) except in CONNECT and CONNECTED frames. An EOL between frames
// is a heart-beat.
//
// Libraries send one frame per WebSocket message, but the spec does not ask
// for it: @stomp/stompjs splits large frames over several messages
// (splitLargeFrames) and servers may batch frames. The decoder keeps the
// unfinished frame of each direction (at most stompMaxBuffer bytes; past
// that the frame is dropped with one anomaly and the stream resyncs after
// it) and reports every frame on the message that ends it.
//
// Detection: the subprotocols v10.stomp, v11.stomp, v12.stomp and stomp;
// otherwise a client message that is a CONNECT or STOMP frame whose header
// block is complete and well-formed and names accept-version or host (or,
// as STOMP 1.0 clients send, login and passcode). A chat line that merely
// starts with "CONNECT" is not STOMP.

var protoSTOMP = &protocol{
	name:         "stomp",
	subprotocols: []string{"v10.stomp", "v11.stomp", "v12.stomp", "stomp"},
	sniff:        sniffSTOMP,
	new:          newSTOMP,
	ref:          "STOMP 1.2 (https://stomp.github.io/stomp-specification-1.2.html)",
	summary:      "STOMP 1.0-1.2 frames (also split over or batched in messages) and heart-beats: command, destination, receipt/message id, headers, body",
}

// stompMaxBuffer bounds the unfinished frame kept per direction.
const stompMaxBuffer = 1 << 20

// stompCommands are the frame commands of STOMP 1.2 §"Client Frames" and
// §"Server Frames" (1.0 and 1.1 have the same, less NACK and STOMP).
var stompCommands = []string{
	"CONNECT", "STOMP", "CONNECTED", "SEND", "SUBSCRIBE", "UNSUBSCRIBE",
	"ACK", "NACK", "BEGIN", "COMMIT", "ABORT", "DISCONNECT", "MESSAGE",
	"RECEIPT", "ERROR",
}

func stompCommand(b []byte) (string, bool) {
	for _, c := range stompCommands {
		if string(b) == c {
			return c, true
		}
	}
	return "", false
}

// sniffSTOMP: a client CONNECT or STOMP frame (see above).
func sniffSTOMP(m *Msg) bool {
	p := m.Payload
	if !m.FromClient || len(p) < 8 || p[0] != 'C' && p[0] != 'S' {
		return false
	}
	var rest []byte
	for _, c := range [...]string{"CONNECT\n", "CONNECT\r\n", "STOMP\n", "STOMP\r\n"} {
		if bytes.HasPrefix(p, []byte(c)) {
			rest = p[len(c):]
			break
		}
	}
	if rest == nil {
		return false
	}
	var version, host, login, passcode bool
	for n := 0; n < 64; n++ {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return false
		}
		line := bytes.TrimSuffix(rest[:nl], []byte{'\r'})
		rest = rest[nl+1:]
		if len(line) == 0 {
			return version || host || login && passcode
		}
		name, _, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t\x00") {
			return false
		}
		switch string(name) {
		case "accept-version":
			version = true
		case "host":
			host = true
		case "login":
			login = true
		case "passcode":
			passcode = true
		}
	}
	return false
}

type stompDecoder struct {
	version int // 10, 11, 12; 0 while unknown
	dir     [2]stompDir
}

// stompDir is the state of one direction.
type stompDir struct {
	buf   []byte // the unfinished frame
	skipN int    // bytes of a dropped frame still to discard
	skip  bool   // discarding up to the next NUL (a dropped frame of unknown length)
	quiet bool   // an incomplete message broke the stream: resync without an anomaly
	// What the unfinished frame in buf waits for (stompWaitFor): a
	// message that cannot give it is appended without parsing buf again.
	wait    byte // 0, stompWaitLine or stompWaitBody
	need    int  // stompWaitBody: the frame's whole length when its content-length says
	line    int  // stompWaitLine: where the open header line starts in buf
	connect bool // stompWaitLine: the frame is a CONNECT or CONNECTED (never escaped)
}

const (
	stompWaitLine = 1 // a header line's EOL: the command line has ended, the headers have not
	stompWaitBody = 2 // the NUL after the body, or need bytes in all
)

// stompWaitFor says what the unfinished frame b (it starts at a command
// and parsed well as far as it goes) waits for.
func stompWaitFor(b []byte) (byte, int) {
	if n, ok := stompPendingLength(b); ok {
		return stompWaitBody, n
	}
	if bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n")) {
		return stompWaitBody, 0
	}
	if bytes.IndexByte(b, '\n') >= 0 {
		return stompWaitLine, 0
	}
	return 0, 0
}

// stillPending reports whether the unfinished frame in st.buf neither
// ends nor turns out malformed once p is added: parsing it again would
// find what it found (quadratic in a frame sent in small messages). The
// header lines that end in p are checked here as frame checks them, each
// once.
func (d *stompDecoder) stillPending(st *stompDir, p []byte) bool {
	if len(st.buf) == 0 || len(st.buf)+len(p) > stompMaxBuffer {
		return false
	}
	switch st.wait {
	case stompWaitLine:
		last := bytes.LastIndexByte(p, '\n')
		if last < 0 {
			return true
		}
		escaped := !st.connect && d.version != 10 // as frame decides
		first := append(st.buf[st.line:len(st.buf):len(st.buf)], p[:bytes.IndexByte(p, '\n')]...)
		if !d.headerLine(first, escaped) {
			return false
		}
		for rest := p[bytes.IndexByte(p, '\n')+1 : last+1]; len(rest) > 0; {
			nl := bytes.IndexByte(rest, '\n')
			if !d.headerLine(rest[:nl], escaped) {
				return false
			}
			rest = rest[nl+1:]
		}
		st.line = len(st.buf) + last + 1
		return true
	case stompWaitBody:
		if st.need > 0 {
			return len(st.buf)+len(p) < st.need
		}
		return bytes.IndexByte(p, 0) < 0
	}
	return false
}

func newSTOMP(h *Handshake, _ *Config) decoder {
	d := &stompDecoder{}
	switch strings.ToLower(h.Protocol) {
	case "v10.stomp":
		d.version = 10
	case "v11.stomp":
		d.version = 11
	case "v12.stomp":
		d.version = 12
	}
	return d
}

func (d *stompDecoder) size() int {
	return 64 + cap(d.dir[0].buf) + cap(d.dir[1].buf)
}

func (d *stompDecoder) decode(m *Msg, r *Result) {
	st := &d.dir[0]
	if !m.FromClient {
		st = &d.dir[1]
	}
	data := m.Payload
	if st.skipN > 0 {
		n := min(st.skipN, len(data))
		st.skipN -= n
		data = data[n:]
		if len(data) == 0 {
			return
		}
	}
	if st.skip {
		i := bytes.IndexByte(data, 0)
		if i < 0 {
			return
		}
		st.skip = false
		data = data[i+1:]
	}
	if !m.Incomplete && d.stillPending(st, data) {
		st.buf = append(st.buf, data...)
		r.Partial = true
		return
	}
	atStart := len(st.buf) == 0
	if !atStart {
		st.buf = append(st.buf, data...)
		data = st.buf
	}
	quiet := m.Incomplete || st.quiet
	st.quiet = false
	malformed := false
	bad := func(format string, args ...any) {
		if !quiet && !malformed {
			r.Malformed(protoSTOMP, format, args...)
		}
		malformed = true
	}
	i := 0
	for i < len(data) {
		// EOLs (and stray NULs) between frames: at the start of a message
		// they are heart-beats; after a frame they end it.
		j := i
		for j < len(data) && (data[j] == '\n' || data[j] == '\r' || data[j] == 0) {
			if data[j] == '\n' && atStart && i == 0 {
				r.Add(Unit{Proto: "stomp", Type: "heart-beat", Info: ""})
			}
			j++
		}
		atStart = false
		i = j
		if i == len(data) {
			break
		}
		f, n, err := d.frame(data[i:])
		if err != "" {
			bad("%s at byte %d", err, i)
			k := bytes.IndexByte(data[i:], 0)
			if k < 0 {
				i = len(data)
			} else {
				i += k + 1
			}
			continue
		}
		if n == 0 { // unfinished
			break
		}
		r.Add(f)
		i += n
	}
	rest := data[i:]
	switch {
	case len(rest) == 0:
		st.buf = st.buf[:0]
	case m.Incomplete:
		// The message lost its end: the frame cannot be finished.
		st.buf = st.buf[:0]
		st.quiet = true
	case len(rest) > stompMaxBuffer:
		bad("frame of more than %d bytes not finished: dropped", stompMaxBuffer)
		st.buf = st.buf[:0]
		if cl, ok := stompPendingLength(rest); ok {
			st.skipN = cl - len(rest)
		} else {
			st.skip = true
		}
	default:
		st.buf = append(st.buf[:0], rest...)
		st.wait, st.need = stompWaitFor(rest)
		if st.wait == stompWaitLine {
			st.line = bytes.LastIndexByte(rest, '\n') + 1
			cmd, _ := stompCommand(bytes.TrimSuffix(rest[:bytes.IndexByte(rest, '\n')], []byte{'\r'}))
			st.connect = cmd == "CONNECT" || cmd == "CONNECTED"
		}
		r.Partial = true
	}
	if len(st.buf) == 0 && cap(st.buf) > 64<<10 {
		st.buf = nil
	}
}

// stompPendingLength returns the whole length (NUL included) of the
// unfinished frame b when its headers are complete and give a
// content-length.
func stompPendingLength(b []byte) (int, bool) {
	end := bytes.Index(b, []byte("\n\n"))
	if e := bytes.Index(b, []byte("\n\r\n")); e >= 0 && (end < 0 || e < end) {
		end = e + 1
	}
	if end < 0 {
		return 0, false
	}
	for line := range bytes.SplitSeq(b[:end], []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte{'\r'}), []byte("content-length:")); ok {
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 0 || n > 1<<40 {
				return 0, false
			}
			return end + 2 + n + 1, true
		}
	}
	return 0, false
}

// headerLine reports whether line (its EOL cut) is a header line that
// frame would take: not the blank line that ends the headers, a colon,
// and only defined escapes when escaped.
func (d *stompDecoder) headerLine(line []byte, escaped bool) bool {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) == 0 {
		return false
	}
	k, v, ok := bytes.Cut(line, []byte{':'})
	if !ok {
		return false
	}
	if escaped {
		if _, ok := d.unescape(k); !ok {
			return false
		}
		if _, ok := d.unescape(v); !ok {
			return false
		}
	}
	return true
}

type stompHeader struct{ name, value string }

// frame parses the frame at the start of b. It returns the frame's unit
// and its length (trailing EOLs included), n == 0 when b holds only its
// beginning, or what is wrong with it.
func (d *stompDecoder) frame(b []byte) (u Unit, n int, err string) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		if len(b) > 16 {
			return u, 0, "no STOMP command"
		}
		if _, ok := stompCommandPrefix(b); !ok {
			return u, 0, "no STOMP command"
		}
		return u, 0, ""
	}
	cmd, ok := stompCommand(bytes.TrimSuffix(b[:nl], []byte{'\r'}))
	if !ok {
		return u, 0, "no STOMP command"
	}
	escaped := cmd != "CONNECT" && cmd != "CONNECTED" && d.version != 10
	var hs []stompHeader
	i := nl + 1
	for {
		nl := bytes.IndexByte(b[i:], '\n')
		if nl < 0 {
			return u, 0, ""
		}
		line := bytes.TrimSuffix(b[i:i+nl], []byte{'\r'})
		i += nl + 1
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return u, 0, cmd + " header line without a colon"
		}
		name, value := string(k), string(v)
		if d.version == 10 {
			// STOMP 1.0 servers and clients write "name: value".
			value = strings.TrimSpace(value)
		}
		if escaped {
			var ok1, ok2 bool
			name, ok1 = d.unescape(k)
			value, ok2 = d.unescape(v)
			if !ok1 || !ok2 {
				return u, 0, cmd + " header with an undefined escape sequence"
			}
		}
		hs = append(hs, stompHeader{name, value})
	}
	var body []byte
	// A content-length that is not a length is ignored: the body then
	// ends at the first NUL, as in a frame without one.
	clen, hasLen := -1, false
	if v, ok := stompGet(hs, "content-length"); ok {
		if n, e := strconv.Atoi(v); e == nil && n >= 0 {
			clen, hasLen = n, true
		}
	}
	if hasLen {
		if len(b)-i <= clen {
			return u, 0, ""
		}
		if b[i+clen] != 0 {
			return u, 0, cmd + " body not followed by NUL at its content-length"
		}
		body = b[i : i+clen]
		i += clen + 1
	} else {
		z := bytes.IndexByte(b[i:], 0)
		if z < 0 {
			return u, 0, ""
		}
		body = b[i : i+z]
		i += z + 1
	}
	// Trailing EOLs belong to the frame (STOMP 1.2 §"Augmented BNF").
	for i < len(b) && b[i] == '\n' || i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
		if b[i] == '\r' {
			i++
		}
		i++
	}
	if cmd == "CONNECTED" {
		switch v, _ := stompGet(hs, "version"); v {
		case "1.0":
			d.version = 10
		case "1.1":
			d.version = 11
		case "1.2":
			d.version = 12
		}
	}
	return d.unit(cmd, hs, body), i, ""
}

// stompCommandPrefix reports whether b could begin a command line.
func stompCommandPrefix(b []byte) (string, bool) {
	b = bytes.TrimSuffix(b, []byte{'\r'})
	for _, c := range stompCommands {
		if strings.HasPrefix(c, string(b)) {
			return c, true
		}
	}
	return "", false
}

// unescape undoes STOMP 1.1/1.2 header escaping (§"Value Encoding"). An
// undefined escape sequence is an error (the spec makes it fatal), except
// while the version is unknown: it is then kept as is.
func (d *stompDecoder) unescape(b []byte) (string, bool) {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b), true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		var c byte
		if i+1 < len(b) {
			c = b[i+1]
		}
		switch {
		case c == 'n':
			out = append(out, '\n')
		case c == 'c':
			out = append(out, ':')
		case c == '\\':
			out = append(out, '\\')
		case c == 'r':
			// Defined by 1.2 only, but @stomp/stompjs escapes CR with 1.1
			// too: taken in both.
			out = append(out, '\r')
		case d.version == 0:
			out = append(out, '\\')
			continue
		default:
			return "", false
		}
		i++
	}
	return string(out), true
}

// stompGet returns the first value of header name (STOMP 1.2 §"Repeated
// Header Entries").
func stompGet(hs []stompHeader, name string) (string, bool) {
	for _, h := range hs {
		if h.name == name {
			return h.value, true
		}
	}
	return "", false
}

func (d *stompDecoder) unit(cmd string, hs []stompHeader, body []byte) Unit {
	u := Unit{Proto: "stomp", Type: cmd}
	var info []byte
	if v, ok := stompGet(hs, "destination"); ok {
		u.Name, u.HasName = v, true
		info = appendJSONString(info, v)
	}
	for _, k := range [...]string{"receipt", "message-id", "id"} {
		if v, ok := stompGet(hs, k); ok {
			u.ID = jstr(v)
			info = appendSep(info)
			info = append(info, "id="...)
			info = appendToken(info, v)
			break
		}
	}
	// The headers that say most about each command.
	var show []string
	switch cmd {
	case "CONNECT", "STOMP":
		show = []string{"accept-version", "host", "login", "heart-beat"}
	case "CONNECTED":
		show = []string{"version", "server", "heart-beat"}
	case "MESSAGE":
		show = []string{"subscription"}
	case "SUBSCRIBE":
		show = []string{"ack"}
	case "ACK", "NACK", "BEGIN", "COMMIT", "ABORT", "SEND":
		show = []string{"transaction"}
	case "RECEIPT", "ERROR":
		show = []string{"receipt-id", "message"}
	}
	for _, k := range show {
		if v, ok := stompGet(hs, k); ok {
			info = appendSep(info)
			info = append(info, k...)
			info = append(info, '=')
			info = appendToken(info, shortenStr(v, 40))
		}
	}
	hdr := []byte{'{'}
	seen := make(map[string]bool, len(hs))
	for _, h := range hs {
		if seen[h.name] {
			continue
		}
		seen[h.name] = true
		if len(hdr) > 1 {
			hdr = append(hdr, ',')
		}
		hdr = appendJSONString(hdr, h.name)
		hdr = append(hdr, ':')
		hdr = appendJSONString(hdr, h.value)
	}
	hdr = append(hdr, '}')
	u.Fields = []Field{{Key: "headers", Value: hdr}}
	if len(body) > 0 || cmd == "SEND" || cmd == "MESSAGE" {
		f := blob("body", body)
		u.Fields = append(u.Fields, f)
		info = appendSep(info)
		info = append(info, '(')
		info = strconv.AppendInt(info, int64(len(body)), 10)
		info = append(info, " bytes)"...)
		if f.Key == "body" && len(body) > 0 {
			info = append(info, ' ')
			info = append(info, shorten(f.Value, infoLen)...)
		}
	}
	u.Info = string(info)
	return u
}

func appendSep(b []byte) []byte {
	if len(b) > 0 {
		b = append(b, ' ')
	}
	return b
}

// appendToken appends s bare when it is a plain token, else as a JSON
// string.
func appendToken(b []byte, s string) []byte {
	plain := s != "" && utf8.ValidString(s) && !strings.ContainsAny(s, "\u0085\u2028\u2029")
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c > ' ' && c != 0x7f && c != '"' && c != '\\'
	}
	if plain {
		return append(b, s...)
	}
	return appendJSONString(b, s)
}

// shortenStr cuts s to at most n runes, with "…" where it was cut.
func shortenStr(s string, n int) string {
	return shorten([]byte(s), n)
}
