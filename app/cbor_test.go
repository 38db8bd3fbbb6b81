package app

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestCBORValue: the examples of RFC 8949 Appendix A.
func TestCBORValue(t *testing.T) {
	for _, tc := range []struct {
		in, want, typ string
	}{
		{"00", `0`, "number"},
		{"17", `23`, "number"},
		{"1818", `24`, "number"},
		{"1903e8", `1000`, "number"},
		{"1a000f4240", `1000000`, "number"},
		{"1b000000e8d4a51000", `1000000000000`, "number"},
		{"1bffffffffffffffff", `18446744073709551615`, "number"},
		{"c249010000000000000000", `18446744073709551616`, "number"},
		{"3bffffffffffffffff", `-18446744073709551616`, "number"},
		{"3b7fffffffffffffff", `-9223372036854775808`, "number"},
		{"c349010000000000000000", `-18446744073709551617`, "number"},
		{"20", `-1`, "number"},
		{"3863", `-100`, "number"},
		{"f90000", `0`, "number"},
		{"f98000", `-0`, "number"},
		{"f93c00", `1`, "number"},
		{"fb3ff199999999999a", `1.1`, "number"},
		{"f93e00", `1.5`, "number"},
		{"f97bff", `65504`, "number"},
		{"fa47c35000", `100000`, "number"},
		{"fa7f7fffff", `3.4028235e+38`, "number"},
		{"fb7e37e43c8800759c", `1e+300`, "number"},
		{"f90001", `5.9604645e-8`, "number"},
		{"f90400", `0.000061035156`, "number"},
		{"f9c400", `-4`, "number"},
		{"fbc010666666666666", `-4.1`, "number"},
		{"f97c00", `"Infinity"`, "number"},
		{"f97e00", `"NaN"`, "number"},
		{"f9fc00", `"-Infinity"`, "number"},
		{"fa7f800000", `"Infinity"`, "number"},
		{"fbfff0000000000000", `"-Infinity"`, "number"},
		{"f4", `false`, "boolean"},
		{"f5", `true`, "boolean"},
		{"f6", `null`, "null"},
		{"f7", `null`, "null"},
		{"f0", `{"simple":16}`, "simple"},
		{"f8ff", `{"simple":255}`, "simple"},
		{"c074323031332d30332d32315432303a30343a30305a", `{"tag":0,"value":"2013-03-21T20:04:00Z"}`, "tag"},
		{"c11a514b67b0", `{"tag":1,"value":1363896240}`, "tag"},
		{"c1fb41d452d9ec200000", `{"tag":1,"value":1363896240.5}`, "tag"},
		{"d74401020304", `{"tag":23,"value":{"base64":"AQIDBA=="}}`, "tag"},
		{"d818456449455446", `{"tag":24,"value":{"base64":"ZElFVEY="}}`, "tag"},
		{"d82076687474703a2f2f7777772e6578616d706c652e636f6d", `{"tag":32,"value":"http://www.example.com"}`, "tag"},
		{"40", `{"base64":""}`, "bytes"},
		{"4401020304", `{"base64":"AQIDBA=="}`, "bytes"},
		{"60", `""`, "string"},
		{"6161", `"a"`, "string"},
		{"6449455446", `"IETF"`, "string"},
		{"62225c", `"\"\\"`, "string"},
		{"62c3bc", `"ü"`, "string"},
		{"63e6b0b4", `"水"`, "string"},
		{"64f0908591", `"𐅑"`, "string"},
		{"80", `[]`, "array"},
		{"83010203", `[1,2,3]`, "array"},
		{"8301820203820405", `[1,[2,3],[4,5]]`, "array"},
		{"98190102030405060708090a0b0c0d0e0f101112131415161718181819", `[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]`, "array"},
		{"a0", `{}`, "object"},
		{"a201020304", `{"1":2,"3":4}`, "object"},
		{"a26161016162820203", `{"a":1,"b":[2,3]}`, "object"},
		{"826161a161626163", `["a",{"b":"c"}]`, "array"},
		{"a56161614161626142616361436164614461656145", `{"a":"A","b":"B","c":"C","d":"D","e":"E"}`, "object"},
		{"5f42010243030405ff", `{"base64":"AQIDBAU="}`, "bytes"},
		{"7f657374726561646d696e67ff", `"streaming"`, "string"},
		{"9fff", `[]`, "array"},
		{"9f018202039f0405ffff", `[1,[2,3],[4,5]]`, "array"},
		{"9f01820203820405ff", `[1,[2,3],[4,5]]`, "array"},
		{"83018202039f0405ff", `[1,[2,3],[4,5]]`, "array"},
		{"83019f0203ff820405", `[1,[2,3],[4,5]]`, "array"},
		{"9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", `[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]`, "array"},
		{"bf61610161629f0203ffff", `{"a":1,"b":[2,3]}`, "object"},
		{"826161bf61626163ff", `["a",{"b":"c"}]`, "array"},
		{"bf6346756ef563416d7421ff", `{"Fun":true,"Amt":-2}`, "object"},
		// wire order, keys that are not text, bignum in chunks, nested tags
		{"a2616201616102", `{"b":1,"a":2}`, "object"},
		{"a3f501a1616101024101820102", `{"true":1,"{\"a\":1}":2,"{\"base64\":\"AQ==\"}":[1,2]}`, "object"},
		{"c25f4101420000ff", `65536`, "number"},
		{"d9d9f7a16161c11a514b67b0", `{"tag":55799,"value":{"a":{"tag":1,"value":1363896240}}}`, "tag"},
		{"c263616263", `{"tag":2,"value":"abc"}`, "tag"},
	} {
		b := unhex(t, tc.in)
		v, next, typ, ok := cborValue(b, 0)
		if !ok || next != len(b) || string(v) != tc.want || typ != tc.typ {
			t.Errorf("cborValue(%s) = %s %d %s %v; want %s %d %s", tc.in, v, next, typ, ok, tc.want, len(b), tc.typ)
		}
		if ok && !json.Valid(v) {
			t.Errorf("cborValue(%s) = %s: invalid JSON", tc.in, v)
		}
	}
}

// TestCBORBad: the not-well-formed examples of RFC 8949 Appendix F.
func TestCBORBad(t *testing.T) {
	for _, in := range []string{
		"", "18", "19 01", "1a 010203", "1b 01020304050607", "38", "58", "78", "98", "9a 010203", "b8", "d8", "f8", "f9 00", "fa 000000", "fb 00000000000000",
		"41", "61", "5affffffff00", "5bffffffffffffffff010203", "7affffffff00", "7b7fffffffffffffff010203",
		"81", "818181818181818181", "8200", "a1 01", "a2 0102", "a1", "a2 010203", "9a ffffffff 00", "bb ffffffffffffffff 0000",
		"5f 4100", "7f 6100", "9f", "9f0102", "bf", "bf01020102", "819f", "9f8000", "9f9f9f9f9fffffffff", "9f819f819f9fffffff",
		"1c", "1d", "1e", "3c", "5c", "7c", "9c", "bc", "dc", "fc", "ff",
		"f800", "f801", "f818", "f81f",
		"5f00ff", "5f21ff", "5f6100ff", "5f80ff", "5fa0ff", "5fc000ff", "5fe0ff", "7f4100ff", "5f5f4100ffff", "7f7f6100ffff",
		"1f", "3f", "df", "81ff", "8200ff", "a1ff", "a1ff00", "a100ff", "a20000ff", "9f81ff", "9f829f819f9fffffffff",
		"bf00ff", "bf000000ff",
	} {
		b := unhex(t, in)
		if v, next, _, ok := cborValue(b, 0); ok && next == len(b) {
			t.Errorf("cborValue(%s) = %s; want failure", in, v)
		}
	}
	b := unhex(t, "bb ffffffffffffffff 6161 01")
	if n := testing.AllocsPerRun(10, func() { cborValue(b, 0) }); n > 2 {
		t.Errorf("map claiming 2^64 pairs: %v allocations", n)
	}
	deep := append(bytes.Repeat([]byte{0x81}, fmtMaxDepth+2), 0x01)
	if _, _, _, ok := cborValue(deep, 0); ok {
		t.Errorf("nesting of %d accepted", fmtMaxDepth+2)
	}
	tags := append(bytes.Repeat([]byte{0xc6}, fmtMaxDepth+2), 0x01)
	if _, _, _, ok := cborValue(tags, 0); ok {
		t.Errorf("%d nested tags accepted", fmtMaxDepth+2)
	}
}

// TestCBORForced: --app cbor decodes a CBOR sequence (RFC 8742) in a
// binary message; what does not parse is malformed.
func TestCBORForced(t *testing.T) {
	l := (&Config{Force: "cbor"}).New(nil, fmtClientAP, fmtServerAP)
	info, an := fmtSend(t, l, true, true, unhex(t, "83010203 f5"))
	if info == nil || len(info.Units) != 2 || string(info.Units[0].Value) != "[1,2,3]" || info.Units[1].Type != "boolean" || len(an) != 0 {
		t.Fatalf("sequence: %+v %v", info, an)
	}
	info, an = fmtSend(t, l, false, true, unhex(t, "ff"))
	if info != nil || len(an) != 1 || !strings.HasPrefix(an[0].Detail, "cbor:") || an[0].Ref != "RFC 8949" {
		t.Fatalf("break: %+v %v", info, an)
	}
	if p := lookup("cbor"); p != protoCBOR {
		t.Fatalf("lookup(cbor) = %v", p)
	}
}

// FuzzCBOR: no panic, valid bounded JSON, and what we accept is
// well-formed for fxamacker/cbor too.
func FuzzCBOR(f *testing.F) {
	for _, s := range []string{"a26161016162820203", "bf6346756ef563416d7421ff", "c249010000000000000000", "5f42010243030405ff", "f97e00", "d9d9f7a0"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	dm, err := cbor.DecOptions{MaxNestedLevels: fmtMaxDepth + 2, MaxArrayElements: 1 << 20, MaxMapPairs: 1 << 20}.DecMode()
	if err != nil {
		f.Fatal(err)
	}
	strict, err := cbor.DecOptions{MaxNestedLevels: 64}.DecMode()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, next, _, ok := cborValue(b, 0)
		if strict.Wellformed(b) == nil && (!ok || next != len(b)) {
			t.Fatalf("cborValue(%x) refused what fxamacker finds well-formed", b)
		}
		if !ok {
			return
		}
		if !json.Valid(v) || strings.ContainsAny(string(v), "\r\n") || len(v) > outLimit(len(b)) {
			t.Fatalf("cborValue(%x) = %q", b, v)
		}
		if err := dm.Wellformed(b[:next]); err != nil {
			t.Fatalf("cborValue(%x) accepted; fxamacker: %v", b[:next], err)
		}
		r := &Result{}
		bareBinary(&Msg{Binary: true, Payload: b}, r)
		for _, u := range r.Units {
			fmtCheckUnit(t, &u)
		}
	})
}
