package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wscap/wscap/internal/flowgen"
)

// goldenVariants are the output modes checked on every fixture capture.
var goldenVariants = []struct {
	suffix string
	args   []string
}{
	{".golden", nil}, // timeline + summary
	{".V.golden", []string{"-V", "--no-summary"}},
	{".json.golden", []string{"--json"}},
	{".frames.golden", []string{"--frames", "--no-summary"}},                             // every frame row
	{".messages.golden", []string{"--messages", "--no-summary"}},                         // messages, closes, anomalies
	{".follow.golden", []string{"--follow", "all", "--pretty", "--max-payload", "2KiB"}}, // the conversations
}

// TestGolden runs wscap over every capture in testdata/ (generated
// fixtures and real recordings) and compares the output with the golden
// files beside them; go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	caps, _ := filepath.Glob("testdata/*.pcap*")
	real, _ := filepath.Glob("testdata/real/*.pcapng")
	caps = append(caps, real...)
	if len(caps) == 0 {
		t.Fatal("no fixtures in testdata/")
	}
	for _, in := range caps {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(in, ".pcapng"), ".pcap")
		var extra []string
		if sc, ok := flowgen.Lookup(filepath.Base(base)); ok && sc.DecodeAs != 0 {
			extra = []string{"-d", strconv.Itoa(int(sc.DecodeAs))}
		}
		if _, err := os.Stat(base + ".keys"); err == nil {
			extra = append(extra, "--keylog", base+".keys") // a wss recording and its key log
		}
		for _, v := range goldenVariants {
			golden := base + v.suffix
			t.Run(filepath.Base(golden), func(t *testing.T) {
				args := append(append([]string{"-r", in}, extra...), v.args...)
				var out, errb bytes.Buffer
				err := run(context.Background(), args, &out, &errb)
				if err != nil && !strings.Contains(in, "truncated") {
					t.Fatalf("wscap %v: %v\n%s", args, err, errb.String())
				}
				checkGolden(t, golden, out.Bytes())
			})
		}
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	if line, g, w := firstDiff(got, want); line > 0 {
		t.Errorf("%s differs at line %d:\n got: %s\nwant: %s", path, line, g, w)
	}
	out := filepath.Join(t.ArtifactDir(), filepath.Base(path))
	if err := os.WriteFile(out, got, 0o644); err == nil {
		t.Logf("full output written to %s", out)
	}
}

// firstDiff returns the first line (1-based) where a and b differ and the
// two lines there ("<EOF>" past the end of one); 0 when they are equal.
func firstDiff(a, b []byte) (line int, x, y string) {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		x, y = "<EOF>", "<EOF>"
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return i + 1, x, y
		}
	}
	return 0, "", ""
}
