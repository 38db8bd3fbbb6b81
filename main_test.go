package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wscap/wscap/capture"
	"github.com/wscap/wscap/internal/flowgen"
)

// seg is one TCP segment of the test session: from the client or not.
type seg struct {
	client  bool
	flags   string
	payload string
}

const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

func accept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// frame encodes a short FIN frame, masked or not.
func frame(op byte, masked bool, payload string) string {
	b := []byte{0x80 | op, byte(len(payload))}
	p := []byte(payload)
	if masked {
		b[1] |= 0x80
		key := []byte{1, 2, 3, 4}
		b = append(b, key...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return string(append(b, p...))
}

// session is a WebSocket session; the client's second frame is unmasked
// when unmasked is set (an RFC 6455 error).
func session(unmasked bool) []seg {
	return []seg{
		{true, "S", ""}, {false, "SA", ""}, {true, "A", ""},
		{true, "PA", "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"},
		{false, "PA", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + accept(testKey) + "\r\n\r\n"},
		{true, "PA", frame(1, true, "Hello")},
		{false, "PA", frame(1, false, "Hello")},
		{true, "PA", frame(1, !unmasked, "again")},
		{false, "PA", frame(1, false, "again")},
	}
}

// writeCapture writes segs as an Ethernet pcap and returns its path.
func writeCapture(t *testing.T, segs []seg) string {
	t.Helper()
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	cli, srv := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	next := map[bool]uint32{true: 1000, false: 9000}
	ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for i, s := range segs {
		src, dst, sp, dp := cli, srv, layers.TCPPort(40000), layers.TCPPort(8080)
		if !s.client {
			src, dst, sp, dp = srv, cli, dp, sp
		}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: next[s.client], Ack: next[!s.client], Window: 65535,
			SYN: strings.Contains(s.flags, "S"), ACK: strings.Contains(s.flags, "A"),
			PSH: strings.Contains(s.flags, "P"), FIN: strings.Contains(s.flags, "F")}
		tcp.SetNetworkLayerForChecksum(ip)
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		buf := gopacket.NewSerializeBuffer()
		err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, tcp, gopacket.Payload(s.payload))
		if err != nil {
			t.Fatal(err)
		}
		next[s.client] += uint32(len(s.payload))
		if tcp.SYN || tcp.FIN {
			next[s.client]++
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "session.pcap")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = exitCode(run(context.Background(), args, &o, &e), &e)
	return code, o.String(), e.String()
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "page.pcap")
	os.WriteFile(html, []byte("<!DOCTYPE html>\n<html></html>\n"), 0o644)
	good := writeCapture(t, session(false))
	bad := writeCapture(t, session(true))
	full, _ := os.ReadFile(good)
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, full[:len(full)-20], 0o644)
	lying := filepath.Join(dir, "lying.pcap") // a last record that claims 4 GB
	os.WriteFile(lying, append(full, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 0o644)
	empty := filepath.Join(dir, "empty.keys")
	os.WriteFile(empty, nil, 0o644)
	midstream := filepath.Join("testdata", "midstream.pcapng")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring of stdout ("" = must be empty)
		stderr string // substring of stderr ("" = must be empty)
	}{
		{"help", []string{"-h"}, 0, "Examples:", ""},
		{"help long", []string{"--help", "-r", "x"}, 0, "wscap -r capture.pcap --json", ""},
		{"version", []string{"--version"}, 0, "wscap ", ""},
		{"unknown flag", []string{"--bogus"}, 2, "", "wscap: unknown flag: --bogus\nTry 'wscap --help'"},
		{"unknown shorthand", []string{"-Q"}, 2, "", "wscap: unknown shorthand flag: 'Q'"},
		{"no -r", nil, 2, "", "wscap: no capture to read: use -r FILE (or -r - for standard input), or -i INTERFACE to capture live"},
		{"positional", []string{"capture.pcap"}, 2, "", `unexpected argument "capture.pcap" (to read a capture, use -r capture.pcap)`},
		{"missing file", []string{"-r", filepath.Join(dir, "nope.pcap")}, 1, "", "wscap: open " + filepath.Join(dir, "nope.pcap") + ": no such file or directory"},
		{"not a capture", []string{"-r", html}, 1, "", "wscap: read " + html + ": not a pcap or pcapng file (starts with 3c21444f)"},
		{"fail-on bogus", []string{"-r", good, "--fail-on", "bogus"}, 2, "", `invalid --fail-on "bogus"`},
		{"time bogus", []string{"-r", good, "-t", "later"}, 2, "", `invalid --time "later"`},
		{"max-payload bogus", []string{"-r", good, "--max-payload", "12Q"}, 2, "", `invalid --max-payload "12Q"`},
		{"max-head zero", []string{"-r", good, "--max-head", "0"}, 2, "", `invalid --max-head "0"`},
		{"memcap too small", []string{"-r", good, "--memcap", "1MiB"}, 2, "", `invalid --memcap "1MiB": must be at least 16MiB`},
		{"memcap not a size", []string{"-r", good, "--memcap", "lots"}, 2, "", `invalid --memcap "lots"`},
		{"memcap off", []string{"-r", good, "--memcap", "0", "--no-summary"}, 0, "", ""},
		{"conn-timeout too short", []string{"-r", good, "--conn-timeout", "10ms"}, 2, "", `invalid --conn-timeout 10ms`},
		{"max-inflate zero", []string{"-r", good, "--max-inflate", "0"}, 2, "", "invalid --max-inflate"},
		{"decode-as bogus", []string{"-r", good, "-d", "80,70000"}, 2, "", `invalid --decode-as port "70000"`},
		{"count zero", []string{"-r", good, "-c", "0"}, 2, "", "invalid --count 0"},
		{"summary conflict", []string{"-r", good, "--summary", "--no-summary"}, 2, "", "contradict"},
		{"ok", []string{"-r", good, "--max-payload", "64KiB", "-d", "80", "-d", "81,82", "-t", "absolute"}, 0, "HANDSHAKE", ""},
		{"json", []string{"-r", good, "--json"}, 0, `"type":"handshake"`, ""},
		{"anomalies are not failures", []string{"-r", bad}, 0, "client_frame_unmasked", ""},
		{"fail-on error", []string{"-r", bad, "--fail-on", "error"}, 3, "client_frame_unmasked", "wscap: 1 anomaly at or above error level (--fail-on)"},
		{"fail-on warn", []string{"-r", bad, "--fail-on", "warn"}, 3, "client_frame_unmasked", "at or above warning level"},
		{"fail-on clean", []string{"-r", good, "--fail-on", "warning"}, 0, "HANDSHAKE", ""},
		{"stats", []string{"-r", good, "--stats", "--no-summary"}, 0, "HANDSHAKE", "wscap: 9 packets, "},
		{"count", []string{"-r", good, "--stats", "-c", "5"}, 0, "HANDSHAKE", "wscap: 5 packets, "},
		{"damaged", []string{"-r", cut, "--json"}, 1, `"type":"handshake"`, "wscap: read " + cut + ": packet 9: record at byte"},
		{"lying record", []string{"-r", lying}, 1, "HANDSHAKE", "wscap: read " + lying + ": packet 10: record at byte " + strconv.Itoa(len(full)) + ": record claims 4294967295 bytes, more than the"},
		{"-r and -i", []string{"-r", good, "-i", "lo"}, 2, "", "wscap: -r and -i exclude each other"},
		{"snaplen with -r", []string{"-r", good, "-s", "100"}, 2, "", "wscap: --snaplen applies to live capture (-i) only"},
		{"duration with -r", []string{"-r", good, "--duration", "1s"}, 2, "", "wscap: --duration applies to live capture (-i) only"},
		{"no-promiscuous with -r", []string{"-r", good, "-p"}, 2, "", "wscap: --no-promiscuous applies to live capture (-i) only"},
		{"buffer-size with -r", []string{"-r", good, "--buffer-size", "4M"}, 2, "", "wscap: --buffer-size applies to live capture (-i) only"},
		{"duration negative", []string{"-i", "lo", "--duration", "-1s"}, 2, "", "invalid --duration -1s"},
		{"duration bogus", []string{"-i", "lo", "--duration", "soon"}, 2, "", `invalid argument "soon" for "--duration"`},
		{"snaplen too big", []string{"-i", "lo", "-s", "300000"}, 2, "", "invalid --snaplen 300000: must be 0-262144"},
		{"buffer-size bogus", []string{"-i", "lo", "--buffer-size", "1Q"}, 2, "", `invalid --buffer-size "1Q"`},
		{"buffer-size tiny", []string{"-i", "lo", "--buffer-size", "1K"}, 2, "", "must be 64KiB-1GiB"},
		{"write stdout", []string{"-r", good, "-w", "-"}, 2, "", "-w - is not supported"},
		{"write over read", []string{"-r", good, "-w", good}, 2, "", "would overwrite the capture being read"},
		{"positional filter", []string{"-i", "lo", "tcp", "port", "80"}, 2, "", `unexpected argument "tcp" (a capture filter goes in -f: -f 'tcp port 80')`},
		{"list interfaces", []string{"-D"}, 0, "1.", ""},
		{"frames and messages", []string{"-r", good, "--frames", "--messages"}, 2, "", "--frames and --messages exclude each other"},
		{"messages with json", []string{"-r", good, "--messages", "--json"}, 2, "", "JSON Lines (--json) always carries every event"},
		{"follow with json", []string{"-r", good, "--follow", "1", "--json"}, 2, "", "--follow is a text view"},
		{"follow with -V", []string{"-r", good, "--follow", "all", "-V"}, 2, "", "-V and -x apply to the timeline only"},
		{"follow with --frames", []string{"-r", good, "--follow", "all", "--frames"}, 2, "", "--follow replaces the timeline"},
		{"follow bogus", []string{"-r", good, "--follow", "x"}, 2, "", `invalid --follow "x"`},
		{"follow zero", []string{"-r", good, "--follow", "0"}, 2, "", `invalid --follow "0"`},
		{"follow missing", []string{"-r", good, "--follow", "1,99"}, 0, "] #1 handshake: GET", "wscap: warning: --follow #99: the capture has one connection, #1\n"},
		{"follow h2 stream", []string{"-r", "testdata/real/h2/node-h2c.pcapng", "--follow", "1/5"}, 0, "#1/5 server -> client: text, 80 bytes", ""},
		// Connection 1 carries the WebSockets; connection 2 is the one
		// Chromium opened without using it.
		{"h2 connections not counted as not WebSocket", []string{"-r", "testdata/real/h2/chromium-h2-wss.pcapng", "--keylog", "testdata/real/h2/chromium-h2-wss.keys", "--no-summary"}, 0, "#1/5",
			"wscap: not shown (--all shows them): 1 decrypted TLS connection was HTTP/2 or HTTPS, not WebSocket\n"},
		{"follow h2 stream bogus", []string{"-r", good, "--follow", "1/x"}, 2, "", `invalid --follow "1/x"`},
		{"pretty alone", []string{"-r", good, "--pretty"}, 2, "", "--pretty applies to --follow and -V only"},
		{"follow", []string{"-r", good, "--follow", "#1,2"}, 0, "] #1 handshake: GET", "wscap: warning: --follow #2: the capture has one connection, #1\n"},
		{"follow no summary", []string{"-r", good, "--follow", "all"}, 0, "] #1 client -> server: ", ""},
		{"messages", []string{"-r", good, "--messages", "--no-summary"}, 0, "C>S TEXT", ""},
		{"read twice", []string{"-r", good, "-r", bad}, 2, "", "wscap: -r given twice (\"" + good + "\" and \"" + bad + "\"): wscap reads one capture"},
		{"read twice long", []string{"--read", good, "-r", good}, 2, "", "-r given twice"},
		{"filter twice", []string{"-r", good, "-f", "port 1", "-f", "port 2"}, 2, "", `-f given twice ("port 1" and "port 2"): the capture filter is one expression (combine them: -f 'A and B')`},
		{"keylog twice", []string{"-r", good, "--keylog", empty, "--keylog", empty}, 2, "", "--keylog given twice"},
		{"json and -V", []string{"-r", good, "--json", "-V"}, 2, "", "-V and --json cannot be combined"},
		{"json and -x", []string{"-r", good, "-x", "--json"}, 2, "", "-x and --json cannot be combined"},
		{"json and -t", []string{"-r", good, "--json", "-t", "absolute"}, 2, "", "-t and --json cannot be combined"},
		{"json and color always", []string{"-r", good, "--json", "--color", "always"}, 2, "", "--color always and --json cannot be combined"},
		{"json and color never", []string{"-r", good, "--json", "--color", "never"}, 0, `"type":"handshake"`, ""},
		{"json summary", []string{"-r", good, "--json", "--summary"}, 0, `"type":"summary"`, ""},
		{"json all", []string{"-r", good, "--json", "--all"}, 2, "", "--all with --json needs --summary"},
		{"json all summary", []string{"-r", good, "--json", "--all", "--summary"}, 0, `"type":"summary"`, ""},
		{"hex without summary", []string{"-r", good, "-x", "--no-summary"}, 0, "HANDSHAKE", ""},
		{"color bogus", []string{"-r", good, "--color", "sometimes"}, 2, "", `invalid --color "sometimes": want auto, always or never`},
		{"color always", []string{"-r", good, "--color", "always"}, 0, "\x1b[", ""},
		{"all", []string{"-r", good, "--all"}, 0, "HANDSHAKE", ""},
		{"midstream hint", []string{"-r", midstream}, 0, "(no WebSocket connections)",
			"wscap: no WebSocket connection in 10 packets: 1 TCP connection\n" +
				"wscap: hint: port 7000 carries what look like WebSocket frames without a handshake (1 connection): try -d 7000\n"},
		{"midstream decoded as", []string{"-r", midstream, "-d", "7000"}, 0, "(midstream)", ""},
		{"empty keylog", []string{"-r", good, "--keylog", empty}, 0, "HANDSHAKE", "wscap: warning: --keylog " + empty + " is empty\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.code, stderr)
			}
			if tt.stdout == "" && stdout != "" && (code == 1 || code == 2) {
				t.Errorf("stdout not empty: %q", stdout)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if tt.stderr == "" && stderr != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"100", 100, true}, {"64KiB", 64 << 10, true}, {"64k", 64 << 10, true},
		{"1M", 1 << 20, true}, {"1MiB", 1 << 20, true}, {"2 MB", 2 << 20, true}, {"1G", 1 << 30, true},
		{"", 0, false}, {"MiB", 0, false}, {"-1", 0, false}, {"1.5M", 0, false}, {"1T", 0, false},
		{"99999999999999999999", 0, false}, {"2000G", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestReadFilter applies capture filters to a file (-r -f), also with -c
// and -w.
func TestReadFilter(t *testing.T) {
	if capture.Compiler() == "" {
		t.Skip("no filter compiler: neither tcpdump on PATH nor a -tags pcap build")
	}
	good := writeCapture(t, session(false))
	_, all, _ := runCLI("-r", good, "--json")
	out := filepath.Join(t.TempDir(), "out.pcapng")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // "=" for the unfiltered output
		stderr string
	}{
		{"port matches", []string{"-f", "tcp port 8080", "--json"}, 0, "=", ""},
		{"host matches", []string{"-f", "host 10.0.0.1 and host 10.0.0.2", "--json"}, 0, "=", ""},
		{"nothing matches", []string{"-f", "tcp port 9999", "--json"}, 0, "", ""},
		// Packet numbers are the file's, whatever -f hides: the 101 is packet 5.
		{"server side only", []string{"-f", "src host 10.0.0.2", "--json"}, 0, `"response_pkt":5`, ""},
		{"count after filter", []string{"-f", "src host 10.0.0.1", "-c", "2", "--stats", "--json"}, 0, "", "wscap: 2 packets, "},
		{"syntax error", []string{"-f", "tcp prot 80"}, 2, "", `wscap: invalid filter "tcp prot 80": `},
		{"write filtered", []string{"-f", "tcp port 8080", "-w", out, "--json"}, 0, "=", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"-r", good}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, stderr)
			}
			switch tt.stdout {
			case "=":
				if stdout != all {
					t.Errorf("stdout differs from the unfiltered run:\n%s", stdout)
				}
			case "":
				if stdout != "" {
					t.Errorf("stdout not empty:\n%s", stdout)
				}
			default:
				if !strings.Contains(stdout, tt.stdout) {
					t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
				}
			}
			if tt.stderr == "" && stderr != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
		})
	}
	// The -w file holds the packets that passed: it decodes the same.
	if code, stdout, stderr := runCLI("-r", out, "--json"); code != 0 || stdout != all {
		t.Errorf("-r of the -w file: exit %d, %s\n%s", code, stderr, stdout)
	}
}

// TestStdin reads the capture from standard input.
func TestStdin(t *testing.T) {
	f, err := os.Open(writeCapture(t, session(false)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	code, stdout, stderr := runCLI("-r", "-", "--json")
	if code != 0 || !strings.Contains(stdout, `"type":"frame"`) {
		t.Errorf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
}

// TestInterrupt checks that a cancelled run still flushes and exits 0.
func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var o, e bytes.Buffer
	err := run(ctx, []string{"-r", writeCapture(t, session(false))}, &o, &e)
	if code := exitCode(err, &e); code != 0 {
		t.Errorf("exit %d: %s", code, e.String())
	}
}

func smokeCorpusDir(t *testing.T) string {
	dir := os.Getenv("WSCAP_CORPUS")
	if dir == "" {
		dir = "/work/shared/corpus"
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no corpus at %s (set WSCAP_CORPUS)", dir)
	}
	return dir
}

// TestCorpusSmoke runs a few real captures of different link types and
// formats: exit 0, and every JSON line parses.
func TestCorpusSmoke(t *testing.T) {
	dir := smokeCorpusDir(t)
	for _, name := range []string{
		"zeek/reply-ping-coalesced.pcap",           // Ethernet pcap
		"suricata-verify/websocket-ping.pcap",      // Linux SLL
		"jaysenlestari-ctf/mimpi-capture.pcap",     // Linux SLL2, deflate
		"onewesong-websocket_test/websocket.pcap",  // pcapng, BSD loopback
		"ndpi/false_positives.pcapng",              // GTP-U
		"zeek/oversized-close-frame.pcapng",        // pcapng
		"arkime/arkime_synthetic.pcap",             // 98 TCP streams
		"eririmba-socket.io-sample/websocket.pcap", // mid-stream
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			code, stdout, stderr := runCLI("-r", path, "--json")
			// Captures that begin after a handshake get a hint naming
			// the port (the one corpus_test decodes them as).
			hint := map[string]string{
				"onewesong-websocket_test/websocket.pcap":  "try -d 8765\n",
				"eririmba-socket.io-sample/websocket.pcap": "try -d 8008\n",
			}[name]
			if hint != "" && !strings.HasSuffix(stderr, hint) {
				t.Errorf("stderr %q lacks the hint %q", stderr, hint)
			}
			if hint != "" {
				stderr = ""
			}
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			conns := 0
			for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
				if line == "" {
					continue
				}
				var v map[string]any
				if err := json.Unmarshal([]byte(line), &v); err != nil {
					t.Fatalf("bad JSON line %q: %v", line, err)
				}
				if v["type"] == "conn" {
					conns++
				}
			}
			if name != "eririmba-socket.io-sample/websocket.pcap" && conns == 0 {
				t.Errorf("no WebSocket connection found")
			}
			if code, _, _ := runCLI("-r", path, "-V", "-x"); code != 0 {
				t.Errorf("text output: exit %d", code)
			}
		})
	}
}

// jobsVariants are the output modes TestJobsIdentical compares.
var jobsVariants = [][]string{
	nil, // timeline + summary
	{"-V", "-x"},
	{"--json"},
	{"--json", "--summary"},
	{"--no-summary"},
	{"-t", "delta"},
	{"-t", "absolute", "-V"},
	{"--frames", "--no-summary"},
	{"--messages", "-V", "--pretty"},
	{"--follow", "all", "--summary"},
	{"--follow", "1,3", "--pretty", "-t", "absolute"},
	{"-Y", "type == message or type == anomaly or conn == 2", "-V", "-x"},
	{"-Y", "opcode == continuation or len > 100"}, // a timeline with hidden first fragments, and a summary
	{"-Y", "type == frame or from == server", "--frames"},
	{"-Y", "type == frame and fin", "--messages"}, // held frames whose messages are hidden
	{"-Y", "from == client or type == handshake", "--follow", "all", "--summary"},
}

// runJobs runs wscap with -j 1 and -j 4 and fails unless both give the
// same output, stderr (less timings) and error.
func runJobs(t *testing.T, args []string) {
	t.Helper()
	var outs [2]bytes.Buffer
	var errs [2]error
	for i, j := range []string{"1", "4"} {
		var errb bytes.Buffer
		errs[i] = run(context.Background(), append(append([]string{}, args...), "-j", j), &outs[i], &errb)
	}
	if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && errs[0].Error() != errs[1].Error() {
		t.Errorf("wscap %v: -j 1 error %v, -j 4 error %v", args, errs[0], errs[1])
	}
	a, b := outs[0].Bytes(), outs[1].Bytes()
	if bytes.Equal(a, b) {
		return
	}
	if line, x, y := firstDiff(a, b); line > 0 {
		t.Errorf("wscap %v: -j 1 and -j 4 differ at line %d:\n-j 1: %s\n-j 4: %s", args, line, x, y)
	}
}

// TestJobsIdentical checks that the parallel pipeline writes exactly what
// one worker writes: on every fixture in every output mode, on a capture
// with idle flushes, reused 4-tuples and data stuck behind holes, and on
// a wsgen workload spread over an hour of capture time.
func TestJobsIdentical(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	caps, _ := filepath.Glob("testdata/*.pcap*")
	real, _ := filepath.Glob("testdata/real/*.pcapng")
	h2, _ := filepath.Glob("testdata/real/h2/*.pcapng")    // WebSockets over HTTP/2
	apps, _ := filepath.Glob("testdata/real/app/*.pcapng") // application protocols
	for _, in := range append(append(append(caps, real...), h2...), apps...) {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(in, ".pcapng"), ".pcap")
		var extra []string
		if sc, ok := flowgen.Lookup(filepath.Base(base)); ok && sc.DecodeAs != 0 {
			extra = []string{"-d", strconv.Itoa(int(sc.DecodeAs))}
		}
		if _, err := os.Stat(base + ".keys"); err == nil {
			extra = append(extra, "--keylog", base+".keys")
		}
		if b, err := os.ReadFile(base + ".args"); err == nil {
			extra = append(extra, strings.Fields(string(b))...)
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			for _, v := range jobsVariants {
				runJobs(t, append(append([]string{"-r", in}, extra...), v...))
			}
		})
	}

	t.Run("idle-reuse-holes", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "idle.pcapng")
		b, err := idleCapture().PcapNG()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, v := range jobsVariants {
			runJobs(t, append([]string{"-r", path}, v...))
		}
	})

	t.Run("wsgen", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds and runs the generator")
		}
		path := genWsgen(t, "-conns", "120", "-concurrent", "40", "-size", "3MB", "-seed", "21", "-rate", "2", "-deflate", "0.5")
		for _, v := range [][]string{nil, {"--json"}, {"-V", "-x", "--no-summary"}, {"--follow", "all"}, {"--messages"}} {
			runJobs(t, append([]string{"-r", path}, v...))
		}
	})
}

// buildWsgen builds the wsgen generator (../shared/bench/wsgen, or
// $WSCAP_WSGEN), or skips the test.
func buildWsgen(t *testing.T) string {
	t.Helper()
	src := os.Getenv("WSCAP_WSGEN")
	if src == "" {
		src = filepath.Join("..", "shared", "bench", "wsgen")
	}
	if _, err := os.Stat(filepath.Join(src, "main.go")); err != nil {
		t.Skipf("wsgen not found at %s", src)
	}
	bin := filepath.Join(t.TempDir(), "wsgen")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build wsgen: %v\n%s", err, out)
	}
	return bin
}

// genWsgen builds wsgen (see buildWsgen), writes a workload made with
// args into a temporary file and returns its path.
func genWsgen(t *testing.T, args ...string) string {
	t.Helper()
	bin := buildWsgen(t)
	path := filepath.Join(t.TempDir(), "wsgen.pcap")
	if out, err := exec.Command(bin, append(args, "-o", path, "-q")...).CombinedOutput(); err != nil {
		t.Fatalf("wsgen: %v\n%s", err, out)
	}
	return path
}

// idleCapture interleaves WebSocket connections with pauses longer than
// the idle timeout: data waits behind a hole until an idle flush, closed
// connections are retired and their 4-tuples reused (with and without a
// new SYN), a ghost ACK, connections left open with holes at the end.
func idleCapture() *flowgen.Capture {
	c := flowgen.NewCapture()
	var ws []*flowgen.Conn
	open := func(i int, client, server string) *flowgen.Conn {
		k := c.NewConn(netip.MustParseAddrPort(client), netip.MustParseAddrPort(server))
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/idle", "example.com", key))
		k.Server(flowgen.Response101(key))
		ws = append(ws, k)
		return k
	}
	text := func(k *flowgen.Conn, client bool, s string, opts ...flowgen.Opt) {
		if client {
			k.Client(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Mask: flowgen.MaskKey(len(s)), Payload: []byte(s)}), opts...)
		} else {
			k.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte(s)}), opts...)
		}
	}
	a := open(1, "10.0.0.1:40001", "10.0.9.9:80")
	b := open(2, "10.0.0.2:40002", "10.0.9.9:80")
	d := open(3, "10.0.0.3:40003", "10.0.9.9:8080")
	text(a, true, "hello from a")
	text(b, false, strings.Repeat("b", 3000), flowgen.Every(1000), flowgen.Drop(1)) // a hole: waits for a flush
	text(d, true, "d speaks")
	c.Pause(40 * time.Second)
	text(a, false, "a again")
	a.Close() // FIN both ways: retired after the idle timeout
	c.Pause(3 * time.Minute)
	text(d, false, "d after a long silence") // keeps its id
	g := c.NewConn(netip.MustParseAddrPort("10.0.0.7:5555"), netip.MustParseAddrPort("10.0.9.9:80"))
	g.Ack(flowgen.C2S)                             // ghost
	a2 := open(4, "10.0.0.1:40001", "10.0.9.9:80") // the reused 4-tuple, new SYN
	text(a2, true, "second life")
	for i := range 5 {
		c.Pause(45 * time.Second)
		text(ws[i%len(ws)], i%2 == 0, "tick "+strconv.Itoa(i))
	}
	e := open(5, "10.0.0.5:40005", "10.0.9.9:80")
	text(e, false, strings.Repeat("e", 4000), flowgen.Every(1200), flowgen.Drop(2)) // open at the end with a hole
	text(b, true, "b at the end")
	return c
}

// TestGCPercentFor: GOGC=100 until the live heap reaches half the soft
// heap goal, then a percent that keeps the goal near it, never below the
// floor, and never rising as the live heap grows.
func TestGCPercentFor(t *testing.T) {
	for _, tt := range []struct {
		live uint64
		want int
	}{
		{0, 100}, {10 << 20, 100}, {40 << 20, 100},
		{50 << 20, 60}, {60 << 20, 33}, {64 << 20, 25}, {80 << 20, 25}, {1 << 30, 25},
	} {
		if got := gcPercentFor(tt.live); got != tt.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", tt.live>>20, got, tt.want)
		}
	}
	prev := 100
	for live := uint64(0); live <= 200<<20; live += 1 << 18 {
		p := gcPercentFor(live)
		if p > prev || p < gcMinPercent || p > 100 {
			t.Fatalf("gcPercentFor(%d) = %d after %d", live, p, prev)
		}
		if live > 0 && p < 100 && live+live*uint64(p)/100 > gcSoftHeap+1<<20 && p > gcMinPercent {
			t.Fatalf("heap goal at %d bytes live overshoots the soft heap: %d%%", live, p)
		}
		prev = p
	}
}
