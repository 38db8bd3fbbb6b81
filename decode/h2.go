package decode

import (
	"strconv"
	"strings"
)

// H2Connect is the extended CONNECT exchange that opens a WebSocket on an
// HTTP/2 stream (RFC 8441), as the HTTP/2 layer decoded it.
type H2Connect struct {
	// Request and Response are the header lists of the stream's
	// HEADERS (with CONTINUATIONs), pseudo-header fields included, as
	// HPACK decoded them. Response is nil when no answer was captured.
	Request, Response []HeaderField
	// ConnectProtocol says that the server had sent
	// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 before the request.
	ConnectProtocol bool
	// RequestSeg and ResponseSeg say which packets carried them.
	RequestSeg, ResponseSeg Seg
}

// ExtendedConnect starts the WebSocket of an HTTP/2 stream from its
// extended CONNECT exchange (RFC 8441): the Conn is then that stream's
// WebSocket (ConnMeta.H2Stream names the stream), client the side that
// sent the request, and Feed gets the payload of the stream's DATA
// frames. It appends the conn and handshake events and the anomalies of
// the exchange; with a 2xx answer both directions decode frames from
// then on, with the extensions the exchange negotiated. Call it once,
// before any Feed.
func (c *Conn) ExtendedConnect(dst []Event, client Side, x *H2Connect) []Event {
	c.begin()
	client &= 1
	req := h2Head(x.Request, true)
	hs := &Handshake{
		Method:            req.method,
		Path:              req.target,
		Proto:             "HTTP/2",
		Host:              req.pseudo(":authority"),
		Origin:            req.joined("Origin"),
		UserAgent:         req.joined("User-Agent"),
		Version:           req.joined("Sec-WebSocket-Version"),
		OfferedProtocols:  req.listElems("Sec-WebSocket-Protocol"),
		OfferedExtensions: req.joined("Sec-WebSocket-Extensions"),
		Request:           x.Request,
		RequestPacket:     x.RequestSeg.Packet,
		RequestTime:       x.RequestSeg.Time,
		H2Stream:          c.meta.H2Stream,
		H2Protocol:        req.pseudo(":protocol"),
		TLS:               c.tls,
	}
	c.hs = hs
	s := x.RequestSeg
	if x.Response != nil {
		s = x.ResponseSeg
	}
	dst = c.announce(dst, client, false, s)
	an := checkH2Request(hs, req, x.ConnectProtocol)
	_, _, offerAnoms, _ := negotiateExtensions(hs.OfferedExtensions, "")
	an = append(an, offerAnoms...)
	var answer []Anomaly
	if x.Response != nil {
		resp := h2Head(x.Response, false)
		hs.Status = resp.status
		hs.Protocol = resp.joined("Sec-WebSocket-Protocol")
		hs.Extensions = resp.joined("Sec-WebSocket-Extensions")
		hs.Response = x.Response
		hs.ResponsePacket = x.ResponseSeg.Packet
		// RFC 8441 §5: "Once the extended CONNECT request and its 2xx
		// response are exchanged, the stream carries the WebSocket
		// protocol."; a CONNECT answered otherwise fails (RFC 9110
		// §9.3.6).
		if resp.status >= 200 && resp.status < 300 {
			hs.Upgraded = true
			answer = checkSelection(hs, resp)
		} else {
			answer = []Anomaly{rejected(resp)}
		}
	}
	dst = c.event(dst, KindHandshake, RoleNone, s)
	dst[len(dst)-1].Handshake = hs
	c.hsShown = true
	c.makeApp(hs)
	dst = c.anomalies(dst, RoleClient, x.RequestSeg, an)
	dst = c.anomalies(dst, RoleServer, s, answer)
	if hs.Upgraded {
		c.setupExtensions()
		for i := range c.h {
			c.h[i].state = stHeader
		}
	} else {
		// Not (yet) a WebSocket: whatever DATA the stream carries is
		// counted, not decoded.
		for i := range c.h {
			c.h[i].state = stOpaque
		}
	}
	return dst
}

// checkH2Request checks an extended CONNECT request (RFC 8441 §4, §5).
func checkH2Request(hs *Handshake, req *httpHead, enabled bool) []Anomaly {
	var an []Anomaly
	// RFC 8441 §4: "A client MUST NOT send a :protocol pseudo-header
	// field unless the server has sent SETTINGS_ENABLE_CONNECT_PROTOCOL
	// with a value of 1."
	if !enabled {
		an = append(an, newAnomaly(CodeH2ConnectNotEnabled, "the request has :protocol %q but the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1", hs.H2Protocol))
	}
	// RFC 8441 §4: "On requests that contain the :protocol pseudo-header
	// field, the :scheme and :path pseudo-header fields of the target URI
	// (see Section 5) MUST also be included." §5: the request uses
	// :method CONNECT and :protocol "websocket".
	var missing []string
	for _, p := range []string{":scheme", ":path", ":authority"} {
		if !req.hasPseudo(p) {
			missing = append(missing, p)
		}
	}
	if hs.Method != "CONNECT" {
		missing = append(missing, ":method CONNECT (found "+strconv.Quote(hs.Method)+")")
	}
	if len(missing) > 0 {
		an = append(an, newAnomaly(CodeH2ConnectIncomplete, "the extended CONNECT lacks %s", strings.Join(missing, ", ")))
	}
	// RFC 8441 §5: the request carries the headers of an RFC 6455
	// opening handshake but Host, Upgrade, Connection, Sec-WebSocket-Key
	// and Sec-WebSocket-Accept; RFC 6455 §4.1: "The value of this header
	// field MUST be 13."
	if !req.has("Sec-WebSocket-Version") {
		an = append(an, newAnomaly(CodeVersionInvalid, "the extended CONNECT has no sec-websocket-version, expected 13"))
	} else if hs.Version != "13" {
		an = append(an, newAnomaly(CodeVersionInvalid, "sec-websocket-version is %q, expected 13", hs.Version))
	}
	return an
}

// h2Head makes an httpHead of an HTTP/2 header list: the pseudo-header
// fields give the method and target (request) or the status (response),
// the others are its fields.
func h2Head(fields []HeaderField, request bool) *httpHead {
	h := &httpHead{isRequest: request, proto: "HTTP/2"}
	for _, f := range fields {
		if !strings.HasPrefix(f.Name, ":") {
			h.fields = append(h.fields, f)
			continue
		}
		h.pseudos = append(h.pseudos, f)
		switch f.Name {
		case ":method":
			h.method = f.Value
		case ":path":
			h.target = f.Value
		case ":status":
			h.status, _ = strconv.Atoi(f.Value)
		}
	}
	return h
}

// pseudo returns the value of pseudo-header field name ("" if absent).
func (h *httpHead) pseudo(name string) string {
	for _, f := range h.pseudos {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func (h *httpHead) hasPseudo(name string) bool {
	for _, f := range h.pseudos {
		if f.Name == name {
			return true
		}
	}
	return false
}
