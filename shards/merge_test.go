package shards

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// line is one line of a shard file: its key and what follows the ord.
type line struct {
	k    Key
	body string // e.g. `"type":"frame","conn":1}`
}

func pk(n int64) Key            { return Key{N: n, Phase: Packet} }
func tk(n, tick, c int64) Key   { return Key{N: n, Phase: Tick, Tick: tick, Conn: c} }
func end(ph uint8, c int64) Key { return Key{Phase: ph, Conn: c} }

// capture is what the trailers of one test run say was read.
var capture = Trailer{Packets: 50, Bytes: 9127, CRC32C: "1c2f0e4b"}

// shardFile builds shard i of n with lines; edit may change its header and
// trailer.
func shardFile(i, n int, lines []line, edit func(*Header, *Trailer)) []byte {
	h := Header{Shard: i, Shards: n, Version: "v1.0.0", Options: "--json=true", MemCap: 512 << 20}
	t := capture
	t.Shard, t.Shards = i, n
	t.Lines = int64(len(lines)) + 1
	if edit != nil {
		edit(&h, &t)
	}
	b := AppendHeader(nil, h)
	for _, l := range lines {
		b = AppendKey(b, l.k)
		b = append(b, l.body...)
		b = append(b, '\n')
	}
	return AppendTrailer(b, t)
}

func ev(c int, what string) string { return fmt.Sprintf(`"type":%q,"conn":%d}`, what, c) }

// inputs makes Inputs of files, with Tail (their trailers read first)
// or without.
func inputs(files [][]byte, tail bool) []Input {
	var in []Input
	for i, f := range files {
		x := Input{Name: fmt.Sprintf("s%d", i), R: bytes.NewReader(f)}
		if tail {
			r := bytes.NewReader(f)
			size := int64(len(f))
			x.Tail = func() ([]byte, error) { return TailLine(r, size) }
		}
		in = append(in, x)
	}
	return in
}

// TestMergeOrder: lines come out in key order (the end phases after every
// packet, idle flushes after their packet's lines, by flush number and
// connection), without their ord members and the shard lines.
func TestMergeOrder(t *testing.T) {
	s0 := shardFile(0, 3, []line{
		{pk(3), ev(1, "conn")},
		{pk(3), ev(1, "handshake")},
		{tk(9, 1, 1), ev(1, "gap")},
		{tk(9, 2, 1), ev(1, "end")},
		{end(EOF, 1), ev(1, "frame")},
		{end(Summary, 1), ev(1, "summary")},
	}, nil)
	s1 := shardFile(1, 3, []line{
		{pk(9), ev(2, "frame")},
		{tk(9, 1, 2), ev(2, "gap")},
		{pk(1000000), ev(2, "message")},
		{end(Close, 2), ev(2, "end")},
		{end(Summary, 2), ev(2, "summary")},
	}, nil)
	s2 := shardFile(2, 3, nil, nil) // a shard without connections
	want := strings.Join([]string{
		`{"type":"conn","conn":1}`,
		`{"type":"handshake","conn":1}`,
		`{"type":"frame","conn":2}`,
		`{"type":"gap","conn":1}`,
		`{"type":"gap","conn":2}`,
		`{"type":"end","conn":1}`,
		`{"type":"message","conn":2}`,
		`{"type":"frame","conn":1}`,
		`{"type":"end","conn":2}`,
		`{"type":"summary","conn":1}`,
		`{"type":"summary","conn":2}`,
	}, "\n") + "\n"
	for _, tail := range []bool{true, false} {
		for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
			var files [][]byte
			for _, i := range order {
				files = append(files, [][]byte{s0, s1, s2}[i])
			}
			var out bytes.Buffer
			res, err := Merge(&out, inputs(files, tail))
			if err != nil {
				t.Fatalf("order %v: %v", order, err)
			}
			if out.String() != want {
				t.Errorf("order %v:\n%s\nwant:\n%s", order, out.String(), want)
			}
			if res.Lines != 11 || len(res.Warnings) != 0 {
				t.Errorf("order %v: %+v", order, res)
			}
		}
	}
	// A line longer than the read buffer.
	long := strings.Repeat("x", 3*mergeBuf)
	big := shardFile(0, 1, []line{{pk(1), `"type":"message","conn":1,"text":"` + long + `"}`}, {pk(2), ev(1, "end")}}, nil)
	var out bytes.Buffer
	if _, err := Merge(&out, inputs([][]byte{big}, false)); err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"message","conn":1,"text":"` + long + "\"}\n" + `{"type":"end","conn":1}` + "\n"; out.String() != want {
		t.Errorf("long line: got %d bytes, want %d", out.Len(), len(want))
	}
}

// TestMergeErrors: files that are not the whole shards of one run are an
// error that names the file (and line), before anything is written when
// the trailers can be read first.
func TestMergeErrors(t *testing.T) {
	one := []line{{pk(1), ev(1, "conn")}, {pk(4), ev(1, "frame")}}
	two := []line{{pk(2), ev(2, "conn")}}
	good0, good1 := shardFile(0, 2, one, nil), shardFile(1, 2, two, nil)
	cut := func(b []byte, n int) []byte { return b[:len(b)-n] }
	for _, tt := range []struct {
		name  string
		files [][]byte
		tail  bool // trailers read first
		want  string
		early bool // nothing may be written
	}{
		{"none", nil, true, "no shard files", true},
		{"empty", [][]byte{{}}, true, "s0: empty: not a shard file", true},
		{"not a shard file", [][]byte{[]byte(`{"type":"conn","conn":1}` + "\n")}, true, `s0:1: not a shard file: the first line is not a "shard" line`, true},
		{"bad header", [][]byte{[]byte(`{"type":"shard","shard":5,"shards":2}` + "\n")}, true, "s0:1: bad \"shard\" line: shard 5 of 2", true},
		{"different N", [][]byte{good0, shardFile(1, 3, two, nil)}, true, "s1 is shard 1/3, but s0 is shard 0/2", true},
		{"same shard twice", [][]byte{good0, good0}, true, "s0 and s1 are both shard 0/2", true},
		{"missing shard", [][]byte{good1}, true, "shard 0 of 2 missing", true},
		{"missing shards", [][]byte{shardFile(3, 5, nil, nil)}, true, "shards 0, 1, 2, 4 of 5 missing", true},
		{"other version", [][]byte{good0, shardFile(1, 2, two, func(h *Header, _ *Trailer) { h.Version = "v2" })}, true, "s1 was written by wscap v2, s0 by wscap v1.0.0", true},
		{"other options", [][]byte{good0, shardFile(1, 2, two, func(h *Header, _ *Trailer) { h.Options += " --summary=true" })}, true, `s1 was written with the options "--json=true --summary=true", s0 with "--json=true"`, true},
		{"other capture (tails)", [][]byte{good0, shardFile(1, 2, two, func(_ *Header, t *Trailer) { t.CRC32C = "00000000" })}, true, "s1 read 50 packets (9127 bytes, CRC-32C 00000000), s0 read 50 packets (9127 bytes, CRC-32C 1c2f0e4b): the shards read different captures", true},
		{"other capture", [][]byte{good0, shardFile(1, 2, two, func(_ *Header, t *Trailer) { t.Packets = 49 })}, false, "s1 read 49 packets", false},
		{"cut short (tails)", [][]byte{good0, cut(good1, 30)}, true, `s1: does not end with a whole "shard_end" line`, true},
		{"cut at a line (tails)", [][]byte{good0, bytes.SplitAfter(good1, []byte("\n"))[0]}, true, `s1: does not end with a whole "shard_end" line`, true},
		{"cut short", [][]byte{good0, bytes.SplitAfter(good1, []byte("\n"))[0]}, false, `s1: ends without its "shard_end" line after 1 lines`, false},
		{"cut in a line", [][]byte{good0, cut(good1, 30)}, false, "s1:3: the file ends in the middle of a line", false},
		{"line lost", [][]byte{good0, shardFile(1, 2, two, func(_ *Header, t *Trailer) { t.Lines = 3 })}, true, `s1:3: the "shard_end" line counts 3 lines before it, the file has 2`, false},
		{"line after the trailer", [][]byte{good0, append(bytes.Clone(good1), AppendKey(nil, pk(9))...)}, false, "s1:4: the file ends in the middle of a line", false},
		{"lines after the trailer", [][]byte{good0, append(bytes.Clone(good1), "{}\n"...)}, false, `s1:4: a line after the "shard_end" line`, false},
		{"concatenated", [][]byte{good0, append(shardFile(1, 2, nil, nil)[:0:0], append(AppendHeader(nil, Header{Shard: 1, Shards: 2, Version: "v1.0.0", Options: "--json=true", MemCap: 512 << 20}), AppendHeader(nil, Header{Shard: 1, Shards: 2})...)...)}, false, `s1:2: a second "shard" line: shard files were concatenated`, true},
		{"no ord", [][]byte{good0, shardFile(1, 2, nil, nil)[:0:0]}, false, "", true}, // replaced below
		{"out of order", [][]byte{shardFile(0, 1, []line{{pk(5), ev(1, "a")}, {pk(4), ev(1, "b")}}, nil)}, true, "s0:3: position [4,0,0,0] comes after [5,0,0,0]: the lines are out of order", false},
		{"same position in two shards", [][]byte{good0, shardFile(1, 2, []line{{pk(4), ev(2, "x")}}, nil)}, true, "s0:3 and s1:2: two shards wrote lines at the same position [4,0,0,0]", false},
		{"trailer of another shard", [][]byte{good0, shardFile(1, 2, two, func(_ *Header, t *Trailer) { t.Shard = 0 })}, true, `s1: the "shard_end" line is of shard 0/2, the "shard" line of 1/2`, true},
	} {
		if tt.name == "no ord" {
			b := AppendHeader(nil, Header{Shard: 1, Shards: 2, Version: "v1.0.0", Options: "--json=true", MemCap: 512 << 20})
			b = append(b, `{"type":"conn","conn":2}`+"\n"...)
			tt.files[1] = AppendTrailer(b, Trailer{Shard: 1, Shards: 2, Packets: 50, Bytes: 9127, CRC32C: "1c2f0e4b", Lines: 2})
			tt.want = `s1:2: no "ord" member first`
		}
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Merge(&out, inputs(tt.files, tt.tail))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of several lines: %q", err)
			}
			if tt.early && out.Len() > 0 {
				t.Errorf("wrote %q before the error", out.String())
			}
		})
	}
}

// TestMergeReadError: shards of a damaged capture merge like the
// unsharded run, which prints what came before the damage, and fail.
func TestMergeReadError(t *testing.T) {
	damaged := func(h *Header, t *Trailer) { t.ReadError = "read x.pcap: packet 7: record claims 4294967295 bytes" }
	var out bytes.Buffer
	_, err := Merge(&out, inputs([][]byte{shardFile(0, 2, []line{{pk(1), ev(1, "conn")}}, damaged), shardFile(1, 2, nil, damaged)}, true))
	if err == nil || !strings.Contains(err.Error(), "damaged capture (everything before it is merged): read x.pcap: packet 7") {
		t.Errorf("error %v", err)
	}
	if out.String() != `{"type":"conn","conn":1}`+"\n" {
		t.Errorf("output %q", out.String())
	}
}

// TestMergeBudget: the warnings when the memory budget may have made the
// merge differ from an unsharded run.
func TestMergeBudget(t *testing.T) {
	mem := func(ev int, peak, track int64) func(*Header, *Trailer) {
		return func(h *Header, t *Trailer) {
			h.MemCap = 100 << 20
			t.Evicted, t.MemPeak, t.TrackPeak = ev, peak, track
		}
	}
	for _, tt := range []struct {
		a, b func(*Header, *Trailer)
		want []string
	}{
		{mem(0, 40<<20, 5<<20), mem(0, 50<<20, 5<<20), nil},
		{mem(0, 60<<20, 5<<20), mem(0, 50<<20, 5<<20), []string{"the shards together held up to 120586240 bytes at a memory checkpoint, over the memory budget of 104857600"}},
		{mem(3, 120<<20, 5<<20), mem(0, 50<<20, 5<<20), []string{"shard 0/2: the memory budget (--memcap) evicted 3 connections: an unsharded run evicts too"}},
	} {
		var out bytes.Buffer
		res, err := Merge(&out, inputs([][]byte{shardFile(0, 2, nil, tt.a), shardFile(1, 2, nil, tt.b)}, true))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) != len(tt.want) {
			t.Errorf("warnings %q, want %q", res.Warnings, tt.want)
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(res.Warnings[i], w) {
				t.Errorf("warning %q, want %q", res.Warnings[i], w)
			}
		}
	}
}

// TestParseLine checks the key parser on the lines a run writes and on
// near misses.
func TestParseLine(t *testing.T) {
	for _, k := range []Key{pk(1), pk(1 << 40), tk(7, 1, 3), tk(7, 99, 1), end(EOF, 2), end(Close, 9), end(Summary, 12345)} {
		l := append(AppendKey(nil, k), `"type":"x"}`...)
		got, rest, err := ParseLine(l)
		if err != nil || got != k || string(rest) != `"type":"x"}` {
			t.Errorf("%s: %v %v %q", l, got, err, rest)
		}
	}
	for _, l := range []string{
		``, `{`, `{"type":"conn"}`, `{"ord":[1,0,0,0]}`, `{"ord":[1,0,0,0],}`, `{"ord":[1,0,0,0],"x"`,
		`{"ord":[01,0,0,0],"x":1}`, `{"ord":[1,0,0],"x":1}`, `{"ord":[1,0,0,0,0],"x":1}`, `{"ord":[-1,0,0,0],"x":1}`,
		`{"ord":[1,5,0,0],"x":1}`, `{"ord":[0,0,0,0],"x":1}`, `{"ord":[1,0,1,0],"x":1}`, `{"ord":[1,0,0,1],"x":1}`,
		`{"ord":[1,1,0,1],"x":1}`, `{"ord":[1,1,1,0],"x":1}`, `{"ord":[1,2,0,1],"x":1}`, `{"ord":[0,3,0,0],"x":1}`,
		`{"ord":[1234567890123456789,0,0,0],"x":1}`, `{"ord":[1 ,0,0,0],"x":1}`, `{"ord": [1,0,0,0],"x":1}`,
	} {
		if k, rest, err := ParseLine([]byte(l)); err == nil {
			t.Errorf("%s: parsed as %v, %q", l, k, rest)
		}
	}
}

// FuzzParseLine: the parser never panics, and what it accepts is exactly
// a key as AppendKey writes it followed by the rest.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`{"ord":[12,0,0,0],"type":"frame","conn":1}`,
		`{"ord":[12,1,3,4],"type":"gap","conn":4}`,
		`{"ord":[0,4,0,7],"type":"summary","conn":7}`,
		`{"ord":[1,0,0,0]`, `{"type":"shard","shard":0,"shards":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		k, rest, err := ParseLine(line)
		if err != nil {
			return
		}
		if !k.valid() {
			t.Fatalf("%q: invalid key %v accepted", line, k)
		}
		if again := append(AppendKey(nil, k), rest...); !bytes.Equal(again, line) {
			t.Fatalf("%q: parsed as %v + %q, which writes %q", line, k, rest, again)
		}
	})
}

// FuzzMerge: whatever two files hold, Merge returns (no panic, no hang)
// and writes no more lines than they have.
func FuzzMerge(f *testing.F) {
	f.Add(shardFile(0, 2, []line{{pk(1), ev(1, "conn")}, {end(Close, 1), ev(1, "end")}}, nil), shardFile(1, 2, []line{{pk(2), ev(2, "conn")}}, nil))
	f.Add(shardFile(0, 1, nil, nil), []byte{})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var out bytes.Buffer
		res, _ := Merge(&out, inputs([][]byte{a, b}, len(a)%2 == 0))
		if n := int64(bytes.Count(a, []byte("\n")) + bytes.Count(b, []byte("\n"))); res.Lines > n {
			t.Fatalf("%d lines out of %d", res.Lines, n)
		}
		io.Copy(io.Discard, &out)
	})
}
