package app

import (
	"bytes"
	"strings"
)

// OCPP-J: OCPP 1.6, 2.0.1 and 2.1 over WebSocket ("OCPP-J", the JSON over
// WebSocket implementation guide of each version, §4 "RPC framework").
// Each message is one JSON array:
//
//	[2, "<uniqueId>", "<Action>", {payload}]                   CALL
//	[3, "<uniqueId>", {payload}]                               CALLRESULT
//	[4, "<uniqueId>", "<errorCode>", "<description>", {details}] CALLERROR
//	[5, "<uniqueId>", "<errorCode>", "<description>", {details}] CALLRESULTERROR (2.1)
//	[6, "<uniqueId>", "<Action>", {payload}]                   SEND (2.1)
//
// Either side sends CALLs (the charging station and the central system
// both); a CALLRESULT or CALLERROR answers the CALL with the same id that
// the other side sent, a CALLRESULTERROR the CALLRESULT of a CALL its
// sender made. The decoder keeps the action of the last ocppMaxCalls CALLs
// of each side to name the answers.
//
// Detection: the subprotocols ocpp* (ocpp1.6, ocpp2.0, ocpp2.0.1, ocpp2.1),
// which also give the version. Without one, a client message that is a
// BootNotification CALL: a charging station sends it first on every
// connection, and the shape [2,"id","BootNotification",{...}] is no other
// protocol's; other CALLs ([2,"id","Heartbeat",{}]) are not distinctive
// enough to claim a connection on.

var protoOCPP = &protocol{
	name:         "ocpp",
	aliases:      []string{"ocpp-j"},
	subprotocols: []string{"ocpp*"},
	sniff:        sniffOCPP,
	new:          newOCPP,
	ref:          "OCPP-J 1.6 / 2.0.1 / 2.1 (OCPP JSON over WebSocket, §4 RPC framework)",
	summary:      "OCPP-J 1.6, 2.0.1, 2.1 RPC: CALL action, CALLRESULT/CALLERROR tied to their CALL, unique id, payload",
}

// ocppMaxCalls bounds the CALLs remembered per side.
const ocppMaxCalls = 1024

func sniffOCPP(m *Msg) bool {
	if !m.FromClient || m.Binary {
		return false
	}
	p := trimWS(m.Payload)
	if len(p) < 24 || p[0] != '[' || !bytes.Contains(p[:min(len(p), 120)], []byte(`"BootNotification"`)) {
		return false
	}
	els, ok := jsonElems(p, 5)
	if !ok || len(els) != 4 {
		return false
	}
	n, ok := jsonInt(els[0])
	if !ok || n != 2 || jsonKind(els[1]) != '"' || jsonKind(els[3]) != '{' {
		return false
	}
	action, _ := jsonString(els[2])
	return action == "BootNotification"
}

type ocppDecoder struct {
	version string
	calls   [2]capMap[string, string] // action by unique id of the CALLs [0] the client, [1] the server sent
}

func newOCPP(h *Handshake, _ *Config) decoder {
	d := &ocppDecoder{}
	if v, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(h.Protocol)), "ocpp"); ok && v != "" {
		d.version = v
	}
	d.calls[0].max, d.calls[1].max = ocppMaxCalls, ocppMaxCalls
	return d
}

func (d *ocppDecoder) size() int { return 64 + d.calls[0].size() + d.calls[1].size() }

var ocppTypes = [...]string{2: "CALL", 3: "CALLRESULT", 4: "CALLERROR", 5: "CALLRESULTERROR", 6: "SEND"}

func (d *ocppDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete {
		return
	}
	els, ok := jsonElems(m.Payload, 6)
	if !ok || len(els) < 3 {
		r.Malformed(protoOCPP, "message of %d bytes is not an OCPP-J array [MessageTypeId, UniqueId, ...]", len(m.Payload))
		return
	}
	typ, ok := jsonInt(els[0])
	if !ok || typ < 2 || typ > 6 {
		r.Malformed(protoOCPP, "unknown MessageTypeId %s", shorten(els[0], 20))
		return
	}
	id, ok := ocppID(els[1])
	if !ok {
		r.Malformed(protoOCPP, "%s UniqueId %s is not a string", ocppTypes[typ], shorten(els[1], 40))
		return
	}
	u := Unit{Proto: "ocpp", Type: ocppTypes[typ], ID: jstr(id)}
	own, other := &d.calls[0], &d.calls[1]
	if !m.FromClient {
		own, other = other, own
	}
	var info []byte
	switch typ {
	case 2, 6: // CALL, SEND
		if len(els) != 4 {
			r.Malformed(protoOCPP, "%s has %d elements, not 4", u.Type, len(els))
			return
		}
		action, ok := jsonString(els[2])
		if !ok {
			r.Malformed(protoOCPP, "%s Action %s is not a string", u.Type, shorten(els[2], 40))
			return
		}
		u.Name, u.HasName = action, true
		if typ == 2 {
			own.put(id, action)
		}
		p := jraw(els[3])
		u.Fields = append(u.Fields, Field{Key: "payload", Value: p})
		info = ocppInfo(action, true, id)
		info = append(info, ' ')
		info = append(info, shorten(p, infoLen)...)
	case 3: // CALLRESULT
		if len(els) != 3 {
			r.Malformed(protoOCPP, "CALLRESULT has %d elements, not 3", len(els))
			return
		}
		u.Name, u.HasName = other.get(id)
		p := jraw(els[2])
		u.Fields = append(u.Fields, Field{Key: "payload", Value: p})
		info = ocppInfo(u.Name, u.HasName, id)
		info = append(info, ' ')
		info = append(info, shorten(p, infoLen)...)
	case 4, 5: // CALLERROR, CALLRESULTERROR
		// ErrorDescription and ErrorDetails are taken as optional: some
		// implementations leave them out.
		if len(els) > 5 {
			r.Malformed(protoOCPP, "%s has %d elements, not 5", u.Type, len(els))
			return
		}
		code, ok := jsonString(els[2])
		if !ok {
			r.Malformed(protoOCPP, "%s ErrorCode %s is not a string", u.Type, shorten(els[2], 40))
			return
		}
		if typ == 4 {
			u.Name, u.HasName = other.get(id)
		} else {
			u.Name, u.HasName = own.get(id)
		}
		u.Fields = append(u.Fields, Field{Key: "error_code", Value: jstr(code)})
		info = ocppInfo(u.Name, u.HasName, id)
		info = append(info, ' ')
		info = appendToken(info, shortenStr(code, 40))
		if len(els) > 3 {
			desc := jraw(els[3])
			u.Fields = append(u.Fields, Field{Key: "error_description", Value: desc})
			if s, _ := jsonString(desc); s != "" {
				info = append(info, ' ')
				info = append(info, shorten(desc, 50)...)
			}
		}
		if len(els) > 4 {
			det := jraw(els[4])
			u.Fields = append(u.Fields, Field{Key: "error_details", Value: det})
			if string(det) != "{}" && string(det) != "null" {
				info = append(info, ' ')
				info = append(info, shorten(det, 40)...)
			}
		}
	}
	if d.version == "" && typ == 2 && u.Name == "BootNotification" {
		d.version = ocppGuessVersion(els[3])
	}
	if d.version != "" {
		u.Fields = append(u.Fields, Field{Key: "version", Value: jstr(d.version)})
	}
	u.Info = string(info)
	r.Add(u)
}

// ocppID returns the unique id: a string (OCPP-J §4.1.3), or leniently a
// number as sent.
func ocppID(v []byte) (string, bool) {
	switch jsonKind(v) {
	case '"':
		return jsonString(v)
	case '0':
		return string(trimWS(v)), true
	}
	return "", false
}

// ocppGuessVersion tells OCPP 1.6 from its BootNotification request when
// the subprotocol did not say (1.6 has chargePointVendor; 2.0.1 and 2.1
// share chargingStation, so they stay unknown).
func ocppGuessVersion(payload []byte) string {
	if jsonMember(payload, "chargePointVendor") != nil {
		return "1.6"
	}
	return ""
}

// ocppInfo starts an Info line: the action (quoted) and the id.
func ocppInfo(name string, has bool, id string) []byte {
	var b []byte
	if has {
		b = appendJSONString(b, name)
		b = append(b, ' ')
	}
	b = append(b, "id="...)
	return appendToken(b, shortenStr(id, 36))
}

// capMap is a map that keeps at most max entries: adding a new key past
// that drops the oldest.
type capMap[K comparable, V any] struct {
	max   int
	m     map[K]V
	order []K // keys in insertion order (a ring once full)
	next  int // the oldest key's index in order, once full
	bytes int // estimate of the keys' and values' sizes
}

func (c *capMap[K, V]) get(k K) (V, bool) {
	v, ok := c.m[k]
	return v, ok
}

func (c *capMap[K, V]) put(k K, v V) {
	if c.m == nil {
		c.m = make(map[K]V)
	}
	if old, ok := c.m[k]; ok {
		c.bytes += sizeOf(v) - sizeOf(old)
		c.m[k] = v
		return
	}
	if c.max <= 0 {
		c.max = 1024
	}
	if len(c.order) < c.max {
		c.order = append(c.order, k)
	} else {
		old := c.order[c.next]
		c.bytes -= sizeOf(old) + sizeOf(c.m[old])
		delete(c.m, old)
		c.order[c.next] = k
		c.next = (c.next + 1) % c.max
	}
	c.m[k] = v
	c.bytes += sizeOf(k) + sizeOf(v)
}

func (c *capMap[K, V]) size() int { return c.bytes + len(c.order)*48 }

func sizeOf(v any) int {
	if s, ok := v.(string); ok {
		return 16 + len(s)
	}
	return 16
}
