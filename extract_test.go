package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wscap/wscap/internal/flowgen"
)

// ctfFiles are the payloads of ctfCapture: a zip with a flag inside and a
// PNG, each sent by the server as a fragmented binary message compressed
// with permessage-deflate.
func ctfFiles(t *testing.T) (zipData, pngData []byte) {
	t.Helper()
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("flag.txt")
	io.WriteString(w, "CTF{w3bs0ck3ts_c4rry_f1l3s}\n")
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "noise.bin", Method: zip.Store})
	r := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 6000)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	w.Write(noise)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := range 64 {
		for x := range 96 {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 4), uint8(r.Uint32()), 255})
		}
	}
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	return zb.Bytes(), pb.Bytes()
}

// ctfCapture: connection 1 negotiates permessage-deflate; the client asks
// for the files in text messages and the server sends the zip (in 3
// fragments, TCP segments of 700 bytes) and the PNG (in 4 fragments).
// Connection 2, without compression, sends a JSON text and a GIF header.
func ctfCapture(t *testing.T, zipData, pngData []byte) string {
	t.Helper()
	c := flowgen.NewCapture()
	a := c.NewConn(netip.MustParseAddrPort("10.1.1.10:40000"), netip.MustParseAddrPort("10.1.1.1:8080"))
	a.Open()
	key := flowgen.Key(1)
	a.Client(flowgen.UpgradeRequest("/files", "ctf.example", key, "Sec-WebSocket-Extensions: permessage-deflate"))
	a.Server(flowgen.Response101(key, "Sec-WebSocket-Extensions: permessage-deflate"))
	cd, sd := flowgen.NewDeflater(false), flowgen.NewDeflater(false)
	mask := 0
	client := func(k *flowgen.Conn, fs []flowgen.Frame) {
		for i := range fs {
			mask++
			fs[i].Mask = flowgen.MaskKey(mask)
		}
		k.Client(flowgen.Frames(fs...))
	}
	client(a, flowgen.CompressedMessage(cd, flowgen.OpText, []byte(`{"get":"flag.zip"}`)))
	zc := flowgen.CompressedMessage(sd, flowgen.OpBinary, zipData, 1000, 2000)
	a.Server(flowgen.Frames(zc...), flowgen.Every(700))
	client(a, flowgen.CompressedMessage(cd, flowgen.OpText, []byte(`{"get":"logo.png"}`)))
	pc := flowgen.CompressedMessage(sd, flowgen.OpBinary, pngData, 100, 300, 500)
	a.Server(flowgen.Frames(pc[:2]...))
	a.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpPing, Payload: []byte("p")})) // between fragments
	a.Server(flowgen.Frames(pc[2:]...))

	b := c.NewConn(netip.MustParseAddrPort("10.1.1.11:40001"), netip.MustParseAddrPort("10.1.1.1:8080"))
	b.Open()
	key = flowgen.Key(2)
	b.Client(flowgen.UpgradeRequest("/plain", "ctf.example", key))
	b.Server(flowgen.Response101(key))
	b.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte(`{"hello":"world"}`)}))
	client(b, []flowgen.Frame{{Fin: true, Op: flowgen.OpBinary, Payload: []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")}})
	a.Close()
	b.Close()
	data, err := c.PcapNG()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ctf.pcapng")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type extracted struct {
	Type, File, From, Opcode, Guess, MIME, SHA256 string
	Conn, N, Size, Frames                         int
	H2Stream                                      int `json:"h2_stream"`
	Len                                           uint64
	Compressed, Truncated                         bool
}

func readExtracted(t *testing.T, dir string) []extracted {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []extracted
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e extracted
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func hexSHA(p []byte) string {
	s := sha256.Sum256(p)
	return hex.EncodeToString(s[:])
}

func TestExtractCTF(t *testing.T) {
	zipData, pngData := ctfFiles(t)
	capPath := ctfCapture(t, zipData, pngData)
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runCLI("-r", capPath, "--extract", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "wscap: extracted 6 messages") {
		t.Errorf("stderr: %s", stderr)
	}
	want := map[string][]byte{
		"c000001-client-000001.json": []byte(`{"get":"flag.zip"}`),
		"c000001-client-000002.json": []byte(`{"get":"logo.png"}`),
		"c000001-server-000001.zip":  zipData,
		"c000001-server-000002.png":  pngData,
		"c000002-server-000001.json": []byte(`{"hello":"world"}`),
		"c000002-client-000001.gif":  []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
	}
	names := dirNames(t, out)
	if len(names) != len(want)+1 || !slices.Contains(names, "manifest.jsonl") {
		t.Errorf("files: %v", names)
	}
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes, %v; want %d bytes as sent", name, len(got), err, len(data))
		}
	}
	ms := readExtracted(t, out)
	if len(ms) != len(want) {
		t.Fatalf("%d manifest lines", len(ms))
	}
	if len(pngData) < 2000 || len(zipData) < 5000 {
		t.Fatalf("the png (%d bytes) and zip (%d) are too small for the fragments", len(pngData), len(zipData))
	}
	for _, m := range ms {
		data, ok := want[m.File]
		if !ok || m.SHA256 != hexSHA(data) || m.Size != len(data) || m.Len != uint64(len(data)) || m.Type != "file" {
			t.Errorf("manifest: %+v", m)
		}
	}
	for _, m := range ms {
		switch m.File {
		case "c000001-server-000001.zip":
			if m.Guess != "zip" || m.MIME != "application/zip" || m.Frames != 3 || !m.Compressed || m.Opcode != "binary" || m.Conn != 1 || m.From != "server" || m.N != 1 {
				t.Errorf("zip: %+v", m)
			}
		case "c000001-server-000002.png":
			if m.Guess != "png" || m.MIME != "image/png" || m.Frames != 4 || !m.Compressed {
				t.Errorf("png: %+v", m)
			}
		}
	}
	// The flag comes out of the extracted zip.
	zr, err := zip.OpenReader(filepath.Join(out, "c000001-server-000001.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open("flag.txt")
	if err != nil {
		t.Fatal(err)
	}
	flag, _ := io.ReadAll(f)
	if string(flag) != "CTF{w3bs0ck3ts_c4rry_f1l3s}\n" {
		t.Errorf("flag.txt: %q", flag)
	}
	if _, err := png.Decode(bytes.NewReader(mustRead(t, filepath.Join(out, "c000001-server-000002.png")))); err != nil {
		t.Errorf("png: %v", err)
	}

	// -Y: only the matching messages; the timeline is filtered alike.
	out2 := filepath.Join(t.TempDir(), "out")
	code, _, stderr = runCLI("-r", capPath, "--json", "-Y", `type == "message" and opcode == "binary" and conn == 1`, "--extract", out2)
	if code != 0 {
		t.Fatalf("-Y: exit %d: %s", code, stderr)
	}
	if got := strings.Join(dirNames(t, out2), " "); got != "c000001-server-000001.zip c000001-server-000002.png manifest.jsonl" {
		t.Errorf("-Y: files %s", got)
	}

	// The directory must be empty: a second run into it is refused.
	code, _, stderr = runCLI("-r", capPath, "--extract", out2)
	if code != 2 || !strings.Contains(stderr, "directory not empty") {
		t.Errorf("non-empty directory: exit %d: %s", code, stderr)
	}

	// --max-payload bounds each file; the manifest says so.
	out3 := filepath.Join(t.TempDir(), "out")
	code, _, stderr = runCLI("-r", capPath, "--max-payload", "1000", "-Y", `conn == 1 and from == "server"`, "--extract", out3)
	if code != 0 {
		t.Fatalf("--max-payload: exit %d: %s", code, stderr)
	}
	for _, m := range readExtracted(t, out3) {
		data := want[m.File]
		if !m.Truncated || m.Size != 1000 || m.Len != uint64(len(data)) || m.SHA256 != hexSHA(data[:1000]) {
			t.Errorf("--max-payload 1000: %+v", m)
		}
	}
	if code, _, stderr = runCLI("-r", capPath, "--max-payload", "0", "--extract", filepath.Join(t.TempDir(), "x")); code != 2 {
		t.Errorf("--max-payload 0 --extract: exit %d: %s", code, stderr)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExtractSymlinks: a link planted in DIR makes it non-empty and is
// left alone; DIR itself may be a link to an empty directory.
func TestExtractSymlinks(t *testing.T) {
	zipData, pngData := ctfFiles(t)
	capPath := ctfCapture(t, zipData, pngData)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	out := t.TempDir()
	os.Symlink(victim, filepath.Join(out, "c000001-server-000001.zip"))
	code, _, stderr := runCLI("-r", capPath, "--extract", out)
	if code != 2 || !strings.Contains(stderr, "directory not empty") {
		t.Errorf("planted link: exit %d: %s", code, stderr)
	}
	if b := mustRead(t, victim); string(b) != "keep" {
		t.Errorf("the link was followed: %q", b)
	}
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(real, link)
	if code, _, stderr := runCLI("-r", capPath, "--extract", link); code != 0 {
		t.Fatalf("DIR a link: exit %d: %s", code, stderr)
	}
	if n := len(dirNames(t, real)); n != 7 {
		t.Errorf("DIR a link: %d files in its target", n)
	}
}

// TestExtractMatchesJSON: on the real recordings (wss decrypted, HTTP/2
// streams, application protocols), every message of the JSON output has
// its file, with the bytes of its text or data.
func TestExtractMatchesJSON(t *testing.T) {
	var caps []string
	for _, g := range []string{"testdata/real/*.pcapng", "testdata/real/h2/*.pcapng", "testdata/real/app/*.pcapng"} {
		m, _ := filepath.Glob(g)
		caps = append(caps, m...)
	}
	if len(caps) == 0 {
		t.Skip("no recordings in testdata/real")
	}
	total, h2 := 0, 0
	for _, c := range caps {
		args := []string{"-r", c}
		if k := strings.TrimSuffix(c, ".pcapng") + ".keys"; fileExists(k) {
			args = append(args, "--keylog", k)
		}
		out := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := runCLI(append(args, "--json", "--extract", out)...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", c, code, stderr)
			continue
		}
		type key struct {
			conn, stream, n int
			from            string
		}
		files := map[key]extracted{}
		for _, m := range readExtracted(t, out) {
			files[key{m.Conn, m.H2Stream, m.N, m.From}] = m
		}
		msgs := 0
		for line := range strings.Lines(stdout) {
			var ev struct {
				Type, From, Data string
				Conn, N          int
				H2Stream         int `json:"h2_stream"`
				Text             *string
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			if ev.Type != "message" {
				continue
			}
			msgs++
			var p []byte
			if ev.Text != nil {
				p = []byte(*ev.Text)
			} else {
				p, _ = base64.StdEncoding.DecodeString(ev.Data)
			}
			m, ok := files[key{ev.Conn, ev.H2Stream, ev.N, ev.From}]
			if !ok {
				t.Errorf("%s: message %d/%d %s #%d not extracted", c, ev.Conn, ev.H2Stream, ev.From, ev.N)
				continue
			}
			if ev.H2Stream != 0 {
				h2++
				if !strings.Contains(m.File, fmt.Sprintf("-s%06d-", ev.H2Stream)) {
					t.Errorf("%s: %s names no stream", c, m.File)
				}
			}
			// JSON text drops a character cut by --max-payload.
			got := mustRead(t, filepath.Join(out, m.File))
			if !bytes.Equal(got, p) && !(m.Truncated && bytes.HasPrefix(got, p)) || m.SHA256 != hexSHA(got) {
				t.Errorf("%s: %s: %d bytes, the JSON has %d", c, m.File, len(got), len(p))
			}
		}
		if msgs != len(files) {
			t.Errorf("%s: %d messages, %d files", c, msgs, len(files))
		}
		total += msgs
	}
	t.Logf("%d recordings, %d messages extracted (%d over HTTP/2)", len(caps), total, h2)
	if h2 == 0 {
		t.Error("no message over HTTP/2")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestREADMEExtract: the README's --extract examples are what the demo and
// the socket.io recording give.
func TestREADMEExtract(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	out := filepath.Join(t.TempDir(), "out") + "/"
	code, _, stderr := runCLI("-r", "testdata/real/demo.pcapng", "--extract", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	listing := strings.Replace(stderr, out, "out/", 1) + strings.Join(dirNames(t, out), "\n") + "\n"
	first, _, _ := strings.Cut(string(mustRead(t, filepath.Join(out, "manifest.jsonl"))), "\n")
	var bins []string
	for _, m := range readExtracted(t, out) {
		if m.Guess == "binary" {
			bins = append(bins, m.File)
		}
	}
	sio := filepath.Join(t.TempDir(), "sio")
	if code, _, stderr := runCLI("-r", "testdata/real/app/socketio-v4.pcapng", "--extract", sio); code != 0 {
		t.Fatalf("socketio-v4: exit %d: %s", code, stderr)
	}
	var m4 struct {
		File string
		App  struct{ Proto, Type, Name string }
	}
	lines := strings.Split(string(mustRead(t, filepath.Join(sio, "manifest.jsonl"))), "\n")
	json.Unmarshal([]byte(lines[3]), &m4)
	for _, want := range []string{
		"$ wscap -r testdata/real/demo.pcapng --extract out/ >/dev/null && ls out/\n" + listing,
		"$ head -1 out/manifest.jsonl\n" + first + "\n",
		"$ jq -r 'select(.guess == \"binary\") | .file' out/manifest.jsonl\n" + strings.Join(bins, "\n") + "\n```",
		"sed -n 4p\n" + m4.File + "\t" + m4.App.Proto + "\t" + m4.App.Type + "\t" + m4.App.Name + "\n",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README's --extract section lacks:\n%s", want)
		}
	}
}
