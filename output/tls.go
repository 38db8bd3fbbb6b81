package output

import (
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/wscap/wscap/decode"
)

// appendTLS appends the TLS session of a connection as the legend and the
// summary show it: "TLS 1.3 TLS_AES_128_GCM_SHA256 sni=example.com
// alpn=http/1.1" ("TLS (no ServerHello)" before the server answered).
func appendTLS(l []byte, in *decode.TLSInfo) []byte {
	if in.Version == "" {
		l = append(l, "TLS (no ServerHello)"...)
	} else {
		l = appendASCII(l, in.Version)
		l = append(l, ' ')
		l = appendASCII(l, in.Cipher)
	}
	if in.SNI != "" {
		l = append(l, " sni="...)
		l = appendASCII(l, in.SNI)
	}
	if in.ALPN != "" {
		l = append(l, " alpn="...)
		l = appendASCII(l, in.ALPN)
	}
	return l
}

// tlsRowInfo is the Info column of a TLS row.
func tlsRowInfo(l []byte, in *decode.TLSInfo) []byte {
	if in == nil {
		return l
	}
	l = appendTLS(l, in)
	if in.Decrypted {
		return append(l, " decrypted"...)
	}
	return append(l, " not decrypted"...)
}

// setTLS records the TLS session of the connection; until its KindConn
// event, the TLS endpoints stand for the connection's.
func (c *connStats) setTLS(in *decode.TLSInfo) {
	if in == nil {
		return
	}
	cp := *in
	c.tls = &cp
	if !c.hasInfo {
		c.info.Client, c.info.Server = in.Client, in.Server
		c.hasInfo = true
	}
}

// noteTLSAnomaly remembers the TLS problems of the connection (for the
// reasons in the summary).
func (c *connStats) noteTLSAnomaly(code decode.Code) {
	if !strings.HasPrefix(string(code), "tls_") {
		return
	}
	for _, x := range c.tlsCodes {
		if x == code {
			return
		}
	}
	c.tlsCodes = append(c.tlsCodes, code)
}

// notDecryptedWhy says why a TLS connection was not decrypted, from the
// problems it had: the reasons of the text summary's closing lines.
func (c *connStats) notDecryptedWhy() string {
	has := func(code decode.Code) bool {
		for _, x := range c.tlsCodes {
			if x == code {
				return true
			}
		}
		return false
	}
	switch {
	case has("tls_no_key"):
		return "no key in the key log"
	case has("tls_unsupported_cipher"):
		return "cipher suite or TLS version wscap does not decrypt"
	case has("tls_midstream"):
		return "the capture starts after the TLS handshake"
	case has("tls_auth_failed"):
		return "records fail authentication (wrong keys, or a damaged capture)"
	case c.tls.Version == "":
		return "the TLS handshake is not complete in the capture"
	case len(c.tlsCodes) > 0:
		return "TLS problem " + string(c.tlsCodes[0])
	}
	return "no key log (use --keylog FILE or SSLKEYLOGFILE, or a pcapng with embedded secrets)"
}

// tlsPathCell is the Path cell of a TLS connection that did not turn out
// to be WebSocket.
func tlsPathCell(c *connStats) string {
	if c.tls.Decrypted {
		return "(not WebSocket)"
	}
	return "(not decrypted)"
}

// tlsCell is the TLS cell of the summary table.
func tlsCell(c *connStats) string {
	if c.tls == nil {
		return "-"
	}
	s := string(appendTLS(nil, c.tls))
	if !c.tls.Decrypted {
		s += " (not decrypted)"
	}
	return s
}

// writeTLSFooter writes the lines after the summary table that count the
// TLS connections wscap could not look into:
//
//	3 TLS connections not decrypted: no key in the key log
//	1 TLS connection decrypted but not WebSocket
func writeTLSFooter(w io.Writer, conns []*connStats) error {
	var order []string
	counts := map[string]int{}
	add := func(line string) {
		if counts[line] == 0 {
			order = append(order, line)
		}
		counts[line]++
	}
	for _, c := range conns {
		switch {
		case c.tls == nil:
		case !c.tls.Decrypted:
			add(" not decrypted: " + c.notDecryptedWhy())
		case !c.ws:
			add(" decrypted but not WebSocket")
		}
	}
	var b []byte
	for _, line := range order {
		n := counts[line]
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " TLS connection"...)
		if n != 1 {
			b = append(b, 's')
		}
		b = append(b, line...)
		b = append(b, '\n')
	}
	_, err := w.Write(b)
	return err
}

// appendTLSJSON appends the fields of a "tls" line.
func appendTLSJSON(b []byte, in *decode.TLSInfo) []byte {
	var x decode.TLSInfo
	if in != nil {
		x = *in
	}
	b = jAddr(b, "client", x.Client)
	b = jAddr(b, "server", x.Server)
	b = jStr(b, "version", x.Version)
	b = jStr(b, "cipher", x.Cipher)
	b = jStr(b, "sni", x.SNI)
	b = jStr(b, "alpn", x.ALPN)
	b = jStr(b, "client_random", x.ClientRandom)
	return jBool(b, "decrypted", x.Decrypted)
}

// appendTLSTree is the -V tree of a TLS row; field names follow
// Wireshark's tls.* display filter fields.
func appendTLSTree(l []byte, in *decode.TLSInfo) []byte {
	if in == nil {
		return l
	}
	for _, f := range []struct{ name, v string }{
		{"tls.handshake.version", in.Version},
		{"tls.handshake.ciphersuite", in.Cipher},
		{"tls.handshake.extensions_server_name", in.SNI},
		{"tls.handshake.extensions_alpn_str", in.ALPN},
		{"wscap.tls.client_random", in.ClientRandom},
	} {
		if f.v != "" {
			l = field(l, f.name)
			l = appendASCII(l, f.v)
			l = append(l, '\n')
		}
	}
	return fieldBool(l, "wscap.tls.decrypted", in.Decrypted)
}

// Hidden counts the connections left out of the timeline and the summary
// (see [Options.All]) by reason.
type Hidden map[string]int

// hiddenDecrypted is the reason of decrypted TLS connections that were
// not WebSocket; the reasons of the others are why they were not
// decrypted.
const hiddenDecrypted = ""

// hiddenReason says why connection c, which is hidden, is not WebSocket.
func hiddenReason(c *connStats) string {
	if c.tls.Decrypted {
		return hiddenDecrypted
	}
	return c.notDecryptedWhy()
}

// Add adds the counts of o to h.
func (h Hidden) Add(o Hidden) {
	for k, n := range o {
		h[k] += n
	}
}

// Total is the number of connections h counts.
func (h Hidden) Total() int {
	n := 0
	for _, k := range h {
		n += k
	}
	return n
}

// String is the line that tells what was left out: "15 decrypted TLS
// connections were HTTP/2 or HTTPS, not WebSocket; 3 TLS connections not
// decrypted: no key in the key log". Decrypted ones come first, then the
// most frequent reasons.
func (h Hidden) String() string {
	var parts []string
	if n := h[hiddenDecrypted]; n > 0 {
		if n == 1 {
			parts = append(parts, "1 decrypted TLS connection was HTTP/2 or HTTPS, not WebSocket")
		} else {
			parts = append(parts, strconv.Itoa(n)+" decrypted TLS connections were HTTP/2 or HTTPS, not WebSocket")
		}
	}
	var why []string
	for k, n := range h {
		if k != hiddenDecrypted && n > 0 {
			why = append(why, k)
		}
	}
	slices.SortFunc(why, func(a, b string) int {
		if h[a] != h[b] {
			return h[b] - h[a]
		}
		return strings.Compare(a, b)
	})
	for _, k := range why {
		n := h[k]
		s := strconv.Itoa(n) + " TLS connection"
		if n != 1 {
			s += "s"
		}
		parts = append(parts, s+" not decrypted: "+k)
	}
	return strings.Join(parts, "; ")
}

// HiddenOf returns what renderer r left out (see [Options.All]); call it
// after Close. It is empty for renderers of this package's making that
// show everything, and for other Renderers.
func HiddenOf(r Renderer) Hidden {
	if x, ok := r.(interface{ b() *base }); ok {
		return x.b().conns.hiddenCounts()
	}
	return Hidden{}
}

// Hidden returns what the Shard of s left out (see [Options.All]).
func (s *Summary) Hidden() Hidden { return s.hidden }
