package decode

import (
	"strings"
	"testing"
)

// h2Req and h2Resp are the extended CONNECT of a browser and its answer
// (RFC 8441 §5.1), as HPACK decodes them.
func h2Req(extra ...HeaderField) []HeaderField {
	return append([]HeaderField{
		{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"},
		{":path", "/chat"}, {":authority", "server.example.com"},
		{"sec-websocket-protocol", "chat, superchat"},
		{"sec-websocket-extensions", "permessage-deflate; client_max_window_bits"},
		{"sec-websocket-version", "13"}, {"origin", "http://www.example.com"},
	}, extra...)
}

func h2Resp(status string) []HeaderField {
	return []HeaderField{{":status", status}, {"sec-websocket-protocol", "chat"}}
}

// h2Step is the extended CONNECT exchange as a script step, Side0 the
// client.
func h2Step(req, resp []HeaderField, enabled bool) step {
	return step{side: Side0, h2: &H2Connect{Request: req, Response: resp, ConnectProtocol: enabled}}
}

var h2Meta = ConnMeta{ID: 3, Addr: testMeta.Addr, H2Stream: 7}

// TestExtendedConnect checks a WebSocket over an HTTP/2 stream: the
// handshake comes from the CONNECT exchange, every event names the
// stream, and the DATA of both directions decodes as frames.
func TestExtendedConnect(t *testing.T) {
	c := NewConn(h2Meta, Options{})
	s := Seg{Time: t0, Packet: 5}
	evs := c.ExtendedConnect(nil, Side0, &H2Connect{Request: h2Req(), Response: h2Resp("200"), ConnectProtocol: true, RequestSeg: Seg{Time: t0, Packet: 4}, ResponseSeg: s})
	evs = appendClones(nil, evs)
	evs = appendClones(evs, c.Feed(nil, Side0, cf(true, OpText, "hello"), Seg{Time: t0, Packet: 6}))
	evs = appendClones(evs, c.Feed(nil, Side1, sf(true, OpText, "hi"), Seg{Time: t0, Packet: 7}))
	kinds := ""
	for _, e := range evs {
		kinds += e.Kind.String() + " "
		if e.H2Stream != 7 || e.Conn != 3 {
			t.Errorf("%s event: conn %d stream %d, want 3 and 7", e.Kind, e.Conn, e.H2Stream)
		}
		if e.Kind == KindAnomaly {
			t.Errorf("anomaly %s: %s", e.Anomaly.Code, e.Anomaly.Detail)
		}
	}
	if want := "conn handshake frame message frame message "; kinds != want {
		t.Fatalf("events %q, want %q", kinds, want)
	}
	hs := evs[1].Handshake
	if hs.Method != "CONNECT" || hs.Path != "/chat" || hs.Host != "server.example.com" || hs.Proto != "HTTP/2" ||
		hs.H2Protocol != "websocket" || hs.H2Stream != 7 || hs.Status != 200 || !hs.Upgraded || hs.Protocol != "chat" ||
		hs.Key != "" || hs.Accept != "" || hs.RequestPacket != 4 || hs.ResponsePacket != 5 {
		t.Errorf("handshake %+v", hs)
	}
	if evs[3].Message.Payload == nil || string(evs[3].Message.Payload) != "hello" || evs[3].From != RoleClient {
		t.Errorf("client message %+v", evs[3].Message)
	}
}

// TestExtendedConnectDeflate checks that permessage-deflate negotiated
// by the CONNECT exchange is in force on the stream.
func TestExtendedConnectDeflate(t *testing.T) {
	resp := append(h2Resp("200"), HeaderField{"sec-websocket-extensions", "permessage-deflate"})
	c := NewConn(h2Meta, Options{})
	evs := c.ExtendedConnect(nil, Side0, &H2Connect{Request: h2Req(), Response: resp, ConnectProtocol: true})
	if hs := evs[1].Handshake; hs.Deflate == nil {
		t.Fatalf("no permessage-deflate agreed: %+v", hs)
	}
	// "Hello" compressed (RFC 7692 §7.2.3.1), RSV1 set.
	frame := []byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	evs = c.Feed(nil, Side1, frame, Seg{Packet: 9})
	for _, e := range evs {
		if e.Kind == KindMessage {
			if string(e.Message.Payload) != "Hello" {
				t.Errorf("message %q, want Hello", e.Message.Payload)
			}
			return
		}
	}
	t.Errorf("no message: %v", evs)
}

// TestExtendedConnectRejected: a non-2xx answer is handshake_rejected
// and the stream's DATA is counted, not decoded.
func TestExtendedConnectRejected(t *testing.T) {
	c := NewConn(h2Meta, Options{})
	evs := c.ExtendedConnect(nil, Side0, &H2Connect{Request: h2Req(), Response: []HeaderField{{":status", "403"}}, ConnectProtocol: true})
	var codes []string
	for _, e := range evs {
		if e.Kind == KindAnomaly {
			codes = append(codes, string(e.Anomaly.Code))
		}
	}
	if strings.Join(codes, " ") != "handshake_rejected" {
		t.Errorf("anomalies %v, want handshake_rejected", codes)
	}
	if evs := c.Feed(nil, Side1, sf(true, OpText, "no"), Seg{}); len(evs) != 0 {
		t.Errorf("DATA after a refused CONNECT decoded: %v", evs)
	}
}

// TestExtendedConnectAnomalies checks the request's RFC 8441 rules.
func TestExtendedConnectAnomalies(t *testing.T) {
	drop := func(name string) []HeaderField {
		var out []HeaderField
		for _, f := range h2Req() {
			if f.Name != name {
				out = append(out, f)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		req     []HeaderField
		enabled bool
		want    string
	}{
		{"clean", h2Req(), true, ""},
		{"not enabled", h2Req(), false, "h2_connect_not_enabled"},
		{"no :path", drop(":path"), true, "h2_connect_incomplete"},
		{"no :scheme", drop(":scheme"), true, "h2_connect_incomplete"},
		{"no version", drop("sec-websocket-version"), true, "version_invalid"},
	} {
		c := NewConn(h2Meta, Options{})
		var codes []string
		for _, e := range c.ExtendedConnect(nil, Side0, &H2Connect{Request: tc.req, Response: h2Resp("200"), ConnectProtocol: tc.enabled}) {
			if e.Kind == KindAnomaly {
				codes = append(codes, string(e.Anomaly.Code))
			}
		}
		if got := strings.Join(codes, " "); got != tc.want {
			t.Errorf("%s: anomalies %q, want %q", tc.name, got, tc.want)
		}
	}
}
