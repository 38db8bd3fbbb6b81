package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Protocol Buffers (https://protobuf.dev/programming-guides/encoding/).
// Never guessed (any bytes parse as some protobuf): only --app protobuf
// decodes binary messages as protobuf. Without a schema every field is
// shown with its number and wire type; a length-delimited field is a
// nested message when it parses completely as one (nesting within
// pbMaxDepth) and is not plain text, else a string when UTF-8, else
// {"base64":..}. With --proto FILE[:Type] the message is decoded with the
// schema and shown as protobuf's JSON mapping.

var protoProtobuf = &protocol{
	name:    "protobuf",
	aliases: []string{"proto"},
	new: func(_ *Handshake, c *Config) decoder {
		d := &protobufDecoder{}
		if c != nil {
			d.schema = c.Schema
		}
		return d
	},
	ref:     protobufRef,
	summary: "Protocol Buffers (binary messages, only with --app protobuf): fields by number and wire type, nested messages guessed; with --proto FILE[:Type] the message as protobuf's JSON mapping",
}

const protobufRef = "https://protobuf.dev/programming-guides/encoding/"

var protoProtobufRef = &protocol{name: "protobuf", ref: protobufRef}

// pbMaxDepth bounds the nesting of guessed messages.
const pbMaxDepth = 8

type protobufDecoder struct{ schema *Schema }

func (*protobufDecoder) size() int { return 0 }

func (d *protobufDecoder) decode(m *Msg, r *Result) {
	if m.Incomplete {
		return
	}
	if !m.Binary {
		bare(m, r)
		return
	}
	if d.schema != nil {
		v, err := d.schema.JSON(m.Payload)
		if err != nil {
			r.Malformed(protoProtobufRef, "binary message of %d bytes is not a %s: %v", len(m.Payload), d.schema.Name(), err)
			return
		}
		r.Add(Unit{Proto: "protobuf", Type: d.schema.Name(), Value: v, Info: shorten(v, infoLen)})
		return
	}
	var p pbWriter
	if !p.message(m.Payload, 0) {
		r.Malformed(protoProtobufRef, "binary message of %d bytes: %s", len(m.Payload), p.err)
		return
	}
	r.Add(Unit{Proto: "protobuf", Type: "message", Fields: []Field{{Key: "fields", Value: p.out}}, Info: p.info(m.Payload)})
}

// pbWriter appends the schema-less JSON of a message.
type pbWriter struct {
	out []byte
	err string
}

// message appends the fields of b as a JSON array; false (with w.out
// unusable) when b is not a message.
func (w *pbWriter) message(b []byte, depth int) bool {
	w.out = append(w.out, '[')
	for first := true; len(b) > 0; first = false {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			w.err = "bad tag: " + protowire.ParseError(n).Error()
			return false
		}
		b = b[n:]
		if !first {
			w.out = append(w.out, ',')
		}
		w.out = append(w.out, `{"field":`...)
		w.out = strconv.AppendInt(w.out, int64(num), 10)
		w.out = append(w.out, `,"wire":`...)
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				w.err = fmt.Sprintf("field %d: bad varint", num)
				return false
			}
			b = b[n:]
			w.out = append(w.out, `"varint","value":`...)
			w.out = strconv.AppendUint(w.out, v, 10)
		case protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				w.err = fmt.Sprintf("field %d: truncated i64", num)
				return false
			}
			b = b[n:]
			w.out = append(w.out, `"i64","value":`...)
			w.out = strconv.AppendUint(w.out, v, 10)
			if f := math.Float64frombits(v); pbPlausibleFloat(f) {
				w.out = append(w.out, `,"double":`...)
				w.out = appendJSONFloat(w.out, f, 64)
			}
		case protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				w.err = fmt.Sprintf("field %d: truncated i32", num)
				return false
			}
			b = b[n:]
			w.out = append(w.out, `"i32","value":`...)
			w.out = strconv.AppendUint(w.out, uint64(v), 10)
			if f := float64(math.Float32frombits(v)); pbPlausibleFloat(f) {
				w.out = append(w.out, `,"float":`...)
				w.out = appendJSONFloat(w.out, f, 32)
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				w.err = fmt.Sprintf("field %d: length beyond the message", num)
				return false
			}
			b = b[n:]
			w.out = append(w.out, `"len","value":`...)
			w.bytes(v, depth)
		case protowire.StartGroupType:
			v, n := protowire.ConsumeGroup(num, b)
			if n < 0 || depth >= pbMaxDepth {
				w.err = fmt.Sprintf("field %d: bad group", num)
				return false
			}
			b = b[n:]
			w.out = append(w.out, `"group","value":`...)
			if !w.message(v, depth+1) {
				return false
			}
		default:
			w.err = fmt.Sprintf("field %d: wire type %d", num, typ)
			return false
		}
		w.out = append(w.out, '}')
	}
	w.out = append(w.out, ']')
	return true
}

// bytes appends a length-delimited value: a nested message when it parses
// as one and is not plain text, else a string, else base64.
func (w *pbWriter) bytes(v []byte, depth int) {
	text := utf8.Valid(v) && pbPlainText(v)
	if len(v) > 0 && !text && depth < pbMaxDepth {
		mark := len(w.out)
		if w.message(v, depth+1) {
			return
		}
		w.out, w.err = w.out[:mark], ""
	}
	if utf8.Valid(v) {
		w.out = appendJSONString(w.out, string(v))
		return
	}
	w.out = append(w.out, `{"base64":"`...)
	w.out = base64.StdEncoding.AppendEncode(w.out, v)
	w.out = append(w.out, `"}`...)
}

// pbPlainText reports whether v has no control characters but tab and
// line breaks: text, not a nested message (whose tags of fields 1..3 are
// control bytes).
func pbPlainText(v []byte) bool {
	for _, c := range v {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

// pbPlausibleFloat reports whether f is worth showing as the float
// reading of a fixed field: finite and of a magnitude data has.
func pbPlausibleFloat(f float64) bool {
	a := math.Abs(f)
	return f == 0 || a >= 1e-9 && a < 1e15
}

// info summarises the fields for the timeline: 1:150 2:"abc" 3:{1:1}.
func (w *pbWriter) info(b []byte) string {
	var s strings.Builder
	pbInfo(&s, b, 0)
	return shorten([]byte(s.String()), 120)
}

func pbInfo(s *strings.Builder, b []byte, depth int) {
	for first := true; len(b) > 0 && s.Len() < 160; first = false {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if !first {
			s.WriteByte(' ')
		}
		s.WriteString(strconv.Itoa(int(num)))
		s.WriteByte(':')
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return
			}
			b = b[n:]
			s.WriteString(strconv.FormatUint(v, 10))
		case protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return
			}
			b = b[n:]
			s.WriteString(strconv.FormatUint(v, 10))
		case protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return
			}
			b = b[n:]
			s.WriteString(strconv.FormatUint(uint64(v), 10))
		case protowire.BytesType, protowire.StartGroupType:
			var v []byte
			var n int
			if typ == protowire.BytesType {
				v, n = protowire.ConsumeBytes(b)
			} else {
				v, n = protowire.ConsumeGroup(num, b)
			}
			if n < 0 {
				return
			}
			b = b[n:]
			var p pbWriter
			switch {
			case typ == protowire.StartGroupType || len(v) > 0 && !pbPlainText(v) && depth < pbMaxDepth && p.message(v, depth+1):
				s.WriteByte('{')
				pbInfo(s, v, depth+1)
				s.WriteByte('}')
			case utf8.Valid(v):
				s.WriteString(shorten(jstr(string(v)), 40))
			default:
				fmt.Fprintf(s, "<%d bytes>", len(v))
			}
		default:
			return
		}
	}
}

// Schema is a protobuf message type loaded from a .proto file (--proto).
type Schema struct {
	desc protoreflect.MessageDescriptor
}

// Name is the full name of the message type.
func (s *Schema) Name() string { return string(s.desc.FullName()) }

// JSON decodes b as the message and returns protobuf's JSON mapping of it,
// compact.
func (s *Schema) JSON(b []byte) ([]byte, error) {
	m := dynamicpb.NewMessage(s.desc)
	if err := (proto.UnmarshalOptions{RecursionLimit: 100}).Unmarshal(b, m); err != nil {
		return nil, err
	}
	out, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		return nil, err
	}
	v, ok := compactJSON(out) // protojson varies its spacing on purpose
	if !ok {
		return nil, errors.New("protojson wrote invalid JSON")
	}
	return v, nil
}

// LoadSchema compiles protoFile (imports resolved from its directory and
// the well-known types) and returns its message type messageType: a full
// name ("pkg.Message"), a name relative to the file's package
// ("Message", "Outer.Inner"), or "" for the file's root message: the
// first top-level message that no other message of the file uses as a
// field type (the envelope; a file often defines its parts first), the
// first message when every one is used.
func LoadSchema(protoFile, messageType string) (*Schema, error) {
	dir, base := filepath.Split(protoFile)
	if dir == "" {
		dir = "."
	}
	if _, err := os.Stat(protoFile); err != nil {
		return nil, fmt.Errorf("--proto: %w", err)
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			ImportPaths: []string{dir},
		}),
		MaxParallelism: 1,
	}
	files, err := c.Compile(context.Background(), base)
	if err != nil {
		return nil, fmt.Errorf("--proto %s: %w", protoFile, err)
	}
	fd := files[0]
	msgs := fd.Messages()
	if messageType == "" {
		if msgs.Len() == 0 {
			return nil, fmt.Errorf("--proto %s: the file defines no message", protoFile)
		}
		return &Schema{desc: rootMessage(msgs)}, nil
	}
	name := strings.TrimPrefix(messageType, ".")
	for _, full := range []string{name, string(fd.Package()) + "." + name} {
		d, err := files.AsResolver().FindDescriptorByName(protoreflect.FullName(full))
		if err != nil {
			continue
		}
		if md, ok := d.(protoreflect.MessageDescriptor); ok {
			return &Schema{desc: md}, nil
		}
	}
	var names []string
	for i := 0; i < msgs.Len(); i++ {
		names = append(names, string(msgs.Get(i).FullName()))
	}
	return nil, fmt.Errorf("--proto %s: no message type %q (the file has %s)", protoFile, messageType, strings.Join(names, ", "))
}

// rootMessage returns the first of msgs that no message of the file (nested
// ones included) uses as the type of a field, msgs.Get(0) when none.
func rootMessage(msgs protoreflect.MessageDescriptors) protoreflect.MessageDescriptor {
	used := map[protoreflect.FullName]bool{}
	var walk func(ms protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			fs := m.Fields()
			for j := 0; j < fs.Len(); j++ {
				if f := fs.Get(j); f.Message() != nil && f.Message().FullName() != m.FullName() {
					used[f.Message().FullName()] = true
				}
			}
			walk(m.Messages())
		}
	}
	walk(msgs)
	for i := 0; i < msgs.Len(); i++ {
		if !used[msgs.Get(i).FullName()] {
			return msgs.Get(i)
		}
	}
	return msgs.Get(0)
}
