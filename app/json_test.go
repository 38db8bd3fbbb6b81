package app

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJSONValid(t *testing.T) {
	for _, tc := range []struct {
		in        string
		ok, space bool
	}{
		{`{}`, true, false},
		{` [1, 2] `, true, true},
		{`{"a":[true,false,null,-0.5e+3,"x\"\u00e9"]}`, true, false},
		{`{"a":1,}`, false, false},
		{`[01]`, false, false},
		{`"\x"`, false, false},
		{"\"a\x01\"", false, false},
		{`[1] [2]`, false, false},
		{`tru`, false, false},
		{`1.`, false, false},
		{strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth), true, false},
		{strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), false, false},
	} {
		ok, space := jsonValid([]byte(tc.in))
		if ok != tc.ok || ok && space != tc.space {
			t.Errorf("jsonValid(%.40q) = %v, %v; want %v, %v", tc.in, ok, space, tc.ok, tc.space)
		}
	}
}

func TestJSONMembers(t *testing.T) {
	b := []byte(` { "type" : "subscribe", "id":"1", "p\u0061yload": {"q": [1, 2]} } `)
	if v := jsonMember(b, "payload"); string(v) != `{"q": [1, 2]}` {
		t.Errorf("payload = %q", v)
	}
	if s, ok := jsonString(jsonMember(b, "type")); !ok || s != "subscribe" {
		t.Errorf("type = %q %v", s, ok)
	}
	if v := jsonMember(b, "nope"); v != nil {
		t.Errorf("nope = %q", v)
	}
	if c, ok := compactJSON(b); !ok || string(c) != `{"type":"subscribe","id":"1","p\u0061yload":{"q":[1,2]}}` {
		t.Errorf("compact = %s %v", c, ok)
	}
	els, ok := jsonElems([]byte(`[2, "x", {"a":1}]`), 2)
	if !ok || len(els) != 2 || string(els[1]) != `"x"` {
		t.Errorf("elems = %q %v", els, ok)
	}
	if got := string(jstr("a\"\n\x00\xff\u2028")); got != `"a\"\n\u0000\ufffd\u2028"` {
		t.Errorf("jstr = %s", got)
	}
	for _, tc := range []struct {
		in   string
		at   int
		want int
	}{
		{` {"a":[1,"]"]} ,x`, 0, 14}, {`[1] [2]`, 3, 7}, {`12x`, 0, 2}, {`"x`, 0, -1}, {`tru`, 0, -1}, {`{}`, 0, 2}, {`  `, 0, -1},
	} {
		if got := jsonSkip([]byte(tc.in), tc.at); got != tc.want {
			t.Errorf("jsonSkip(%q, %d) = %d, want %d", tc.in, tc.at, got, tc.want)
		}
	}
	if got := shorten([]byte("ünïcode"), 4); got != "ünï…" {
		t.Errorf("shorten = %q", got)
	}
}

// FuzzJSON checks the scanner against encoding/json and that a compacted
// value is valid UTF-8 JSON, free of line breaks, and the same value
// (strings compared after invalid bytes became U+FFFD).
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, ` [ "x\u0041" , -1.5e3 ] `, `{"a":}`, `"\ud800"`, "{\"k\xff\": [\"a\\\"\xc3\", 1]}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ok, _ := jsonValid(b)
		if ok != json.Valid(b) && strings.Count(string(b), "[")+strings.Count(string(b), "{") < maxDepth {
			t.Fatalf("jsonValid(%q) = %v, encoding/json says %v", b, ok, !ok)
		}
		if c, ok := compactJSON(b); ok {
			if !json.Valid(c) || !utf8.Valid(c) || strings.ContainsAny(string(c), "\n\r") {
				t.Fatalf("compact(%q) = %q", b, c)
			}
			var x, y any
			if json.Unmarshal(b, &x) == nil && (json.Unmarshal(c, &y) != nil || !reflect.DeepEqual(x, y)) {
				t.Fatalf("compact(%q) = %q: %v, not %v", b, c, y, x)
			}
		}
	})
}
