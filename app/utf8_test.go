package app

import (
	"encoding/json"
	"net/netip"
	"testing"
	"unicode/utf8"

	"github.com/wscap/wscap/decode"
)

// A text message whose JSON strings hold bytes that are not UTF-8 (the
// decoder flags the message, the application layer still reads it): the
// JSON values of the units are valid UTF-8, invalid bytes written as
// \ufffd, so that the JSON Lines output stays UTF-8 (RFC 8259 §8.1).
func TestJSONValuesInvalidUTF8(t *testing.T) {
	for _, tc := range []struct{ proto, msg string }{
		{"json", "{\"a\":\"x\xffy\"}"},
		{"json", "{\"a\": \"x\xffy\"}"},
		{"json-rpc", "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[\"\xfe\"],\"id\":\"\xc3\"}"},
		{"socket.io", "42[\"ev\",\"\xff\"]"},
		{"wamp", "[1,\"realm\xff\",{\"roles\":{\"caller\":{\"x\":\"\xff\"}}}]"},
		{"ocpp", "[2,\"id\xff\",\"BootNotification\",{\"a\":\"\xff\"}]"},
		{"graphql-transport-ws", "{\"type\":\"subscribe\",\"id\":\"\xff\",\"payload\":{\"query\":\"\xff\"}}"},
	} {
		cfg := &Config{Force: tc.proto}
		l := cfg.New(nil, netip.MustParseAddrPort("10.0.0.1:50000"), netip.MustParseAddrPort("10.0.0.2:8080"))
		m := &decode.Message{Opcode: decode.OpText, Payload: []byte(tc.msg)}
		info, _ := l.Message(m, decode.RoleClient, nil)
		if info == nil || len(info.Units) == 0 {
			t.Errorf("%s %q: no unit", tc.proto, tc.msg)
			continue
		}
		check := func(what string, v []byte) {
			if v != nil && (!json.Valid(v) || !utf8.Valid(v)) {
				t.Errorf("%s %q: %s %q is not UTF-8 JSON", tc.proto, tc.msg, what, v)
			}
		}
		for _, u := range info.Units {
			check("id", u.ID)
			check("value", u.Value)
			if u.ValueIsPayload {
				check("value (payload)", m.Payload)
			}
			for _, f := range u.Fields {
				check(f.Key, f.Value)
			}
		}
	}
}

// MessagePack and CBOR strings that are not UTF-8 are written as valid
// UTF-8 JSON too.
func TestBinaryValuesInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		proto string
		msg   []byte
	}{
		{"msgpack", []byte{0x81, 0xa1, 'a', 0xa2, 0xff, 'x'}},
		{"msgpack", []byte{0x81, 0xa2, 0xfe, 'k', 0x01}},
		{"cbor", []byte{0xa1, 0x61, 'a', 0x62, 0xff, 'x'}},
		{"cbor", []byte{0xa1, 0x62, 0xfe, 'k', 0x01}},
	} {
		cfg := &Config{Force: tc.proto}
		l := cfg.New(nil, netip.MustParseAddrPort("10.0.0.1:50000"), netip.MustParseAddrPort("10.0.0.2:8080"))
		m := &decode.Message{Opcode: decode.OpBinary, Payload: tc.msg}
		info, _ := l.Message(m, decode.RoleClient, nil)
		if info == nil || len(info.Units) == 0 {
			t.Errorf("%s %x: no unit", tc.proto, tc.msg)
			continue
		}
		for _, u := range info.Units {
			if !json.Valid(u.Value) || !utf8.Valid(u.Value) {
				t.Errorf("%s %x: value %q is not UTF-8 JSON", tc.proto, tc.msg, u.Value)
			}
		}
	}
}
