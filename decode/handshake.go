package decode

import (
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
)

// This file checks the WebSocket opening handshake (RFC 6455 §4.1, §4.2,
// §11.3) on parsed HTTP heads and fills the Handshake event.

// websocketGUID is the string RFC 6455 §1.3 appends to the key.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// computeAccept returns base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")),
// the Sec-WebSocket-Accept a server must answer to key (RFC 6455 §4.2.2).
func computeAccept(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// fillRequest fills the request half of hs from the Upgrade request h and
// returns the anomalies about it, all sent by the client: the handshake
// checks of RFC 6455 §4.1 and §11.3.1 and, for permessage-deflate offers,
// those of RFC 7692 §7 (the offer half of negotiateExtensions).
func fillRequest(hs *Handshake, h *httpHead) []Anomaly {
	hs.Method, hs.Path, hs.Proto = h.method, h.target, h.proto
	hs.Host = h.joined("Host")
	hs.Origin = h.joined("Origin")
	hs.UserAgent = h.joined("User-Agent")
	hs.Key = h.joined("Sec-WebSocket-Key")
	hs.Version = h.joined("Sec-WebSocket-Version")
	// RFC 6455 §11.3.4: "The |Sec-WebSocket-Protocol| header field MAY
	// appear multiple times in an HTTP request (which is logically the same
	// as a single |Sec-WebSocket-Protocol| header field that contains all
	// values)."
	hs.OfferedProtocols = h.listElems("Sec-WebSocket-Protocol")
	// RFC 6455 §11.3.2: "The |Sec-WebSocket-Extensions| header field MAY
	// appear multiple times in an HTTP request (which is logically the same
	// as a single |Sec-WebSocket-Extensions| header field that contains all
	// values."
	hs.OfferedExtensions = h.joined("Sec-WebSocket-Extensions")
	hs.Request = h.fields

	var an []Anomaly
	// RFC 6455 §4.1: "The method of the request MUST be GET, and the HTTP
	// version MUST be at least 1.1."
	if h.method != "GET" {
		an = append(an, newAnomaly(CodeRequestNotGet, "the Upgrade request's method is %q, expected GET", h.method))
	}
	if len(h.proto) == 8 && (h.proto[5] < '1' || h.proto[5] == '1' && h.proto[7] < '1') {
		an = append(an, newAnomaly(CodeRequestHTTPVersion, "the Upgrade request is %s, expected HTTP/1.1 or later", h.proto))
	}
	// RFC 6455 §4.1: "The request MUST contain a |Host| header field whose
	// value contains /host/ plus optionally ":" followed by /port/ (when not
	// using the default port)."
	if !h.has("Host") {
		an = append(an, newAnomaly(CodeHostMissing, "the Upgrade request has no Host header"))
	}
	// RFC 6455 §4.1: "The request MUST contain an |Upgrade| header field
	// whose value MUST include the "websocket" keyword."
	if !h.hasToken("Upgrade", "websocket") {
		if up := h.joined("Upgrade"); h.has("Upgrade") {
			an = append(an, newAnomaly(CodeRequestUpgradeMissing, "Upgrade is %q, expected a \"websocket\" token", up))
		} else {
			an = append(an, newAnomaly(CodeRequestUpgradeMissing, "the request has no Upgrade header, expected Upgrade: websocket"))
		}
	}
	// RFC 6455 §4.1: "The request MUST contain a |Connection| header field
	// whose value MUST include the "Upgrade" token."
	if !h.hasToken("Connection", "Upgrade") {
		if conn := h.joined("Connection"); h.has("Connection") {
			an = append(an, newAnomaly(CodeRequestConnMissing, "Connection is %q, expected an \"Upgrade\" token", conn))
		} else {
			an = append(an, newAnomaly(CodeRequestConnMissing, "the request has no Connection header, expected Connection: Upgrade"))
		}
	}
	// RFC 6455 §4.1: "The request MUST include a header field with the name
	// |Sec-WebSocket-Key|. The value of this header field MUST be a nonce
	// consisting of a randomly selected 16-byte value that has been
	// base64-encoded (see Section 4 of [RFC4648])."
	keys := h.values("Sec-WebSocket-Key")
	switch {
	case len(keys) == 0:
		an = append(an, newAnomaly(CodeKeyMissing, "the request has no Sec-WebSocket-Key"))
	case len(keys) > 1:
		// RFC 6455 §11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT
		// appear more than once in an HTTP request."
		an = append(an, newAnomaly(CodeKeyRepeated, "Sec-WebSocket-Key appears %d times", len(keys)))
	}
	for _, k := range keys {
		if n, ok := keyBytes(k); !ok {
			an = append(an, newAnomaly(CodeKeyInvalid, "Sec-WebSocket-Key %q is not base64", k))
		} else if n != 16 {
			an = append(an, newAnomaly(CodeKeyInvalid, "Sec-WebSocket-Key %q decodes to %d bytes, expected 16", k, n))
		}
	}
	// RFC 6455 §4.1: "The request MUST include a header field with the name
	// |Sec-WebSocket-Version|. The value of this header field MUST be 13."
	// (§11.3.5: it "MUST NOT appear more than once in an HTTP request", so a
	// repeated one shows as a joined value that is not 13.)
	if !h.has("Sec-WebSocket-Version") {
		an = append(an, newAnomaly(CodeVersionInvalid, "the request has no Sec-WebSocket-Version, expected 13"))
	} else if hs.Version != "13" {
		an = append(an, newAnomaly(CodeVersionInvalid, "Sec-WebSocket-Version is %q, expected 13", hs.Version))
	}
	_, _, offerAnoms, _ := negotiateExtensions(hs.OfferedExtensions, "")
	return append(an, offerAnoms...)
}

// keyBytes returns how many bytes the padded, canonical base64 string k
// decodes to.
func keyBytes(k string) (int, bool) {
	// Base64 never grows past 4/3 of the input; cap the work on hostile
	// input (the head size bounds it anyway).
	if len(k) > 1024 {
		return 0, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(k)
	if err != nil || strings.ContainsAny(k, "\r\n") {
		return 0, false
	}
	return len(b), true
}

// fillResponse fills the response half of hs from the response h to the
// Upgrade request (whose half fillRequest filled) and returns the anomalies
// about it, all sent by the server.
//
// Upgraded is set for a 101 whose Upgrade header is absent or has the token
// "websocket"; a 101 to another protocol (e.g. h2c) is not WebSocket and is
// reported like a refusal (handshake_rejected, info). For an Upgraded
// response it checks RFC 6455 §4.1 (Upgrade, Connection, Accept, the
// subprotocol and extensions against the offer), §11.3.3 and §11.3.4, and
// RFC 7692 through negotiateExtensions (answer anomalies only: the offer's
// are fillRequest's), and sets Deflate and DeflateFrame.
func fillResponse(hs *Handshake, h *httpHead) []Anomaly {
	hs.Status, hs.Reason = h.status, h.reason
	hs.Accept = h.joined("Sec-WebSocket-Accept")
	hs.Protocol = h.joined("Sec-WebSocket-Protocol")
	hs.Extensions = h.joined("Sec-WebSocket-Extensions")
	hs.Response = h.fields
	hs.AcceptValid = false
	hs.Upgraded = false
	hs.Deflate, hs.DeflateFrame = nil, false

	// RFC 6455 §4.1: "If the status code received from the server is not
	// 101, the client handles the response per HTTP [RFC2616] procedures."
	if h.status != 101 {
		return []Anomaly{rejected(h)}
	}
	if h.has("Upgrade") && !h.hasToken("Upgrade", "websocket") {
		// A 101 to something else: the connection left HTTP, but not for
		// WebSocket.
		return []Anomaly{newAnomaly(CodeHandshakeRejected, "%s switching to %q, not WebSocket", answered(h), h.joined("Upgrade"))}
	}
	hs.Upgraded = true

	var an []Anomaly
	// RFC 6455 §4.1: "If the response lacks an |Upgrade| header field or
	// the |Upgrade| header field contains a value that is not an ASCII
	// case-insensitive match for the value "websocket", the client MUST
	// _Fail the WebSocket Connection_."
	if !h.has("Upgrade") {
		an = append(an, newAnomaly(CodeResponseUpgradeMissing, "the 101 response has no Upgrade header, expected Upgrade: websocket"))
	}
	// RFC 6455 §4.1: "If the response lacks a |Connection| header field or
	// the |Connection| header field doesn't contain a token that is an
	// ASCII case-insensitive match for the value "Upgrade", the client MUST
	// _Fail the WebSocket Connection_."
	if !h.hasToken("Connection", "Upgrade") {
		if conn := h.joined("Connection"); h.has("Connection") {
			an = append(an, newAnomaly(CodeResponseConnMissing, "Connection is %q, expected an \"Upgrade\" token", conn))
		} else {
			an = append(an, newAnomaly(CodeResponseConnMissing, "the 101 response has no Connection header, expected Connection: Upgrade"))
		}
	}
	// RFC 6455 §4.1: "If the response lacks a |Sec-WebSocket-Accept| header
	// field or the |Sec-WebSocket-Accept| contains a value other than the
	// base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key|
	// (as a string, not base64-decoded) with the string
	// "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" but ignoring any leading and
	// trailing whitespace, the client MUST _Fail the WebSocket Connection_."
	accepts := h.values("Sec-WebSocket-Accept")
	switch {
	case len(accepts) == 0:
		an = append(an, newAnomaly(CodeAcceptMissing, "the 101 response has no Sec-WebSocket-Accept"))
	case len(accepts) > 1:
		// RFC 6455 §11.3.3: "The |Sec-WebSocket-Accept| header MUST NOT
		// appear more than once in an HTTP response."
		an = append(an, newAnomaly(CodeAcceptRepeated, "Sec-WebSocket-Accept appears %d times", len(accepts)))
	}
	if len(accepts) > 0 && hs.Key != "" {
		// A repeated key (key_repeated) joins its values with ", "; the
		// accept is valid if it answers any of them.
		var want string
		for k := range strings.SplitSeq(hs.Key, ",") {
			w := computeAccept(strings.Trim(k, " \t"))
			if want == "" {
				want = w
			}
			if w == accepts[0] {
				hs.AcceptValid = true
			}
		}
		if !hs.AcceptValid {
			an = append(an, newAnomaly(CodeAcceptMismatch, "expected %q, found %q", want, accepts[0]))
		}
	}
	return append(an, checkSelection(hs, h)...)
}

// checkSelection checks the subprotocol and extensions that the answer h
// selected against the offer in hs (RFC 6455 §4.1, §11.3.2, §11.3.4; RFC
// 7692 through negotiateExtensions) and sets hs.Deflate and
// hs.DeflateFrame. The same rules hold for the 2xx answer to an RFC 8441
// extended CONNECT (RFC 8441 §5).
func checkSelection(hs *Handshake, h *httpHead) []Anomaly {
	var an []Anomaly
	// RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Protocol|
	// header field and this header field indicates the use of a subprotocol
	// that was not present in the client's handshake (the server has
	// indicated a subprotocol not requested by the client), the client MUST
	// _Fail the WebSocket Connection_."
	protos := h.listElems("Sec-WebSocket-Protocol")
	// RFC 6455 §11.3.4: "the |Sec-WebSocket-Protocol| header field MUST NOT
	// appear more than once in an HTTP response." (§4.2.2: the server
	// selects a single subprotocol or none.)
	if len(protos) > 1 {
		an = append(an, newAnomaly(CodeProtocolRepeated, "the response selects %d subprotocols: %q", len(protos), hs.Protocol))
	}
	for _, p := range protos {
		offered := false
		for _, o := range hs.OfferedProtocols {
			if o == p {
				offered = true
				break
			}
		}
		if !offered {
			if len(hs.OfferedProtocols) == 0 {
				an = append(an, newAnomaly(CodeProtocolNotOffered, "the server selected subprotocol %q but the client offered none", p))
			} else {
				an = append(an, newAnomaly(CodeProtocolNotOffered, "the server selected subprotocol %q, not one of the offered %q", p, strings.Join(hs.OfferedProtocols, ", ")))
			}
		}
	}
	// RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Extensions|
	// header field and this header field indicates the use of an extension
	// that was not present in the client's handshake (the server has
	// indicated an extension not requested by the client), the client MUST
	// _Fail the WebSocket Connection_."
	// RFC 6455 §11.3.2: "the |Sec-WebSocket-Extensions| header field MUST
	// NOT appear more than once in an HTTP response." (A request may
	// repeat it.) The values are still read as one list.
	if n := len(h.values("Sec-WebSocket-Extensions")); n > 1 {
		an = append(an, newAnomaly(CodeExtensionsRepeated, "the response has %d Sec-WebSocket-Extensions header fields", n))
	}
	offered := parseExtensions(hs.OfferedExtensions)
	for _, e := range parseExtensions(hs.Extensions) {
		found := false
		for _, o := range offered {
			if strings.EqualFold(o.name, e.name) {
				found = true
				break
			}
		}
		if !found {
			an = append(an, newAnomaly(CodeExtensionNotOffered, "the server accepted extension %q, which the client did not offer", e.name))
		}
	}
	var answerAnoms []Anomaly
	hs.Deflate, hs.DeflateFrame, _, answerAnoms = negotiateExtensions(hs.OfferedExtensions, hs.Extensions)
	return append(an, answerAnoms...)
}

// rejected describes a non-101 answer to an Upgrade request, e.g.
// "server answered 426 Upgrade Required (Sec-WebSocket-Version: 13)".
func rejected(h *httpHead) Anomaly {
	// RFC 6455 §4.2.2: "If the server does not wish to accept this
	// connection, it MUST return an appropriate HTTP error code (e.g., 403
	// Forbidden) and abort the WebSocket handshake described in this
	// section." §4.4: "If the server doesn't support the requested version,
	// it MUST respond with a |Sec-WebSocket-Version| header field (or
	// multiple |Sec-WebSocket-Version| header fields) containing all
	// versions it is willing to use."
	s := answered(h)
	if v := h.joined("Sec-WebSocket-Version"); v != "" {
		s += " (Sec-WebSocket-Version: " + v + ")"
	}
	return newAnomaly(CodeHandshakeRejected, "%s", s)
}

// answered returns "server answered 426 Upgrade Required" (or "server
// answered 403" without a reason phrase).
func answered(h *httpHead) string {
	s := "server answered " + strconv.Itoa(h.status)
	if h.reason != "" {
		s += " " + h.reason
	}
	return s
}
