package output

import (
	"bytes"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
)

// tlsEvents is a hand-built capture with TLS connections: a decrypted wss
// session (1), TLS without a key log (2), TLS whose key is not in the key
// log (3, 4), decrypted TLS that is not WebSocket (5), and plain ws (6).
func tlsEvents() []decode.Event {
	var b builder
	C, S, N := decode.RoleClient, decode.RoleServer, decode.RoleNone
	ap := netip.MustParseAddrPort
	info := func(n int, ver, cipher string, decrypted bool) *decode.TLSInfo {
		return &decode.TLSInfo{
			Client: ap("192.0.2.10:5000" + string(rune('0'+n))), Server: ap("192.0.2.20:443"),
			Version: ver, Cipher: cipher, SNI: "chat.example", ALPN: "http/1.1",
			ClientRandom: strings.Repeat("0"+string(rune('0'+n)), 32), Decrypted: decrypted,
		}
	}

	in := info(1, "TLS 1.3", "TLS_AES_128_GCM_SHA256", true)
	b.add(1, 5, 1000, N, decode.Event{Kind: decode.KindTLS, TLS: in})
	b.add(1, 6, 1100, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: in.Client, Server: in.Server}})
	b.add(1, 8, 1300, N, decode.Event{Kind: decode.KindHandshake, Handshake: &decode.Handshake{
		Method: "GET", Path: "/live", Proto: "HTTP/1.1", Host: "chat.example", Key: "dGhlIHNhbXBsZSBub25jZQ==", Version: "13",
		Status: 101, Reason: "Switching Protocols", Accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", AcceptValid: true,
		Upgraded: true, RequestPacket: 6, ResponsePacket: 8, TLS: in,
	}})
	f := frame(true, decode.OpText, true, "hi")
	f.FirstPacket, f.Message = 9, 1
	b.add(1, 9, 1400, C, decode.Event{Kind: decode.KindFrame, Frame: f})
	m := textMsg(1, "hi")
	m.FirstPacket = 9
	b.add(1, 9, 1400, C, decode.Event{Kind: decode.KindMessage, Message: m})

	b.add(2, 14, 2000, N, decode.Event{Kind: decode.KindTLS, TLS: info(2, "TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", false)})

	for n := 3; n <= 4; n++ {
		b.add(n, 10*n+10, int64(1000*n), N, decode.Event{Kind: decode.KindTLS, TLS: info(n, "TLS 1.3", "TLS_AES_256_GCM_SHA384", false)})
		b.add(n, 10*n+10, int64(1000*n), S, decode.Event{Kind: decode.KindAnomaly, Anomaly: anomaly("tls_no_key", "the key log has no CLIENT_HANDSHAKE_TRAFFIC_SECRET for client random 0303...")})
	}

	b.add(5, 60, 6000, N, decode.Event{Kind: decode.KindTLS, TLS: info(5, "TLS 1.3", "TLS_CHACHA20_POLY1305_SHA256", true)})

	b.add(6, 70, 7000, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: ap("10.0.0.2:40000"), Server: ap("10.0.0.1:80")}})
	b.add(6, 71, 7100, N, decode.Event{Kind: decode.KindHandshake, Handshake: &decode.Handshake{
		Method: "GET", Path: "/plain", Proto: "HTTP/1.1", Status: 101, Upgraded: true, AcceptValid: true, Accept: "x",
	}})
	f = frame(true, decode.OpText, false, "ok")
	b.add(6, 72, 7200, S, decode.Event{Kind: decode.KindFrame, Frame: f})
	return b.evs
}

func TestTLSText(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	for _, tt := range []struct {
		name string
		opt  Options
	}{
		{"timeline-summary", Options{Timeline: true, Summary: true, All: true}},
		{"verbose", Options{Timeline: true, Verbose: true, All: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, func(b *bytes.Buffer) Renderer { return NewText(b, tt.opt) }, tlsEvents())
			checkGolden(t, "tls-"+tt.name+".golden", got)
			checkASCII(t, got)
			s := string(got)
			for _, want := range []string{
				"#1 192.0.2.10:50001 -> 192.0.2.20:443 GET /live accept=ok tls: TLS 1.3 TLS_AES_128_GCM_SHA256 sni=chat.example alpn=http/1.1\n",
				"5      0.001000   #1   --- TLS                      TLS 1.3 TLS_AES_128_GCM_SHA256 sni=chat.example alpn=http/1.1 decrypted\n",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if tt.opt.Summary {
				for _, want := range []string{
					"\n1 TLS connection not decrypted: no key log (use --keylog FILE or SSLKEYLOGFILE, or a pcapng with embedded secrets)\n",
					"\n2 TLS connections not decrypted: no key in the key log\n",
					"\n1 TLS connection decrypted but not WebSocket\n",
					"TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 sni=chat.example alpn=http/1.1 (not decrypted)",
					"(not WebSocket)",
				} {
					if !strings.Contains(s, want) {
						t.Errorf("summary lacks %q", want)
					}
				}
			}
		})
	}
	// Without TLS connections the summary is as before: no TLS column.
	got := render(t, func(b *bytes.Buffer) Renderer { return NewText(b, Options{Summary: true}) }, sampleEvents())
	if bytes.Contains(got, []byte("TLS")) {
		t.Errorf("summary of a capture without TLS mentions TLS:\n%s", got)
	}
}

// TestTLSHidden: by default the TLS connections that are not WebSocket
// (2-5 of tlsEvents) are neither rows nor summary lines, the decrypted
// WebSocket one's rows are all there, a Shard writes the same bytes as a
// Renderer, and Hidden counts what was left out.
func TestTLSHidden(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	evs := tlsEvents()
	opt := Options{Timeline: true, Summary: true}
	var r Renderer
	got := render(t, func(b *bytes.Buffer) Renderer { r = NewText(b, opt); return r }, evs)
	s := string(got)
	for _, gone := range []string{"#2", "#3", "#4", "#5", "not decrypted", "not WebSocket"} {
		if strings.Contains(s, gone) {
			t.Errorf("output mentions %q:\n%s", gone, s)
		}
	}
	all := string(render(t, func(b *bytes.Buffer) Renderer { return NewText(b, Options{Timeline: true, All: true}) }, evs))
	for _, line := range strings.Split(all, "\n") {
		if strings.Contains(line, " #1 ") || strings.HasPrefix(line, "#1 ") || strings.Contains(line, " #6 ") {
			if !strings.Contains(s, line+"\n") {
				t.Errorf("row %q of a shown connection is missing", line)
			}
		}
	}
	if h, want := HiddenOf(r).String(), "1 decrypted TLS connection was HTTP/2 or HTTPS, not WebSocket; "+
		"2 TLS connections not decrypted: no key in the key log; "+
		"1 TLS connection not decrypted: no key log (use --keylog FILE or SSLKEYLOGFILE, or a pcapng with embedded secrets)"; h != want {
		t.Errorf("Hidden = %q, want %q", h, want)
	}

	// A Shard, one event at a time, holds and releases the same rows.
	sh := NewShard(false, opt)
	sh.SetEpoch(t0)
	var out []byte
	for i := range evs {
		out = sh.Append(out, evs[i:i+1])
	}
	want := got[len(Header(opt)):bytes.Index(got, []byte("\n+"))]
	if !bytes.Equal(out, want) {
		t.Errorf("Shard wrote\n%s\nRenderer wrote\n%s", out, want)
	}
	sum := sh.Summary()
	var tb bytes.Buffer
	if err := WriteSummary(&tb, false, sum); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tb.String(), "#2") || !strings.Contains(tb.String(), "#6") {
		t.Errorf("Shard summary:\n%s", tb.String())
	}
	if sum.Hidden().Total() != 4 {
		t.Errorf("Shard hid %v, want 4 connections", sum.Hidden())
	}

	// Without a summary, the hidden connections that ended are forgotten
	// but still counted.
	nos := NewText(new(bytes.Buffer), Options{Timeline: true})
	ends := append([]decode.Event(nil), evs...)
	for n := 2; n <= 5; n++ {
		for _, from := range []decode.Role{decode.RoleClient, decode.RoleServer} {
			ends = append(ends, decode.Event{Kind: decode.KindEnd, Conn: n, From: from, Time: t0.Add(time.Second), Packet: 99})
		}
	}
	nos.Write(ends)
	nos.Close()
	if h := HiddenOf(nos); h.Total() != 4 {
		t.Errorf("without a summary, Hidden = %v, want 4 connections", h)
	}
}

func TestTLSJSON(t *testing.T) {
	evs := tlsEvents()
	out := render(t, func(b *bytes.Buffer) Renderer { return NewJSON(b, Options{}) }, evs)
	objs := parseLines(t, out)
	m := objs[0]
	want := map[string]any{
		"type": "tls", "client": "192.0.2.10:50001", "server": "192.0.2.20:443", "version": "TLS 1.3",
		"cipher": "TLS_AES_128_GCM_SHA256", "sni": "chat.example", "alpn": "http/1.1",
		"client_random": strings.Repeat("01", 32), "decrypted": true,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("tls line: %s = %v, want %v", k, m[k], v)
		}
	}
	if len(m) != len(want)+5 { // + conn, ts, ts_unix, pkt, seq
		t.Errorf("tls line has fields %v", m)
	}

	// Every field of a tls line is documented in the README's `tls`
	// subsection of JSON Lines.
	doc, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	in := false
	row := regexp.MustCompile("^\\| (`[^|]+`) \\|")
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") {
			in = strings.HasPrefix(line, "### `tls`")
			continue
		}
		if r := row.FindStringSubmatch(line); in && r != nil {
			for _, f := range strings.Split(r[1], ",") {
				documented[strings.Trim(strings.TrimSpace(f), "`")] = true
			}
		}
	}
	for f := range m {
		switch f {
		case "type", "conn", "ts", "ts_unix", "pkt", "seq":
			continue
		}
		if !documented[f] {
			t.Errorf("tls.%s is not documented in README.md (### `tls`)", f)
		}
	}
}

// TestTLSHeldBound: the rows held for a TLS connection not yet known to
// be WebSocket stay under maxHeldBytes: past it they are written, in order.
func TestTLSHeldBound(t *testing.T) {
	var b builder
	in := &decode.TLSInfo{Client: netip.MustParseAddrPort("192.0.2.10:50001"), Server: netip.MustParseAddrPort("192.0.2.20:443"), Version: "TLS 1.3"}
	b.add(1, 1, 1000, decode.RoleNone, decode.Event{Kind: decode.KindTLS, TLS: in})
	n := 0
	for ; n*100 < 2*maxHeldBytes; n++ {
		b.add(1, 2+n, int64(1001+n), decode.RoleServer, decode.Event{Kind: decode.KindAnomaly, Anomaly: anomaly("tls_auth_failed", strings.Repeat("x", 100))})
	}
	var r Renderer
	out := render(t, func(buf *bytes.Buffer) Renderer { r = NewText(buf, Options{Timeline: true}); return r }, b.evs)
	if got := strings.Count(string(out), "tls_auth_failed"); got != n {
		t.Errorf("%d of %d anomaly rows written", got, n)
	}
	if !strings.Contains(string(out), "--- TLS") {
		t.Errorf("the tls row was not written first:\n%.300s", out)
	}
	if c := r.(*textRenderer).conns.get(1, 0); len(c.held) != 0 || c.hold {
		t.Errorf("still holding %d bytes", len(c.held))
	}
	if h := HiddenOf(r); h.Total() != 0 {
		t.Errorf("a connection with rows is counted as hidden: %v", h)
	}
}
