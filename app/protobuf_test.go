package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestProtobufRaw: schema-less decoding, with the examples of the
// encoding guide (https://protobuf.dev/programming-guides/encoding/).
func TestProtobufRaw(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", `[]`},
		{"08 96 01", `[{"field":1,"wire":"varint","value":150}]`},
		{"12 07 74657374696e67", `[{"field":2,"wire":"len","value":"testing"}]`},
		{"1a 03 089601", `[{"field":3,"wire":"len","value":[{"field":1,"wire":"varint","value":150}]}]`},
		{"22 06 038e029ea705", `[{"field":4,"wire":"len","value":{"base64":"A44CnqcF"}}]`}, // packed: not guessed
		{"0a 00", `[{"field":1,"wire":"len","value":""}]`},
		{"0d 0000c03f", `[{"field":1,"wire":"i32","value":1069547520,"float":1.5}]`},
		{"09 000000000000f83f", `[{"field":1,"wire":"i64","value":4609434218613702656,"double":1.5}]`},
		{"09 ffffffffffffffff", `[{"field":1,"wire":"i64","value":18446744073709551615}]`},
		{"08 ffffffffffffffffff01", `[{"field":1,"wire":"varint","value":18446744073709551615}]`},
		{"0b 08 01 0c", `[{"field":1,"wire":"group","value":[{"field":1,"wire":"varint","value":1}]}]`},
		// printable text that happens to parse as a message stays text
		{"0a 02 2020", `[{"field":1,"wire":"len","value":"  "}]`},
		// a nested message in a nested message
		{"0a 05 12 03 18 e807", `[{"field":1,"wire":"len","value":[{"field":2,"wire":"len","value":[{"field":3,"wire":"varint","value":1000}]}]}]`},
		// bytes that do not parse and are not UTF-8
		{"0a 02 ff00", `[{"field":1,"wire":"len","value":{"base64":"/wA="}}]`},
	} {
		var w pbWriter
		b := unhex(t, tc.in)
		if !w.message(b, 0) || string(w.out) != tc.want {
			t.Errorf("message(%s) = %s (%s); want %s", tc.in, w.out, w.err, tc.want)
		}
		if !json.Valid(w.out) {
			t.Errorf("message(%s): invalid JSON", tc.in)
		}
	}
	for _, in := range []string{"08", "08 96", "12 07 7465", "00 01", "0f 00", "0b 08 01", "09 00", "0d 00", "0c"} {
		var w pbWriter
		if w.message(unhex(t, in), 0) {
			t.Errorf("message(%s) = %s; want failure", in, w.out)
		}
	}
	// Nesting past pbMaxDepth is a byte string, not a message.
	b := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)
	for range pbMaxDepth + 2 {
		b = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), b)
	}
	var w pbWriter
	if !w.message(b, 0) || strings.Count(string(w.out), "[") != pbMaxDepth+1 || !strings.Contains(string(w.out), `"value":"\n\u0002`) {
		t.Errorf("deep: %s", w.out)
	}
}

// TestProtobufForced: --app protobuf decodes binary messages; text stays
// bare JSON; what does not parse is malformed.
func TestProtobufForced(t *testing.T) {
	l := (&Config{Force: "protobuf"}).New(nil, fmtClientAP, fmtServerAP)
	info, an := fmtSend(t, l, true, true, unhex(t, "08 96 01 12 07 74657374696e67 1a 03 089601"))
	if info == nil || len(an) != 0 {
		t.Fatalf("%+v %v", info, an)
	}
	u := info.Units[0]
	if u.Proto != "protobuf" || u.Type != "message" || u.HasName || u.Info != `1:150 2:"testing" 3:{1:150}` || !strings.HasPrefix(string(u.Field("fields")), `[{"field":1,`) {
		t.Errorf("unit %+v", u)
	}
	info, an = fmtSend(t, l, false, true, unhex(t, "0f"))
	if info != nil || len(an) != 1 || !strings.Contains(an[0].Detail, "protobuf: ") || an[0].Ref != protobufRef {
		t.Errorf("bad: %+v %v", info, an)
	}
	if info, an := fmtSend(t, l, false, false, []byte(`{"a":1}`)); info != nil || len(an) != 0 {
		t.Errorf("text: %+v %v", info, an)
	}
	// Never guessed.
	l = (&Config{}).New(nil, fmtClientAP, fmtServerAP)
	if info, _ := fmtSend(t, l, true, true, unhex(t, "08 96 01")); info != nil {
		t.Errorf("guessed: %+v", info)
	}
}

const testProto = `syntax = "proto3";
package chat.v1;

import "google/protobuf/timestamp.proto";
import "common.proto";

message Part { string text = 1; }

message Envelope {
  string room = 1;
  repeated int32 nums = 2;
  Inner inner = 3;
  google.protobuf.Timestamp at = 4;
  common.Kind kind = 5;
  bytes blob = 6;
  message Inner { int64 big = 1; }
  repeated Part parts = 7;
}

message Other { bool ok = 1; }
`

const testCommon = `syntax = "proto3";
package common;
enum Kind { KIND_UNSPECIFIED = 0; KIND_TEXT = 1; }
`

// TestProtobufSchema: --proto FILE[:Type] decodes with the schema into
// protobuf's JSON mapping (imports beside the file and well-known types).
func TestProtobufSchema(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "chat.proto")
	os.WriteFile(file, []byte(testProto), 0o644)
	os.WriteFile(filepath.Join(dir, "common.proto"), []byte(testCommon), 0o644)
	for _, typ := range []string{"", "Envelope", "chat.v1.Envelope", ".chat.v1.Envelope"} {
		s, err := LoadSchema(file, typ)
		if err != nil || s.Name() != "chat.v1.Envelope" {
			t.Fatalf("LoadSchema(%q) = %v, %v", typ, s, err)
		}
	}
	if s, err := LoadSchema(file, "Envelope.Inner"); err != nil || s.Name() != "chat.v1.Envelope.Inner" {
		t.Fatalf("Inner: %v %v", s, err)
	}
	if s, err := LoadSchema(file, "Part"); err != nil || s.Name() != "chat.v1.Part" {
		t.Fatalf("Part: %v %v", s, err)
	}
	if _, err := LoadSchema(file, "Nope"); err == nil || !strings.Contains(err.Error(), "chat.v1.Other") {
		t.Errorf("Nope: %v", err)
	}
	if _, err := LoadSchema(filepath.Join(dir, "missing.proto"), ""); err == nil {
		t.Errorf("missing file accepted")
	}
	bad := filepath.Join(dir, "bad.proto")
	os.WriteFile(bad, []byte("syntax = \"proto3\"; message { }"), 0o644)
	if _, err := LoadSchema(bad, ""); err == nil {
		t.Errorf("bad file accepted")
	}
	s, err := LoadSchema(file, "")
	if err != nil {
		t.Fatal(err)
	}
	// room "lobby", nums [1,2] packed, inner {big: 2^40}, at 1970-01-01T00:00:01Z, kind TEXT, blob ff
	msg := unhex(t, "0a 05 6c6f626279 12 02 0102 1a 07 08 8080808080 20 22 02 08 01 28 01 32 01 ff")
	l := (&Config{Force: "protobuf", Schema: s}).New(nil, fmtClientAP, fmtServerAP)
	info, an := fmtSend(t, l, true, true, msg)
	if info == nil || len(an) != 0 {
		t.Fatalf("%+v %v", info, an)
	}
	want := `{"room":"lobby","nums":[1,2],"inner":{"big":"1099511627776"},"at":"1970-01-01T00:00:01Z","kind":"KIND_TEXT","blob":"/w=="}`
	u := info.Units[0]
	if u.Type != "chat.v1.Envelope" || string(u.Value) != want {
		t.Errorf("unit %s %s; want %s", u.Type, u.Value, want)
	}
	info, an = fmtSend(t, l, true, true, unhex(t, "0a 05 6c6f"))
	if info != nil || len(an) != 1 || !strings.Contains(an[0].Detail, "chat.v1.Envelope") {
		t.Errorf("bad message: %+v %v", info, an)
	}
}

// FuzzProtobuf: schema-less decoding never panics and gives valid JSON.
func FuzzProtobuf(f *testing.F) {
	for _, s := range []string{"089601", "120774657374696e67", "1a03089601", "0b08010c", "0a05120318e807"} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var w pbWriter
		if w.message(b, 0) && (!json.Valid(w.out) || strings.ContainsAny(string(w.out), "\r\n")) {
			t.Fatalf("message(%x) = %q", b, w.out)
		}
		l := (&Config{Force: "protobuf"}).New(nil, fmtClientAP, fmtServerAP)
		fmtSend(t, l, true, true, b)
	})
}
