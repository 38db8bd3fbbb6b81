package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/wscap/wscap/source"
)

// realH2 lists the RFC 8441 recordings of scripts/record-h2.sh in
// testdata/real/h2/ (see testdata/real/README.md): name, whether it is TLS
// (with a key log beside it) or h2c with prior knowledge.
var realH2 = []struct {
	name string
	tls  bool
	alpn []byte // the ALPN protocol list the client offers (TLS)
}{
	{"chromium-h2-wss", true, alpnList("h2", "http/1.1")},
	{"firefox-h2-wss", true, alpnList("h2", "http/1.1")},
	{"node-h2c", false, nil},
	{"node-h2-wss", true, alpnList("h2")},
}

// alpnList returns the ALPN extension (RFC 7301 section 3.1) offering
// protos, as a ClientHello carries it.
func alpnList(protos ...string) []byte {
	var list []byte
	for _, p := range protos {
		list = append(append(list, byte(len(p))), p...)
	}
	ext := []byte{0x00, 0x10, byte((len(list) + 2) >> 8), byte(len(list) + 2), byte(len(list) >> 8), byte(len(list))}
	return append(ext, list...)
}

// TestRealH2Recordings checks the WebSocket-over-HTTP/2 recordings as
// files, without decoding HTTP/2: each capture opens with the source
// package, is a small Ethernet capture, and holds the start of an HTTP/2
// connection (the h2c client preface, or a ClientHello offering ALPN h2);
// each key log has NSS key log lines; each truth file is well formed (see
// checkH2Truth) and holds the messages scripts/h2/session.js sends.
func TestRealH2Recordings(t *testing.T) {
	for _, r := range realH2 {
		t.Run(r.name, func(t *testing.T) {
			base := filepath.Join("testdata", "real", "h2", r.name)
			st, err := os.Stat(base + ".pcapng")
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > 200<<10 {
				t.Errorf("%s.pcapng is %d bytes, more than 200 KiB", base, st.Size())
			}
			pkts, err := readCapture(base + ".pcapng")
			if err != nil {
				t.Fatal(err)
			}
			if len(pkts) < 20 {
				t.Errorf("%d packets, want a whole session (at least 20)", len(pkts))
			}
			// The h2c client connection preface (RFC 9113 section 3.4), or
			// the ClientHello's ALPN extension.
			marker := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
			if r.tls {
				marker = r.alpn
			}
			found := false
			for _, p := range pkts {
				found = found || bytes.Contains(p, marker)
			}
			if !found {
				t.Errorf("no packet holds %q", marker)
			}
			if r.tls {
				checkKeyLog(t, base+".keys")
			} else if _, err := os.Stat(base + ".keys"); err == nil {
				t.Errorf("%s.keys exists beside an h2c capture", base)
			}
			checkH2Truth(t, base+".truth.jsonl")
		})
	}
}

// readCapture returns the packets of an Ethernet capture.
func readCapture(path string) ([][]byte, error) {
	src, err := source.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var pkts [][]byte
	for {
		p, err := src.Next()
		if errors.Is(err, io.EOF) {
			return pkts, nil
		}
		if err != nil {
			return nil, err
		}
		if p.LinkType != layers.LinkTypeEthernet {
			return nil, fmt.Errorf("packet %d: link type %v, want Ethernet", len(pkts)+1, p.LinkType)
		}
		pkts = append(pkts, append([]byte(nil), p.Data...))
	}
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

var keyLogLine = regexp.MustCompile(`^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET) [0-9a-f]{64} [0-9a-f]{64,96}$`)

// checkKeyLog checks a TLS 1.3 key log: NSS lines (and NSS's "#"
// comment), with the four traffic secrets of at least one connection.
func checkKeyLog(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]int{}
	for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if strings.HasPrefix(line, "# ") {
			continue
		}
		if !keyLogLine.MatchString(line) {
			t.Errorf("%s:%d: not a TLS 1.3 key log line: %q", path, i+1, line)
			continue
		}
		labels[strings.Fields(line)[0]]++
	}
	for _, l := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
		if labels[l] == 0 {
			t.Errorf("%s: no %s", path, l)
		}
	}
}

// h2TruthLine is one line of a truth file of scripts/record-h2.sh: a
// message (From, Opcode, Len, Sha256) or the close of a stream (Close,
// Reason), with its HTTP/2 stream.
type h2TruthLine struct {
	H2Stream *int    `json:"h2_stream"`
	From     string  `json:"from"`
	Opcode   string  `json:"opcode"`
	Len      *int    `json:"len"`
	Sha256   string  `json:"sha256"`
	Close    *int    `json:"close"`
	Reason   *string `json:"reason"`
}

// The messages scripts/h2/session.js sends on each WebSocket, and the
// server's binary answer, as they must appear in every truth file.
var (
	h2Chat = `{"type":"chat","text":"The quick brown fox jumps over the lazy dog. Ça va ? Très bien 🙂"}`
	h2Bin  = func() []byte {
		b := make([]byte, 300)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		return b
	}()
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkH2Truth checks a truth file: every line a message or a close with
// an odd client stream id; two WebSocket streams, each with 6 messages per
// direction (the session's hello, chat twice, binary, ping request and
// fragmented request; the answers) and then exactly one close 1000; the
// client's chat, binary and requests and the server's reversed binary with
// the sha256 of the bytes session.js sends.
func checkH2Truth(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msgs := map[int]map[string][]string{} // stream -> from -> "opcode len sha256"
	closed := map[int]bool{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		var l h2TruthLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		if l.H2Stream == nil || *l.H2Stream <= 0 || *l.H2Stream%2 != 1 {
			t.Fatalf("%s:%d: h2_stream missing or not a client stream id", path, n)
		}
		s := *l.H2Stream
		if closed[s] {
			t.Errorf("%s:%d: stream %d has a line after its close", path, n, s)
		}
		if l.Close != nil {
			if *l.Close != 1000 || l.Reason == nil || l.From != "" || l.Len != nil {
				t.Errorf("%s:%d: bad close line %s", path, n, sc.Text())
			}
			closed[s] = true
			continue
		}
		if (l.From != "client" && l.From != "server") || (l.Opcode != "text" && l.Opcode != "binary") ||
			l.Len == nil || *l.Len < 0 || !sha256Hex.MatchString(l.Sha256) || l.Reason != nil {
			t.Errorf("%s:%d: bad message line %s", path, n, sc.Text())
			continue
		}
		if msgs[s] == nil {
			msgs[s] = map[string][]string{}
		}
		msgs[s][l.From] = append(msgs[s][l.From], fmt.Sprintf("%s %d %s", l.Opcode, *l.Len, l.Sha256))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%s: %d WebSocket streams, want 2", path, len(msgs))
	}
	rev := append([]byte(nil), h2Bin...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	text := func(s string) string { return fmt.Sprintf("text %d %s", len(s), sum([]byte(s))) }
	for s, m := range msgs {
		if !closed[s] {
			t.Errorf("%s: stream %d has no close line", path, s)
		}
		c, sv := m["client"], m["server"]
		if len(c) != 6 || len(sv) != 6 {
			t.Errorf("%s: stream %d: %d client and %d server messages, want 6 and 6", path, s, len(c), len(sv))
			continue
		}
		want := map[int]string{
			1: text(h2Chat), 2: text(h2Chat),
			3: fmt.Sprintf("binary 300 %s", sum(h2Bin)),
			4: text(`{"type":"ping"}`), 5: text(`{"type":"fragmented"}`),
		}
		for i, w := range want {
			if c[i] != w {
				t.Errorf("%s: stream %d: client message %d is %q, want %q", path, s, i+1, c[i], w)
			}
		}
		if w := fmt.Sprintf("binary 300 %s", sum(rev)); sv[3] != w {
			t.Errorf("%s: stream %d: server message 4 is %q, want %q", path, s, sv[3], w)
		}
	}
}
