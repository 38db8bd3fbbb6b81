package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wscap/wscap/internal/truth"
)

// TestWsgenTLSTruth decodes the TLS twins of wsgen captures that
// bench/wsgentls writes (TLS 1.3 and 1.2, six ECDHE suites, sessions
// resumed by ticket) with their key logs, checks every message against the
// plaintext capture's truth file, and checks that -j 1 and -j 2 write the
// same bytes.
func TestWsgenTLSTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generators")
	}
	src := os.Getenv("WSCAP_WSGEN")
	if src == "" {
		src = filepath.Join("..", "shared", "bench", "wsgen")
	}
	if _, err := os.Stat(filepath.Join(src, "main.go")); err != nil {
		t.Skipf("wsgen not found at %s", src)
	}
	dir := t.TempDir()
	wsgen, wsgentls := filepath.Join(dir, "wsgen"), filepath.Join(dir, "wsgentls")
	build := exec.Command("go", "build", "-o", wsgen, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build wsgen: %v\n%s", err, out)
	}
	if out, err := exec.Command("go", "build", "-o", wsgentls, "./bench/wsgentls").CombinedOutput(); err != nil {
		t.Fatalf("build wsgentls: %v\n%s", err, out)
	}
	for _, w := range []struct {
		name string
		args []string
		tls  []string
	}{
		{"default", []string{"-conns", "60", "-size", "3MB", "-seed", "7"}, nil},
		{"tls12-resume", []string{"-conns", "40", "-size", "2MB", "-seed", "8", "-deflate", "1", "-frag", "0.3"}, []string{"-tls13", "0", "-resume", "0.8"}},
		{"pcapng-ipv6-pad", []string{"-conns", "20", "-size", "1MB", "-seed", "9", "-format", "pcapng", "-ipv6", "0.5", "-pad"}, []string{"-seed", "3"}},
	} {
		t.Run(w.name, func(t *testing.T) {
			plain := filepath.Join(dir, w.name+".pcap")
			capPath := filepath.Join(dir, w.name+"-tls.pcap")
			if out, err := exec.Command(wsgen, append(w.args, "-o", plain, "-q")...).CombinedOutput(); err != nil {
				t.Fatalf("wsgen: %v\n%s", err, out)
			}
			if out, err := exec.Command(wsgentls, append(w.tls, "-i", plain, "-o", capPath, "-q")...).CombinedOutput(); err != nil {
				t.Fatalf("wsgentls: %v\n%s", err, out)
			}
			var outs [2][]byte
			for i, j := range []int{1, 2} {
				var out, errb bytes.Buffer
				args := []string{"-r", capPath, "--keylog", capPath + ".keylog", "--json", "-j", strconv.Itoa(j)}
				if err := run(context.Background(), args, &out, &errb); err != nil {
					t.Fatalf("wscap -j %d: %v\n%s", j, err, errb.String())
				}
				outs[i] = out.Bytes()
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Errorf("-j 1 and -j 2 differ")
			}
			res, err := truth.Check(capPath, bytes.NewReader(outs[0]))
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
