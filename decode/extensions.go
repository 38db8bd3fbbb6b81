package decode

import (
	"fmt"
	"strings"
)

// This file parses Sec-WebSocket-Extensions (RFC 6455 §9.1) and checks the
// permessage-deflate negotiation (RFC 7692 §5 and §7).

// extParam is one extension parameter as sent.
type extParam struct {
	name     string
	value    string // unquoted
	hasValue bool
	bad      string // why the parameter does not follow the grammar; "" when it does
}

// extension is one element of an extension list: a name and its
// parameters, in order.
type extension struct {
	name   string
	params []extParam
}

// parseExtensions parses a Sec-WebSocket-Extensions value. RFC 6455 §9.1:
//
//	Sec-WebSocket-Extensions = extension-list
//	extension-list = 1#extension
//	extension = extension-token *( ";" extension-param )
//	extension-token = registered-token
//	registered-token = token
//	extension-param = token [ "=" (token | quoted-string) ]
//	    ;When using the quoted-string syntax variant, the value
//	    ;after quoted-string unescaping MUST conform to the
//	    ;'token' ABNF.
//
// It never fails: an element without a name is skipped, and a parameter
// that breaks the grammar is kept with bad set, so that the caller can
// report it when it matters (for permessage-deflate).
func parseExtensions(s string) []extension {
	var out []extension
	i := 0
	for {
		// RFC 9110 §5.6.1: "a recipient MUST accept empty list elements".
		for i < len(s) && (s[i] == ',' || s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			return out
		}
		name, j := scanToken(s, i)
		if name == "" {
			i = skipTo(s, i, ",")
			continue
		}
		e := extension{name: name}
		i = j
		for {
			i = skipOWS(s, i)
			if i == len(s) || s[i] == ',' {
				break
			}
			if s[i] != ';' {
				e.params = append(e.params, extParam{bad: fmt.Sprintf("unexpected %q", s[i:skipTo(s, i, ";,")])})
				i = skipTo(s, i, ";,")
				continue
			}
			i = skipOWS(s, i+1)
			var p extParam
			p.name, i = scanToken(s, i)
			if p.name == "" {
				if i == len(s) || s[i] == ';' || s[i] == ',' {
					continue // "ext;" or "ext;;p": an empty parameter, tolerated
				}
				end := skipTo(s, i, ";,")
				e.params = append(e.params, extParam{bad: fmt.Sprintf("parameter %q is not a token", s[i:end])})
				i = end
				continue
			}
			i = skipOWS(s, i)
			if i < len(s) && s[i] == '=' {
				p.hasValue = true
				i = skipOWS(s, i+1)
				if i < len(s) && s[i] == '"' {
					var closed bool
					p.value, i, closed = scanQuoted(s, i)
					switch {
					case !closed:
						p.bad = "unterminated quoted-string"
					case !isToken(p.value):
						p.bad = fmt.Sprintf("quoted value %q is not a token", p.value)
					}
				} else {
					p.value, i = scanToken(s, i)
					if p.value == "" {
						p.bad = "missing value after ="
					}
				}
			}
			e.params = append(e.params, p)
		}
		out = append(out, e)
	}
}

// scanToken returns the token starting at s[i] ("" if none) and the index
// after it.
func scanToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && isTchar(s[j]) {
		j++
	}
	return s[i:j], j
}

// scanQuoted unescapes the quoted-string starting at s[i] == '"' (RFC 9110
// §5.6.4) and returns it, the index after the closing quote and whether
// there was one.
func scanQuoted(s string, i int) (string, int, bool) {
	var b strings.Builder
	for i++; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, true
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), i, false
}

// skipOWS returns the index of the first byte at or after i that is not SP
// or HTAB.
func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// skipTo returns the index of the first byte at or after i that is one of
// delims outside a quoted-string, or len(s).
func skipTo(s string, i int, delims string) int {
	quoted := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(delims, c) >= 0:
			return i
		}
	}
	return len(s)
}

const (
	extPermessageDeflate = "permessage-deflate"
	paramServerNoContext = "server_no_context_takeover"
	paramClientNoContext = "client_no_context_takeover"
	paramServerMaxWindow = "server_max_window_bits"
	paramClientMaxWindow = "client_max_window_bits"
)

// isPermessageDeflate reports whether an extension name is RFC 7692's
// permessage-deflate.
func isPermessageDeflate(name string) bool { return strings.EqualFold(name, extPermessageDeflate) }

// isDeflateFrame reports whether an extension name is the pre-RFC 7692
// per-frame compression of old WebKit and Chrome builds (RSV1 on each
// compressed frame).
func isDeflateFrame(name string) bool {
	return strings.EqualFold(name, "x-webkit-deflate-frame") || strings.EqualFold(name, "deflate-frame")
}

// deflateConfig is one permessage-deflate offer or answer after checking.
type deflateConfig struct {
	serverNoContext, clientNoContext bool
	hasServerMax, hasClientMax       bool // the parameter is present (valid or not)
	serverMax, clientMax             int  // its value when valid, else 0 (also for a valueless client_max_window_bits)
}

// checkDeflate checks the parameters of one permessage-deflate element of
// an offer (offer true) or an answer (RFC 7692 §7) and returns what it
// says and the anomalies found.
func checkDeflate(e extension, offer bool) (deflateConfig, []Anomaly) {
	// RFC 7692 §7: "A server MUST decline an extension negotiation offer
	// for this extension if any of the following conditions are met: The
	// negotiation offer contains an extension parameter not defined for use
	// in an offer. The negotiation offer contains an extension parameter
	// with an invalid value. The negotiation offer contains multiple
	// extension parameters with the same name. ..."
	// RFC 7692 §7: "A client MUST _Fail the WebSocket Connection_ if the
	// peer server accepted an extension negotiation offer for this extension
	// with an extension negotiation response meeting any of the following
	// conditions: The negotiation response contains an extension parameter
	// not defined for use in a response. The negotiation response contains
	// an extension parameter with an invalid value. The negotiation response
	// contains multiple extension parameters with the same name. ..."
	what := "answer"
	if offer {
		what = "offer"
	}
	var c deflateConfig
	var an []Anomaly
	var seen [4]bool
	known := [...]string{paramServerNoContext, paramClientNoContext, paramServerMaxWindow, paramClientMaxWindow}
	for _, p := range e.params {
		if p.bad != "" {
			an = append(an, newAnomaly(CodeDeflateParamInvalid, "permessage-deflate %s has a malformed parameter: %s", what, p.bad))
			continue
		}
		k := -1
		for i, name := range known {
			if strings.EqualFold(p.name, name) {
				k = i
				break
			}
		}
		if k < 0 {
			an = append(an, newAnomaly(CodeDeflateParamInvalid, "permessage-deflate %s has unknown parameter %q", what, p.name))
			continue
		}
		if seen[k] {
			an = append(an, newAnomaly(CodeDeflateParamDuplicate, "permessage-deflate %s has %s more than once", what, known[k]))
			continue
		}
		seen[k] = true
		switch known[k] {
		case paramServerNoContext, paramClientNoContext:
			// RFC 7692 §7.1.1.1 and §7.1.1.2: the "server_no_context_takeover"
			// and "client_no_context_takeover" extension parameters have no
			// value, in an offer and in a response.
			if p.hasValue {
				an = append(an, newAnomaly(CodeDeflateParamInvalid, "permessage-deflate %s has %s=%q; the parameter has no value", what, known[k], p.value))
			}
			if known[k] == paramServerNoContext {
				c.serverNoContext = true
			} else {
				c.clientNoContext = true
			}
		case paramServerMaxWindow:
			// RFC 7692 §7.1.2.1: "This parameter has a decimal integer value
			// without leading zeroes between 8 to 15, inclusive, indicating
			// the base-2 logarithm of the LZ77 sliding window size, and MUST
			// conform to the ABNF below."
			c.hasServerMax = true
			if !p.hasValue {
				an = append(an, newAnomaly(CodeDeflateParamInvalid, "permessage-deflate %s has %s without a value, expected 8..15", what, known[k]))
			} else if bits, ok := windowBits(p.value); ok {
				c.serverMax = bits
			} else {
				an = append(an, newAnomaly(CodeDeflateParamInvalid, "permessage-deflate %s has %s=%q, expected 8..15", what, known[k], p.value))
			}
		case paramClientMaxWindow:
			c.hasClientMax = true
			switch bits, ok := windowBits(p.value); {
			case !p.hasValue && offer:
				// RFC 7692 §7.1.2.2: "A client MAY include the
				// "client_max_window_bits" extension parameter in an
				// extension negotiation offer. This parameter has no value
				// or a decimal integer value without leading zeroes between
				// 8 to 15 inclusive indicating the base-2 logarithm of the
				// LZ77 sliding window size."
			case !p.hasValue:
				// RFC 7692 §7.1.2.2: a server that includes it in a response
				// tells the client the window to use, so the value is
				// required there ("with a value equal to or smaller than"
				// the offered one, or any value 8..15).
				an = append(an, newAnomaly(CodeDeflateParamInvalid, "permessage-deflate answer has %s without a value; a value 8..15 is required in an answer", known[k]))
			case ok:
				c.clientMax = bits
			default:
				an = append(an, newAnomaly(CodeDeflateParamInvalid, "permessage-deflate %s has %s=%q, expected 8..15", what, known[k], p.value))
			}
		}
	}
	return c, an
}

// windowBits parses a window-bits value: a decimal integer without leading
// zeroes, 8..15 (RFC 7692 §7.1.2.1, §7.1.2.2).
func windowBits(v string) (int, bool) {
	switch {
	case len(v) == 1 && v[0] >= '8' && v[0] <= '9':
		return int(v[0] - '0'), true
	case len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5':
		return 10 + int(v[1]-'0'), true
	}
	return 0, false
}

// answerFits returns why a permessage-deflate answer a does not accept the
// offer o (nil when it does).
func answerFits(o, a deflateConfig) []string {
	var why []string
	// RFC 7692 §7.1.2.2: "If a received extension negotiation offer doesn't
	// have the "client_max_window_bits" extension parameter, the
	// corresponding extension negotiation response to the offer MUST NOT
	// include the "client_max_window_bits" extension parameter."
	if a.hasClientMax && !o.hasClientMax {
		why = append(why, fmt.Sprintf("the answer has %s but the offer does not", paramClientMaxWindow))
	}
	// RFC 7692 §7.1.2.1: "A server accepts an extension negotiation offer
	// with this parameter by including the "server_max_window_bits"
	// extension parameter in the extension negotiation response to send
	// back to the client with the same or smaller value as the offer."
	if o.serverMax > 0 {
		switch {
		case !a.hasServerMax:
			why = append(why, fmt.Sprintf("the offer has %s=%d but the answer has no %s", paramServerMaxWindow, o.serverMax, paramServerMaxWindow))
		case a.serverMax > o.serverMax:
			why = append(why, fmt.Sprintf("the answer has %s=%d, larger than the offered %d", paramServerMaxWindow, a.serverMax, o.serverMax))
		}
	}
	// RFC 7692 §7.1.1.1: "A server accepts an extension negotiation offer
	// that includes the "server_no_context_takeover" extension parameter by
	// including the "server_no_context_takeover" extension parameter in the
	// corresponding extension negotiation response to send back to the
	// client."
	if o.serverNoContext && !a.serverNoContext {
		why = append(why, fmt.Sprintf("the offer has %s but the answer does not", paramServerNoContext))
	}
	return why
}

// negotiateExtensions checks the client's offer and the server's answer
// (raw Sec-WebSocket-Extensions values) and returns the agreed
// permessage-deflate parameters (nil when the answer does not accept
// permessage-deflate), whether x-webkit-deflate-frame or deflate-frame was
// accepted instead, and the anomalies of the offer (from the client) and of
// the answer (from the server) separately.
//
// The parameters follow the answer even when it is faulty, because the
// server compresses as it answered: a missing or invalid window size is 15.
// When the answer accepts two compression extensions (extension_repeated),
// the first one in the answer is the one returned. Whether the server's
// extensions were offered at all (extension_not_offered) is fillResponse's
// check; permessage-deflate parameters are checked against the offer only
// when permessage-deflate was offered.
//
// fillRequest reports offerAnoms (it calls negotiateExtensions(offer, ""))
// and fillResponse reports answerAnoms, so each anomaly is reported once,
// on the side that sent it.
func negotiateExtensions(offer, answer string) (p *DeflateParams, deflateFrame bool, offerAnoms, answerAnoms []Anomaly) {
	var offers []deflateConfig
	for _, e := range parseExtensions(offer) {
		if !isPermessageDeflate(e.name) {
			continue
		}
		c, an := checkDeflate(e, true)
		offers = append(offers, c)
		offerAnoms = append(offerAnoms, an...)
	}
	agreed := ""
	for _, e := range parseExtensions(answer) {
		pmd, frame := isPermessageDeflate(e.name), isDeflateFrame(e.name)
		if !pmd && !frame {
			continue
		}
		if agreed != "" {
			// RFC 7692 §5: "A server MUST NOT accept a PMCE extension
			// negotiation offer together with another extension if the
			// PMCE will conflict with the extension on their use of the
			// RSV1 bit." Two compression extensions both use RSV1.
			if strings.EqualFold(agreed, e.name) {
				answerAnoms = append(answerAnoms, newAnomaly(CodeExtensionRepeated, "the answer accepts %s twice", e.name))
			} else {
				answerAnoms = append(answerAnoms, newAnomaly(CodeExtensionRepeated, "the answer accepts %s and %s; both use RSV1", agreed, e.name))
			}
			if pmd {
				_, an := checkDeflate(e, false)
				answerAnoms = append(answerAnoms, an...)
			}
			continue
		}
		agreed = e.name
		if frame {
			deflateFrame = true
			continue
		}
		c, an := checkDeflate(e, false)
		answerAnoms = append(answerAnoms, an...)
		p = &DeflateParams{
			ServerNoContextTakeover: c.serverNoContext,
			ClientNoContextTakeover: c.clientNoContext,
			ServerMaxWindowBits:     15,
			ClientMaxWindowBits:     15,
		}
		if c.serverMax > 0 {
			p.ServerMaxWindowBits = c.serverMax
		}
		if c.clientMax > 0 {
			p.ClientMaxWindowBits = c.clientMax
		}
		answerAnoms = append(answerAnoms, notAllowed(offers, c)...)
	}
	return p, deflateFrame, offerAnoms, answerAnoms
}

// notAllowed returns deflate_param_not_allowed anomalies when the answer a
// accepts none of the permessage-deflate offers (none when nothing was
// offered: that is extension_not_offered).
func notAllowed(offers []deflateConfig, a deflateConfig) []Anomaly {
	if len(offers) == 0 {
		return nil
	}
	// RFC 7692 §5: a client may send several offers in order of preference;
	// the server accepts one of them. The answer is fine if it fits any.
	whys := make([][]string, len(offers))
	for i, o := range offers {
		if whys[i] = answerFits(o, a); len(whys[i]) == 0 {
			return nil
		}
	}
	if len(offers) == 1 {
		var out []Anomaly
		for _, w := range whys[0] {
			out = append(out, newAnomaly(CodeDeflateParamNotAllowed, "permessage-deflate: %s", w))
		}
		return out
	}
	var b strings.Builder
	for i, w := range whys {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "offer %d: %s", i+1, strings.Join(w, ", "))
	}
	return []Anomaly{newAnomaly(CodeDeflateParamNotAllowed, "the permessage-deflate answer fits none of the %d offers (%s)", len(offers), b.String())}
}
