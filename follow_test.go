package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// TestFollowWholeText checks, on every real capture, that --follow N
// prints every message of connection N in order: each text message's
// whole text (as the JSON Lines "text" field has it), each binary
// message as a dump of as many lines as its bytes need.
func TestFollowWholeText(t *testing.T) {
	caps, _ := filepath.Glob("testdata/real/*.pcapng")
	if len(caps) == 0 {
		t.Fatal("no real captures")
	}
	checked, texts, dumps := 0, 0, 0
	for _, in := range caps {
		base := strings.TrimSuffix(in, ".pcapng")
		args := []string{"-r", in, "--max-payload", "16MiB"}
		if _, err := os.Stat(base + ".keys"); err == nil {
			args = append(args, "--keylog", base+".keys")
		}
		var js bytes.Buffer
		if err := run(context.Background(), append(append([]string{}, args...), "--json"), &js, &bytes.Buffer{}); err != nil {
			t.Fatalf("%s --json: %v", in, err)
		}
		type msg struct {
			Type, From, Text string
			Conn, Pkt        int
			Len              uint64
			Data             string
		}
		byConn := map[int][]msg{}
		for _, line := range bytes.Split(bytes.TrimSpace(js.Bytes()), []byte("\n")) {
			var m msg
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			if m.Type == "message" {
				byConn[m.Conn] = append(byConn[m.Conn], m)
			}
		}
		for conn, msgs := range byConn {
			var out bytes.Buffer
			if err := run(context.Background(), append(append([]string{}, args...), "--follow", fmt.Sprint(conn)), &out, &bytes.Buffer{}); err != nil {
				t.Fatalf("%s --follow %d: %v", in, conn, err)
			}
			s := out.String()
			at := 0
			for _, m := range msgs {
				head := fmt.Sprintf(" pkt %d] #%d %s -> ", m.Pkt, conn, m.From)
				i := strings.Index(s[at:], head)
				if i < 0 {
					t.Errorf("%s --follow %d: no block for the message of packet %d after offset %d", in, conn, m.Pkt, at)
					break
				}
				at += i + len(head)
				body := s[at:]
				body = body[strings.IndexByte(body, '\n')+1:]
				if m.Text != "" && strings.IndexFunc(m.Text, func(r rune) bool { return !unicode.IsPrint(r) && r != '\n' }) < 0 {
					want := "    " + strings.ReplaceAll(m.Text, "\n", "\n    ") + "\n"
					if !strings.HasPrefix(body, want) {
						t.Errorf("%s --follow %d: the message of packet %d is not shown whole:\nwant %.200q\n got %.200q", in, conn, m.Pkt, want, body)
					}
					texts++
				}
				if m.Data != "" {
					p, err := base64.StdEncoding.DecodeString(m.Data)
					if err != nil {
						t.Fatal(err)
					}
					lines := strings.SplitAfter(body, "\n")
					n := (len(p) + 15) / 16
					if len(lines) <= n || !strings.HasPrefix(lines[0], "    0000  ") ||
						!strings.HasPrefix(lines[n-1], fmt.Sprintf("    %04x  ", (n-1)*16)) || strings.HasPrefix(lines[n], "    ") {
						t.Errorf("%s --follow %d: the binary message of packet %d (%d bytes) is not a %d-line dump:\n%.300s", in, conn, m.Pkt, len(p), n, body)
					}
					dumps++
				}
				checked++
			}
		}
	}
	if checked < 50 || texts < 20 || dumps < 5 {
		t.Errorf("only %d messages checked (%d texts, %d dumps)", checked, texts, dumps)
	}
}

// TestFollowDelta checks that with -t delta each --follow line's time is
// from the previous line, not from events that print no line (the frame
// of a message sent in one frame made every message 0.000000).
func TestFollowDelta(t *testing.T) {
	code, stdout, stderr := runCLI("-r", "testdata/real/demo.pcapng", "--follow", "1", "-t", "delta")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	zero := 0
	lines := 0
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, "client -> server: text") || strings.Contains(l, "server -> client: text") {
			lines++
			if strings.HasPrefix(l, "[0.000000 ") {
				zero++
			}
		}
	}
	if lines == 0 || zero > 0 {
		t.Errorf("%d of %d message lines have a delta of 0:\n%s", zero, lines, stdout)
	}
}
