package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// appLabels counts the messages of a --json run by app.proto ("" for
// messages without one).
func appLabels(t *testing.T, args ...string) map[string]int {
	t.Helper()
	code, out, errOut := runCLI(append(args, "--json")...)
	if code != 0 && code != 3 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	n := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev struct {
			Type string `json:"type"`
			App  *struct {
				Proto string `json:"proto"`
			} `json:"app"`
			Partial bool `json:"app_partial"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "message" {
			continue
		}
		switch {
		case ev.App != nil:
			n[ev.App.Proto]++
		case ev.Partial:
			n["(partial)"]++
		default:
			n[""]++
		}
	}
	return n
}

// TestAppLabelsCorpus runs detection over every capture of the corpus
// (real traffic of many implementations, mostly free text, JSON of no
// particular protocol, and binary): nothing is labelled a protocol but the
// SIP over WebSocket of heplify (subprotocol sip), and no binary payload
// is guessed to be MessagePack or CBOR.
func TestAppLabelsCorpus(t *testing.T) {
	dir := smokeCorpusDir(t)
	allowed := map[string]string{"heplify/sip_tcp_websocket.pcap": "sip"}
	var caps []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
			caps = append(caps, p)
		}
		return nil
	})
	if len(caps) < 20 {
		t.Fatalf("only %d captures in %s", len(caps), dir)
	}
	total := 0
	for _, p := range caps {
		rel, _ := filepath.Rel(dir, p)
		args := []string{"-r", p}
		if port, ok := decodeAs[rel]; ok {
			args = append(args, "-d", port)
		}
		for proto, n := range appLabels(t, args...) {
			switch proto {
			case "":
				total += n
			case allowed[rel]:
			default:
				t.Errorf("%s: %d messages labelled %s", rel, n, proto)
			}
		}
	}
	if n := appLabels(t, "-r", filepath.Join(dir, "heplify", "sip_tcp_websocket.pcap"))["sip"]; n != 11 {
		t.Errorf("heplify SIP: %d of 11 messages labelled sip", n)
	}
	t.Logf("%d captures, %d messages without a label", len(caps), total)
}

// TestAppLabelsWsgen runs detection over a wsgen workload: JSON text of no
// protocol, random and structured binary; no message gets a label.
func TestAppLabelsWsgen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	path := genWsgen(t, "-conns", "300", "-size", "20MB", "-seed", "5", "-deflate", "0.3")
	n := appLabels(t, "-r", path)
	var labels []string
	for proto, c := range n {
		if proto != "" {
			labels = append(labels, proto)
			t.Errorf("%d messages labelled %s", c, proto)
		}
	}
	sort.Strings(labels)
	if n[""] < 5000 {
		t.Errorf("only %d messages", n[""])
	}
	t.Logf("%d messages, labels: %v", n[""], labels)
}

// TestAppSIPMatchesTshark compares wscap's SIP units on the corpus's SIP
// over WebSocket capture (heplify) with what tshark's SIP dissector read:
// the same request and status lines and Call-IDs, in order.
func TestAppSIPMatchesTshark(t *testing.T) {
	dir := smokeCorpusDir(t)
	path := filepath.Join(dir, "heplify", "sip_tcp_websocket.pcap")
	raw, err := os.ReadFile(path + ".tshark.json")
	if err != nil {
		t.Skipf("no tshark decoding beside the capture: %v", err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string][]string `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(raw, &pkts); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range pkts {
		l := p.Source.Layers
		for i, line := range append(l["sip.Request-Line"], l["sip.Status-Line"]...) {
			if i < len(l["sip.Call-ID"]) {
				want = append(want, line+" | "+l["sip.Call-ID"][i])
			}
		}
	}
	code, out, errOut := runCLI("-r", path, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var ev struct {
			App *struct {
				Proto  string `json:"proto"`
				Type   string `json:"type"`
				Name   string `json:"name"`
				Status int    `json:"status"`
				Reason string `json:"reason"`
				CallID string `json:"call_id"`
			} `json:"app"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.App == nil || ev.App.Proto != "sip" {
			continue
		}
		a := ev.App
		line := a.Type + " " + a.Name + " SIP/2.0"
		if a.Type == "response" {
			line = "SIP/2.0 " + strconv.Itoa(a.Status) + " " + a.Reason
		}
		got = append(got, line+" | "+a.CallID)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) != 11 {
		t.Errorf("wscap:\n%s\ntshark:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
