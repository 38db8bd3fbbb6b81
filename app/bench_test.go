package app

import (
	"net/netip"
	"testing"

	"github.com/wscap/wscap/decode"
)

// Benchmarks of the cost per message: detection on a connection no
// protocol claims (what every WebSocket pays on its first messages), and
// decoding one typical message of each protocol on a connection forced to
// it (--app), the layer's whole path included.

var (
	benchClient = netip.MustParseAddrPort("10.0.0.1:40000")
	benchServer = netip.MustParseAddrPort("10.0.0.2:8080")
)

func benchLayer(b *testing.B, cfg *Config, hs *decode.Handshake, msgs []decode.Message, roles []decode.Role) {
	b.ReportAllocs()
	var bytes int64
	for _, m := range msgs {
		bytes += int64(len(m.Payload))
	}
	b.SetBytes(bytes / int64(len(msgs)))
	l := cfg.New(hs, benchClient, benchServer)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(msgs)
		m := msgs[k]
		l.Message(&m, roles[k], nil)
	}
}

func benchText(s string) decode.Message {
	return decode.Message{Opcode: decode.OpText, Payload: []byte(s), UTF8Valid: true}
}

func benchBin(s string) decode.Message {
	return decode.Message{Opcode: decode.OpBinary, Payload: []byte(s)}
}

// BenchmarkSniff: a wsgen-like JSON message on a connection that no
// protocol claims; after the first 8 messages nothing is looked at, so
// this is the worst case: a fresh layer for every message.
func BenchmarkSniff(b *testing.B) {
	m := benchText(`{"type":"trade","seq":12,"ts":1709294400551,"data":[{"s":"XAU/USD","p":12315.10,"q":0.5,"side":"buy","id":817263541234}]}`)
	bin := benchBin("\xfe\xca\x07\x00\x72\xa6\x10\x1b\x1f\x62\x01\x00\x5b\x07\x00\x00\xfe\xca\x04\x00\x73\xa6\x10\x1b")
	cfg := &Config{}
	b.Run("text", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(m.Payload)))
		for i := 0; i < b.N; i++ {
			l := cfg.New(nil, benchClient, benchServer)
			mm := m
			l.Message(&mm, decode.RoleServer, nil)
		}
	})
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(bin.Payload)))
		for i := 0; i < b.N; i++ {
			l := cfg.New(nil, benchClient, benchServer)
			mm := bin
			l.Message(&mm, decode.RoleServer, nil)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	C, S := decode.RoleClient, decode.RoleServer
	for _, tc := range []struct {
		proto string
		msgs  []decode.Message
		roles []decode.Role
	}{
		{"socket.io", []decode.Message{benchText(`42["chat message",{"user":"alice","text":"hello there"}]`), benchText(`430[{"ok":true}]`)}, []decode.Role{C, S}},
		{"mqtt", []decode.Message{benchBin("\x30\x16\x00\x0asensors/t1{\"t\":21.5}")}, []decode.Role{C}},
		{"stomp", []decode.Message{benchText("SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello\x00")}, []decode.Role{C}},
		{"graphql-transport-ws", []decode.Message{benchText(`{"id":"1","type":"next","payload":{"data":{"price":{"s":"BTC","p":101.5}}}}`)}, []decode.Role{S}},
		{"json-rpc", []decode.Message{benchText(`{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}`), benchText(`{"jsonrpc":"2.0","result":19,"id":1}`)}, []decode.Role{C, S}},
		{"ocpp", []decode.Message{benchText(`[2,"19223201","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}]`), benchText(`[3,"19223201",{}]`)}, []decode.Role{C, S}},
		{"signalr", []decode.Message{benchText("{\"type\":1,\"target\":\"Send\",\"arguments\":[\"alice\",\"hello\"]}\x1e")}, []decode.Role{C}},
		{"phoenix", []decode.Message{benchText(`["1","2","room:lobby","new_msg",{"body":"hello"}]`)}, []decode.Role{C}},
		{"wamp", []decode.Message{benchText(`[16,7,{},"com.myapp.topic1",["hello"],{"a":1}]`)}, []decode.Role{C}},
		{"sip", []decode.Message{benchText("MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: asdkjh3@df7jal23ls0d.invalid\r\nCSeq: 1 MESSAGE\r\nContent-Length: 5\r\n\r\nhello")}, []decode.Role{C}},
		{"msgpack", []decode.Message{benchBin("\x83\xa4type\xa7reading\xa6sensor\xa2t1\xa5value\xcb\x40\x35\x80\x00\x00\x00\x00\x00")}, []decode.Role{S}},
		{"json", []decode.Message{benchText(`{"type":"trade","seq":12,"ts":1709294400551,"data":[{"s":"XAU/USD","p":12315.10,"q":0.5,"side":"buy","id":817263541234}]}`)}, []decode.Role{S}},
	} {
		b.Run(tc.proto, func(b *testing.B) {
			benchLayer(b, &Config{Force: tc.proto}, nil, tc.msgs, tc.roles)
		})
	}
}
