package output

import (
	"strconv"

	"github.com/wscap/wscap/decode"
)

// What the application said (package app), as the renderers show it: the
// JSON "app" object, the timeline's Info line, the -V tree, the --follow
// line and the summary's count of message types.

// coreAppKeys are the keys of the "app" object's core; a protocol field of
// the same name is left out rather than written twice.
var coreAppKeys = map[string]bool{"proto": true, "type": true, "name": true, "id": true, "value": true}

// appendAppUnitJSON appends one unit of a message whose payload is p as a
// JSON object.
func appendAppUnitJSON(b []byte, u *decode.AppUnit, p []byte) []byte {
	b = append(b, `{"proto":`...)
	b = appendJSONString(b, u.Proto)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, u.Type)
	b = append(b, `,"name":`...)
	if u.HasName {
		b = appendJSONString(b, u.Name)
	} else {
		b = append(b, "null"...)
	}
	if u.ID != nil {
		b = append(b, `,"id":`...)
		b = append(b, u.ID...)
	}
	if u.ValueIsPayload {
		b = append(b, `,"value":`...)
		b = append(b, p...)
	} else if u.Value != nil {
		b = append(b, `,"value":`...)
		b = append(b, u.Value...)
	}
	for _, f := range u.Fields {
		if coreAppKeys[f.Key] || f.Value == nil {
			continue
		}
		b = append(b, ',')
		b = appendJSONString(b, f.Key)
		b = append(b, ':')
		b = append(b, f.Value...)
	}
	return append(b, '}')
}

// appendAppJSON appends the "app", "app_units" and "app_partial" members
// of a message event.
func appendAppJSON(b []byte, a *decode.AppInfo, p []byte) []byte {
	if a == nil {
		return b
	}
	if a.Partial {
		b = jBool(b, "app_partial", true)
	}
	if len(a.Units) == 0 {
		return b
	}
	b = appendAppUnitJSON(key(b, "app"), &a.Units[0], p)
	if len(a.Units) > 1 || a.More > 0 {
		b = append(key(b, "app_units"), '[')
		for i := range a.Units {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAppUnitJSON(b, &a.Units[i], p)
		}
		b = append(b, ']')
		if a.More > 0 {
			b = jInt(b, "app_units_more", int64(a.More))
		}
	}
	return b
}

// appShown reports whether the timeline shows m by what the application
// said rather than by its payload: JSON text is its own best preview.
func appShown(a *decode.AppInfo) bool {
	return a != nil && (a.Partial || len(a.Units) > 0 && a.Units[0].Proto != "json")
}

// appendAppLine appends "proto TYPE info" of a unit.
func appendAppLine(l []byte, u *decode.AppUnit) []byte {
	l = append(l, u.Proto...)
	l = append(l, ' ')
	l = append(l, u.Type...)
	if u.Info != "" {
		l = append(l, ' ')
		l = append(l, u.Info...)
	}
	return l
}

// appendAppInfo renders what the application said in the Info column of
// a message row: the first unit, and how many more the message carried.
// A message that carries only part of a unit shows "[partial]" and its
// payload. Text that came from the payload is escaped as previews are.
func appendAppInfo(l []byte, a *decode.AppInfo, start, budget int) ([]byte, bool) {
	if len(a.Units) == 0 {
		l = append(l, "[partial] "...)
		return l, false
	}
	var line []byte
	line = appendAppLine(line, &a.Units[0])
	if n := len(a.Units) - 1 + a.More; n > 0 {
		line = append(line, " (+"...)
		line = strconv.AppendInt(line, int64(n), 10)
		line = append(line, " more)"...)
	}
	return appendAppText(l, line, budgetLeft(budget, len(l)-start)), true
}

// appendAppText appends s, a line that says what the application said,
// unquoted: quotes and backslashes are its own (JSON names and values);
// control characters, DEL, invalid UTF-8 and invisible runes are escaped
// as in previews, so that the traffic cannot drive the terminal. budget >
// 0 caps the columns, cutting with "...".
func appendAppText(dst, s []byte, budget int) []byte {
	cols := 0
	for i := 0; i < len(s); {
		mark := len(dst)
		var n, w int
		if c := s[i]; c == '"' || c == '\\' {
			dst, n, w = append(dst, c), 1, 1
		} else {
			dst, n, w = previewUnit(dst, s[i:])
		}
		if budget > 0 && (cols+w > budget || cols+w > budget-3 && i+n < len(s)) {
			return append(dst[:mark], "..."...)
		}
		i += n
		cols += w
	}
	return dst
}

// appendAppTree appends the -V lines of what the application said.
func appendAppTree(l []byte, a *decode.AppInfo, p []byte) []byte {
	if a == nil {
		return l
	}
	if a.Partial {
		l = fieldUint(l, "app_partial", 1)
	}
	for i := range a.Units {
		u := &a.Units[i]
		prefix := "app."
		if i > 0 {
			prefix = "app_units[" + strconv.Itoa(i) + "]."
		}
		l = treeText(l, prefix+"proto", u.Proto)
		l = treeText(l, prefix+"type", u.Type)
		if u.HasName {
			l = treeText(l, prefix+"name", u.Name)
		}
		if u.ID != nil {
			l = treeText(l, prefix+"id", string(u.ID))
		}
		if u.ValueIsPayload {
			l = treeText(l, prefix+"value", string(p))
		} else if u.Value != nil {
			l = treeText(l, prefix+"value", string(u.Value))
		}
		for _, f := range u.Fields {
			if !coreAppKeys[f.Key] && f.Value != nil {
				l = treeText(l, prefix+f.Key, string(f.Value))
			}
		}
	}
	if a.More > 0 {
		l = fieldUint(l, "app_units_more", uint64(a.More))
	}
	return l
}

// treeText is a tree line whose value came from the traffic: escaped and
// cut as a preview.
func treeText(l []byte, name, v string) []byte {
	l = field(l, name)
	l = appendAppText(l, []byte(v), 0)
	return append(l, '\n')
}

// appendAppFollow appends the --follow lines of what the application
// said: one per unit, indented.
func appendAppFollow(l []byte, a *decode.AppInfo, ind string) []byte {
	if a == nil {
		return l
	}
	if len(a.Units) == 0 {
		if a.Partial {
			l = append(l, ind...)
			l = append(l, "(part of an application message that ends in a later one)\n"...)
		}
		return l
	}
	if a.Units[0].Proto == "json" {
		return l // the text is the JSON
	}
	for i := range a.Units {
		l = append(l, ind...)
		l = appendAppText(l, appendAppLine(nil, &a.Units[i]), 0)
		l = append(l, '\n')
	}
	if a.More > 0 {
		l = append(l, ind...)
		l = append(l, "... "...)
		l = strconv.AppendInt(l, int64(a.More), 10)
		l = append(l, " more units not kept\n"...)
	}
	return l
}

// appCount counts the units of one type on a connection.
type appCount struct {
	proto, typ string
	n          int
}

// maxAppTypes bounds the distinct types counted per connection; the rest
// are counted under "other".
const maxAppTypes = 32

// appStats is what the summary says of a connection's application layer.
type appStats struct {
	proto  string // the protocol: the first one that is not a bare format
	counts []appCount
	other  int
}

func bareFormat(proto string) bool {
	switch proto {
	case "json", "msgpack", "cbor", "protobuf":
		return true
	}
	return false
}

func (s *appStats) add(a *decode.AppInfo) {
	if a == nil {
		return
	}
	for i := range a.Units {
		u := &a.Units[i]
		// The connection's protocol: the first that is not a bare format;
		// socket.io rather than the engine.io it runs on.
		if s.proto == "" || bareFormat(s.proto) && !bareFormat(u.Proto) || s.proto == "engine.io" && u.Proto == "socket.io" {
			s.proto = u.Proto
		}
		s.count(u.Proto, u.Type)
	}
	s.other += a.More
}

func (s *appStats) count(proto, typ string) {
	for i := range s.counts {
		if c := &s.counts[i]; c.typ == typ && c.proto == proto {
			c.n++
			return
		}
	}
	if len(s.counts) >= maxAppTypes {
		s.other++
		return
	}
	s.counts = append(s.counts, appCount{proto, typ, 1})
}

// cell is the summary table's App cell: "socket.io: EVENT 3, ACK 1,
// engine.io ping 4".
func (s *appStats) cell() string {
	if s.proto == "" {
		return ""
	}
	b := append([]byte(nil), s.proto...)
	b = append(b, ':')
	for i, c := range s.counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, ' ')
		if c.proto != s.proto {
			b = append(b, c.proto...)
			b = append(b, ' ')
		}
		b = append(b, c.typ...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(c.n), 10)
	}
	if s.other > 0 {
		b = append(b, ", other "...)
		b = strconv.AppendInt(b, int64(s.other), 10)
	}
	return asciiText(string(b))
}

// appendJSON appends the summary's "app" member.
func (s *appStats) appendJSON(b []byte) []byte {
	if s.proto == "" {
		return b
	}
	b = append(key(b, "app"), `{"proto":`...)
	b = appendJSONString(b, s.proto)
	b = append(b, `,"types":[`...)
	for i, c := range s.counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"proto":`...)
		b = appendJSONString(b, c.proto)
		b = append(b, `,"type":`...)
		b = appendJSONString(b, c.typ)
		b = jInt(b, "count", int64(c.n))
		b = append(b, '}')
	}
	b = append(b, ']')
	if s.other > 0 {
		b = jInt(b, "other", int64(s.other))
	}
	return append(b, '}')
}
