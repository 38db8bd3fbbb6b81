package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
	"github.com/wscap/wscap/tlsdec"
)

const testKeyLine = "CLIENT_RANDOM 0101010101010101010101010101010101010101010101010101010101010101 " +
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"

func TestOpenKeyLog(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(keys, []byte(testKeyLine), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.txt")
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "SSLKEYLOGFILE" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		path    string
		env     string
		n       int    // client randoms in the key log; -1: nil key log
		wantErr string // "" for none
	}{
		{name: "none", n: -1},
		{name: "flag", path: keys, n: 1},
		{name: "env", env: keys, n: 1},
		{name: "flag wins", path: keys, env: missing, n: 1},
		{name: "flag missing", path: missing, wantErr: "--keylog " + missing + ": open key log: "},
		{name: "env missing", env: missing, n: 0},
		{name: "flag is a directory", path: dir, wantErr: "--keylog " + dir + ": read key log: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := openKeyLog(tt.path, env(tt.env))
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q...", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case tt.n < 0:
				if k != nil {
					t.Errorf("key log %v, want nil", k)
				}
			case k == nil || k.HasSecrets() != (tt.n > 0) || k.Len() != 0:
				// Read when a TLS connection needs it, not before.
				t.Errorf("key log %v: has secrets %v, %d held; want %v, 0", k, k.HasSecrets(), k.Len(), tt.n > 0)
			}
		})
	}

	// A followed file: lines appended later are found by the lookups of
	// later connections (see tlsdec.KeyLog.Follow).
	k, err := openKeyLog("", env(missing))
	if err != nil || k == nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(missing, []byte(testKeyLine), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.Poll(); err != nil || !k.HasSecrets() {
		t.Errorf("after the file appeared: has secrets %v, %v", k.HasSecrets(), err)
	}
}

// runTLS runs a capture file through source, reassembly (with the key log
// file keys, if any, and the capture's own secrets) and the text renderer
// with its summary, as main does.
func runTLS(t *testing.T, file, keys string) ([]decode.Event, string, reassembly.Stats) {
	t.Helper()
	src, err := source.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	kl, err := openKeyLog(keys, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	kl = withCaptureSecrets(kl, src, nil)
	var text bytes.Buffer
	r := output.NewText(&text, output.Options{Timeline: true, Summary: true, All: true})
	var evs []decode.Event
	eng := reassembly.New(reassembly.Config{KeyLog: kl}, func(b []decode.Event) error {
		for _, ev := range b {
			evs = append(evs, ev.Clone())
		}
		return r.Write(b)
	})
	for n := 1; ; n++ {
		p, err := src.Next()
		if err != nil {
			break
		}
		if n == 1 {
			r.SetEpoch(p.Time)
		}
		if err := eng.Packet(n, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return evs, text.String(), eng.Stats()
}

// realSession lists the sha256 of the 18 messages of the session recorded
// in testdata/real (see its README), in order per direction.
var realSession = struct{ client, server []string }{
	client: []string{
		"8c6e26b78a781636db008316deca939aa50dd762b13ca7f2136d242cc3af74c7",
		"d6e35e2a89dc5ab0df83923170cd64ff12efa0c5544fbec48463e076826cc4eb",
		"d6e35e2a89dc5ab0df83923170cd64ff12efa0c5544fbec48463e076826cc4eb",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"e9183d9a79aad8a047b8e67981210d50b01fc75b1edba5bc32ba3d3ec4d5056d",
		"e61cd6236f69c873eb5020587a520f1dfe3f8285671df9ffe99d81646c1fe552",
		"3c06c5d459b6d6136699fc4fe285c72ed97d29819867e016cc2a365e2ecf5b14",
		"cdeb977b07509618335ceaa57b4b76fe3ec9c72f50102f74dcfbab92228ec6fb",
	},
	server: []string{
		"f1433002f9c6a77f97aa0f52dbcb5933883884975ae804695d8150db66d6c9ad",
		"7126528e874901b715486005c5683e217fb0d2b1c1dff9af3c3b91f4817674f0",
		"7126528e874901b715486005c5683e217fb0d2b1c1dff9af3c3b91f4817674f0",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"a9d90634ed6040537ea03841f982c228d485d3fcac3575e7c156bb18864c1366",
		"f99d80286f06b06ac51893f5aa327d0f6b7676b2a6d91292b2fe4b3e82391477",
		"0c458eda79f9cea8eb4daa5158154b19e5a49355e2c0de3d038d504b0d9508d9",
		"980e99eaf56dda22679ce2ea17aa8aad2c5b513cbd5f989f70adb7f3c290cc1d",
		"9e3e337d083e75902fa7e3465ebda31d9267e9c3f9d9f0217a1de029b7c24f47",
		"eff599d3ccb94a1344441260befecfd997409fe0c6d623055bc6d7d2baddc657",
	},
}

// TestRealWSS decodes the wss:// recordings of Chromium, Node and Go
// (testdata/real) with their key logs, and with the keys embedded in the
// pcapng: every message must have the payload the server saw.
func TestRealWSS(t *testing.T) {
	tests := []struct {
		file, keys string
		version    string
		cipher     string
		first      [2]string // sha256 of messages 1 and 2 when the client is not Chromium
		c11, s12   string    // Go's own bulk message and its ack
	}{
		{file: "chromium-wss-tls13", keys: "chromium-wss-tls13", version: "TLS 1.3", cipher: "TLS_AES_256_GCM_SHA384"},
		{file: "chromium-wss-tls13-dsb", version: "TLS 1.3", cipher: "TLS_AES_256_GCM_SHA384"},
		{file: "chromium-wss-tls12", keys: "chromium-wss-tls12", version: "TLS 1.2", cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		{file: "node-wss", keys: "node-wss", version: "TLS 1.3", cipher: "TLS_CHACHA20_POLY1305_SHA256",
			first: [2]string{"42c859f2c990437cfe76a48ba5df5ffeae0c6f07fb9de1abe4bd136bf9f6d137", "a4965f864dbcdb59faa67b94b0b8db0e21bb5926af997b980ccc71afbf7f8d12"}},
		{file: "go-wss", keys: "go-wss", version: "TLS 1.3", cipher: "TLS_AES_128_GCM_SHA256",
			first: [2]string{"f72dc1ed28d01ae70caefc9a560409ba7e99488955799b0d549d08a34e0549d7", "d70da708e8bebd9a002a8fd1ebbc07584919a5d1f9c2f4a9dba163f85dc51809"},
			c11:   "f5767238a0f28265925965dfb5cb875a6a9ebf32cf7f29e91c885558faa709ef", s12: "c4d8afd7cce18042a0b8dd133d46cdf098cc781005643589de34e604d06af6c4"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join("testdata", "real", tt.file+".pcapng")
			if _, err := os.Stat(file); err != nil {
				t.Skipf("no recording: %v", err)
			}
			keys := ""
			if tt.keys != "" {
				keys = filepath.Join("testdata", "real", tt.keys+".keys")
			}
			evs, text, st := runTLS(t, file, keys)
			want := [2][]string{append([]string(nil), realSession.client...), append([]string(nil), realSession.server...)}
			if tt.first[0] != "" {
				want[0][0], want[1][0] = tt.first[0], tt.first[1]
			}
			if tt.c11 != "" {
				want[0][5], want[1][5] = tt.c11, tt.s12
			}
			var got [2][]string
			var tlsEvs []*decode.TLSInfo
			for _, ev := range evs {
				switch ev.Kind {
				case decode.KindTLS:
					tlsEvs = append(tlsEvs, ev.TLS)
				case decode.KindMessage:
					if ev.Message.Truncated || ev.Message.DecodeError != "" {
						t.Errorf("message %+v", ev.Message)
					}
					sum := sha256.Sum256(ev.Message.Payload)
					d := 0
					if ev.From == decode.RoleServer {
						d = 1
					}
					got[d] = append(got[d], hex.EncodeToString(sum[:]))
				case decode.KindAnomaly:
					if ev.Anomaly.Severity >= decode.SeverityWarning {
						t.Errorf("anomaly %s: %s", ev.Anomaly.Code, ev.Anomaly.Detail)
					}
				}
			}
			for d := range 2 {
				if strings.Join(got[d], " ") != strings.Join(want[d], " ") {
					t.Errorf("direction %d: messages\n got %v\nwant %v", d, got[d], want[d])
				}
			}
			if len(tlsEvs) != 1 || tlsEvs[0].Version != tt.version || tlsEvs[0].Cipher != tt.cipher || tlsEvs[0].SNI != "wscap.test" || !tlsEvs[0].Decrypted {
				for _, in := range tlsEvs {
					t.Logf("tls %+v", *in)
				}
				t.Errorf("tls events: want one, %s %s sni=wscap.test decrypted", tt.version, tt.cipher)
			}
			if st.TLS != 1 || st.TLSDecrypted != 1 || st.WebSocket != 1 {
				t.Errorf("stats %+v", st)
			}
			if !strings.Contains(text, " tls: "+tt.version+" "+tt.cipher+" sni=wscap.test") {
				t.Errorf("the legend does not show the TLS session:\n%.2000s", text)
			}
			if testing.Verbose() {
				t.Logf("%s", text)
			}
		})
	}
}

// TestRealWSSNoKeys: without a key log a wss recording is one tls row, an
// end row per direction (at its FIN, which dates the connection's duration)
// and a line under the summary; with a key log that lacks its keys, one
// tls_no_key anomaly too; with wrong keys, a tls_auth_failed anomaly per
// direction, and nothing says decrypted.
func TestRealWSSNoKeys(t *testing.T) {
	file := filepath.Join("testdata", "real", "chromium-wss-tls13.pcapng")
	if _, err := os.Stat(file); err != nil {
		t.Skipf("no recording: %v", err)
	}
	other := filepath.Join(t.TempDir(), "other.keys")
	if err := os.WriteFile(other, []byte(testKeyLine), 0o600); err != nil {
		t.Fatal(err)
	}
	// The recording's own key log with every secret's last hex digit
	// changed: the client random matches, the keys are wrong.
	good, err := os.ReadFile(strings.TrimSuffix(file, ".pcapng") + ".keys")
	if err != nil {
		t.Fatal(err)
	}
	var bad []byte
	for _, line := range strings.SplitAfter(string(good), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			last := byte('0')
			if strings.HasSuffix(f[2], "0") {
				last = '1'
			}
			line = f[0] + " " + f[1] + " " + f[2][:len(f[2])-1] + string(last) + "\n"
		}
		bad = append(bad, line...)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.keys")
	if err := os.WriteFile(wrong, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		keys, line string
		anomalies  int
	}{
		{"", "1 TLS connection not decrypted: no key log", 0},
		{other, "1 TLS connection not decrypted: no key in the key log", 1},
		{wrong, "1 TLS connection not decrypted: records fail authentication", 2},
	} {
		evs, text, st := runTLS(t, file, tt.keys)
		var kinds []string
		for _, ev := range evs {
			kinds = append(kinds, ev.Kind.String())
		}
		want := "tls" + strings.Repeat(" anomaly", tt.anomalies) + " end end"
		if strings.Join(kinds, " ") != want || st.TLS != 1 || st.TLSDecrypted != 0 || st.WebSocket != 0 {
			t.Errorf("keys %q: events %v, stats %+v; want %s", tt.keys, kinds, st, want)
		}
		if !strings.Contains(text, "\n"+tt.line) || !strings.Contains(text, "(not decrypted)") {
			t.Errorf("keys %q: output lacks %q:\n%s", tt.keys, tt.line, text)
		}
		// The duration runs to the connection's last FIN (packet 59, 0.143555 s
		// after the ServerHello that made the tls event), not 0.
		if !strings.Contains(text, "| 0.143555 |") {
			t.Errorf("keys %q: the summary's duration is not the connection's:\n%s", tt.keys, text)
		}
	}
}

// TestCaptureSecretsNil: a pcap (not pcapng) source gets a key log only
// when one was given.
func TestCaptureSecretsNil(t *testing.T) {
	k := tlsdec.NewKeyLog()
	if got := withCaptureSecrets(k, nil, nil); got != k {
		t.Error("withCaptureSecrets replaced the key log of a source without secrets")
	}
	if got := withCaptureSecrets(nil, nil, nil); got != nil {
		t.Error("withCaptureSecrets made a key log for a source without secrets")
	}
}

// TestRealWSSTShark compares the frames decrypted from the recordings with
// tshark's, given the same key log (opcode and 7-bit length field of each
// frame, in capture order).
func TestRealWSSTShark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	for _, name := range []string{"chromium-wss-tls13", "chromium-wss-tls12", "node-wss", "go-wss"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("testdata", "real", name+".pcapng")
			keys := filepath.Join("testdata", "real", name+".keys")
			if _, err := os.Stat(file); err != nil {
				t.Skipf("no recording: %v", err)
			}
			out, err := exec.Command(tshark, "-r", file, "-o", "tls.keylog_file:"+keys, "-Y", "websocket",
				"-T", "fields", "-e", "websocket.opcode", "-e", "websocket.payload_length").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			var theirs []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(l, "\t")
				if len(f) != 2 {
					continue
				}
				ops, lens := strings.Split(f[0], ","), strings.Split(f[1], ",")
				for i := range min(len(ops), len(lens)) {
					theirs = append(theirs, ops[i]+"/"+lens[i])
				}
			}
			evs, _, _ := runTLS(t, file, keys)
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
					ours = append(ours, strconv.Itoa(int(ev.Frame.Opcode))+"/"+strconv.FormatUint(n, 10))
				}
			}
			if strings.Join(ours, " ") != strings.Join(theirs, " ") {
				t.Errorf("frames (opcode/length field):\n ours   %v\n tshark %v", ours, theirs)
			}
			t.Logf("%d frames", len(ours))
		})
	}
}

// TestNotWebSocketHidden: a TLS connection that is not WebSocket (here:
// not decrypted) is left out of the timeline and the summary unless --all,
// with one stderr line saying what was left out, for any -j.
func TestNotWebSocketHidden(t *testing.T) {
	file := filepath.Join("testdata", "real", "chromium-wss-tls13.pcapng")
	if _, err := os.Stat(file); err != nil {
		t.Skipf("no recording: %v", err)
	}
	t.Setenv("SSLKEYLOGFILE", "")
	note := "wscap: not shown (--all shows them): 1 TLS connection not decrypted: no key log"
	outs := map[string]string{}
	for _, j := range []string{"1", "4"} {
		for _, extra := range [][]string{nil, {"--all"}, {"--all", "--json", "--summary"}} {
			var out bytes.Buffer
			if err := run(context.Background(), append([]string{"-r", file, "-j", j}, extra...), &out, new(bytes.Buffer)); err != nil {
				t.Fatal(err)
			}
			k := strings.Join(extra, " ")
			if prev, ok := outs[k]; ok && prev != out.String() {
				t.Errorf("%s: -j 1 and -j %s differ:\n%s\n%s", k, j, prev, out.String())
			}
			outs[k] = out.String()
		}
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"-r", file, "-j", j}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "#1") || strings.Contains(out.String(), "TLS") {
			t.Errorf("-j %s: a TLS connection that is not WebSocket is shown:\n%s", j, out.String())
		}
		if !strings.Contains(errb.String(), note) {
			t.Errorf("-j %s: stderr lacks %q:\n%s", j, note, errb.String())
		}
		out.Reset()
		errb.Reset()
		if err := run(context.Background(), []string{"-r", file, "-j", j, "--all"}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "--- TLS") || !strings.Contains(out.String(), "| #1 ") || strings.Contains(errb.String(), "not shown") {
			t.Errorf("-j %s --all: the TLS connection is not shown:\n%s\n%s", j, out.String(), errb.String())
		}
		out.Reset()
		errb.Reset()
		if err := run(context.Background(), []string{"-r", file, "-j", j, "--json"}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), `"type":"tls"`) {
			t.Errorf("-j %s --json: JSON Lines lost the tls event:\n%s", j, out.String())
		}
	}
}

func TestKeyLogWarning(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.keys")
	os.WriteFile(empty, nil, 0o600)
	junk := filepath.Join(dir, "junk.keys")
	os.WriteFile(junk, []byte("# comments only\n"), 0o600)
	full := filepath.Join(dir, "full.keys")
	os.WriteFile(full, []byte(testKeyLine), 0o600)
	missing := filepath.Join(dir, "missing.keys")
	for _, tt := range []struct {
		name, flag, env string
		tls             int
		want            string
	}{
		{"nothing named", "", "", 3, ""},
		{"env missing, no TLS", "", missing, 0, ""},
		{"env missing", "", missing, 1, "wscap: warning: SSLKEYLOGFILE names " + missing + ", which does not exist: the TLS connection was not decrypted"},
		{"env empty", "", empty, 2, "wscap: warning: SSLKEYLOGFILE names " + empty + ", which is empty: the 2 TLS connections were not decrypted"},
		{"flag empty, no TLS", empty, "", 0, "wscap: warning: --keylog " + empty + " is empty"},
		{"flag without secrets", junk, "", 1, "wscap: warning: --keylog names " + junk + ", which holds no TLS secrets"},
		{"flag with secrets", full, "", 1, ""},
	} {
		getenv := func(k string) string {
			if k == "SSLKEYLOGFILE" {
				return tt.env
			}
			return ""
		}
		keys, err := openKeyLog(tt.flag, getenv)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if keys != nil && tt.tls > 0 {
			keys.Poll() // a TLS connection's lookup reads the key log (it is read lazily)
		}
		got := keyLogWarning(tt.flag, getenv, keys, tt.tls)
		if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: warning %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestHintLine(t *testing.T) {
	var st reassembly.Stats
	if got := hintLine(&st); got != "" {
		t.Errorf("no hints: %q", got)
	}
	for _, p := range []uint16{9000, 80, 65535, 9001, 9002, 9003} {
		st.HintPorts.Add(p)
	}
	st.Hinted = 7
	want := "wscap: hint: ports 80, 9000, 9001, 9002, 9003 and 1 more carry what look like WebSocket frames without a handshake (7 connections): try -d 80,9000,9001,9002,9003"
	if got := hintLine(&st); got != want {
		t.Errorf("hint %q, want %q", got, want)
	}
	var a, b reassembly.Stats
	a.Hinted, b.Hinted = 1, 2
	a.HintPorts.Add(7000)
	b.HintPorts.Add(7000)
	b.HintPorts.Add(65535)
	a.Add(b)
	if got := a.HintPorts.Ports(); a.Hinted != 3 || len(got) != 2 || got[0] != 7000 || got[1] != 65535 {
		t.Errorf("Add: %d hinted, ports %v", a.Hinted, got)
	}
}

func TestUseColor(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	var buf bytes.Buffer
	for _, tt := range []struct {
		when, noColor string
		want          bool
	}{
		{"always", "1", true},
		{"never", "", false},
		{"auto", "", false}, // not a terminal
		{"auto", "1", false},
	} {
		if got := useColor(tt.when, &buf, env(tt.noColor)); got != tt.want {
			t.Errorf("--color %s, NO_COLOR=%q: %v", tt.when, tt.noColor, got)
		}
	}
}
