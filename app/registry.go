package app

import (
	"slices"
	"strings"
)

// protocol describes one application protocol (or bare format) and how a
// connection is recognised as speaking it.
type protocol struct {
	name    string   // app.proto and the --app name
	aliases []string // other --app names
	// subprotocols are the Sec-WebSocket-Protocol values that select it,
	// compared without case; a trailing '*' matches any suffix.
	subprotocols []string
	// path reports whether the request path and query select it (nil:
	// never). Only signals that no other protocol shares belong here.
	path func(h *Handshake) bool
	// sniff reports whether one of a connection's first messages carries
	// the protocol's unambiguous signature (nil: never). It must reject
	// free text and random bytes.
	sniff func(m *Msg) bool
	// new makes the decoder of one connection.
	new func(h *Handshake, c *Config) decoder
	// ref is the specification, the ref of its anomalies.
	ref string
	// summary is the one-line description for --app help and the README.
	summary string
}

// protocols is every protocol, in the order their signals are tried: the
// more specific first. Each is defined in its own file.
var protocols = []*protocol{
	protoSocketIO,
	protoEngineIO,
	protoMQTT,
	protoSTOMP,
	protoGraphQLTransportWS,
	protoSubscriptionsTransportWS,
	protoSignalR,
	protoPhoenix,
	protoOCPP,
	protoWAMP,
	protoJSONRPC,
	protoSIP,
	protoJSON,
	protoMsgpack,
	protoCBOR,
	protoProtobuf,
}

// Names returns the --app names of every protocol and format.
func Names() []string {
	var s []string
	for _, p := range protocols {
		s = append(s, p.name)
	}
	return s
}

// lookup returns the protocol named name (an --app value), nil if none.
func lookup(name string) *protocol {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, p := range protocols {
		if p.name == name || slices.Contains(p.aliases, name) {
			return p
		}
	}
	return nil
}

// bySubprotocol returns the protocol the selected subprotocol names.
func bySubprotocol(sub string) *protocol {
	sub = strings.ToLower(strings.TrimSpace(sub))
	for _, p := range protocols {
		for _, s := range p.subprotocols {
			if pre, ok := strings.CutSuffix(s, "*"); ok && strings.HasPrefix(sub, pre) || s == sub {
				return p
			}
		}
	}
	return nil
}

// byPath returns the protocol the request path and query select.
func byPath(h *Handshake) *protocol {
	for _, p := range protocols {
		if p.path != nil && p.path(h) {
			return p
		}
	}
	return nil
}

// bySniff returns the protocol whose signature m carries.
func bySniff(m *Msg) *protocol {
	for _, p := range protocols {
		if p.sniff != nil && p.sniff(m) {
			return p
		}
	}
	return nil
}

// queryValue returns the value of key in a raw query string ("" if absent).
func queryValue(q, key string) string {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == key {
			return v
		}
	}
	return ""
}
