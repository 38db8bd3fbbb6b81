package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wscap/wscap/internal/truth"
)

// TestWsgenTruth decodes captures from the wsgen generator
// (../shared/bench/wsgen, or $WSCAP_WSGEN) and checks every message against
// its truth file: the default mix, and a deflate-heavy, fragment-heavy mix
// (issue 4: every compressed message decoded).
func TestWsgenTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	src := os.Getenv("WSCAP_WSGEN")
	if src == "" {
		src = filepath.Join("..", "shared", "bench", "wsgen")
	}
	if _, err := os.Stat(filepath.Join(src, "main.go")); err != nil {
		t.Skipf("wsgen not found at %s", src)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wsgen")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build wsgen: %v\n%s", err, out)
	}
	for _, w := range []struct {
		name string
		args []string
	}{
		{"default", []string{"-conns", "40", "-size", "3MB", "-seed", "7"}},
		{"deflate-frag", []string{"-conns", "40", "-size", "3MB", "-seed", "8", "-deflate", "1", "-frag", "0.3"}},
		{"pcapng-ipv6-pad", []string{"-conns", "20", "-size", "1MB", "-seed", "9", "-format", "pcapng", "-ipv6", "0.5", "-pad"}},
	} {
		t.Run(w.name, func(t *testing.T) {
			capPath := filepath.Join(dir, w.name+".pcap")
			gen := exec.Command(bin, append(w.args, "-o", capPath, "-q")...)
			if out, err := gen.CombinedOutput(); err != nil {
				t.Fatalf("wsgen: %v\n%s", err, out)
			}
			var out, errb bytes.Buffer
			if err := run(context.Background(), []string{"-r", capPath, "--json"}, &out, &errb); err != nil {
				t.Fatalf("wscap: %v\n%s", err, errb.String())
			}
			res, err := truth.Check(capPath, &out)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			if res.Matched != res.Total || res.Total == 0 || res.Extra != 0 {
				t.Errorf("%s\n%v", res, res.Mismatches)
			}
		})
	}
}
