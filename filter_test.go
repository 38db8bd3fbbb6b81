package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// fakeOther is set when fakeCompile met a link type other than Ethernet.
var fakeOther bool

// fakeCompile compiles the two -f forms the tests use, "port N" and "not
// port N", for Ethernet (IPv4 without fragments, IPv6 without extension
// headers) as tcpdump would, so that the tests need neither libpcap nor
// tcpdump. Other link types get a program that rejects everything.
func fakeCompile(expr string, lt layers.LinkType, _ int) ([]bpf.RawInstruction, error) {
	neg := strings.HasPrefix(expr, "not ")
	port, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(expr, "not "), "port "), 10, 16)
	if err != nil {
		return nil, fmt.Errorf("fakeCompile: %q", expr)
	}
	yes, no := uint32(262144), uint32(0)
	if neg {
		yes, no = no, yes
	}
	if lt != layers.LinkTypeEthernet {
		fakeOther = true
		return bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: no}})
	}
	p := uint32(port)
	const accept, reject = 18, 19
	// jump returns instruction i, a conditional jump to t or f.
	jump := func(i int, cond bpf.JumpTest, val uint32, t, f int) bpf.Instruction {
		return bpf.JumpIf{Cond: cond, Val: val, SkipTrue: uint8(t - i - 1), SkipFalse: uint8(f - i - 1)}
	}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},          // 0: ethertype
		jump(1, bpf.JumpEqual, 0x800, 2, 11),        // 1
		bpf.LoadAbsolute{Off: 23, Size: 1},          // 2: IPv4 protocol
		jump(3, bpf.JumpEqual, 6, 4, reject),        // 3
		bpf.LoadAbsolute{Off: 20, Size: 2},          // 4: flags, fragment offset
		jump(5, bpf.JumpBitsSet, 0x1fff, reject, 6), // 5
		bpf.LoadMemShift{Off: 14},                   // 6: X = IPv4 header length
		bpf.LoadIndirect{Off: 14, Size: 2},          // 7: source port
		jump(8, bpf.JumpEqual, p, accept, 9),        // 8
		bpf.LoadIndirect{Off: 16, Size: 2},          // 9: destination port
		jump(10, bpf.JumpEqual, p, accept, reject),  // 10
		jump(11, bpf.JumpEqual, 0x86dd, 12, reject), // 11: A is still the ethertype
		bpf.LoadAbsolute{Off: 20, Size: 1},          // 12: IPv6 next header
		jump(13, bpf.JumpEqual, 6, 14, reject),      // 13
		bpf.LoadAbsolute{Off: 54, Size: 2},          // 14
		jump(15, bpf.JumpEqual, p, accept, 16),      // 15
		bpf.LoadAbsolute{Off: 56, Size: 2},          // 16
		jump(17, bpf.JumpEqual, p, accept, reject),  // 17
		bpf.RetConstant{Val: yes},                   // 18
		bpf.RetConstant{Val: no},                    // 19
	}
	return bpf.Assemble(prog)
}

// TestFakeCompile checks the test compiler on hand-made packets.
func TestFakeCompile(t *testing.T) {
	tcp4 := func(sport, dport uint16, frag uint16) []byte {
		b := make([]byte, 14+20+20)
		b[12], b[13] = 0x08, 0x00
		ip := b[14:]
		ip[0], ip[9] = 0x45, 6
		ip[6], ip[7] = byte(frag>>8), byte(frag)
		tc := ip[20:]
		tc[0], tc[1], tc[2], tc[3] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
		return b
	}
	tcp6 := func(sport, dport uint16) []byte {
		b := make([]byte, 14+40+20)
		b[12], b[13] = 0x86, 0xdd
		ip := b[14:]
		ip[0], ip[6] = 0x60, 6
		tc := ip[40:]
		tc[0], tc[1], tc[2], tc[3] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
		return b
	}
	udp4 := tcp4(80, 80, 0)
	udp4[14+9] = 17
	for _, tc := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"v4 src", tcp4(80, 5000, 0), true},
		{"v4 dst", tcp4(5000, 80, 0), true},
		{"v4 other", tcp4(5000, 5001, 0), false},
		{"v4 fragment", tcp4(80, 80, 0x0010), false},
		{"v6 src", tcp6(80, 5000), true},
		{"v6 dst", tcp6(5000, 80), true},
		{"v6 other", tcp6(5000, 5001), false},
		{"udp", udp4, false},
	} {
		for _, neg := range []bool{false, true} {
			expr := "port 80"
			if neg {
				expr = "not " + expr
			}
			prog, err := fakeCompile(expr, layers.LinkTypeEthernet, 0)
			if err != nil {
				t.Fatal(err)
			}
			ins := make([]bpf.Instruction, len(prog))
			for i, r := range prog {
				ins[i] = r.Disassemble()
			}
			vm, err := bpf.NewVM(ins)
			if err != nil {
				t.Fatal(err)
			}
			n, err := vm.Run(tc.pkt)
			if got := n > 0; err != nil || got != (tc.want != neg) {
				t.Errorf("%s %q: accepted %v (err %v), want %v", tc.name, expr, got, err, tc.want != neg)
			}
		}
	}
}

// jsonLines runs wscap with args and returns its output lines.
func jsonLines(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("wscap %v: %v\n%s", args, err, errb.String())
	}
	s := strings.TrimSuffix(out.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

type ev map[string]any

func parseLine(t *testing.T, l string) ev {
	var e ev
	if err := json.Unmarshal([]byte(l), &e); err != nil {
		t.Fatalf("bad JSON %q: %v", l, err)
	}
	return e
}

func (e ev) s(k string) string { v, _ := e[k].(string); return v }
func (e ev) n(k string) float64 {
	v, _ := e[k].(float64)
	return v
}
func (e ev) has(k string) bool { _, ok := e[k]; return ok }
func (e ev) key() string       { return fmt.Sprintf("%v/%v", e["conn"], e["seq"]) }

// displayFilters pairs -Y expressions with an independent reading of the
// same condition on the JSON events.
var displayFilters = []struct {
	expr string
	want func(e ev) bool
}{
	{`conn == 2`, func(e ev) bool { return e.n("conn") == 2 }},
	{`type == "message" and from == "server"`, func(e ev) bool { return e.s("type") == "message" && e.s("from") == "server" }},
	{`type == "message" && text contains "e"`, func(e ev) bool {
		return e.s("type") == "message" && e.has("text") && strings.Contains(e.s("text"), "e")
	}},
	{`code in {close_code_invalid, text_invalid_utf8 stream_truncated}`, func(e ev) bool {
		return e.s("type") == "anomaly" && slices.Contains([]string{"close_code_invalid", "text_invalid_utf8", "stream_truncated"}, e.s("code"))
	}},
	{`opcode in {ping pong close}`, func(e ev) bool {
		return (e.s("type") == "frame" || e.s("type") == "message") && slices.Contains([]string{"ping", "pong", "close"}, e.s("opcode"))
	}},
	{`len > 100`, func(e ev) bool { return (e.s("type") == "frame" || e.s("type") == "message") && e.n("len") > 100 }},
	{`not type == "frame"`, func(e ev) bool { return e.s("type") != "frame" }},
	{`fin == false or masked`, func(e ev) bool {
		return e.s("type") == "frame" && (e["fin"] == false || e["masked"] == true)
	}},
	{`path matches "^/[a-z]"`, func(e ev) bool {
		return e.s("type") == "handshake" && regexp.MustCompile("^/[a-z]").MatchString(e.s("path"))
	}},
	{`severity == "warning" || severity == error`, func(e ev) bool {
		return e.s("type") == "anomaly" && (e.s("severity") == "warning" || e.s("severity") == "error")
	}},
	{`data`, func(e ev) bool { return e.has("data") }},
	{`data contains "\x00"`, func(e ev) bool {
		b, _ := base64.StdEncoding.DecodeString(e.s("data"))
		return e.has("data") && bytes.Contains(b, []byte{0})
	}},
	{`websocket.opcode == 1 and !(pkt < 10)`, func(e ev) bool {
		return e.s("type") == "frame" && e.s("opcode") == "text" && e.n("pkt") >= 10
	}},
	{`client contains ":" and type != tls`, func(e ev) bool {
		return (e.s("type") == "conn" || e.s("type") == "handshake") && strings.Contains(e.s("client"), ":")
	}},
}

// filterCaptures returns the captures the filter tests run on, with
// their extra flags.
func filterCaptures(t *testing.T) map[string][]string {
	caps := map[string][]string{}
	for _, g := range []string{"testdata/*.pcapng", "testdata/real/*.pcapng"} {
		m, _ := filepath.Glob(g)
		for _, p := range m {
			caps[p] = nil
		}
	}
	if testing.Short() {
		return caps
	}
	dir := corpusDir(t)
	for _, g := range []string{"*/*.pcap", "*/*.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, g))
		for _, p := range m {
			rel, _ := filepath.Rel(dir, p)
			caps[p] = nil
			if port, ok := decodeAs[rel]; ok {
				caps[p] = []string{"-d", port}
			}
		}
	}
	return caps
}

// TestDisplayFilter checks that a -Y run writes exactly the events of the
// unfiltered run that match (the same lines: numbering and counters do
// not change), at -j 1 and -j 2, and that the summary keeps the
// connections with a matching event.
func TestDisplayFilter(t *testing.T) {
	for path, extra := range filterCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			base := append([]string{"-r", path, "--json"}, extra...)
			all := jsonLines(t, append(base, "-j", "1")...)
			sums := jsonLines(t, append(base, "--summary", "-j", "1")...)[len(all):]
			sumOf := map[string]string{}
			for _, l := range sums {
				sumOf[fmt.Sprint(parseLine(t, l)["conn"])] = l
			}
			evs := make([]ev, len(all))
			for i, l := range all {
				evs[i] = parseLine(t, l)
			}
			for _, df := range displayFilters {
				var want, wantSums []string
				conns := map[string]bool{}
				for i, e := range evs {
					if df.want(e) {
						want = append(want, all[i])
						c := fmt.Sprint(e["conn"])
						if !conns[c] {
							conns[c] = true
						}
					}
				}
				for _, l := range sums {
					if conns[fmt.Sprint(parseLine(t, l)["conn"])] {
						wantSums = append(wantSums, l)
					}
				}
				for _, j := range []string{"1", "2"} {
					got := jsonLines(t, append(base, "-Y", df.expr, "-j", j)...)
					if !slices.Equal(got, want) {
						t.Errorf("-Y %q -j %s: %d events, want %d\n%s", df.expr, j, len(got), len(want), firstLineDiff(got, want))
					}
					got = jsonLines(t, append(base, "-Y", df.expr, "--summary", "-j", j)...)
					if len(got) < len(want) || !slices.Equal(got[len(want):], wantSums) {
						t.Errorf("-Y %q --summary -j %s: summary lines differ\n%s", df.expr, j, firstLineDiff(got[min(len(want), len(got)):], wantSums))
					}
				}
			}
		})
	}
}

func firstLineDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("line %d:\n got: %.300s\nwant: %.300s", i+1, g, w)
		}
	}
	return ""
}

// TestCaptureFilterNumbering checks that -f keeps Wireshark's numbering:
// every event of a filtered run is the event of the unfiltered run with
// the same connection and sequence number, packet numbers included.
func TestCaptureFilterNumbering(t *testing.T) {
	old := compileFilter
	compileFilter = fakeCompile
	defer func() { compileFilter = old }()
	exercised := 0
	for path, extra := range filterCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			base := append([]string{"-r", path, "--json"}, extra...)
			all := jsonLines(t, append(base, "-j", "1")...)
			byKey := map[string]string{}
			var pick ev
			for _, l := range all {
				e := parseLine(t, l)
				byKey[e.key()] = l
				// The last connection with an endpoint: the filtered run
				// then starts with other connections hidden.
				if e.s("type") == "conn" && e.s("client") != "" {
					pick = e
				}
			}
			if pick == nil {
				return
			}
			_, port, _ := strings.Cut(pick.s("client")[strings.LastIndex(pick.s("client"), ":"):], ":")
			unknown := false
			for _, f := range []string{"port " + port, "not port " + port} {
				for _, j := range []string{"1", "2"} {
					fakeOther = false
					got := jsonLines(t, append(base, "-f", f, "-j", j)...)
					seen := false
					for _, l := range got {
						e := parseLine(t, l)
						if e["conn"] == pick["conn"] {
							seen = true
						}
						if w := byKey[e.key()]; w != l {
							t.Errorf("-f %q -j %s: event differs from the unfiltered run's:\n got: %.300s\nwant: %.300s", f, j, l, w)
							break
						}
					}
					switch {
					case seen && f == "port "+port && len(got) < len(all):
						exercised++ // numbering checked with packets filtered out
					case f == "port "+port && len(got) == 0:
						unknown = true // a link or VLAN header fakeCompile does not know
					case seen == strings.HasPrefix(f, "not") && !fakeOther && !unknown:
						t.Errorf("-f %q -j %s: connection %v shown: %v", f, j, pick["conn"], seen)
					}
				}
			}
		})
	}
	min := 12 // with the corpus
	if testing.Short() {
		min = 4
	}
	if exercised < min {
		t.Errorf("-f filtered packets out of a shown connection's capture %d times, want at least %d", exercised, min)
	}
}

// TestDisplayFilterUsage: a bad -Y is a usage error that points at the
// column.
func TestDisplayFilterUsage(t *testing.T) {
	code, out, stderr := runCLI("-r", "testdata/chat.pcapng", "-Y", `type == "message" and lenght > 5`)
	want := "wscap: -Y: column 23: unknown field \"lenght\" (did you mean \"len\"?)\n" +
		"    type == \"message\" and lenght > 5\n" +
		"                          ^\n"
	if code != 2 || out != "" || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and\n%s", code, out, stderr, want)
	}
	code, _, stderr = runCLI("-r", "testdata/chat.pcapng", "-Y", `text == 42`)
	if code != 2 || !strings.Contains(stderr, "column 9: text is a text field") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

// TestCountAfterCaptureFilter: -c counts the packets -f accepted, while
// packet numbers count every packet of the file.
func TestCountAfterCaptureFilter(t *testing.T) {
	old := compileFilter
	compileFilter = fakeCompile
	defer func() { compileFilter = old }()
	// Connection 2 of two-conns-interleaved.pcapng (client port 50020)
	// has its first packets among those of connection 1.
	code, out, stderr := runCLI("-r", "testdata/two-conns-interleaved.pcapng", "-f", "port 50020", "-c", "5", "--stats", "--json")
	if code != 0 || !strings.Contains(stderr, "wscap: 5 packets, ") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	maxPkt := 0.0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		e := parseLine(t, l)
		if e.n("conn") != 2 {
			t.Errorf("event of another connection: %s", l)
		}
		maxPkt = max(maxPkt, e.n("pkt"))
	}
	if maxPkt <= 5 {
		t.Errorf("last packet number %v: -c counted rejected packets, or numbers skip them\n%s", maxPkt, out)
	}
}

// TestGoldenDisplayFilter keeps the output of a few -Y runs (the README's
// examples among them) in golden files; go test -run TestGolden -update
// rewrites them.
func TestGoldenDisplayFilter(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"chat.Y-server-messages.golden", []string{"-r", "testdata/chat.pcapng", "-Y", `type == "message" and from == "server"`}},
		{"chat.Y-control.V.golden", []string{"-r", "testdata/chat.pcapng", "-Y", `opcode in {ping pong close}`, "-V", "-x", "--no-summary"}},
		{"violations.Y-codes.golden", []string{"-r", "testdata/violations.pcapng", "-Y", `code in {close_code_invalid text_invalid_utf8}`}},
		{"violations.Y-conn.json.golden", []string{"-r", "testdata/violations.pcapng", "-Y", `conn == 2`, "--json", "--summary"}},
		{"two-conns-interleaved.Y-client.follow.golden", []string{"-r", "testdata/two-conns-interleaved.pcapng", "-Y", `from == client`, "--follow", "all"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := run(context.Background(), tc.args, &out, &errb); err != nil {
				t.Fatalf("wscap %v: %v\n%s", tc.args, err, errb.String())
			}
			checkGolden(t, filepath.Join("testdata", tc.golden), out.Bytes())
		})
	}
}

// TestDisplayFilterHeldTLS checks that -Y hiding the conn event of a
// decrypted wss connection does not leave its rows held back as if it
// were not WebSocket (the timeline came out empty).
func TestDisplayFilterHeldTLS(t *testing.T) {
	for _, expr := range []string{`type in {tls message}`, `type == tls`, `not type == conn`} {
		code, stdout, stderr := runCLI("-r", "testdata/real/chromium-wss-tls13-dsb.pcapng", "-Y", expr, "--no-summary")
		if code != 0 || !strings.Contains(stdout, "--- TLS ") {
			t.Errorf("-Y %q: exit %d, no TLS row:\n%s%s", expr, code, stdout, stderr)
		}
	}
}

// TestLegendAboveRows checks that a connection's legend is printed right
// above its first printed row, once: views and filters that drop the
// handshake or TLS rows leave no legend without rows, and no legend twice.
func TestLegendAboveRows(t *testing.T) {
	for _, args := range [][]string{
		{"-r", "testdata/two-conns-interleaved.pcapng", "--messages"},
		{"-r", "testdata/real/chromium-wss-tls13-dsb.pcapng", "--messages"},
		{"-r", "testdata/real/demo.pcapng", "-Y", `type == frame && opcode == text`},
		{"-r", "testdata/real/demo.pcapng", "-Y", `from == server`},
	} {
		_, stdout, _ := runCLI(append(args, "--no-summary")...)
		lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
		for i, l := range lines {
			if !strings.HasPrefix(l, "#") {
				continue
			}
			conn := l[:strings.IndexByte(l, ' ')]
			if i+1 >= len(lines) || !strings.Contains(lines[i+1], " "+conn+" ") {
				t.Errorf("%v: legend %q is not followed by a row of %s:\n%s", args, l, conn, stdout)
			}
		}
	}
}
