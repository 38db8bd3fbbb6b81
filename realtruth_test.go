package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealCaptureTruth checks every message of the real recordings in
// testdata/real/ against the list the recording script saved from the
// server and client (<name>.truth.jsonl: direction, opcode, length and
// sha256 of each message, in order). wss captures are decrypted with the
// key log recorded beside them. WebSockets over HTTP/2 (testdata/real/h2/)
// are checked per stream.
func TestRealCaptureTruth(t *testing.T) {
	truths, _ := filepath.Glob("testdata/real/*.truth.jsonl")
	h2, _ := filepath.Glob("testdata/real/h2/*.truth.jsonl")
	truths = append(truths, h2...)
	if len(truths) == 0 {
		t.Fatal("no truth files in testdata/real/")
	}
	for _, tf := range truths {
		base := strings.TrimSuffix(tf, ".truth.jsonl")
		t.Run(filepath.Base(base), func(t *testing.T) {
			args := []string{"-r", base + ".pcapng", "--json", "--max-payload", "16MiB"}
			if _, err := os.Stat(base + ".keys"); err == nil {
				args = append(args, "--keylog", base+".keys")
			}
			var out, errb bytes.Buffer
			if err := run(context.Background(), args, &out, &errb); err != nil {
				t.Fatalf("wscap: %v\n%s", err, errb.String())
			}
			var got []string
			sc := bufio.NewScanner(&out)
			sc.Buffer(nil, 64<<20)
			for sc.Scan() {
				var e jsonEvent
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatal(err)
				}
				if e.str("type") != "message" {
					continue
				}
				if e.str("decode_error") != "" || e.flag("truncated") {
					t.Errorf("message not decoded: %v", e)
				}
				p := e.payload()
				sum := sha256.Sum256(p)
				got = append(got, fmt.Sprintf("%d %s %s %d %s", e.num("h2_stream"), e.str("from"), e.str("opcode"), len(p), hex.EncodeToString(sum[:])))
			}
			raw, err := os.ReadFile(tf)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				var m struct {
					H2Stream             int `json:"h2_stream"`
					From, Opcode, Sha256 string
					Len                  int
				}
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatal(err)
				}
				if m.From == "" {
					continue // a close line, not a message
				}
				want = append(want, fmt.Sprintf("%d %s %s %d %s", m.H2Stream, m.From, m.Opcode, m.Len, m.Sha256))
			}
			if len(got) != len(want) {
				t.Errorf("%d messages, want %d", len(got), len(want))
			}
			// Each direction's messages of each stream in order (the
			// directions and streams may interleave differently in
			// capture order than in the logs).
			keys := map[string]bool{}
			for _, l := range append(got, want...) {
				f := strings.Fields(l)
				keys[f[0]+" "+f[1]] = true
			}
			for k := range keys {
				g, w := filter(got, k), filter(want, k)
				if strings.Join(g, "\n") != strings.Join(w, "\n") {
					t.Errorf("%s messages differ:\ngot:\n%s\nwant:\n%s", k, strings.Join(g, "\n"), strings.Join(w, "\n"))
				}
			}
		})
	}
}

func filter(l []string, prefix string) []string {
	var out []string
	for _, s := range l {
		if strings.HasPrefix(s, prefix+" ") {
			out = append(out, s)
		}
	}
	return out
}
