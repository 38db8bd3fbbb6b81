package decode

import "net/netip"

// AppLayer is the application-protocol layer above one WebSocket (package
// app): it is told every complete data message in order and says what the
// application said in it. The decoder stays free of protocol knowledge and
// of the libraries that layer uses; [Options.App] plugs one in.
type AppLayer interface {
	// Message returns what the application said in m, a complete data
	// message sent by from (nil: nothing recognised), and appends the
	// application-level anomalies it found to dst. m.Payload is valid
	// only during the call: the AppInfo must not alias it.
	Message(m *Message, from Role, dst []Anomaly) (*AppInfo, []Anomaly)
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

	one [1]AppUnit // Units of a message with one unit: one allocation
}

// NewAppInfo returns an AppInfo with a copy of units.
func NewAppInfo(units []AppUnit, more int, partial bool) *AppInfo {
	a := &AppInfo{More: more, Partial: partial}
	switch len(units) {
	case 0:
	case 1:
		a.one[0] = units[0]
		a.Units = a.one[:]
	default:
		a.Units = append([]AppUnit(nil), units...)
	}
	return a
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
	// ValueIsPayload: app.value is the message's payload itself, which is
	// compact JSON text (bare JSON, kept once rather than twice).
	ValueIsPayload bool
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
