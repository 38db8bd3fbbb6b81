package output

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"plain", "Hello", `"Hello"`},
		{"quote backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\n\r\t", `"\n\r\t"`},
		{"controls", "\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"utf8 kept", "café 😀", `"café 😀"`},
		{"invalid bytes", "a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"surrogate half", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"overlong", "\xc0\xaf", `"\ufffd\ufffd"`},
		{"line separators", "\u2028\u2029", `"\u2028\u2029"`},
		{"html kept", "<a>&", `"<a>&"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendJSONString(nil, tt.in))
			if got != tt.want {
				t.Errorf("string: got %s, want %s", got, tt.want)
			}
			if gotB := string(appendJSONString(nil, []byte(tt.in))); gotB != got {
				t.Errorf("[]byte: got %s, string gave %s", gotB, got)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

// FuzzJSONString checks that any input gives valid JSON that decodes to
// the input when the input is valid UTF-8 (and to its U+FFFD-replaced form
// otherwise).
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "\x00\"\\", "caf\xc3\xa9", "\xff\xfe", "\u2028", "\xf0\x9f\x98"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := appendJSONString(nil, in)
		var s string
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", out, in, err)
		}
		if want := strings.ToValidUTF8(string(in), "\ufffd"); utf8.Valid(in) && s != want {
			t.Fatalf("round trip: got %q, want %q", s, want)
		}
		if utf8.RuneCountInString(s) != countReplaced(in) {
			t.Fatalf("rune count %d, want %d for %q", utf8.RuneCountInString(s), countReplaced(in), in)
		}
		if utf8.Valid(in) {
			if text := appendJSONText([]byte("x"), in); string(text[1:]) != string(out) {
				t.Fatalf("text path %q, general path %q for %q", text[1:], out, in)
			}
		}
	})
}

// countReplaced counts runes with every invalid byte counted as one.
func countReplaced(p []byte) int {
	n := 0
	for i := 0; i < len(p); n++ {
		_, size := utf8.DecodeRune(p[i:])
		i += size
	}
	return n
}

func TestAppendPreview(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		more   bool
		budget int
		want   string
	}{
		{"plain", "Hello", false, 0, `"Hello"`},
		{"more", "Hello", true, 0, `"Hello"...`},
		{"empty", "", false, 0, `""`},
		{"escapes", "a\"b\\c\n\r\t\x00\x7f", false, 0, `"a\"b\\c\n\r\t\x00\x7f"`},
		{"invalid utf8", "caf\xc3", false, 0, `"caf\xc3"`},
		{"utf8 kept", "café 😀", false, 0, `"café 😀"`},
		{"bidi escaped", "a\u202eb\u0085", false, 0, `"a\u202eb\u0085"`},
		{"nonprint astral", "\U000E0001", false, 0, `"\U000e0001"`},
		{"fits exactly", "Hello", false, 7, `"Hello"`},
		{"cut", "Hello world", false, 10, `"Hello"...`},
		{"cut more", "Hello world", true, 10, `"Hello"...`},
		{"fits with more", "Hi", true, 7, `"Hi"...`},
		{"cut runes", "ééééééééé", false, 8, `"ééé"...`},
		{"cut before escape", "ab\x00cd", false, 8, `"ab"...`},
		{"tiny budget", "Hello world", false, 2, `"H"...`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendPreview(nil, []byte(tt.in), tt.more, false, tt.budget))
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if tt.budget >= minPreview && utf8.RuneCountInString(got) > tt.budget {
				t.Errorf("%s is wider than %d", got, tt.budget)
			}
		})
	}
}

func TestAppendASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GET /chat", "GET /chat"},
		{"RFC 6455 §5.1", "RFC 6455 section 5.1"},
		{"caf\u00e9\t\x01", `caf\xc3\xa9\x09\x01`},
		{"\xc2", `\xc2`},
	}
	for _, tt := range tests {
		if got := string(appendASCII(nil, tt.in)); got != tt.want {
			t.Errorf("appendASCII(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := asciiText(tt.in); got != tt.want {
			t.Errorf("asciiText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTrimPartialRune(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"caf\xc3", "caf"},
		{"caf\xc3\xa9", "caf\xc3\xa9"},
		{"x\xf0\x9f\x98", "x"},
		{"x\xf0\x9f\x98\x80", "x\xf0\x9f\x98\x80"},
		{"\xa9\xa9\xa9\xa9", "\xa9\xa9\xa9\xa9"},
	}
	for _, tt := range tests {
		if got := string(trimPartialRune([]byte(tt.in))); got != tt.want {
			t.Errorf("trimPartialRune(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHexDump(t *testing.T) {
	got := string(appendHexDump(nil, []byte("Hello, world!\x00\x01\x02\xffABC"), "  "))
	want := "" +
		"  0000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 00 01 02  Hello, world!...\n" +
		"  0010  ff 41 42 43                                       .ABC\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestCutColumns(t *testing.T) {
	tests := []struct {
		in     string
		budget int
		want   string
	}{
		{"abcdef", 0, "abcdef"},
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abc..."},
		{"ééééééé", 6, "ééé..."},
	}
	for _, tt := range tests {
		got := string(cutColumns([]byte("> "+tt.in), 2, tt.budget))
		if got != "> "+tt.want {
			t.Errorf("cutColumns(%q, %d) = %q, want %q", tt.in, tt.budget, got, "> "+tt.want)
		}
	}
}

// FuzzPreview checks that a cut preview never exceeds its budget and is a
// prefix of the uncut one.
func FuzzPreview(f *testing.F) {
	f.Add([]byte("Hello, world"), uint8(10), false)
	f.Add([]byte("caf\xc3\xa9 \x00\x01 \"q\" \\ \u202e"), uint8(9), true)
	f.Fuzz(func(t *testing.T, in []byte, budget uint8, more bool) {
		full := appendPreview(nil, in, more, false, 0)
		got := appendPreview(nil, in, more, false, int(budget))
		if b := max(int(budget), minPreview); budget > 0 && utf8.RuneCount(got) > b {
			t.Fatalf("%q is wider than %d", got, b)
		}
		body := strings.TrimSuffix(strings.TrimSuffix(string(got), "..."), `"`)
		if !strings.HasPrefix(string(full), body) {
			t.Fatalf("%q is not a prefix of %q", body, full)
		}
	})
}

func TestTSCache(t *testing.T) {
	var c tsCache
	base := time.Date(2024, 12, 31, 23, 59, 59, 999999999, time.UTC)
	for i, d := range []time.Duration{0, 1, time.Nanosecond * 123, time.Second, -time.Hour * 24 * 400, time.Millisecond * 1500} {
		ts := base.Add(d).In(time.FixedZone("X", 3600))
		for _, digits := range []int{6, 9} {
			layout := "2006-01-02T15:04:05.000000Z"
			if digits == 9 {
				layout = "2006-01-02T15:04:05.000000000Z"
			}
			want := ts.UTC().Format(layout)
			if got := string(c.append(nil, ts, digits)); got != want {
				t.Errorf("%d: got %s, want %s", i, got, want)
			}
		}
	}
}

func TestPreviewBinary(t *testing.T) {
	in := []byte("ok\xc3\xa9\x00\xffz")
	if got := string(appendPreview(nil, in, false, true, 0)); got != `"ok\xc3\xa9\x00\xffz"` {
		t.Errorf("binary preview %s", got)
	}
	if got := string(appendPreview(nil, in, false, false, 0)); got != `"oké\x00\xffz"` {
		t.Errorf("text preview %s", got)
	}
}

// appendJSONText must write exactly what appendJSONString writes for valid
// UTF-8: it only skips the decoding.
func TestJSONTextMatchesString(t *testing.T) {
	for _, s := range []string{"", "plain", `{"a":"b\\c"}`, "héllo wörld ✓ 𝄞", "line\u2028sep\u2029", "\x00\x1f\x7f", "€\u2027\u202a"} {
		if a, b := string(appendJSONText(nil, []byte(s))), string(appendJSONString(nil, s)); a != b {
			t.Errorf("%q: text %s, string %s", s, a, b)
		}
	}
}

// TestAppendJSONValid checks the text fast path against the general
// escaper on random valid UTF-8 (quotes, backslashes, control characters,
// U+2028/U+2029 and other E2 characters) and that the result parses back.
func TestAppendJSONValid(t *testing.T) {
	parts := []string{"a", "bc", `"`, `\`, "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "\u2026", "\u20ac", "👋", "{\"k\":", "1234567"}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		var s []byte
		for range rng.IntN(40) {
			s = append(s, parts[rng.IntN(len(parts))]...)
		}
		prefix := []byte("x")
		got := appendJSONValid(prefix, s)
		want := appendJSON([]byte("x"), s, false)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil || back != string(s) {
			t.Fatalf("%q: %s does not parse back (%v, %q)", s, got, err, back)
		}
	}
}

// BenchmarkPreviewLong previews a 64 KiB text payload in a timeline's
// budget: the cost must follow the budget, not the payload.
func BenchmarkPreviewLong(b *testing.B) {
	p := []byte(strings.Repeat("lorem ipsum dolor sit amet ", 64<<10/27))
	dst := make([]byte, 0, 256)
	for b.Loop() {
		dst = appendPreview(dst[:0], p, false, false, 60)
	}
}

// BenchmarkJSONTextQuoted escapes JSON-in-JSON text, the common WebSocket
// payload: a quote every few bytes.
func BenchmarkJSONTextQuoted(b *testing.B) {
	s := []byte(strings.Repeat(`{"s":"NVDA","p":25225.71,"q":4.6165,"side":"sell","text":"→ ünïcode Grüße"},`, 30))
	dst := make([]byte, 0, 3*len(s))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		dst = appendJSONValid(dst[:0], s)
	}
}

// TestPreviewFastPath compares appendPreview with its general loop alone
// (previewRest from the opening quote) on random mixes of what previews
// escape, at every small budget.
func TestPreviewFastPath(t *testing.T) {
	parts := []string{"a", "bc", "1234567", `"`, `\`, "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\xff", "\xc3", "é", "\u2028", "\u202e", "\u00ad", "👋", "\U000e0001", "漢"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 4000 {
		var s []byte
		for range rng.IntN(30) {
			s = append(s, parts[rng.IntN(len(parts))]...)
		}
		budget := rng.IntN(40) - 2
		if rng.IntN(10) == 0 {
			budget = 1024
		}
		more, binary := rng.IntN(2) == 0, rng.IntN(3) == 0
		got := appendPreview([]byte("x"), s, more, binary, budget)
		b, limit := previewLimits(budget, more)
		want := previewRest([]byte(`x"`), s, 0, 0, more, binary, b, limit)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q budget %d more %v binary %v: got %s, want %s", s, budget, more, binary, got, want)
		}
	}
}
