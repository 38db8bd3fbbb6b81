package tlsdec

import (
	"bytes"
	"crypto/tls"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/wscap/wscap/tlsdec/tlstest"
)

// result is what a Conn made of a transcript.
type result struct {
	data  [2][]byte
	codes []Code
	info  Info
}

// splits cut each write into chunks: the segmentation must not matter.
var splits = map[string]func(r *rand.Rand, n int) int{
	"whole":  func(_ *rand.Rand, n int) int { return n },
	"byte":   func(_ *rand.Rand, n int) int { return 1 },
	"random": func(r *rand.Rand, n int) int { return 1 + r.IntN(min(n, 37)) },
	"large":  func(r *rand.Rand, n int) int { return 1 + r.IntN(min(n, 3000)) },
}

// feed runs writes through c, chunked by split, and scribbles over every
// chunk after Feed returns to catch retained input.
func feed(t testing.TB, c *Conn, writes []tlstest.Write, split func(*rand.Rand, int) int) result {
	t.Helper()
	var r result
	rng := rand.New(rand.NewPCG(1, 2))
	var out []Output
	collect := func(d int) {
		for _, o := range out {
			switch {
			case o.Problem != nil && o.Data == nil:
				r.codes = append(r.codes, o.Problem.Code)
				t.Logf("problem: %s: %s", o.Problem.Code, o.Problem.Detail)
			case o.Problem == nil && len(o.Data) > 0:
				r.data[d] = append(r.data[d], o.Data...)
			default:
				t.Errorf("bad output %+v", o)
			}
		}
	}
	for _, w := range writes {
		p := bytes.Clone(w.Data)
		for len(p) > 0 {
			n := split(rng, len(p))
			out = c.Feed(out[:0], w.FromServer, p[:n])
			collect(dirIndex(w.FromServer))
			for i := range p[:n] {
				p[i] = 0xee
			}
			p = p[n:]
		}
	}
	for d := range 2 {
		out = c.End(out[:0], d == 1)
		collect(d)
	}
	r.info = c.Info()
	return r
}

func keyLogOf(t testing.TB, b []byte) *KeyLog {
	t.Helper()
	k := NewKeyLog()
	if _, err := k.ReadFrom(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return k
}

// script is the application data of the Go sessions: a WebSocket-like
// exchange plus a message spanning several records.
var script = []tlstest.Step{
	{Data: []byte("GET /chat HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\n\r\n")},
	{FromServer: true, Data: []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")},
	{FromServer: true, Data: bytes.Repeat([]byte("0123456789abcdef"), 3000)},
	{Data: []byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1}},
}

func scriptWant() (w [2][]byte) {
	for _, s := range script {
		d := dirIndex(s.FromServer)
		w[d] = append(w[d], s.Data...)
	}
	return w
}

func TestGoSessions(t *testing.T) {
	wantCipher := os.Getenv("TLSDEC_WANT_CIPHER") // set by TestTLS13ChaChaChild
	v12 := func(id uint16, ecdsa bool) tlstest.Config {
		return tlstest.Config{ECDSA: ecdsa, Client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{id}},
			Server: &tls.Config{CipherSuites: []uint16{id}}}
	}
	old := func(v uint16) tlstest.Config {
		return tlstest.Config{
			Client: &tls.Config{MinVersion: v, MaxVersion: v, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}},
			Server: &tls.Config{MinVersion: v},
		}
	}
	tests := []struct {
		name    string
		cfg     tlstest.Config
		godebug string
		version string
		cipher  string
		hrr     bool
	}{
		{name: "tls13", cfg: tlstest.Config{Client: &tls.Config{NextProtos: []string{"h2", "http/1.1"}}, Server: &tls.Config{NextProtos: []string{"http/1.1"}}}, version: "TLS 1.3", cipher: wantCipher},
		{name: "tls13-hrr", cfg: tlstest.Config{Client: &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}, Server: &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}}}, version: "TLS 1.3", cipher: wantCipher, hrr: true},
		{name: "tls13-ecdsa", cfg: tlstest.Config{ECDSA: true}, version: "TLS 1.3", cipher: wantCipher},
		{name: "ecdhe-rsa-aes128-gcm", cfg: v12(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, false), version: "TLS 1.2"},
		{name: "ecdhe-rsa-aes256-gcm", cfg: v12(tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, false), version: "TLS 1.2"},
		{name: "ecdhe-ecdsa-aes128-gcm", cfg: v12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true), version: "TLS 1.2"},
		{name: "ecdhe-ecdsa-aes256-gcm", cfg: v12(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true), version: "TLS 1.2"},
		{name: "ecdhe-rsa-chacha20", cfg: v12(tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, false), version: "TLS 1.2"},
		{name: "ecdhe-ecdsa-chacha20", cfg: v12(tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true), version: "TLS 1.2"},
		{name: "ecdhe-rsa-aes128-cbc-sha", cfg: v12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false), version: "TLS 1.2"},
		{name: "ecdhe-rsa-aes256-cbc-sha", cfg: v12(tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, false), version: "TLS 1.2"},
		{name: "ecdhe-rsa-aes128-cbc-sha256", cfg: v12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, false), version: "TLS 1.2"},
		{name: "ecdhe-ecdsa-aes128-cbc-sha256", cfg: v12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, true), version: "TLS 1.2"},
		{name: "rsa-aes128-gcm", cfg: v12(tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false), godebug: "tlsrsakex=1", version: "TLS 1.2"},
		{name: "rsa-aes256-cbc-sha", cfg: v12(tls.TLS_RSA_WITH_AES_256_CBC_SHA, false), godebug: "tlsrsakex=1", version: "TLS 1.2"},
		{name: "tls11-cbc", cfg: old(tls.VersionTLS11), version: "TLS 1.1"},
		{name: "tls10-cbc", cfg: old(tls.VersionTLS10), version: "TLS 1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.godebug != "" {
				t.Setenv("GODEBUG", strings.TrimPrefix(os.Getenv("GODEBUG")+","+tt.godebug, ","))
			}
			cfg := tt.cfg
			cfg.Steps = script
			res, err := tlstest.Session(cfg)
			if err != nil {
				t.Fatal(err)
			}
			keys := keyLogOf(t, res.KeyLog)
			wantSuite := tls.CipherSuiteName(res.Conns[0].State.CipherSuite)
			for name, split := range splits {
				r := feed(t, NewConn(keys), res.Conns[0].Writes, split)
				checkResult(t, name, r, scriptWant(), nil)
				in := r.info
				if in.Version != tt.version || in.Cipher != wantSuite || (tt.cipher != "" && in.Cipher != tt.cipher) ||
					in.SNI != "example.test" || in.HelloRetry != tt.hrr || !in.Decrypting || in.CloseNotify != [2]bool{true, true} {
					t.Errorf("%s: info %+v, want %s %s (hrr %v)", name, in, tt.version, wantSuite, tt.hrr)
				}
				if tt.cfg.Server != nil && tt.cfg.Server.NextProtos != nil && in.ALPN != "http/1.1" {
					t.Errorf("%s: ALPN %q", name, in.ALPN)
				}
			}
		})
	}
}

func checkResult(t *testing.T, name string, r result, want [2][]byte, codes []Code) {
	t.Helper()
	for d := range 2 {
		if !bytes.Equal(r.data[d], want[d]) {
			t.Errorf("%s: %s data: got %d bytes %.40q, want %d bytes %.40q", name, dirNames[d], len(r.data[d]), r.data[d], len(want[d]), want[d])
		}
	}
	if !slices.Equal(r.codes, codes) {
		t.Errorf("%s: problems %v, want %v", name, r.codes, codes)
	}
}

// TestTLS13ChaChaChild reruns the TLS 1.3 sessions in a child process
// without AES hardware support, where Go negotiates ChaCha20-Poly1305.
func TestTLS13ChaChaChild(t *testing.T) {
	if os.Getenv("TLSDEC_WANT_CIPHER") != "" || testing.Short() {
		t.Skip("child process or -short")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGoSessions$/^tls13", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG="+strings.TrimPrefix(os.Getenv("GODEBUG")+",cpu.aes=off", ","),
		"TLSDEC_WANT_CIPHER=TLS_CHACHA20_POLY1305_SHA256")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestGoSessions/tls13-hrr")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestGoResumption(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			res, err := tlstest.Session(tlstest.Config{Client: &tls.Config{MaxVersion: v}, Steps: script, Conns: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Conns[1].State.DidResume {
				t.Fatal("Go did not resume")
			}
			keys := keyLogOf(t, res.KeyLog)
			for i, conn := range res.Conns {
				r := feed(t, NewConn(keys), conn.Writes, splits["random"])
				checkResult(t, "conn", r, scriptWant(), nil)
				if r.info.Resumed != (i == 1) {
					t.Errorf("conn %d: Resumed = %v", i, r.info.Resumed)
				}
			}
			// Without the first connection, a resumed TLS 1.2 session has
			// no key: Go logs no CLIENT_RANDOM line for it.
			if v == tls.VersionTLS12 {
				r := feed(t, NewConn(keyLogOf(t, res.KeyLog)), res.Conns[1].Writes, splits["whole"])
				checkResult(t, "alone", r, [2][]byte{}, []Code{CodeNoKey})
			}
		})
	}
}

func TestSynthetic(t *testing.T) {
	tests := []struct {
		name string
		s    *session
	}{
		{"tls13-aes128", synth13(suiteByID(0x1301))},
		{"tls13-aes256", synth13(suiteByID(0x1302))},
		{"tls13-chacha", synth13(suiteByID(0x1303))},
		{"tls12-cbc-sha384-etm", synth12(suiteByID(0xC028), versionTLS12, true)},
		{"tls12-cbc-sha-etm", synth12(suiteByID(0xC013), versionTLS12, true)},
		{"tls12-cbc-sha256", synth12(suiteByID(0x003C), versionTLS12, false)},
		{"tls11-cbc-sha-etm", synth12(suiteByID(0x0035), versionTLS11, true)},
		{"tls10-cbc-sha", synth12(suiteByID(0xC014), versionTLS10, false)},
		{"tls10-cbc-sha-etm", synth12(suiteByID(0xC014), versionTLS10, true)},
		{"tls12-dhe-gcm", synth12(suiteByID(0x009F), versionTLS12, false)},
		{"tls12-dhe-chacha", synth12(suiteByID(0xCCAA), versionTLS12, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := keyLogOf(t, tt.s.keylog)
			for name, split := range splits {
				r := feed(t, NewConn(keys), tt.s.writes, split)
				checkResult(t, name, r, tt.s.want, nil)
				if strings.HasPrefix(tt.name, "tls13") && (r.info.KeyUpdates != 2 || r.info.ALPN != "h2" || r.info.CloseNotify != [2]bool{true, true}) {
					t.Errorf("%s: info %+v", name, r.info)
				}
			}
		})
	}
}

// TestProblems checks each problem on transcripts broken on purpose.
func TestProblems(t *testing.T) {
	ss := synth13(suiteByID(0x1301))
	keys := keyLogOf(t, ss.keylog)
	wrong := bytes.Replace(ss.keylog, []byte("SERVER_TRAFFIC_SECRET_0 "+strings.Repeat("c1", 32)+" "), []byte("SERVER_TRAFFIC_SECRET_0 "+strings.Repeat("c1", 32)+" 00"), 1)
	server := func(b ...[]byte) tlstest.Write { return tlstest.Write{FromServer: true, Data: cat(b...)} }
	client := func(b ...[]byte) tlstest.Write { return tlstest.Write{Data: cat(b...)} }
	last := len(ss.writes) - 1
	ch := rec(typeHandshake, versionTLS10, clientHelloMsg(synthCR, []uint16{0x1301}))
	sh13 := rec(typeHandshake, versionTLS12, serverHelloMsg(synthSR, 0x1301, ext(extSupportedVersions, []byte{3, 4})))
	tests := []struct {
		name   string
		keys   *KeyLog
		writes []tlstest.Write
		gap    bool // a gap in the server direction after the writes
		want   [2][]byte
		codes  []Code
	}{
		{"no key", NewKeyLog(), ss.writes, false, [2][]byte{}, []Code{CodeNoKey}},
		{"nil key log", nil, ss.writes, false, [2][]byte{}, []Code{CodeNoKey}},
		{"wrong server key", keyLogOf(t, wrong), ss.writes, false, [2][]byte{ss.want[0], nil}, []Code{CodeAuthFailed}},
		{"truncated", keys, append(slices.Clone(ss.writes[:last]), server(ss.writes[last].Data[:10])), false, ss.want, []Code{CodeTruncated}},
		{"gap", keys, ss.writes[:4], true, [2][]byte{[]byte("client one "), []byte("half-rtt data ")}, []Code{CodeGap}},
		{"midstream", keys, ss.writes[3:], false, [2][]byte{}, []Code{CodeMidstream}},
		{"not tls", keys, []tlstest.Write{client([]byte("GET / HTTP/1.1\r\n"))}, false, [2][]byte{}, []Code{CodeMidstream}},
		{"bad header", keys, []tlstest.Write{client(ch, []byte("GET / HTTP/1.1\r\n"))}, false, [2][]byte{}, []Code{CodeMalformed}},
		{"record too long", keys, []tlstest.Write{client(ch, []byte{22, 3, 1, 0x48, 0x01})}, false, [2][]byte{}, []Code{CodeMalformed}},
		{"plaintext alert in tls13", keys, []tlstest.Write{client(ch), server(sh13), client(rec(typeAlert, versionTLS12, []byte{2, 47}))}, false, [2][]byte{}, []Code{CodeAlert}},
		{"handshake too long", keys, []tlstest.Write{client(rec(typeHandshake, versionTLS10, []byte{1, 0xff, 0, 0}))}, false, [2][]byte{}, []Code{CodeMalformed}},
		{"bad client hello", keys, []tlstest.Write{client(rec(typeHandshake, versionTLS10, hsMsg(hsClientHello, []byte{3, 3, 0})))}, false, [2][]byte{}, []Code{CodeMalformed}},
		{"alert", keys, []tlstest.Write{client(ch), server(rec(typeAlert, versionTLS12, []byte{2, 40}))}, false, [2][]byte{}, []Code{CodeAlert}},
		{"unsupported cipher", keys, []tlstest.Write{client(ch), server(rec(typeHandshake, versionTLS12, serverHelloMsg(synthSR, 0x000A)), rec(typeCCS, versionTLS12, []byte{1}), rec(typeHandshake, versionTLS12, make([]byte, 40)))}, false, [2][]byte{}, []Code{CodeUnsupportedCipher}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, split := range splits {
				c := NewConn(tt.keys)
				r := feed(t, c, tt.writes, split)
				if tt.gap {
					for _, o := range c.Gap(nil, true, 100) {
						r.codes = append(r.codes, o.Problem.Code)
					}
					if out := c.Feed(nil, true, ss.writes[last].Data); len(out) != 0 {
						t.Errorf("%s: output after gap: %v", name, out)
					}
				}
				checkResult(t, name, r, tt.want, tt.codes)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"\x16", 0},
		{"\x16\x03\x01\x02", 0},
		{"\x16\x03\x01\x02\x00", 0},
		{"\x16\x03\x01\x02\x00\x01", 1},
		{"\x16\x03\x03\x00\x10\x01\x00", 1},
		{"GET / HTTP/1.1", -1},
		{"\x17\x03\x03\x00\x10", -1},
		{"\x16\x02\x01", -1},
		{"\x16\x03\x09", -1},
		{"\x16\x03\x01\x00\x00", -1},
		{"\x16\x03\x01\x48\x01", -1},
		{"\x16\x03\x01\x02\x00\x02", -1},
	}
	for _, tt := range tests {
		if got := Detect([]byte(tt.in)); got != tt.want {
			t.Errorf("Detect(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestCatalogue(t *testing.T) {
	for _, c := range Codes() {
		sev, ref, meaning, ok := c.Info()
		if !ok || ref == "" || meaning == "" || !strings.HasPrefix(string(c), "tls_") || sev > SeverityError {
			t.Errorf("code %q: %v %q %q %v", c, sev, ref, meaning, ok)
		}
	}
	if len(Codes()) != 8 {
		t.Errorf("%d codes", len(Codes()))
	}
}

// TestEarlyData: 0-RTT records (before and after the ServerHello) are
// skipped without a problem, and the rest decrypts.
func TestEarlyData(t *testing.T) {
	s := suiteByID(0x1301)
	ss := synth13(s)
	early := newCipher13(s, secret("early", 32))
	ch := rec(typeHandshake, versionTLS10, clientHelloMsg(synthCR, []uint16{s.id}, ext(extEarlyData, nil), ext(extSupportedVersions, []byte{2, 3, 4})))
	writes := []tlstest.Write{
		{Data: cat(ch, early.seal(typeAppData, []byte("0-rtt"), 0))},
		ss.writes[1],
		{Data: cat(early.seal(typeAppData, []byte("more 0-rtt"), 0), early.seal(typeHandshake, hsMsg(5, nil), 0))},
	}
	writes = append(writes, ss.writes[2:]...)
	for name, split := range splits {
		r := feed(t, NewConn(keyLogOf(t, ss.keylog)), writes, split)
		checkResult(t, name, r, ss.want, nil)
		if !r.info.EarlyData {
			t.Errorf("%s: EarlyData not set", name)
		}
	}
}

// flipSecrets returns a copy of the key log b with the first byte of every
// secret changed: the client randoms still match, the keys are wrong.
func flipSecrets(t testing.TB, b []byte) []byte {
	t.Helper()
	var out []byte
	n := 0
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 3 && !bytes.HasPrefix(f[0], []byte("#")) {
			x := bytes.Clone(f[2])
			if x[0] == '0' {
				x[0] = '1'
			} else {
				x[0] = '0'
			}
			line = []byte(string(f[0]) + " " + string(f[1]) + " " + string(x) + "\n")
			n++
		}
		out = append(out, line...)
	}
	if n == 0 {
		t.Fatalf("no secret in key log %q", b)
	}
	return out
}

// TestWrongKeys: with a key log whose client randoms match but whose
// secrets are wrong, records fail authentication (tls_auth_failed, both
// directions), nothing is decrypted, and Info never says Decrypting, not
// even when the first problem is reported (which is when the tls event is
// made).
func TestWrongKeys(t *testing.T) {
	v12 := func(id uint16) tlstest.Config {
		return tlstest.Config{Client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{id}},
			Server: &tls.Config{CipherSuites: []uint16{id}}}
	}
	for _, tc := range []struct {
		name string
		cfg  tlstest.Config
	}{
		{"tls13", tlstest.Config{}},
		{"tls12-gcm", v12(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)},
		{"tls12-cbc", v12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)},
		{"tls12-chacha20", v12(tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Steps = script
			res, err := tlstest.Session(cfg)
			if err != nil {
				t.Fatal(err)
			}
			good, bad := keyLogOf(t, res.KeyLog), keyLogOf(t, flipSecrets(t, res.KeyLog))
			if in := feed(t, NewConn(good), res.Conns[0].Writes, splits["whole"]).info; !in.Decrypting {
				t.Fatalf("right keys: info %+v", in)
			}
			c := NewConn(bad)
			var out []Output
			var codes []Code
			firstProblem := false
			for _, w := range res.Conns[0].Writes {
				out = c.Feed(out[:0], w.FromServer, w.Data)
				for _, o := range out {
					if o.Problem == nil {
						t.Fatalf("wrong keys decrypted %d bytes: %.40q", len(o.Data), o.Data)
					}
					codes = append(codes, o.Problem.Code)
					if !firstProblem && c.Info().Decrypting {
						t.Errorf("at the first problem (%s) Info says Decrypting", o.Problem.Code)
					}
					firstProblem = true
				}
			}
			if want := []Code{CodeAuthFailed, CodeAuthFailed}; !slices.Equal(codes, want) {
				t.Errorf("problems %v, want %v", codes, want)
			}
			if in := c.Info(); in.Decrypting || in.AppBytes != [2]int64{} {
				t.Errorf("info %+v: decrypting or app bytes with wrong keys", in)
			}
		})
	}
}
