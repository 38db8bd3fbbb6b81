package app

import "bytes"

// Openings. A subprotocol or a path only claims a protocol: wsgen, for one,
// offers graphql-transport-ws, mqtt and wamp.2.json and asks for
// /socket.io/ while it sends JSON of its own and random bytes. Protocols
// whose specification fixes how a connection opens are therefore
// confirmed by their first message before anything is decoded: a
// connection that opens otherwise is not decoded as the protocol (one
// app_malformed says so), and its messages get no label. The first
// messages are not decoded until the opening is seen (for MQTT, whose
// server never speaks first, and GraphQL, that is the client's first
// message; for engine.io the first text message of either side).

// opening checks m, a message of a connection the handshake claimed for
// protocol p: decided reports whether m settles it, ok whether it is the
// protocol's opening. A nil func: p has no fixed opening.
func opening(p *protocol) func(m *Msg) (ok, decided bool) {
	switch p {
	case protoMQTT:
		// §3.1 (3.1.1 and 5.0): the client's first packet is CONNECT.
		return func(m *Msg) (bool, bool) {
			if !m.FromClient || len(m.Payload) == 0 {
				return false, false
			}
			return m.Binary && m.Payload[0] == 0x10, true
		}
	case protoGraphQLTransportWS, protoSubscriptionsTransportWS:
		// Both PROTOCOL.md: the client opens with connection_init.
		return func(m *Msg) (bool, bool) {
			if !m.FromClient {
				return false, false
			}
			t, _ := jsonString(jsonMember(m.Payload, "type"))
			return !m.Binary && t == "connection_init", true
		}
	case protoWAMP:
		// WAMP §5.1.1: the client opens with HELLO, [1, Realm, Details].
		return func(m *Msg) (bool, bool) {
			if !m.FromClient {
				return false, false
			}
			b := trimWS(m.Payload)
			return !m.Binary && len(b) > 3 && b[0] == '[' && bytes.HasPrefix(trimWS(b[1:]), []byte("1")) &&
				len(trimWS(b[1:])) > 1 && (trimWS(b[1:])[1] == ',' || isWS(trimWS(b[1:])[1])), true
		}
	case protoSTOMP:
		// STOMP 1.2 "Connecting": the client opens with CONNECT or STOMP.
		return func(m *Msg) (bool, bool) {
			if !m.FromClient {
				return false, false
			}
			p := m.Payload
			for _, c := range [...]string{"CONNECT\n", "CONNECT\r\n", "STOMP\n", "STOMP\r\n"} {
				if bytes.HasPrefix(p, []byte(c)) {
					return true, true
				}
			}
			return false, true
		}
	case protoSignalR:
		// HubProtocol.md: the client opens with the handshake request.
		return func(m *Msg) (bool, bool) {
			if !m.FromClient {
				return false, false
			}
			p := m.Payload
			return len(p) > 2 && p[0] == '{' && bytes.IndexByte(p, 0x1e) > 0 && bytes.Contains(p, []byte(`"protocol"`)), true
		}
	case protoEngineIO, protoSocketIO:
		// engine.io protocol: a WebSocket opens with the open packet
		// (0{...}) or, after long-polling, the probe; binary messages
		// before it are not decided.
		return func(m *Msg) (bool, bool) {
			if m.Binary {
				return false, false
			}
			p := m.Payload
			return len(p) > 2 && p[0] == '0' && p[1] == '{' || string(p) == "2probe" || string(p) == "3probe", true
		}
	}
	return nil
}

// giveUpAfter is how many messages in a row that do not parse, before any
// unit did, make a connection chosen by its handshake or content stop
// being decoded as the protocol.
const giveUpAfter = 3
