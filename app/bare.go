package app

// Bare formats: a payload that no protocol claimed, shown as the value of
// a self-describing format. Text is JSON when it is an object or an array
// (a bare number or string could be free text); binary is MessagePack or
// CBOR when it is a map whose keys are strings and it parses to its last
// byte (see sniffMsgpack, sniffCBOR); protobuf is never guessed (any bytes
// parse as some protobuf) and is decoded only with --app protobuf.

var protoJSON = &protocol{
	name:    "json",
	new:     func(*Handshake, *Config) decoder { return jsonDecoder{} },
	ref:     "RFC 8259",
	summary: "JSON text (RFC 8259): the value, pretty with --pretty",
}

// bare annotates a message of a connection no protocol claimed.
func bare(m *Msg, r *Result) {
	if m.Incomplete || len(m.Payload) == 0 {
		return
	}
	if !m.Binary {
		if k := jsonKind(m.Payload); k == '{' || k == '[' {
			if v, ok := compactJSON(m.Payload); ok {
				r.Add(Unit{Proto: "json", Type: kindName(k), Value: v, Info: shorten(v, infoLen)})
			}
		}
		return
	}
	bareBinary(m, r)
}

// jsonDecoder is --app json: every text message must be JSON.
type jsonDecoder struct{}

func (jsonDecoder) size() int { return 0 }

func (jsonDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete {
		return
	}
	if m.Binary {
		bareBinary(m, r)
		return
	}
	v, ok := compactJSON(m.Payload)
	if !ok {
		r.Malformed(protoJSON, "text message of %d bytes is not JSON", len(m.Payload))
		return
	}
	r.Add(Unit{Proto: "json", Type: kindName(jsonKind(v)), Value: v, Info: shorten(v, infoLen)})
}
