package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"

	"github.com/wscap/wscap/source"
)

func TestParseDDD(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []bpf.RawInstruction
		err  string
	}{
		{"tcp on RAW", "5\n0 0 0 0\n48 0 0 9\n21 0 1 6\n6 0 0 262144\n6 0 0 0\n", []bpf.RawInstruction{
			{Op: 0}, {Op: 48, K: 9}, {Op: 21, Jf: 1, K: 6}, {Op: 6, K: 262144}, {Op: 6},
		}, ""},
		{"accept all, CRLF and spaces", "1\r\n 6  0 0 65535 \r\n", []bpf.RawInstruction{{Op: 6, K: 65535}}, ""},
		{"max k", "1\n6 0 0 4294967295\n", []bpf.RawInstruction{{Op: 6, K: 4294967295}}, ""},
		{"empty", "", nil, "empty program"},
		{"bad count", "x\n6 0 0 1\n", nil, "bad instruction count"},
		{"zero count", "0\n", nil, "bad instruction count"},
		{"count mismatch", "2\n6 0 0 1\n", nil, "2 instructions announced, 1 given"},
		{"three fields", "1\n6 0 1\n", nil, "is not \"code jt jf k\""},
		{"jt too big", "1\n21 256 0 1\n", nil, "out of range"},
		{"negative", "1\n6 0 0 -1\n", nil, "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDDD(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestCheckProgram(t *testing.T) {
	tests := []struct {
		name string
		prog []bpf.RawInstruction
		err  string
	}{
		{"ok", []bpf.RawInstruction{{Op: 0x15, Jt: 0, Jf: 1, K: 6}, {Op: 6, K: 1}, {Op: 6}}, ""},
		{"empty", nil, "empty"},
		{"jt out", []bpf.RawInstruction{{Op: 0x15, Jt: 2, K: 6}, {Op: 6, K: 1}, {Op: 6}}, "jumps out"},
		{"jf out", []bpf.RawInstruction{{Op: 0x15, Jf: 5, K: 6}, {Op: 6}}, "jumps out"},
		{"ja out", []bpf.RawInstruction{{Op: 0x05, K: 1}, {Op: 6}}, "jumps out"},
		{"no return", []bpf.RawInstruction{{Op: 0x28, K: 12}}, "does not end with a return"},
	}
	for _, tt := range tests {
		err := checkProgram(tt.prog)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
		}
	}
}

func TestClampSnaplen(t *testing.T) {
	in := []bpf.RawInstruction{{Op: 0x28, K: 1000}, {Op: 6, K: 262144}, {Op: 6, K: 50}, {Op: 6, K: 0}, {Op: 0x16}}
	got := ClampSnaplen(in, 100)
	want := []bpf.RawInstruction{{Op: 0x28, K: 1000}, {Op: 6, K: 100}, {Op: 6, K: 50}, {Op: 6, K: 0}, {Op: 0x16}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if in[1].K != 262144 {
		t.Error("ClampSnaplen changed its input")
	}
}

func TestTcpdumpMessage(t *testing.T) {
	for in, want := range map[string]string{
		"tcpdump: can't parse filter expression: syntax error\n":                  "can't parse filter expression: syntax error",
		"Warning: assuming Ethernet\ntcpdump: expression rejects all packets\n\n": "expression rejects all packets",
		"Warning: only a warning\n":                                               "",
		"":                                                                        "",
	} {
		if got := tcpdumpMessage(in); got != want {
			t.Errorf("tcpdumpMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompileFilterErrors(t *testing.T) {
	if prog, err := CompileFilter("  ", layers.LinkTypeEthernet, 0); prog != nil || err != nil {
		t.Errorf("empty filter: %v, %v", prog, err)
	}
	_, err := CompileFilter("tcp", layers.LinkTypeIEEE802_11, 0)
	var fe *FilterError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "cannot filter packets of link type") {
		t.Errorf("802.11: %v", err)
	}

	if pcapCompile == nil {
		old := tcpdumpPath
		tcpdumpPath = func() (string, error) { return "", exec.ErrNotFound }
		_, err := CompileFilter("tcp", layers.LinkTypeEthernet, 0)
		noCompiler := Compiler()
		tcpdumpPath = old // before the checks below, which need the real tcpdump
		if !errors.As(err, &fe) || !fe.NoCompiler || noCompiler != "" {
			t.Fatalf("no compiler: %v", err)
		}
		want := `cannot compile filter "tcp": this wscap was built without libpcap and tcpdump is not on PATH: ` +
			"install tcpdump (wscap runs tcpdump -ddd to compile filters), or rebuild wscap with libpcap: CGO_ENABLED=1 go build -tags pcap"
		if err.Error() != want {
			t.Errorf("got  %s\nwant %s", err, want)
		}
	}

	if Compiler() == "" {
		t.Skip("no filter compiler")
	}
	for _, tt := range []struct{ expr, msg string }{
		{"tcp prot 80", "syntax error"},
		{"ether host 1:2:3:4:5:6", "ethernet addresses supported only on"},
	} {
		lt := layers.LinkTypeEthernet
		if strings.HasPrefix(tt.expr, "ether") {
			lt = layers.LinkTypeRaw
		}
		_, err := CompileFilter(tt.expr, lt, 0)
		if !errors.As(err, &fe) || fe.NoCompiler || !strings.Contains(fe.Msg, tt.msg) ||
			!strings.HasPrefix(err.Error(), fmt.Sprintf("invalid filter %q: ", tt.expr)) {
			t.Errorf("%q: %v", tt.expr, err)
		}
	}
	prog, err := CompileFilter("tcp", layers.LinkTypeEthernet, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if last := prog[len(prog)-2]; last.Op != 6 || last.K != 1000 {
		t.Errorf("accepting return %v, want ret #1000", last)
	}
}

// filterFiles are captures of every link type the filter handles.
func filterFiles(t *testing.T) []string {
	files := []string{
		"chat.pcapng", "linux-sll.pcapng", "null-loopback.pcapng", "raw-ip.pcapng", "ipv6.pcapng",
		"snaplen.pcapng", "pcap-nanos.pcap", "two-conns-interleaved.pcapng", "rejected-403.pcapng",
	}
	for i, f := range files {
		files[i] = filepath.Join("..", "testdata", f)
	}
	dir := os.Getenv("WSCAP_CORPUS")
	if dir == "" {
		dir = "/work/shared/corpus"
	}
	for _, f := range []string{
		"suricata-verify/websocket-ping.pcap",      // Linux SLL
		"jaysenlestari-ctf/mimpi-capture.pcap",     // Linux SLL2
		"arkime/arkime_synthetic.pcap",             // Ethernet, many streams
		"ndpi/false_positives.pcapng",              // GTP-U
		"onewesong-websocket_test/websocket.pcap",  // BSD loopback
		"heplify/sip_tcp_websocket.pcap",           // SIP over WebSocket
		"eririmba-socket.io-sample/websocket.pcap", // mid-stream
	} {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	return files
}

// filterExprs are the expressions compared with tcpdump. Expressions on
// the packet length are compared only on files without truncated packets
// (see source.Filter).
var filterExprs = []string{
	"tcp", "udp", "ip", "ip6", "icmp", "arp",
	"tcp port 8080", "port 80 or port 443", "dst port 8080", "portrange 8000-9000",
	"host 10.0.0.1", "src host 192.0.2.20", "net 10.0.0.0/8", "ip6 and tcp",
	"tcp[tcpflags] & tcp-syn != 0", "tcp[13] & 2 != 0", "tcp and not port 22",
	"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420", // "GET " at the start of the payload
	"ether host 02:00:00:00:00:01", "vlan", "ip proto 6",
	"greater 200", "less 100", "len >= 100",
}

// TestFilterMatchesTcpdump runs filters over files in user space and
// compares the packets that pass with those of tcpdump -r FILE -w - EXPR.
func TestFilterMatchesTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed")
	}
	if Compiler() == "" {
		t.Skip("no filter compiler")
	}
	type key struct {
		expr string
		lt   layers.LinkType
	}
	progs := map[key][]bpf.RawInstruction{}
	errs := map[key]error{}
	compile := func(expr string) source.CompileFunc {
		return func(lt layers.LinkType) ([]bpf.RawInstruction, error) {
			k := key{expr, lt}
			if p, ok := progs[k]; ok || errs[k] != nil {
				return p, errs[k]
			}
			p, err := CompileFilter(expr, lt, DefaultSnaplen)
			progs[k], errs[k] = p, err
			return p, err
		}
	}
	for _, file := range filterFiles(t) {
		truncated := hasTruncated(t, file)
		for _, expr := range filterExprs {
			if truncated && (strings.Contains(expr, "len") || strings.HasPrefix(expr, "greater") || strings.HasPrefix(expr, "less")) {
				continue
			}
			name := filepath.Base(filepath.Dir(file)) + "/" + filepath.Base(file) + ": " + expr
			want, werr := tcpdumpPackets(tcpdump, file, expr)
			got, gerr := filterPackets(file, compile(expr))
			switch {
			case werr != nil && gerr != nil:
				continue // both reject the expression for this link type
			case werr != nil:
				t.Errorf("%s: tcpdump fails (%v), wscap passes %d packets", name, werr, len(got))
				continue
			case gerr != nil:
				t.Errorf("%s: wscap fails (%v), tcpdump passes %d packets", name, gerr, len(want))
				continue
			}
			if len(got) != len(want) {
				t.Errorf("%s: %d packets, tcpdump %d", name, len(got), len(want))
				continue
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("%s: packet %d of %d differs", name, i+1, len(got))
					break
				}
			}
		}
	}
}

func hasTruncated(t *testing.T, file string) bool {
	src, err := source.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for {
		p, err := src.Next()
		if err != nil {
			return false
		}
		if p.CapLen < p.Len {
			return true
		}
	}
}

// filterPackets returns copies of the packets of file the filter accepts.
func filterPackets(file string, compile source.CompileFunc) ([][]byte, error) {
	s, err := source.Open(file)
	if err != nil {
		return nil, err
	}
	f := source.NewFilter(s, compile)
	defer f.Close()
	var out [][]byte
	for {
		p, err := f.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, append([]byte(nil), p.Data...))
	}
}

// tcpdumpPackets returns the packets tcpdump -r file -w - expr writes.
func tcpdumpPackets(tcpdump, file, expr string) ([][]byte, error) {
	cmd := exec.Command(tcpdump, "-r", file, "-w", "-", "--", expr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	r, err := pcapgo.NewReader(bytes.NewReader(out))
	if err != nil {
		return nil, err
	}
	var pkts [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			return pkts, nil
		}
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, data)
	}
}
