package main

// The conformance test: wscap over every capture of the public corpus
// ($WSCAP_CORPUS, default ../shared/corpus), checked frame by frame against
// tshark's decoding (<cap>.tshark.json) and against the upstream projects'
// expectations (Zeek events.out / websocket.log / weird.log, suricata-verify
// test.yaml and READMEs). Where tshark 4.0.17 is wrong (MANIFEST.md), the
// test says so and checks wscap's answer instead.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func corpusDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("WSCAP_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil {
		t.Skipf("corpus not found at %s (set WSCAP_CORPUS)", dir)
	}
	return dir
}

// decodeAs lists the captures that need decode-as (MANIFEST: "only with -d").
var decodeAs = map[string]string{
	"ndpi/websocket.pcap":                      "12345",
	"eririmba-socket.io-sample/websocket.pcap": "8008",
}

// jsonEvent is one wscap JSON line.
type jsonEvent map[string]any

func (e jsonEvent) str(k string) string { s, _ := e[k].(string); return s }
func (e jsonEvent) num(k string) int    { f, _ := e[k].(float64); return int(f) }
func (e jsonEvent) flag(k string) bool  { b, _ := e[k].(bool); return b }
func (e jsonEvent) bytes(k string) []byte {
	b, _ := base64.StdEncoding.DecodeString(e.str(k))
	return b
}

// payload returns a message's payload (text or base64 data).
func (e jsonEvent) payload() []byte {
	if t, ok := e["text"].(string); ok {
		return []byte(t)
	}
	return e.bytes("data")
}

// runJSON runs wscap --json on a capture and parses its output.
func runJSON(t testing.TB, args ...string) []jsonEvent {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"--json"}, args...), &out, &errb)
	if err != nil {
		t.Fatalf("wscap %v: %v\nstderr: %s", args, err, errb.String())
	}
	var evs []jsonEvent
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var e jsonEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Bytes(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

func ofType(evs []jsonEvent, typ string) []jsonEvent {
	var out []jsonEvent
	for _, e := range evs {
		if e.str("type") == typ {
			out = append(out, e)
		}
	}
	return out
}

// tsharkFrame is one WebSocket frame as tshark 4.0.17 decoded it.
type tsharkFrame struct {
	pkt                   int
	fin, masked           bool
	rsv, opcode           int
	length                int
	key                   string
	ping, pong, closeCode string
}

// tsharkPacket holds what tshark reports for one packet.
type tsharkPacket struct {
	pkt    int
	frames []tsharkFrame
	texts  []string // websocket.payload.text (reassembled, inflated)
	datas  []string // data.data hex (unmasked, reassembled, inflated binary)
	sip    bool
}

func loadTshark(t testing.TB, path string) []tsharkPacket {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		Source struct {
			Layers map[string][]string `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []tsharkPacket
	for _, d := range docs {
		l := d.Source.Layers
		p := tsharkPacket{pkt: atoi(first(l["frame.number"])), texts: l["websocket.payload.text"], datas: l["data.data"]}
		p.sip = len(l["sip.Request-Line"])+len(l["sip.Status-Line"]) > 0
		pings, pongs, codes := l["websocket.payload.ping"], l["websocket.payload.pong"], l["websocket.payload.close.status_code"]
		for i := range l["websocket.opcode"] {
			f := tsharkFrame{
				pkt:    p.pkt,
				fin:    at(l["websocket.fin"], i) == "1",
				masked: at(l["websocket.mask"], i) == "1",
				opcode: atoi(at(l["websocket.opcode"], i)),
				length: atoi(at(l["websocket.payload_length"], i)),
			}
			rsv, _ := strconv.ParseInt(strings.TrimPrefix(at(l["websocket.rsv"], i), "0x"), 16, 8)
			f.rsv = int(rsv)
			// Extended lengths replace the 7-bit field.
			switch f.length {
			case 126:
				f.length = atoi(popFirst(l, "websocket.payload_length_ext_16"))
			case 127:
				f.length = atoi(popFirst(l, "websocket.payload_length_ext_64"))
			}
			if f.masked {
				f.key = popFirst(l, "websocket.masking_key")
			}
			switch f.opcode {
			case 9:
				f.ping, pings = first(pings), rest(pings)
			case 10:
				f.pong, pongs = first(pongs), rest(pongs)
			case 8:
				if f.length >= 2 {
					f.closeCode, codes = first(codes), rest(codes)
				}
			}
			p.frames = append(p.frames, f)
		}
		out = append(out, p)
	}
	return out
}

func at(l []string, i int) string {
	if i < len(l) {
		return l[i]
	}
	return ""
}
func first(l []string) string { return at(l, 0) }
func rest(l []string) []string {
	if len(l) > 0 {
		return l[1:]
	}
	return nil
}
func popFirst(m map[string][]string, k string) string {
	v := first(m[k])
	m[k] = rest(m[k])
	return v
}
func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

var opcodeNum = map[string]int{"continuation": 0, "text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}

func frameOpcode(e jsonEvent) int {
	if n, ok := opcodeNum[e.str("opcode")]; ok {
		return n
	}
	n, _ := strconv.ParseInt(strings.TrimPrefix(e.str("opcode"), "reserved-0x"), 16, 8)
	return int(n)
}

// compareFrames checks wscap's frames against tshark's, packet by packet.
// It returns (matched, total).
func compareFrames(t *testing.T, tsh []tsharkPacket, evs []jsonEvent) (int, int) {
	byPkt := map[int][]jsonEvent{}
	for _, e := range ofType(evs, "frame") {
		byPkt[e.num("pkt")] = append(byPkt[e.num("pkt")], e)
	}
	matched, total := 0, 0
	for _, p := range tsh {
		got := byPkt[p.pkt]
		for i, f := range p.frames {
			total++
			if i >= len(got) {
				t.Errorf("packet %d: tshark frame %d (opcode %d, len %d) missing in wscap", p.pkt, i, f.opcode, f.length)
				continue
			}
			g := got[i]
			var diffs []string
			check := func(name string, ok bool, a, b any) {
				if !ok {
					diffs = append(diffs, fmt.Sprintf("%s wscap=%v tshark=%v", name, a, b))
				}
			}
			check("fin", g.flag("fin") == f.fin, g.flag("fin"), f.fin)
			check("rsv", g.num("rsv") == f.rsv, g.num("rsv"), f.rsv)
			check("opcode", frameOpcode(g) == f.opcode, frameOpcode(g), f.opcode)
			check("masked", g.flag("masked") == f.masked, g.flag("masked"), f.masked)
			check("len", g.num("len") == f.length, g.num("len"), f.length)
			check("mask_key", g.str("mask_key") == f.key, g.str("mask_key"), f.key)
			if f.ping != "" || f.pong != "" {
				want := f.ping + f.pong
				check("data", hex.EncodeToString(g.bytes("data")) == want, hex.EncodeToString(g.bytes("data")), want)
			}
			if f.closeCode != "" {
				check("close_code", strconv.Itoa(g.num("close_code")) == f.closeCode, g.num("close_code"), f.closeCode)
			}
			if len(diffs) > 0 {
				t.Errorf("packet %d frame %d: %s", p.pkt, i, strings.Join(diffs, "; "))
				continue
			}
			matched++
		}
		if len(got) > len(p.frames) {
			t.Errorf("packet %d: wscap has %d frames, tshark %d", p.pkt, len(got), len(p.frames))
		}
		delete(byPkt, p.pkt)
	}
	for pkt, extra := range byPkt {
		t.Logf("packet %d: %d frames wscap decoded that tshark did not", pkt, len(extra))
	}
	return matched, total
}

// compareMessages checks message payloads against tshark's text/data.data.
func compareMessages(t *testing.T, tsh []tsharkPacket, evs []jsonEvent) {
	byPkt := map[int][]jsonEvent{}
	for _, e := range ofType(evs, "message") {
		byPkt[e.num("pkt")] = append(byPkt[e.num("pkt")], e)
	}
	for _, p := range tsh {
		var texts, datas []string
		for _, m := range byPkt[p.pkt] {
			if m.str("opcode") == "text" {
				texts = append(texts, string(m.payload()))
			} else {
				datas = append(datas, hex.EncodeToString(m.payload()))
			}
		}
		if !p.sip && len(p.texts) > 0 && fmt.Sprint(texts) != fmt.Sprint(p.texts) {
			t.Errorf("packet %d: text messages differ:\nwscap  %.200q\ntshark %.200q", p.pkt, texts, p.texts)
		}
		if len(p.datas) > 0 && fmt.Sprint(datas) != fmt.Sprint(p.datas) {
			t.Errorf("packet %d: binary messages differ:\nwscap  %.120s\ntshark %.120s", p.pkt, fmt.Sprint(datas), fmt.Sprint(p.datas))
		}
	}
}

func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	refs, _ := filepath.Glob(filepath.Join(dir, "*", "*.tshark.json"))
	sort.Strings(refs)
	if len(refs) == 0 {
		t.Skip("no captures in corpus")
	}
	allMatched, allTotal := 0, 0
	for _, ref := range refs {
		capPath := strings.TrimSuffix(ref, ".tshark.json")
		name, _ := filepath.Rel(dir, capPath)
		t.Run(name, func(t *testing.T) {
			args := []string{"-r", capPath, "--max-payload", "4MiB"}
			if port, ok := decodeAs[name]; ok {
				args = append(args, "-d", port)
			}
			evs := runJSON(t, args...)
			tsh := loadTshark(t, ref)
			m, n := compareFrames(t, tsh, evs)
			allMatched += m
			allTotal += n
			t.Logf("%d/%d frames agree with tshark", m, n)
			switch name {
			case "eririmba-socket.io-sample/websocket.pcap":
				// tshark is wrong here (MANIFEST): it ignores RSV1 and prints
				// the compressed bytes as text. wscap must say it cannot
				// inflate without the history.
				msgs := ofType(evs, "message")
				if len(msgs) != 1 || msgs[0].str("decode_error") == "" || msgs[0]["text"] != nil {
					t.Errorf("want one message with decode_error, got %v", msgs)
				}
			default:
				compareMessages(t, tsh, evs)
			}
		})
	}
	t.Logf("corpus: %d/%d frames agree with tshark", allMatched, allTotal)
	if allTotal > 0 {
		fmt.Fprintf(os.Stderr, "corpus agreement: %d/%d frames\n", allMatched, allTotal)
	}
}

// TestCorpusUpstream checks the expectations shipped by Zeek and
// suricata-verify, and the facts MANIFEST.md states.
func TestCorpusUpstream(t *testing.T) {
	dir := corpusDir(t)
	get := func(t *testing.T, name string, extra ...string) []jsonEvent {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing", name)
		}
		return runJSON(t, append([]string{"-r", p, "--max-payload", "4MiB"}, extra...)...)
	}
	hasAnomaly := func(evs []jsonEvent, code string) bool {
		for _, e := range ofType(evs, "anomaly") {
			if e.str("code") == code {
				return true
			}
		}
		return false
	}

	// Zeek: per-frame ground truth in events.out.
	zeekEvents, _ := filepath.Glob(filepath.Join(dir, "zeek", "*.upstream-expected.events.out"))
	for _, exp := range zeekEvents {
		name, _ := filepath.Rel(dir, strings.TrimSuffix(exp, ".upstream-expected.events.out"))
		t.Run("zeek-events/"+filepath.Base(name), func(t *testing.T) {
			evs := get(t, name)
			want, closes := zeekFrames(t, exp)
			var got, gotCloses []string
			for _, f := range ofType(evs, "frame") {
				orig := "F"
				if f.str("from") == "client" {
					orig = "T"
				}
				got = append(got, fmt.Sprintf("%s fin=%v rsv=%d opcode=%s len=%d", orig, f.flag("fin"), f.num("rsv"), f.str("opcode"), f.num("len")))
				if f.str("opcode") == "close" {
					code := 0
					if _, ok := f["close_code"]; ok {
						code = f.num("close_code")
					}
					gotCloses = append(gotCloses, fmt.Sprintf("%s %d %q", orig, code, f.str("close_reason")))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("frames differ from Zeek's:\nwscap:\n%s\nzeek:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if strings.Join(gotCloses, "\n") != strings.Join(closes, "\n") {
				t.Errorf("closes differ:\nwscap %v\nzeek  %v", gotCloses, closes)
			}
		})
	}

	// Zeek websocket.log: handshake metadata.
	logs, _ := filepath.Glob(filepath.Join(dir, "zeek", "*.upstream-expected.websocket.log"))
	for _, lg := range logs {
		name, _ := filepath.Rel(dir, strings.TrimSuffix(lg, ".upstream-expected.websocket.log"))
		t.Run("zeek-log/"+filepath.Base(name), func(t *testing.T) {
			rows := zeekLog(t, lg)
			hs := ofType(get(t, name), "handshake")
			if len(hs) != len(rows) {
				t.Fatalf("%d handshakes, zeek logged %d", len(hs), len(rows))
			}
			for i, r := range rows {
				h := hs[i]
				protos := strings.Join(anyStrings(h["offered_protocols"]), ",")
				checks := [][3]string{
					{"host", h.str("host"), r["host"]},
					{"uri", h.str("path"), r["uri"]},
					{"user_agent", h.str("user_agent"), r["user_agent"]},
					{"subprotocol", h.str("protocol"), r["subprotocol"]},
					{"client_protocols", protos, r["client_protocols"]},
					{"client_extensions", h.str("offered_extensions"), r["client_extensions"]},
					{"server_extensions", h.str("extensions"), r["server_extensions"]},
				}
				for _, c := range checks {
					want := c[2]
					if want == "-" || want == "(empty)" {
						want = ""
					}
					if _, ok := h["user_agent"]; !ok && c[0] == "user_agent" {
						continue // an extension field, absent in older schemas
					}
					if c[1] != want {
						t.Errorf("%s: wscap %q, zeek %q", c[0], c[1], want)
					}
				}
			}
		})
	}

	t.Run("zeek/wrong-accept-header", func(t *testing.T) {
		evs := get(t, "zeek/wrong-accept-header.pcap")
		hs := ofType(evs, "handshake")
		if len(hs) != 1 || hs[0].flag("accept_valid") || !hasAnomaly(evs, "accept_mismatch") {
			t.Errorf("accept mismatch not reported: %v", hs)
		}
		for _, a := range ofType(evs, "anomaly") {
			if a.str("code") == "accept_mismatch" && !strings.Contains(a.str("detail"), "N8ntNYkX6Qerw4tK3s/CYzpSZNc=") {
				t.Errorf("detail lacks the expected value: %s", a.str("detail"))
			}
		}
	})
	t.Run("zeek/oversized-close-frame", func(t *testing.T) {
		evs := get(t, "zeek/oversized-close-frame.pcapng")
		if !hasAnomaly(evs, "control_too_long") || !hasAnomaly(evs, "length_not_minimal") {
			t.Errorf("oversized close not flagged: %v", ofType(evs, "anomaly"))
		}
		fr := ofType(evs, "frame")
		if len(fr) != 1 || fr[0].num("close_code") != 1000 || len(fr[0].str("close_reason")) != 256 {
			t.Errorf("close frame: %v", fr)
		}
	})
	t.Run("zeek/wstunnel-http unmasked client", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(dir, "zeek/wstunnel-http.pcap")); err != nil {
			t.Skip("absent")
		}
		if !hasAnomaly(get(t, "zeek/wstunnel-http.pcap"), "client_frame_unmasked") {
			t.Error("unmasked client frames not flagged")
		}
	})
	t.Run("zeek/pr5646 compressed equals baseline", func(t *testing.T) {
		a := ofType(get(t, "zeek/pr5646-websocket_compressed.pcap"), "message")
		b := ofType(get(t, "zeek/pr5646-websocket_baseline.pcap"), "message")
		if len(a) != 2 || len(a) != len(b) {
			t.Fatalf("%d vs %d messages", len(a), len(b))
		}
		for i := range a {
			if !bytes.Equal(a[i].payload(), b[i].payload()) || !a[i].flag("compressed") || b[i].flag("compressed") {
				t.Errorf("message %d differs", i)
			}
		}
	})

	// suricata-verify.
	t.Run("suricata/basic_websockets", func(t *testing.T) {
		evs := get(t, "suricata-verify/websocket-basic_websockets.pcap")
		server, masked, key := 0, 0, false
		hybi := false
		for _, f := range ofType(evs, "frame") {
			if f.str("from") == "server" && f.str("opcode") == "text" {
				server++
			}
			if f.flag("masked") {
				masked++
			}
			key = key || f.str("mask_key") == "e2b695ed" // websocket.mask 3803616749
		}
		for _, m := range ofType(evs, "message") {
			hybi = hybi || m.str("text") == "version,hybi-draft-13"
		}
		if server != 14 || masked != 3 || !key || !hybi {
			t.Errorf("server text %d (14), masked %d (3), key e2b695ed %v, hybi text %v", server, masked, key, hybi)
		}
	})
	t.Run("suricata/compressed", func(t *testing.T) {
		msgs := ofType(get(t, "suricata-verify/websocket-compressed-example_websocket.pcap"), "message")
		if len(msgs) != 10 || !strings.Contains(msgs[len(msgs)-1].str("text"), "TOGGLE=5659131662f54334") {
			t.Errorf("%d messages; last %.100q", len(msgs), msgs[len(msgs)-1].str("text"))
		}
	})
	t.Run("suricata/control-frag", func(t *testing.T) {
		evs := get(t, "suricata-verify/websocket-control-frag.pcap")
		msgs := ofType(evs, "message")
		if len(msgs) != 1 || msgs[0].str("text") != "MALWARE_DOWNLOAD cmd.exe /c powershell -enc AAAA" || msgs[0].num("frames") != 2 {
			t.Errorf("messages %v", msgs)
		}
	})
	t.Run("suricata/ping", func(t *testing.T) {
		evs := get(t, "suricata-verify/websocket-ping.pcap")
		var seen []string
		for _, f := range ofType(evs, "frame") {
			if op := f.str("opcode"); op == "ping" || op == "pong" {
				seen = append(seen, fmt.Sprintf("%s@%d", op, f.num("pkt")))
			}
		}
		if fmt.Sprint(seen) != "[ping@8 pong@11]" || !hasAnomaly(evs, "client_frame_unmasked") {
			t.Errorf("got %v", seen)
		}
	})
	t.Run("suricata/request without response", func(t *testing.T) {
		evs := get(t, "suricata-verify/http-request-header-multi.pcap")
		hs := ofType(evs, "handshake")
		if len(hs) != 1 || hs[0].num("status") != 0 || hs[0].flag("upgraded") || !hasAnomaly(evs, "handshake_incomplete") {
			t.Errorf("handshakes %v", hs)
		}
	})

	// MANIFEST facts and issue 4's corpus checks.
	t.Run("mimpi zip", func(t *testing.T) {
		var zip []byte
		for _, m := range ofType(get(t, "jaysenlestari-ctf/mimpi-capture.pcap"), "message") {
			if m.str("opcode") == "binary" {
				if m.str("decode_error") != "" || m.flag("truncated") {
					t.Fatalf("message not decoded: %v", m)
				}
				zip = append(zip, m.payload()...)
			}
		}
		sum := sha256.Sum256(zip)
		if len(zip) != 1428722 || hex.EncodeToString(sum[:]) != "40f8a224815bec7a82f05c0ebbf7293dc4965ca4dfd3c5a68b2cb78e913a07a8" {
			t.Errorf("zip of %d bytes, sha256 %x", len(zip), sum)
		}
	})
	t.Run("deepred bomb-like message", func(t *testing.T) {
		evs := get(t, "usenix-woot/deepred-websocket.pcap")
		big := 0
		for _, m := range ofType(evs, "message") {
			if m.num("len") == 1147153 {
				big++
			}
		}
		if big != 1 {
			t.Errorf("no 1,147,153-byte message")
		}
		evs = get(t, "usenix-woot/deepred-websocket.pcap", "--max-inflate", "512KiB")
		if !hasAnomaly(evs, "inflate_limit") {
			t.Error("inflate limit not reported")
		}
		closes := 0
		for _, f := range ofType(evs, "frame") {
			if f.num("close_code") == 1009 {
				closes++
			}
		}
		if closes != 2 {
			t.Errorf("%d close 1009 frames, want 2", closes)
		}
	})
	t.Run("ndpi/websocket equals arkime/websocket", func(t *testing.T) {
		a := ofType(get(t, "ndpi/websocket.pcap", "-d", "12345"), "message")
		b := ofType(get(t, "arkime/websocket.pcap"), "message")
		if len(a) != 5 || len(b) != 5 {
			t.Fatalf("%d and %d messages", len(a), len(b))
		}
		for i := range a {
			if a[i].str("text") != b[i].str("text") || a[i].str("from") != b[i].str("from") {
				t.Errorf("message %d: %q vs %q", i, a[i].str("text"), b[i].str("text"))
			}
		}
		if c := ofType(get(t, "ndpi/websocket.pcap", "-d", "12345"), "conn"); len(c) != 1 || !c[0].flag("midstream") {
			t.Errorf("conn %v", c)
		}
	})
	t.Run("ndpi/1kxun three handshakes", func(t *testing.T) {
		evs := get(t, "ndpi/1kxun.pcap")
		if n := len(ofType(evs, "handshake")); n != 3 {
			t.Errorf("%d handshakes", n)
		}
		if n := len(ofType(evs, "frame")); n != 0 {
			t.Errorf("%d frames", n)
		}
	})
	t.Run("arkime_synthetic", func(t *testing.T) {
		evs := get(t, "arkime/arkime_synthetic.pcap")
		hs := ofType(evs, "handshake")
		if len(hs) != 1 || !hs[0].flag("accept_valid") || hs[0].str("key") != "dGhlIHNhbXBsZSBub25jZQ==" {
			t.Errorf("handshake %v", hs)
		}
		var reason string
		for _, f := range ofType(evs, "frame") {
			if f.str("opcode") == "close" && f.str("from") == "server" {
				reason = f.str("close_reason")
			}
		}
		if reason != "bye-split" {
			t.Errorf("close reason %q", reason)
		}
	})
}

// zeekFrames reads websocket_frame and websocket_close lines of events.out.
func zeekFrames(t *testing.T, path string) (frames, closes []string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Split(line, ", ")
		switch {
		case len(f) >= 11 && f[0] == "websocket_frame":
			fin := f[4] == "T"
			frames = append(frames, fmt.Sprintf("%s fin=%v rsv=%s opcode=%s len=%s", f[2], fin, f[6], f[8], f[10]))
		case len(f) >= 6 && f[0] == "websocket_close":
			reason := strings.Join(f[6:], ", ")
			closes = append(closes, fmt.Sprintf("%s %s %q", f[2], f[4], reason))
		}
	}
	return frames, closes
}

// zeekLog reads a Zeek TSV log into rows keyed by field name.
func zeekLog(t *testing.T, path string) []map[string]string {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	var rows []map[string]string
	for _, line := range strings.Split(string(raw), "\n") {
		if f, ok := strings.CutPrefix(line, "#fields\t"); ok {
			fields = strings.Split(f, "\t")
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if fields == nil {
			fields = cols
			continue
		}
		r := map[string]string{}
		for i, c := range cols {
			if i < len(fields) {
				r[fields[i]] = c
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
