package output

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/dfilter"
)

func TestGuessContent(t *testing.T) {
	pe := make([]byte, 0x80)
	copy(pe, "MZ")
	pe[0x3c] = 0x40
	copy(pe[0x40:], "PE\x00\x00")
	tar := make([]byte, 512)
	copy(tar[257:], "ustar\x0000")
	for _, tc := range []struct {
		name      string
		p         string
		truncated bool
		want      string // Guess.Name
		ext       string
	}{
		{"zip", "PK\x03\x04\x14\x00\x00\x00", false, "zip", "zip"},
		{"empty zip", "PK\x05\x06" + strings.Repeat("\x00", 18), false, "zip", "zip"},
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00", false, "gzip", "gz"},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", false, "png", "png"},
		{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF", false, "jpeg", "jpg"},
		{"gif", "GIF89a\x01\x00\x01\x00", false, "gif", "gif"},
		{"webp", "RIFF\x24\x00\x00\x00WEBPVP8 ", false, "webp", "webp"},
		{"wav", "RIFF\x24\x00\x00\x00WAVEfmt ", false, "wav", "wav"},
		{"riff other", "RIFF\x24\x00\x00\x00AVI LIST", false, "binary", "bin"},
		{"pdf", "%PDF-1.7\n%\xe2\xe3\xcf\xd3", false, "pdf", "pdf"},
		{"wasm", "\x00asm\x01\x00\x00\x00\x01\x04", false, "wasm", "wasm"},
		{"elf", "\x7fELF\x02\x01\x01", false, "elf", "elf"},
		{"pe", string(pe), false, "exe", "exe"},
		{"MZ text is not an exe", "MZ is a postcode", false, "text", "txt"},
		{"tar", string(tar), false, "tar", "tar"},
		{"7z", "7z\xbc\xaf\x27\x1c\x00\x04", false, "7z", "7z"},
		{"xz", "\xfd7zXZ\x00\x00", false, "xz", "xz"},
		{"bzip2", "BZh91AY&SY", false, "bzip2", "bz2"},
		{"BZh text", "BZh is not bzip2", false, "text", "txt"},
		{"zstd", "\x28\xb5\x2f\xfd\x00", false, "zstd", "zst"},
		{"mp4", "\x00\x00\x00\x20ftypisom", false, "mp4", "mp4"},
		{"mp3", "ID3\x04\x00\x00\x00", false, "mp3", "mp3"},
		{"ID3 text", "ID3 tags", false, "text", "txt"},
		{"sqlite", "SQLite format 3\x00\x10\x00", false, "sqlite", "sqlite"},
		{"pcapng", "\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a", false, "pcapng", "pcapng"},
		{"json object", `{"a":1,"b":[true,null]}`, false, "json", "json"},
		{"json array with spaces and BOM", "\xef\xbb\xbf  [1, 2]\n", false, "json", "json"},
		{"truncated json", `{"a":"bcd`, true, "json", "json"},
		{"broken json", `{"a":`, false, "text", "txt"},
		{"socket.io is text", `42["chat",{"m":"hi"}]`, false, "text", "txt"},
		{"number is text", `42`, false, "text", "txt"},
		{"html", "<!DOCTYPE html><html><body>hi</body></html>", false, "html", "html"},
		{"html lower", "\n<html lang=en>", false, "html", "html"},
		{"svg", `<svg xmlns="http://www.w3.org/2000/svg"/>`, false, "svg", "svg"},
		{"svg with prolog", `<?xml version="1.0"?><svg/>`, false, "svg", "svg"},
		{"xml", `<?xml version="1.0"?><stream:stream/>`, false, "xml", "xml"},
		{"text", "hello, world\r\n\ttabbed", false, "text", "txt"},
		{"utf-8 text", "héllo wörld ✓", false, "text", "txt"},
		{"text cut in a character", "h\xc3\xa9llo \xe2\x9c", true, "text", "txt"},
		{"cut character untruncated", "h\xc3\xa9llo \xe2\x9c", false, "binary", "bin"},
		{"ansi colours", "\x1b[31mred\x1b[0m", false, "text", "txt"},
		{"nul", "a\x00b", false, "binary", "bin"},
		{"del", "a\x7fb", false, "binary", "bin"},
		{"latin-1", "caf\xe9", false, "binary", "bin"},
		{"protobuf is binary", "\x08\x96\x01\x12\x04test", false, "binary", "bin"},
		{"empty", "", false, "text", "txt"},
		{"short", "P", false, "text", "txt"},
	} {
		g := GuessContent([]byte(tc.p), tc.truncated)
		if g.Name != tc.want || g.Ext != tc.ext || g.MIME == "" {
			t.Errorf("%s: GuessContent = %+v, want %s (.%s)", tc.name, g, tc.want, tc.ext)
		}
	}
}

func FuzzGuessContent(f *testing.F) {
	for _, m := range magics {
		f.Add([]byte(m.sig+"\x00\x00\x00\x00"+m.sig2), false)
	}
	f.Add([]byte(`{"a":1}`), true)
	f.Add([]byte("<svg"), false)
	f.Fuzz(func(t *testing.T, p []byte, truncated bool) {
		g := GuessContent(p, truncated)
		if g.Name == "" || g.Ext == "" || g.MIME == "" {
			t.Fatalf("GuessContent(%q) = %+v", p, g)
		}
		for _, c := range g.Ext {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
				t.Fatalf("extension %q", g.Ext)
			}
		}
		if g2 := GuessContent(p, truncated); g2 != g {
			t.Fatalf("not deterministic: %+v, %+v", g, g2)
		}
	})
}

func TestExtractName(t *testing.T) {
	for _, tc := range []struct {
		conn   int
		stream uint32
		from   decode.Role
		n      int
		want   string
	}{
		{1, 0, decode.RoleClient, 1, "c000001-client-000001"},
		{3, 5, decode.RoleServer, 12, "c000003-s000005-server-000012"},
		{123456, 0, decode.RoleServer, 999999, "c123456-server-999999"},
		{1234567, 2147483647, decode.RoleClient, 1000000, "c1234567-s2147483647-client-1000000"},
		{0, 0, decode.RoleNone, 0, "c000000-unknown-000000"},
	} {
		if got := string(appendExtractName(nil, tc.conn, tc.stream, tc.from, tc.n)); got != tc.want {
			t.Errorf("appendExtractName(%d, %d, %v, %d) = %q, want %q", tc.conn, tc.stream, tc.from, tc.n, got, tc.want)
		}
	}
}

// msgEvent is a message event of connection conn.
func msgEvent(conn int, from decode.Role, n int, op decode.Opcode, p string) decode.Event {
	return decode.Event{
		Kind: decode.KindMessage, Conn: conn, From: from, Packet: 10 + n,
		Time: time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC),
		Message: decode.Message{N: n, Opcode: op, Frames: 1, Len: uint64(len(p)), WireLen: uint64(len(p)),
			Payload: []byte(p), UTF8Valid: op == decode.OpText, FirstPacket: 10 + n},
	}
}

type manifestLine struct {
	Type, File, From, Opcode, Guess, MIME, SHA256, TS, Reason string
	Conn, N, Pkt, Size, Frames, Files, Skipped, MaxFiles      int
	H2Stream                                                  int `json:"h2_stream"`
	Len                                                       uint64
	TSUnix                                                    float64 `json:"ts_unix"`
	Truncated, Cut                                            bool
	LostBytes                                                 uint64 `json:"lost_bytes"`
	DecodeError                                               string `json:"decode_error"`
	App                                                       *struct{ Proto, Type, Name string }
	AppUnits                                                  int `json:"app_units"`
}

func readManifest(t *testing.T, dir string) []manifestLine {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ExtractManifest))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []manifestLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m manifestLine
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("manifest line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestExtractor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "out") // parents created too
	var stderr bytes.Buffer
	x, err := NewExtractor(dir, ExtractOptions{Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	zip := "PK\x03\x04" + strings.Repeat("z", 100)
	cut := msgEvent(2, decode.RoleClient, 7, decode.OpText, `{"partial":`)
	cut.H2Stream = 5
	cut.Message.Truncated, cut.Message.Len, cut.Message.Lost, cut.Message.Cut = true, 5000, 3, true
	bad := msgEvent(1, decode.RoleServer, 2, decode.OpBinary, "\x1f\x8b\x08raw deflate")
	bad.Message.DecodeError = "inflate: corrupt input"
	app := msgEvent(1, decode.RoleClient, 2, decode.OpText, `42["chat","hi"]`)
	app.App = decode.NewAppInfo([]decode.AppUnit{{Proto: "socket.io", Type: "EVENT", Name: "chat", HasName: true}, {Proto: "socket.io", Type: "EVENT"}}, 1, false)
	evs := []decode.Event{
		{Kind: decode.KindConn, Conn: 1, Info: &decode.ConnInfo{}},
		msgEvent(1, decode.RoleClient, 1, decode.OpText, `{"get":"flag.zip"}`),
		{Kind: decode.KindFrame, Conn: 1, Frame: decode.Frame{Header: decode.Header{Opcode: decode.OpPing}, Payload: []byte("ping")}},
		msgEvent(1, decode.RoleServer, 1, decode.OpBinary, zip),
		cut, bad, app,
	}
	if err := x.Write(evs); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	want := []struct{ file, content, guess string }{
		{"c000001-client-000001.json", `{"get":"flag.zip"}`, "json"},
		{"c000001-server-000001.zip", zip, "zip"},
		{"c000002-s000005-client-000007.json", `{"partial":`, "json"},
		{"c000001-server-000002.bin", "\x1f\x8b\x08raw deflate", "binary"}, // a decode error: raw bytes, not a guess
		{"c000001-client-000002.txt", `42["chat","hi"]`, "text"},
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(want)+1 {
		t.Errorf("%d entries in the directory, want %d", len(ents), len(want)+1)
	}
	ms := readManifest(t, dir)
	if len(ms) != len(want) {
		t.Fatalf("%d manifest lines, want %d", len(ms), len(want))
	}
	for i, w := range want {
		b, err := os.ReadFile(filepath.Join(dir, w.file))
		if err != nil || string(b) != w.content {
			t.Errorf("%s: %q, %v; want %q", w.file, b, err, w.content)
		}
		m := ms[i]
		sum := sha256.Sum256([]byte(w.content))
		if m.Type != "file" || m.File != w.file || m.Guess != w.guess || m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != len(w.content) {
			t.Errorf("manifest line %d: %+v, want %s %s", i, m, w.file, w.guess)
		}
		if m.TS != "2024-05-01T10:00:00.123456789Z" || m.TSUnix != 1714557600.123456789 {
			t.Errorf("manifest line %d: ts %s, ts_unix %f", i, m.TS, m.TSUnix)
		}
	}
	if m := ms[2]; m.H2Stream != 5 || !m.Truncated || !m.Cut || m.LostBytes != 3 || m.Len != 5000 || m.Size != 11 || m.N != 7 {
		t.Errorf("truncated, cut message: %+v", m)
	}
	if m := ms[3]; m.DecodeError != "inflate: corrupt input" {
		t.Errorf("decode error: %+v", m)
	}
	if m := ms[4]; m.App == nil || m.App.Proto != "socket.io" || m.App.Type != "EVENT" || m.App.Name != "chat" || m.AppUnits != 3 {
		t.Errorf("app: %+v", m)
	}
	if got := stderr.String(); got != "wscap: extracted 5 messages (162 bytes) to "+dir+"\n" {
		t.Errorf("stderr: %q", got)
	}
}

func TestExtractorRefusesNonEmpty(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link planted before the run, named as the manifest.
	if err := os.Symlink(outside, filepath.Join(dir, ExtractManifest)); err != nil {
		t.Fatal(err)
	}
	if _, err := NewExtractor(dir, ExtractOptions{}); !errors.Is(err, ErrExtractNotEmpty) {
		t.Fatalf("NewExtractor on a non-empty directory: %v", err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Errorf("the link's target was changed: %q", b)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := NewExtractor(file, ExtractOptions{}); err == nil || errors.Is(err, ErrExtractNotEmpty) {
		t.Errorf("NewExtractor on a file: %v", err)
	}
}

// TestExtractorSymlinkRace: links planted in the directory during the run,
// named as the files it is about to write, are not followed: the files
// take the next free names.
func TestExtractorSymlinkRace(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := NewExtractor(dir, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"c000001-server-000001.txt", "c000001-server-000001_2.txt", "c000001-server-000002.txt"} {
		if err := os.Symlink(outside, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A dangling link: O_CREATE alone would create its target.
	dangling := filepath.Join(t.TempDir(), "created")
	os.Symlink(dangling, filepath.Join(dir, "c000001-server-000003.txt"))
	if err := x.Write([]decode.Event{
		msgEvent(1, decode.RoleServer, 1, decode.OpText, "one"),
		msgEvent(1, decode.RoleServer, 2, decode.OpText, "two"),
		msgEvent(1, decode.RoleServer, 3, decode.OpText, "three"),
	}); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Errorf("a link was followed: the target holds %q", b)
	}
	if _, err := os.Lstat(dangling); err == nil {
		t.Errorf("a dangling link was followed: %s exists", dangling)
	}
	ms := readManifest(t, dir)
	var files []string
	for _, m := range ms {
		files = append(files, m.File)
		fi, err := os.Lstat(filepath.Join(dir, m.File))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: %v, %v", m.File, fi, err)
		}
	}
	if got := strings.Join(files, " "); got != "c000001-server-000001_3.txt c000001-server-000002_2.txt c000001-server-000003_2.txt" {
		t.Errorf("files %s", got)
	}
}

func TestExtractorLimits(t *testing.T) {
	evs := []decode.Event{
		msgEvent(1, decode.RoleClient, 1, decode.OpText, "aaaa"),
		msgEvent(1, decode.RoleClient, 2, decode.OpText, "bbbb"),
		msgEvent(1, decode.RoleClient, 3, decode.OpText, "cccc"),
		msgEvent(1, decode.RoleClient, 4, decode.OpText, "d"),
	}
	for _, tc := range []struct {
		name     string
		opt      ExtractOptions
		files    int
		reason   string
		skipped  int
		stderrOK string
	}{
		{"files", ExtractOptions{MaxFiles: 2}, 2, "max_files", 2, "stopped at the limit of 2 files: 2 more not extracted"},
		{"bytes", ExtractOptions{MaxBytes: 10}, 2, "max_bytes", 2, "stopped at the limit of 10 bytes: 2 more not extracted"},
		{"exact", ExtractOptions{MaxBytes: 13}, 4, "", 0, "extracted 4 messages (13 bytes)"},
	} {
		dir := t.TempDir()
		var stderr bytes.Buffer
		tc.opt.Stderr = &stderr
		x, err := NewExtractor(dir, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Write(evs); err != nil {
			t.Fatal(err)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		ms := readManifest(t, dir)
		ents, _ := os.ReadDir(dir)
		if len(ents) != tc.files+1 {
			t.Errorf("%s: %d files", tc.name, len(ents)-1)
		}
		if tc.reason == "" {
			if len(ms) != tc.files {
				t.Errorf("%s: manifest %+v", tc.name, ms)
			}
		} else if last := ms[len(ms)-1]; len(ms) != tc.files+1 || last.Type != "stop" || last.Reason != tc.reason || last.Skipped != tc.skipped || last.Files != tc.files {
			t.Errorf("%s: manifest %+v", tc.name, ms)
		}
		if !strings.Contains(stderr.String(), tc.stderrOK) {
			t.Errorf("%s: stderr %q", tc.name, stderr.String())
		}
	}
}

func TestExtractorFilter(t *testing.T) {
	f, err := dfilter.Compile(`from == "server" and opcode == "binary"`)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	x, err := NewExtractor(dir, ExtractOptions{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	x.Write([]decode.Event{
		msgEvent(1, decode.RoleClient, 1, decode.OpBinary, "c"),
		msgEvent(1, decode.RoleServer, 1, decode.OpText, "t"),
		msgEvent(1, decode.RoleServer, 2, decode.OpBinary, "\x01"),
	})
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if ms := readManifest(t, dir); len(ms) != 1 || ms[0].File != "c000001-server-000002.bin" {
		t.Errorf("manifest %+v", ms)
	}
}

// enospcWriter fails with ENOSPC once more than n bytes were written.
type enospcWriter struct {
	f *os.File
	n int
}

func (w *enospcWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k, _ := w.f.Write(p[:w.n])
		return k, &os.PathError{Op: "write", Path: w.f.Name(), Err: syscall.ENOSPC}
	}
	w.n -= len(p)
	return w.f.Write(p)
}

func (w *enospcWriter) Close() error { return w.f.Close() }

func TestExtractorDiskFull(t *testing.T) {
	dir := t.TempDir()
	x, err := NewExtractor(dir, ExtractOptions{Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	create := x.create
	budget := 6
	x.create = func(name string) (io.WriteCloser, error) {
		w, err := create(name)
		if err != nil {
			return nil, err
		}
		fw := &enospcWriter{f: w.(*os.File), n: budget}
		budget = max(0, budget-len("12345")) // what the first message takes
		return fw, nil
	}
	err = x.Write([]decode.Event{
		msgEvent(1, decode.RoleClient, 1, decode.OpText, "12345"),
		msgEvent(1, decode.RoleClient, 2, decode.OpText, "67890"),
		msgEvent(1, decode.RoleClient, 3, decode.OpText, "never"),
	})
	want := "--extract: write " + dir + "/c000001-client-000002.txt: no space left on device"
	if err == nil || err.Error() != want || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write: %v, want %s", err, want)
	}
	if err2 := x.Write(nil); err2 != err {
		t.Errorf("Write after the error: %v", err2)
	}
	if err2 := x.Close(); err2 != err {
		t.Errorf("Close: %v", err2)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	// The partial file is removed; the manifest lists what was written.
	if got := strings.Join(names, " "); got != "c000001-client-000001.txt manifest.jsonl" {
		t.Errorf("directory: %s", got)
	}
	if ms := readManifest(t, dir); len(ms) != 1 || ms[0].File != "c000001-client-000001.txt" {
		t.Errorf("manifest %+v", ms)
	}
}
