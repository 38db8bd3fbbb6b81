package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/internal/progress"
	"github.com/wscap/wscap/source"
)

// progressCapture writes a capture of conns WebSocket connections that
// exchange msgs messages each, interleaved: a few thousand packets, so
// that the read loop looks at the clock several times.
func progressCapture(t *testing.T, conns, msgs int) string {
	t.Helper()
	c := flowgen.NewCapture()
	var ks []*flowgen.Conn
	for i := range conns {
		k := c.NewConn(netip.MustParseAddrPort(fmt.Sprintf("192.0.2.10:%d", 40000+i)), netip.MustParseAddrPort("192.0.2.80:8080"))
		k.Open()
		key := flowgen.Key(i)
		k.Client(flowgen.UpgradeRequest("/p", "example.com", key))
		k.Server(flowgen.Response101(key))
		ks = append(ks, k)
	}
	for m := range msgs {
		for i, k := range ks {
			k.Client(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Mask: flowgen.MaskKey(m), Payload: fmt.Appendf(nil, "hello %d from %d", m, i)}))
			k.Server(flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpBinary, Payload: bytes.Repeat([]byte{byte(m)}, 100+m)}))
		}
	}
	for _, k := range ks {
		k.Close()
	}
	b, err := c.Pcap(false)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "progress.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fastProgress makes every look at the clock draw a line, and pretends
// standard error is a terminal or not; the test restores both.
func fastProgress(t *testing.T, tty bool) {
	oldTTY, oldOpt := stderrIsTerminal, progressOptions
	t.Cleanup(func() { stderrIsTerminal, progressOptions = oldTTY, oldOpt })
	stderrIsTerminal = func(io.Writer) bool { return tty }
	progressOptions = func(terminal bool) progress.Options { return progress.Options{Terminal: terminal} }
}

func runBuffers(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	if err := run(context.Background(), args, &o, &e); err != nil {
		t.Fatalf("wscap %s: %v\n%s", strings.Join(args, " "), err, e.String())
	}
	return o.String(), e.String()
}

var progressLine = regexp.MustCompile(`^wscap: \d+\.\d%  [\d.]+ / [\d.]+ [kMGT]?B  [\d.]+ [kMGT]?B/s  ETA (--:--|\d+:\d\d)  [\d,]+ WebSocket  [\d,]+ messages?$`)

// TestProgressOutput checks that progress lines go to standard error only
// when asked for or on a terminal, and that standard output is the same
// byte for byte with and without them, on one worker and on two, for the
// timeline and for JSON Lines.
func TestProgressOutput(t *testing.T) {
	path := progressCapture(t, 12, 60) // 12*(6+120)+... packets
	for _, form := range [][]string{nil, {"--json"}, {"--messages", "--stats"}} {
		for _, j := range []string{"1", "2"} {
			args := append([]string{"-r", path, "-j", j}, form...)
			name := strings.Join(args[2:], " ")

			fastProgress(t, false)
			wantOut, wantErr := runBuffers(t, append(args, "--no-progress")...)
			if strings.Contains(wantErr, "%") {
				t.Fatalf("%s --no-progress: stderr %q", name, wantErr)
			}

			// Not a terminal, no flag: nothing.
			out, errs := runBuffers(t, args...)
			if out != wantOut || !sameStats(errs, wantErr) {
				t.Errorf("%s: a non-terminal stderr got %q, want %q (or stdout changed)", name, errs, wantErr)
			}

			// --progress on a non-terminal: plain lines, then the usual
			// stderr.
			out, errs = runBuffers(t, append(args, "--progress")...)
			if out != wantOut {
				t.Errorf("%s --progress: stdout differs", name)
			}
			lines := strings.SplitAfter(errs, "\n")
			n := 0
			for n < len(lines) && progressLine.MatchString(strings.TrimSuffix(lines[n], "\n")) {
				n++
			}
			if n < 3 {
				t.Errorf("%s --progress: %d progress lines in %q", name, n, errs)
			}
			if rest := strings.Join(lines[n:], ""); !sameStats(rest, wantErr) {
				t.Errorf("%s --progress: after the progress lines %q, want %q", name, rest, wantErr)
			}
			if last := lines[n-1]; !strings.Contains(last, "12 WebSocket") && j == "1" {
				// With one worker the counters are current at every line;
				// the last line is drawn after the last handshake.
				t.Errorf("%s --progress: last line %q", name, last)
			}

			// A terminal: lines redrawn in place, erased before the
			// rest of stderr.
			fastProgress(t, true)
			out, errs = runBuffers(t, args...)
			if out != wantOut {
				t.Errorf("%s on a terminal: stdout differs", name)
			}
			i := strings.LastIndex(errs, "\r\x1b[K")
			if i < 0 || strings.Count(errs, "\x1b[K") < 4 {
				t.Fatalf("%s on a terminal: stderr %q", name, errs)
			}
			drawn, rest := errs[:i], errs[i+len("\r\x1b[K"):]
			if strings.Contains(drawn, "\n") {
				t.Errorf("%s on a terminal: the line scrolls: %q", name, drawn)
			}
			for l := range strings.SplitSeq(strings.TrimPrefix(drawn, "\r"), "\r") {
				if !progressLine.MatchString(strings.TrimSuffix(l, "\x1b[K")) {
					t.Errorf("%s on a terminal: line %q", name, l)
				}
			}
			if !sameStats(rest, wantErr) {
				t.Errorf("%s on a terminal: after the erase %q, want %q", name, rest, wantErr)
			}
			if _, errs = runBuffers(t, append(args, "--no-progress")...); !sameStats(errs, wantErr) {
				t.Errorf("%s --no-progress on a terminal: stderr %q", name, errs)
			}
		}
	}
}

// sameStats compares two stderr texts, the --stats line's time and rate
// aside.
func sameStats(a, b string) bool {
	re := regexp.MustCompile(`, [\d.]+ s, [\d.]+ MB/s`)
	return re.ReplaceAllString(a, "") == re.ReplaceAllString(b, "")
}

// TestProgressGzip checks that gzip'd input counts compressed bytes: the
// file's size is the compressed size.
func TestProgressGzip(t *testing.T) {
	raw, err := os.ReadFile(progressCapture(t, 4, 40))
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	path := filepath.Join(t.TempDir(), "p.pcap.gz")
	os.WriteFile(path, z.Bytes(), 0o644)
	fastProgress(t, false)
	_, errs := runBuffers(t, "-r", path, "--progress", "-j", "1")
	want := progress.Bytes(int64(z.Len()))
	want = want[:strings.IndexByte(want, ' ')]
	if !strings.Contains(errs, " / "+want+" ") || !strings.Contains(errs, "100.0%") {
		t.Errorf("stderr %q, want lines of a %d-byte file (%s)", errs, z.Len(), want)
	}
}

// TestProgressFlags checks the flags' usage errors, and that --progress
// on input that is not a regular file says why nothing is shown.
func TestProgressFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-r", "x.pcap", "--progress", "--no-progress"}, "--progress and --no-progress exclude each other"},
		{[]string{"-i", "lo", "--progress"}, "--progress applies to reading a file (-r) only"},
	} {
		code, _, stderr := runCLI(tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	if _, err := parseArgs([]string{"-i", "lo", "--no-progress"}); err != nil {
		t.Errorf("-i --no-progress: %v", err)
	}

	raw, err := os.ReadFile(progressCapture(t, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	s, err := source.NewReader("stdin", bytes.NewReader(raw)) // a pipe: no size
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	for _, tt := range []struct {
		progress int
		tty      bool
		warn     bool
	}{{1, false, true}, {1, true, true}, {0, true, false}, {-1, true, false}} {
		stderr.Reset()
		stderrIsTerminal = func(io.Writer) bool { return tt.tty }
		p := newProgress(&config{read: "-", progress: tt.progress}, s, false, &stderr, time.Now())
		if p != nil {
			t.Errorf("%+v: progress on a stream", tt)
		}
		if got := stderr.String(); (got != "") != tt.warn || tt.warn && got != "wscap: --progress: - is not a regular file: no progress is shown\n" {
			t.Errorf("%+v: stderr %q", tt, got)
		}
	}
	stderrIsTerminal = isTerminal
}
