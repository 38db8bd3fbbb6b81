package app

import "strings"

// detectDoc says, per protocol, what besides its subprotocols selects it
// (the path and the content signatures of each protocol's file), for the
// README's table (TestREADMEAppProtocols keeps them in step).
var detectDoc = map[string]string{
	"socket.io":                  "path `/socket.io/`; any path with `EIO=` whose first message packet is a socket.io packet; content: `4` + a socket.io packet with JSON data (`42[\"event\"…`, `40{…}`)",
	"engine.io":                  "path `/engine.io/`, or `EIO=` in the query; content: the open packet `0{\"sid\":…}` with `upgrades` or `pingInterval`, or `2probe`/`3probe`",
	"mqtt":                       "content: a client binary message holding a CONNECT up to its connect flags (`MQTT` level 4 or 5, `MQIsdp` level 3)",
	"stomp":                      "content: a client `CONNECT`/`STOMP` frame whose header block is complete and names `accept-version`, `host`, or `login` and `passcode`",
	"graphql-transport-ws":       "content: a client `{\"type\":\"connection_init\"}` (only `type` and `payload`), a server `connection_ack`, or a `subscribe` with an id and a query; switches to the legacy protocol at its first legacy-only type",
	"subscriptions-transport-ws": "content: `start` or `ka`, or a connection first seen as graphql-transport-ws that sends a legacy-only type",
	"signalr":                    "content: the client's handshake request `{\"protocol\":…,\"version\":…}` + 0x1E, or the server's answer",
	"phoenix":                    "path ending in `/websocket` with `vsn=1.x` or `vsn=2.x`; content: `phx_join`, or `heartbeat` on topic `phoenix`, in either serializer",
	"ocpp":                       "content: a client `[2,\"id\",\"BootNotification\",{…}]`",
	"wamp":                       "content: a client HELLO `[1,\"realm\",{\"roles\":{…}}]`",
	"json-rpc":                   "path segment `jsonrpc`, `json-rpc` or `jsonrpc2`; content: an object (or a batch whose first element is one) with `\"jsonrpc\":\"2.0\"` and `method`, `result` or `error`",
	"sip":                        "content: a start line `METHOD sip:… SIP/2.0` or `SIP/2.0 NNN ` ending in CRLF",
	"json":                       "only `--app json` (JSON text is readable as it is; labelling it would cost a quarter of a JSON-heavy run)",
	"msgpack":                    "a binary message of a connection no protocol claimed that is a map with string keys, parsed to its last byte; then every binary message of that connection that is one value",
	"cbor":                       "a binary message of a connection no protocol claimed that is a map with text keys, parsed to its last byte; then every binary message of that connection that is one value",
	"protobuf":                   "only `--app protobuf`, or `--proto FILE.proto[:Type]` for binary messages no protocol claims (any bytes parse as some protobuf)",
}

// ProtocolInfo describes a protocol for documentation.
type ProtocolInfo struct {
	Name         string
	Aliases      []string
	Subprotocols []string
	Detect       string // what else selects it
	Summary      string // what is shown
	Ref          string // the specification
}

// Protocols lists the protocols and formats, in the order their signals
// are tried.
func Protocols() []ProtocolInfo {
	out := make([]ProtocolInfo, 0, len(protocols))
	for _, p := range protocols {
		out = append(out, ProtocolInfo{p.name, p.aliases, p.subprotocols, detectDoc[p.name], p.summary, p.ref})
	}
	return out
}

// MarkdownTable renders Protocols as the README's table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| `app.proto` (`--app` names) | chosen by subprotocol | and by | what is shown | spec |\n|---|---|---|---|---|\n")
	for _, p := range Protocols() {
		names := "`" + p.Name + "`"
		for _, a := range p.Aliases {
			names += ", `" + a + "`"
		}
		subs := "–"
		if len(p.Subprotocols) > 0 {
			subs = "`" + strings.Join(p.Subprotocols, "`, `") + "`"
		}
		ref := p.Ref
		if strings.HasPrefix(ref, "https://") {
			ref = "<" + ref + ">"
		}
		b.WriteString("| " + names + " | " + subs + " | " + p.Detect + " | " + p.Summary + " | " + ref + " |\n")
	}
	return b.String()
}
