package app

import "unicode/utf8"

// Bare formats: a payload that no protocol claimed, shown as the value of
// a self-describing format. Binary is MessagePack or CBOR when it is a map
// whose keys are strings and it parses to its last byte (see bareBinary);
// protobuf is never guessed (any bytes parse as some protobuf) and is
// decoded only with --app protobuf. Text is not labelled JSON unless asked
// (--app json): JSON text is readable as it is, and validating every text
// message costs a quarter of the run on JSON-heavy captures (measured on
// the wsgen medium workload: 0.26 s of 1.11 s on one core).

var protoJSON = &protocol{
	name:    "json",
	new:     func(h *Handshake, c *Config) decoder { return &jsonDecoder{hs: h, cfg: c} },
	ref:     "RFC 8259",
	summary: "JSON text (RFC 8259): the value, pretty with --pretty",
}

// bare annotates a message of a connection no protocol claimed.
func bare(m *Msg, r *Result) {
	if m.Incomplete || len(m.Payload) == 0 {
		return
	}
	if m.Binary {
		bareBinary(m, r)
	}
}

// jsonDecoder is --app json: every text message must be JSON; binary
// messages are those of a binary format forced too, of --proto's schema,
// or as on a connection no protocol claims (a MessagePack or CBOR map
// chooses the format of the connection's binary messages).
type jsonDecoder struct {
	hs     *Handshake
	cfg    *Config
	schema decoder
	bin    binaryFormat
}

func (d *jsonDecoder) size() int {
	if d.schema != nil {
		return 64 + d.schema.size()
	}
	return 64
}

func (d *jsonDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete {
		return
	}
	if m.Binary {
		if d.cfg.Schema == nil && d.cfg.binary == "" {
			d.bin.decode(m, r)
			return
		}
		if d.schema == nil {
			p := protoProtobuf
			if d.cfg.binary != "" {
				p = lookup(d.cfg.binary)
			}
			d.schema = p.new(d.hs, d.cfg)
		}
		d.schema.decode(m, r)
		return
	}
	u := bareJSON(m.Payload, jsonKind(m.Payload))
	if u.Proto == "" {
		r.Malformed(protoJSON, "text message of %d bytes is not JSON", len(m.Payload))
		return
	}
	r.Add(u)
}

// bareJSON returns the unit of a JSON text payload p of kind k, or a unit
// without Proto when p is not JSON. Compact JSON is not copied: the value
// is the payload (ValueIsPayload); the timeline shows the text itself, so
// there is no Info.
func bareJSON(p []byte, k byte) Unit {
	ok, space := jsonValid(p)
	switch {
	case !ok:
		return Unit{}
	case !space && utf8.Valid(p):
		return Unit{Proto: "json", Type: kindName(k), ValueIsPayload: true}
	}
	v, _ := compactJSON(p)
	return Unit{Proto: "json", Type: kindName(k), Value: v}
}
