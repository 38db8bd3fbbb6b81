package reassembly

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/source"
	"github.com/wscap/wscap/tlsdec"
	"github.com/wscap/wscap/tlsdec/tlstest"
)

// wsSteps is a WebSocket session with permessage-deflate: compressed,
// fragmented, large (many TLS records) and control messages both ways.
func wsSteps() []tlstest.Step {
	key := flowgen.Key(7)
	cd, sd := flowgen.NewDeflater(false), flowgen.NewDeflater(false)
	masked := func(first int, fs ...flowgen.Frame) []byte {
		for i := range fs {
			fs[i].Mask = flowgen.MaskKey(first + i)
		}
		return flowgen.Frames(fs...)
	}
	big := bytes.Repeat([]byte(`{"tick":12345,"price":"67.89"},`), 1500) // 46 KB, compresses well
	noise := make([]byte, 30000)
	x := uint32(2463534242)
	for i := range noise {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		noise[i] = byte(x)
	}
	return []tlstest.Step{
		{Data: flowgen.UpgradeRequest("/chat", "example.test", key, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")},
		{FromServer: true, Data: flowgen.Response101(key, "Sec-WebSocket-Extensions: permessage-deflate")},
		{Data: masked(0, flowgen.CompressedMessage(cd, flowgen.OpText, []byte(`{"type":"join","user":"alice"}`))...)},
		{FromServer: true, Data: flowgen.Frames(flowgen.CompressedMessage(sd, flowgen.OpText, []byte(`{"type":"welcome","users":["alice"]}`))...)},
		{Data: masked(10, flowgen.Fragment(flowgen.OpText, []byte("hello, fragmented world"), 5, 6)...)},
		{FromServer: true, Data: flowgen.Frames(flowgen.CompressedMessage(sd, flowgen.OpText, big, 100, 300)...)},
		{FromServer: true, Data: flowgen.Frames(flowgen.Fragment(flowgen.OpBinary, noise, 17000)...)},
		{Data: masked(20, flowgen.CompressedMessage(cd, flowgen.OpText, []byte(`{"type":"join","user":"alice"}`))...)},
		{Data: masked(30, flowgen.Frame{Fin: true, Op: flowgen.OpPing, Payload: []byte("are you there")})},
		{FromServer: true, Data: flowgen.Frame{Fin: true, Op: flowgen.OpPong, Payload: []byte("are you there")}.Bytes()},
		{Data: masked(40, flowgen.Frame{Fin: true, Op: flowgen.OpClose, Payload: flowgen.ClosePayload(1000, "bye")})},
		{FromServer: true, Data: flowgen.Frame{Fin: true, Op: flowgen.OpClose, Payload: flowgen.ClosePayload(1000, "")}.Bytes()},
	}
}

var (
	tlsClient = netip.MustParseAddrPort("192.0.2.10:50443")
	tlsServer = netip.MustParseAddrPort("192.0.2.20:443")
)

// writesCapture puts writes into one TCP connection, one application
// write per Client/Server call, with the segmentation plan opts.
// Writes of fewer than 1000 bytes are sent whole.
func writesCapture(t testing.TB, writes []tlstest.Write, port uint16, opts ...flowgen.Opt) *flowgen.Capture {
	t.Helper()
	c := flowgen.NewCapture()
	k := c.NewConn(tlsClient, netip.AddrPortFrom(tlsServer.Addr(), port))
	k.Open()
	for _, w := range writes {
		o := opts
		if len(w.Data) < 1000 {
			o = nil
		}
		if w.FromServer {
			k.Server(w.Data, o...)
		} else {
			k.Client(w.Data, o...)
		}
	}
	k.Close()
	return c
}

func stepWrites(steps []tlstest.Step) []tlstest.Write {
	var w []tlstest.Write
	for _, s := range steps {
		w = append(w, tlstest.Write{FromServer: s.FromServer, Data: s.Data})
	}
	return w
}

// packetsOf reads the capture back through package source, as wscap does.
func packetsOf(t testing.TB, c *flowgen.Capture) []source.Packet {
	t.Helper()
	b, err := c.PcapNG()
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.NewReader("test", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var pkts []source.Packet
	for {
		p, err := src.Next()
		if err != nil {
			break
		}
		p.Data = bytes.Clone(p.Data)
		pkts = append(pkts, p)
	}
	return pkts
}

func keyLog(t testing.TB, b []byte) *tlsdec.KeyLog {
	t.Helper()
	k := tlsdec.NewKeyLog()
	if _, err := k.ReadFrom(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return k
}

// wsView is an event without what depends on the transport (times,
// packet numbers, sequence numbers): what must be the same over TLS.
func wsView(ev *decode.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", ev.Kind, ev.From)
	switch ev.Kind {
	case decode.KindConn:
		fmt.Fprintf(&b, " %+v", *ev.Info)
	case decode.KindHandshake:
		h := ev.Handshake
		fmt.Fprintf(&b, " %s %s %d accept=%v ext=%q deflate=%+v upgraded=%v", h.Method, h.Path, h.Status, h.AcceptValid, h.Extensions, h.Deflate, h.Upgraded)
	case decode.KindFrame:
		f := &ev.Frame
		fmt.Fprintf(&b, " fin=%v rsv=%d op=%s len=%d off=%d seen=%d comp=%v msg=%d payload=%q", f.Fin, f.Rsv, f.Opcode, f.PayloadLen, f.Offset, f.Seen, f.Compressed, f.Message, f.Payload)
	case decode.KindMessage:
		m := &ev.Message
		fmt.Fprintf(&b, " n=%d op=%s frames=%d len=%d wire=%d comp=%v utf8=%v err=%q payload=%x", m.N, m.Opcode, m.Frames, m.Len, m.WireLen, m.Compressed, m.UTF8Valid, m.DecodeError, m.Payload)
	case decode.KindAnomaly:
		fmt.Fprintf(&b, " %s", ev.Anomaly.Code)
	case decode.KindGap:
		fmt.Fprintf(&b, " %d", ev.Gap)
	case decode.KindEnd:
		fmt.Fprintf(&b, " %+v", ev.End)
	case decode.KindTLS:
		fmt.Fprintf(&b, " %+v", *ev.TLS)
	}
	return b.String()
}

// wsViews returns the views of the events that are not KindTLS, and the
// KindTLS events.
func wsViews(evs []decode.Event) (views []string, tlsEvs []decode.Event) {
	for i := range evs {
		if evs[i].Kind == decode.KindTLS {
			tlsEvs = append(tlsEvs, evs[i])
			continue
		}
		views = append(views, wsView(&evs[i]))
	}
	return views, tlsEvs
}

func diffViews(t *testing.T, got, want []string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("event %d:\n got %.300s\nwant %.300s", i, g, w)
			return
		}
	}
}

// TestTLSDecrypted runs the same WebSocket session as plaintext TCP and
// inside Go crypto/tls sessions (TLS 1.3 and TLS 1.2 with several suites,
// segmented several ways): the decoder must see the same events.
func TestTLSDecrypted(t *testing.T) {
	steps := wsSteps()
	plain, _ := run(t, Config{}, packetsOf(t, writesCapture(t, stepWrites(steps), 443)))
	want, tlsEvs := wsViews(plain)
	if len(tlsEvs) != 0 {
		t.Fatalf("plaintext run has tls events: %v", tlsEvs)
	}
	msgs := 0
	for _, v := range want {
		if strings.HasPrefix(v, "message") {
			msgs++
		}
	}
	if msgs != 6 {
		t.Fatalf("plaintext run: %d messages, want 6", msgs)
	}

	v12 := func(id uint16) tlstest.Config {
		return tlstest.Config{Client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{id}, NextProtos: []string{"http/1.1"}},
			Server: &tls.Config{CipherSuites: []uint16{id}, NextProtos: []string{"http/1.1"}}}
	}
	configs := []struct {
		name string
		cfg  tlstest.Config
	}{
		{"tls13", tlstest.Config{Client: &tls.Config{NextProtos: []string{"http/1.1"}}, Server: &tls.Config{NextProtos: []string{"http/1.1"}}}},
		{"tls13-hrr-ecdsa", tlstest.Config{ECDSA: true, Client: &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}, Server: &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}}}},
		{"tls12-aes128-gcm", v12(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)},
		{"tls12-aes256-gcm", v12(tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)},
		{"tls12-chacha20", v12(tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)},
		{"tls12-aes128-cbc-sha256", v12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256)},
	}
	plans := []struct {
		name string
		opts []flowgen.Opt
	}{
		{"mss", nil},
		{"every-97", []flowgen.Opt{flowgen.Every(97)}},
		{"bytewise", []flowgen.Opt{flowgen.Bytewise()}},
		{"reordered", []flowgen.Opt{flowgen.Every(500), flowgen.Swap(0), flowgen.Retransmit(1)}},
	}
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Steps = steps
			res, err := tlstest.Session(cfg)
			if err != nil {
				t.Fatal(err)
			}
			st := res.Conns[0].State
			keys := keyLog(t, res.KeyLog)
			for _, pl := range plans {
				evs, e := run(t, Config{KeyLog: keys}, packetsOf(t, writesCapture(t, res.Conns[0].Writes, 443, pl.opts...)))
				got, tlsEvs := wsViews(evs)
				diffViews(t, got, want)
				if len(tlsEvs) != 1 {
					t.Fatalf("%s: %d tls events", pl.name, len(tlsEvs))
				}
				in := tlsEvs[0].TLS
				wantIn := decode.TLSInfo{Client: tlsClient, Server: tlsServer, Version: tls.VersionName(st.Version),
					Cipher: tls.CipherSuiteName(st.CipherSuite), SNI: "example.test", ALPN: st.NegotiatedProtocol,
					ClientRandom: in.ClientRandom, Decrypted: true}
				if *in != wantIn || len(in.ClientRandom) != 64 {
					t.Errorf("%s: tls event %+v, want %+v", pl.name, *in, wantIn)
				}
				for _, ev := range evs {
					if ev.Kind == decode.KindHandshake && ev.Handshake.TLS != in {
						t.Errorf("%s: handshake event TLS = %v", pl.name, ev.Handshake.TLS)
					}
				}
				if s := e.Stats(); s.TLS != 1 || s.TLSDecrypted != 1 || s.WebSocket != 1 {
					t.Errorf("%s: stats %+v", pl.name, s)
				}
			}
		})
	}
}

// TestTLSNotDecrypted: without keys a TLS connection is one tls event
// (decrypted false) and an end event per direction, at its FIN; with a key
// log that lacks its keys, also a tls_no_key anomaly. Either way the
// connection is not reassembled further.
func TestTLSNotDecrypted(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			res, err := tlstest.Session(tlstest.Config{Client: &tls.Config{MaxVersion: v}, Steps: wsSteps()})
			if err != nil {
				t.Fatal(err)
			}
			pkts := packetsOf(t, writesCapture(t, res.Conns[0].Writes, 8443))
			other := "CLIENT_RANDOM " + strings.Repeat("ab", 32) + " " + strings.Repeat("cd", 48) + "\n"
			for _, tc := range []struct {
				name  string
				keys  *tlsdec.KeyLog
				codes []string
			}{
				{"nil", nil, nil},
				{"empty", tlsdec.NewKeyLog(), nil},
				{"other-keys", keyLog(t, []byte(other)), []string{"tls_no_key"}},
			} {
				evs, e := run(t, Config{KeyLog: tc.keys}, pkts)
				var kinds, codes []string
				for _, ev := range evs {
					kinds = append(kinds, ev.Kind.String())
					if ev.Kind == decode.KindAnomaly {
						codes = append(codes, string(ev.Anomaly.Code))
					}
				}
				wantKinds := []string{"tls"}
				for range tc.codes {
					wantKinds = append(wantKinds, "anomaly")
				}
				// Each direction ends at its FIN (the capture closes with
				// the client's FIN, the server's, and an ACK), in capture
				// order, though the connection is no longer reassembled.
				wantKinds = append(wantKinds, "end", "end")
				for _, ev := range evs {
					if ev.Kind != decode.KindEnd {
						continue
					}
					want := len(pkts) - 2 // the client's FIN
					if ev.From == decode.RoleServer {
						want++
					}
					if ev.Packet != want || !ev.Time.Equal(pkts[want-1].Time) {
						t.Errorf("%s: %s end at packet %d (%v), want packet %d", tc.name, ev.From, ev.Packet, ev.Time, want)
					}
				}
				if strings.Join(kinds, ",") != strings.Join(wantKinds, ",") || strings.Join(codes, ",") != strings.Join(tc.codes, ",") {
					t.Errorf("%s: events %v anomalies %v, want %v %v", tc.name, kinds, codes, wantKinds, tc.codes)
				}
				if in := evs[0].TLS; in.Decrypted || in.Version != tls.VersionName(v) || in.SNI != "example.test" || in.Client != tlsClient {
					t.Errorf("%s: tls event %+v", tc.name, *in)
				}
				if s := e.Stats(); s.TLS != 1 || s.TLSDecrypted != 0 || s.WebSocket != 0 {
					t.Errorf("%s: stats %+v", tc.name, s)
				}
			}
		})
	}
}

// TestTLSGap: a segment lost from the server's TLS stream stops that
// direction (tls_gap); what came before it is decoded.
func TestTLSGap(t *testing.T) {
	res, err := tlstest.Session(tlstest.Config{Steps: wsSteps()})
	if err != nil {
		t.Fatal(err)
	}
	c := flowgen.NewCapture()
	k := c.NewConn(tlsClient, tlsServer)
	k.Open()
	big := 0
	for _, w := range res.Conns[0].Writes {
		switch {
		case !w.FromServer:
			k.Client(w.Data)
		case len(w.Data) > 5000 && big == 0: // inside the binary message
			big++
			k.Server(w.Data, flowgen.Drop(1))
		default:
			k.Server(w.Data)
		}
	}
	k.Close()
	evs, _ := run(t, Config{KeyLog: keyLog(t, res.KeyLog)}, packetsOf(t, c))
	var codes []string
	msgs := [2]int{}
	for _, ev := range evs {
		switch ev.Kind {
		case decode.KindAnomaly:
			codes = append(codes, fmt.Sprintf("%s/%s", ev.Anomaly.Code, ev.From))
		case decode.KindMessage:
			msgs[roleIdx(ev.From)]++
		}
	}
	if !strings.Contains(strings.Join(codes, ","), "tls_gap/server") || msgs[0] != 3 {
		t.Errorf("anomalies %v, messages %v", codes, msgs)
	}
}

func roleIdx(r decode.Role) int {
	if r == decode.RoleServer {
		return 1
	}
	return 0
}

// TestDetect: the mode is decided by the first bytes of whichever side
// speaks first, even when they arrive a byte at a time.
func TestDetect(t *testing.T) {
	res, err := tlstest.Session(tlstest.Config{Steps: wsSteps()[:2]})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		writes []tlstest.Write
		opts   []flowgen.Opt
		tls    int
	}{
		{"tls-bytewise-start", res.Conns[0].Writes[:1], []flowgen.Opt{flowgen.Split(1, 2, 3, 4, 5)}, 1},
		{"http", []tlstest.Write{{Data: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}}, nil, 0},
		{"short-then-server", []tlstest.Write{{Data: []byte{22, 3}}, {FromServer: true, Data: []byte("220 ready\r\n")}}, nil, 0},
		{"server-first", []tlstest.Write{{FromServer: true, Data: []byte("SSH-2.0-x\r\n")}, res.Conns[0].Writes[0]}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := record(t)
			_, e := run(t, Config{}, packetsOf(t, writesCapture(t, tt.writes, 443, tt.opts...)))
			if s := e.Stats(); s.TLS != tt.tls {
				t.Errorf("stats %+v, want TLS %d", s, tt.tls)
			}
			if tt.tls == 0 {
				// Every byte reached the decoder, in order.
				var want [2]string
				for _, w := range tt.writes {
					want[b2i(w.FromServer)] += string(w.Data)
				}
				for s := range 2 {
					if got := r.stream(1, decode.Side(s)); got != want[s] {
						t.Errorf("side %d got %q, want %q", s, got, want[s])
					}
				}
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTLSAllocs checks that decryption does not allocate per record: a
// session with four times as many records costs no more allocations
// beyond what the same plaintext session costs.
func TestTLSAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	costs := map[string]float64{}
	for _, n := range []int{50, 200} {
		var steps []tlstest.Step
		key := flowgen.Key(1)
		steps = append(steps, tlstest.Step{Data: flowgen.UpgradeRequest("/", "example.test", key)}, tlstest.Step{FromServer: true, Data: flowgen.Response101(key)})
		for i := range n {
			steps = append(steps, tlstest.Step{FromServer: true, Data: flowgen.Frame{Fin: true, Op: flowgen.OpBinary, Payload: bytes.Repeat([]byte{byte(i)}, 3000)}.Bytes()})
		}
		res, err := tlstest.Session(tlstest.Config{Steps: steps})
		if err != nil {
			t.Fatal(err)
		}
		keys := keyLog(t, res.KeyLog)
		for _, mode := range []string{"plain", "tls"} {
			pkts := packetsOf(t, writesCapture(t, stepWrites(steps), 80))
			cfg := Config{}
			if mode == "tls" {
				pkts = packetsOf(t, writesCapture(t, res.Conns[0].Writes, 443))
				cfg.KeyLog = keys
			}
			costs[fmt.Sprint(mode, n)] = testing.AllocsPerRun(5, func() {
				e := New(cfg, func([]decode.Event) error { return nil })
				for i, p := range pkts {
					e.Packet(i+1, p)
				}
				e.Flush()
			})
		}
	}
	t.Logf("allocations: %v", costs)
	extra50, extra200 := costs["tls50"]-costs["plain50"], costs["tls200"]-costs["plain200"]
	if extra200-extra50 > 15 {
		t.Errorf("TLS costs %.0f allocations more for 150 more records", extra200-extra50)
	}
}

// TestTShark cross-checks the decrypted frames against tshark with the
// same key log.
func TestTShark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	res, err := tlstest.Session(tlstest.Config{Steps: wsSteps()})
	if err != nil {
		t.Fatal(err)
	}
	capture := writesCapture(t, res.Conns[0].Writes, 443)
	dir := t.TempDir()
	pcap, keys := filepath.Join(dir, "wss.pcapng"), filepath.Join(dir, "keys.txt")
	b, err := capture.PcapNG()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pcap, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, res.KeyLog, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", pcap, "-o", "tls.keylog_file:"+keys, "-Y", "websocket",
		"-T", "fields", "-e", "websocket.opcode", "-e", "websocket.payload_length").Output()
	// tshark's websocket.payload_length is the 7-bit field (126 and 127
	// announce an extended length).
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var theirs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// One line per packet; fields of several frames are comma lists.
		f := strings.Split(l, "\t")
		if len(f) != 2 {
			continue
		}
		ops, lens := strings.Split(f[0], ","), strings.Split(f[1], ",")
		for i := range ops {
			if i < len(lens) {
				theirs = append(theirs, ops[i]+"/"+lens[i])
			}
		}
	}
	evs, _ := run(t, Config{KeyLog: keyLog(t, res.KeyLog)}, packetsOf(t, capture))
	var ours []string
	for _, ev := range evs {
		if ev.Kind == decode.KindFrame {
			n := ev.Frame.PayloadLen
			switch {
			case n > 65535:
				n = 127
			case n > 125:
				n = 126
			}
			ours = append(ours, fmt.Sprintf("%d/%d", ev.Frame.Opcode, n))
		}
	}
	if strings.Join(ours, " ") != strings.Join(theirs, " ") {
		t.Errorf("frames (opcode/length):\n ours   %v\n tshark %v", ours, theirs)
	}
}

// BenchmarkPipelineTLS measures the pipeline over a decrypted wss session
// (TLS 1.3, AES-128-GCM): 200 binary messages of 16 KiB from the server.
// Compare with BenchmarkPipelinePlain, the same session unencrypted.
func BenchmarkPipelineTLS(b *testing.B)   { benchWSS(b, true) }
func BenchmarkPipelinePlain(b *testing.B) { benchWSS(b, false) }

func benchWSS(b *testing.B, encrypted bool) {
	key := flowgen.Key(1)
	steps := []tlstest.Step{{Data: flowgen.UpgradeRequest("/", "example.test", key)}, {FromServer: true, Data: flowgen.Response101(key)}}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1024)
	for range 200 {
		steps = append(steps, tlstest.Step{FromServer: true, Data: flowgen.Frame{Fin: true, Op: flowgen.OpBinary, Payload: payload}.Bytes()})
	}
	cfg := Config{}
	writes := stepWrites(steps)
	if encrypted {
		res, err := tlstest.Session(tlstest.Config{Steps: steps})
		if err != nil {
			b.Fatal(err)
		}
		writes, cfg.KeyLog = res.Conns[0].Writes, keyLog(b, res.KeyLog)
	}
	pkts := packetsOf(b, writesCapture(b, writes, 443))
	var size int64
	for _, p := range pkts {
		size += int64(len(p.Data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		msgs := 0
		e := New(cfg, func(evs []decode.Event) error {
			for i := range evs {
				if evs[i].Kind == decode.KindMessage {
					msgs++
				}
			}
			return nil
		})
		for i, p := range pkts {
			e.Packet(i+1, p)
		}
		e.Flush()
		if msgs != 200 {
			b.Fatalf("%d messages", msgs)
		}
	}
}

// TestTLSResumption: the second connection of a capture resumes the
// first one's session (TLS 1.2: Go logs no key for it; the key log
// remembers the first session's master secret; TLS 1.3: PSK).
func TestTLSResumption(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			res, err := tlstest.Session(tlstest.Config{Client: &tls.Config{MaxVersion: v}, Steps: wsSteps(), Conns: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Conns[1].State.DidResume {
				t.Fatal("Go did not resume")
			}
			c := flowgen.NewCapture()
			for i, conn := range res.Conns {
				k := c.NewConn(netip.AddrPortFrom(tlsClient.Addr(), uint16(50000+i)), tlsServer)
				k.Open()
				for _, w := range conn.Writes {
					if w.FromServer {
						k.Server(w.Data)
					} else {
						k.Client(w.Data)
					}
				}
				k.Close()
			}
			evs, e := run(t, Config{KeyLog: keyLog(t, res.KeyLog)}, packetsOf(t, c))
			msgs := map[int]int{}
			for _, ev := range evs {
				switch ev.Kind {
				case decode.KindMessage:
					msgs[ev.Conn]++
				case decode.KindAnomaly:
					t.Errorf("conn %d: anomaly %s: %s", ev.Conn, ev.Anomaly.Code, ev.Anomaly.Detail)
				}
			}
			if s := e.Stats(); s.TLS != 2 || s.TLSDecrypted != 2 || s.WebSocket != 2 || msgs[1] != 6 || msgs[2] != 6 {
				t.Errorf("stats %+v, messages %v", s, msgs)
			}
		})
	}
}

// TestTLSWrongKeys: a key log whose client random matches but whose
// secrets are wrong (bytes flipped) decrypts nothing: records fail
// authentication (tls_auth_failed), and neither the tls event nor the
// stats say decrypted.
func TestTLSWrongKeys(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			res, err := tlstest.Session(tlstest.Config{Client: &tls.Config{MaxVersion: v}, Steps: wsSteps()})
			if err != nil {
				t.Fatal(err)
			}
			var wrong []byte
			for _, line := range strings.SplitAfter(string(res.KeyLog), "\n") {
				if f := strings.Fields(line); len(f) == 3 {
					s := []byte(f[2]) // the secret: its last hex digit changes
					if s[len(s)-1] == '0' {
						s[len(s)-1] = '1'
					} else {
						s[len(s)-1] = '0'
					}
					line = f[0] + " " + f[1] + " " + string(s) + "\n"
				}
				wrong = append(wrong, line...)
			}
			if bytes.Equal(wrong, res.KeyLog) {
				t.Fatal("key log unchanged")
			}
			evs, e := run(t, Config{KeyLog: keyLog(t, wrong)}, packetsOf(t, writesCapture(t, res.Conns[0].Writes, 443)))
			var codes []string
			var tlsEv *decode.TLSInfo
			for _, ev := range evs {
				switch ev.Kind {
				case decode.KindAnomaly:
					codes = append(codes, string(ev.Anomaly.Code))
				case decode.KindTLS:
					tlsEv = ev.TLS
				case decode.KindConn, decode.KindHandshake, decode.KindFrame, decode.KindMessage:
					t.Errorf("wrong keys decoded a %s event", ev.Kind)
				}
			}
			if tlsEv == nil || tlsEv.Decrypted {
				t.Errorf("tls event %+v, want decrypted false", tlsEv)
			}
			if !slices.Contains(codes, "tls_auth_failed") {
				t.Errorf("anomalies %v, want tls_auth_failed", codes)
			}
			if s := e.Stats(); s.TLS != 1 || s.TLSDecrypted != 0 || s.WebSocket != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}
