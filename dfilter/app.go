package dfilter

import (
	"encoding/json"
	"strings"

	"github.com/wscap/wscap/decode"
)

// Fields of what the application said (package app): app.proto, app.type,
// app.name, app.id, app_partial, and app.KEY for any field a protocol
// reports (app.qos, app.namespace, app.headers...). A message may carry
// several units (MQTT packets batched in one message): a test on app.*
// matches when it matches one of them, as Wireshark's tests match any
// occurrence of a field.

// appUnit returns the unit an app.* field reads: the first of the message
// (anyUnitNode narrows the message to each unit in turn).
func appUnit(ev *decode.Event) *decode.AppUnit {
	if ev.Kind != decode.KindMessage || ev.App == nil || len(ev.App.Units) == 0 {
		return nil
	}
	return &ev.App.Units[0]
}

// appText returns the text a filter compares for the JSON value v: a
// string's contents, otherwise the JSON text (numbers, true, null,
// objects and arrays).
func appText(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' {
		if strings.IndexByte(string(v), '\\') < 0 {
			return v[1 : len(v)-1]
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return []byte(s)
		}
	}
	return v
}

func appStr(name, on string, get func(u *decode.AppUnit, p []byte) ([]byte, bool)) *field {
	f := sf(name, on, func(ev *decode.Event, _ *decode.ConnInfo) ([]byte, bool) {
		if u := appUnit(ev); u != nil {
			return get(u, ev.Message.Payload)
		}
		return nil, false
	})
	f.app = true
	return f
}

var appFields = []*field{
	appStr("app.proto", "message (an application protocol or format was recognised)", func(u *decode.AppUnit, _ []byte) ([]byte, bool) {
		return bs(u.Proto), true
	}),
	appStr("app.type", "message (app)", func(u *decode.AppUnit, _ []byte) ([]byte, bool) {
		return bs(u.Type), true
	}),
	appStr("app.name", "message (app, when the unit has a name)", func(u *decode.AppUnit, _ []byte) ([]byte, bool) {
		return bs(u.Name), u.HasName
	}),
	appAny("app.id", "message (app, when the unit has an id)", func(u *decode.AppUnit, _ []byte) []byte { return u.ID }),
	appAny("app.value", "message (app, bare formats)", func(u *decode.AppUnit, p []byte) []byte {
		if u.ValueIsPayload {
			return p
		}
		return u.Value
	}),
	bf("app_partial", "message (carries part of an application unit)", func(ev *decode.Event, _ *decode.ConnInfo) (bool, bool) {
		a := ev.App
		return a != nil && a.Partial, ev.Kind == decode.KindMessage
	}),
}

func appAny(name, on string, get func(u *decode.AppUnit, p []byte) []byte) *field {
	f := appStr(name, on, func(u *decode.AppUnit, p []byte) ([]byte, bool) {
		v := get(u, p)
		return appText(v), v != nil
	})
	f.typ = typAny
	return f
}

// appField returns the field app.KEY of a protocol's own fields.
func appField(name string) (*field, bool) {
	key, ok := strings.CutPrefix(name, "app.")
	if !ok || key == "" {
		return nil, false
	}
	return appAny(name, "message (app)", func(u *decode.AppUnit, _ []byte) []byte { return u.Field(key) }), true
}

// anyUnitNode matches a message when its test matches one of the
// message's units.
type anyUnitNode struct{ x node }

func (n anyUnitNode) match(ev *decode.Event, c *decode.ConnInfo) bool {
	a := ev.App
	if ev.Kind != decode.KindMessage || a == nil || len(a.Units) <= 1 {
		return n.x.match(ev, c)
	}
	one := *ev
	sub := *a
	one.App = &sub
	for i := range a.Units {
		sub.Units = a.Units[i : i+1]
		if n.x.match(&one, c) {
			return true
		}
	}
	return false
}
