package flowgen

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var regen = flag.Bool("regen", false, "rewrite the fixture files in testdata/ at the repository root")

// fixtureDir is the repository's testdata directory.
var fixtureDir = filepath.Join("..", "..", "testdata")

// TestScenarios rebuilds every scenario in memory and compares it byte for
// byte with the committed fixture, so the generator cannot rot. With
// -regen it rewrites the fixtures instead.
func TestScenarios(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			if seen[s.Name] {
				t.Fatalf("duplicate scenario name %q", s.Name)
			}
			seen[s.Name] = true
			got, err := s.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			again, err := s.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again) {
				t.Fatal("two builds differ: the scenario is not deterministic")
			}
			path := filepath.Join(fixtureDir, s.File())
			if *regen {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/flowgen -regen)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from its generator (%d bytes generated, %d on disk); run go test ./internal/flowgen -regen and review", path, len(got), len(want))
			}
		})
	}
}

// TestFixtureSizes keeps fixtures small; rfc-hello holds a 64 KiB frame.
func TestFixtureSizes(t *testing.T) {
	for _, s := range Scenarios() {
		b, err := s.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		limit := 20 << 10
		if s.Name == "rfc-hello" {
			limit = 100 << 10
		}
		if len(b) > limit {
			t.Errorf("%s: %d bytes, over %d", s.File(), len(b), limit)
		}
	}
}

// TestFixturesTShark checks each committed fixture with tshark when it is
// installed: the number of WebSocket frames it shows must match
// Scenario.TShark, and files without deliberate loss or reordering must
// not raise TCP analysis warnings.
func TestFixturesTShark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	if testing.Short() {
		t.Skip("tshark is slow; skipped in -short mode")
	}
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			path := filepath.Join(fixtureDir, s.File())
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			args := []string{"-n", "-r", path}
			if s.DecodeAs != 0 {
				args = append(args, "-d", "tcp.port=="+strconv.Itoa(int(s.DecodeAs))+",websocket")
			}
			args = append(args, "-Y", "websocket", "-T", "fields", "-e", "websocket.opcode")
			out, err := exec.Command(tshark, args...).Output()
			if err != nil {
				t.Fatalf("tshark %v: %v", args, err)
			}
			n := 0
			for line := range strings.Lines(string(out)) {
				if line = strings.TrimSpace(line); line != "" {
					n += strings.Count(line, ",") + 1
				}
			}
			if n != s.TShark {
				t.Errorf("tshark shows %d WebSocket frames, want %d; opcodes:\n%s", n, s.TShark, out)
			}
		})
	}
}

// TestREADMETable keeps the scenario table in testdata/README.md in step
// with Scenarios (rewritten by -regen).
func TestREADMETable(t *testing.T) {
	path := filepath.Join(fixtureDir, "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- scenarios:begin", "<!-- scenarios:end -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: no %q … %q markers", path, begin, end)
	}
	i += strings.Index(doc[i:], "\n") + 1
	var tab strings.Builder
	tab.WriteString("| file | frames (tshark) | what it exercises |\n|---|---|---|\n")
	for _, s := range Scenarios() {
		tab.WriteString("| `" + s.File() + "` | " + strconv.Itoa(s.TShark) + " | " +
			strings.ReplaceAll(s.Doc, "|", `\|`) + " |\n")
	}
	want := doc[:i] + tab.String() + doc[j:]
	if want == doc {
		return
	}
	if *regen {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: scenario table is out of date; run go test ./internal/flowgen -regen", path)
}
