package decode

import "net/netip"

// AppLayer is the application-protocol layer above one WebSocket (package
// app): it is told every complete data message in order and says what the
// application said in it. The decoder stays free of protocol knowledge and
// of the libraries that layer uses; [Options.App] plugs one in.
type AppLayer interface {
	// Message annotates m, a complete data message sent by from, by
	// setting m.App, and appends the application-level anomalies it found
	// to dst. m.Payload is valid only during the call: m.App must not
	// alias it.
	Message(m *Message, from Role, dst []Anomaly) []Anomaly
	// MemSize is the bytes of state the layer holds (for the budget).
	MemSize() int
}

// AppFactory makes the application layer of a WebSocket once its roles
// are known: h is its handshake (nil when none was captured), client and
// server its endpoints. It returns nil when nothing is to be decoded.
type AppFactory func(h *Handshake, client, server netip.AddrPort) AppLayer

// AppInfo is what the application said in one message (JSON "app",
// "app_units", "app_partial"). It is immutable once set and never aliases
// decoder buffers, so [Event.Clone] shares it.
type AppInfo struct {
	// Units are the application-level units that ended in this message,
	// in order; the first is JSON "app".
	Units []AppUnit
	// More counts units past the limit on Units that were not kept.
	More int
	// Partial: the message carries only the beginning or middle of a unit.
	Partial bool
}

// AppUnit is one unit of an application protocol (a socket.io packet, an
// MQTT control packet, a STOMP frame...) or a payload in a bare format.
type AppUnit struct {
	Proto   string // JSON app.proto: "socket.io", "mqtt", ..., "json", "msgpack"
	Type    string // app.type as the protocol's spec spells it: "EVENT", "PUBLISH"
	Name    string // app.name: event, topic, destination, method...
	HasName bool   // false: app.name is null
	ID      []byte // app.id as JSON (a string or an integer); nil: none
	Value   []byte // app.value as JSON (bare formats); nil: none
	// Fields are the protocol's own fields, in order, as JSON values.
	Fields []AppField
	// Info is the compact rest of the timeline line after "proto TYPE",
	// e.g. `"chat message" ["hi"] ack=3`.
	Info string
}

// AppField is one protocol field of an [AppUnit]: a key and its JSON value.
type AppField struct {
	Key   string
	Value []byte // JSON
}

// Field returns the JSON value of the field named key, or nil.
func (u *AppUnit) Field(key string) []byte {
	for i := range u.Fields {
		if u.Fields[i].Key == key {
			return u.Fields[i].Value
		}
	}
	return nil
}
