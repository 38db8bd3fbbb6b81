package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/internal/flowgen"
)

// timingCapture is one WebSocket connection whose timing is known to the
// nanosecond: packets are 0 apart except for the pauses. Round trips of
// 10, 20, 30 ms (server pings), 40 ms (a client ping), 50 and 55 ms (two
// pipelined pings with the same empty payload, answered in order); an
// unsolicited pong and a ping never answered; client messages of 10..50
// bytes 10 ms apart, a 2 s silence, a 1000-byte message; a close handshake
// of 7 ms and the last FIN 12 ms after the first close frame.
func timingCapture() *flowgen.Capture {
	c := flowgen.NewCapture()
	c.Step = 0
	k := c.NewConn(netip.MustParseAddrPort("192.0.2.10:50000"), netip.MustParseAddrPort("192.0.2.20:80"))
	k.Open()
	key := flowgen.Key(7)
	k.Client(flowgen.UpgradeRequest("/timing", "example.test", key))
	k.Server(flowgen.Response101(key))
	n := 0
	client := func(op flowgen.Opcode, p string) {
		n++
		k.Client(flowgen.Frame{Fin: true, Op: op, Mask: flowgen.MaskKey(n), Payload: []byte(p)}.Bytes())
	}
	server := func(op flowgen.Opcode, p string) {
		k.Server(flowgen.Frame{Fin: true, Op: op, Payload: []byte(p)}.Bytes())
	}
	for i, p := range []string{"p1", "p2", "p3"} {
		server(flowgen.OpPing, p)
		c.Pause(time.Duration(i+1) * 10 * time.Millisecond)
		client(flowgen.OpPong, p)
	}
	client(flowgen.OpPing, "c1")
	c.Pause(40 * time.Millisecond)
	server(flowgen.OpPong, "c1")
	server(flowgen.OpPing, "")
	c.Pause(5 * time.Millisecond)
	server(flowgen.OpPing, "")
	c.Pause(45 * time.Millisecond)
	client(flowgen.OpPong, "") // the first: 50 ms
	c.Pause(10 * time.Millisecond)
	client(flowgen.OpPong, "")     // the second: 55 ms
	server(flowgen.OpPong, "hb")   // unsolicited
	server(flowgen.OpPing, "lost") // never answered
	for i := 1; i <= 5; i++ {
		c.Pause(10 * time.Millisecond)
		client(flowgen.OpText, strings.Repeat("x", 10*i))
	}
	for range 3 {
		c.Pause(10 * time.Millisecond)
		server(flowgen.OpBinary, strings.Repeat("y", 100))
	}
	c.Pause(2 * time.Second)
	client(flowgen.OpBinary, strings.Repeat("z", 1000))
	c.Pause(10 * time.Millisecond)
	n++
	k.Client(flowgen.Frame{Fin: true, Op: flowgen.OpClose, Mask: flowgen.MaskKey(n), Payload: flowgen.ClosePayload(1000, "")}.Bytes())
	c.Pause(7 * time.Millisecond)
	k.Server(flowgen.Frame{Fin: true, Op: flowgen.OpClose, Payload: flowgen.ClosePayload(1000, "")}.Bytes())
	c.Pause(3 * time.Millisecond)
	k.Fin(flowgen.S2C)
	c.Pause(2 * time.Millisecond)
	k.Fin(flowgen.C2S)
	return c
}

// TestTimingStatistics: the summary's timing statistics of a capture with
// known delays come out exact, in JSON, with -j 1 and -j 4, and in the
// --stats report.
func TestTimingStatistics(t *testing.T) {
	data, err := timingCapture().PcapNG()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "timing.pcapng")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, j := range []string{"1", "4"} {
		code, out, errs := runCLI("-r", path, "--json", "--summary", "-j", j)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var sum map[string]any
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(l, `"type":"summary"`) {
				d := json.NewDecoder(strings.NewReader(l))
				d.UseNumber()
				if err := d.Decode(&sum); err != nil {
					t.Fatal(err)
				}
			}
		}
		if sum == nil {
			t.Fatalf("no summary line in\n%s", out)
		}
		want := map[string]string{
			"end_reason":             "close_handshake",
			"closed_by":              "client",
			"rtt.count":              "6",
			"rtt.min":                "0.010000000",
			"rtt.median":             "0.030000000",
			"rtt.p99":                "0.055000000",
			"rtt.max":                "0.055000000",
			"rtt.exact":              "true",
			"rtt.unanswered":         "1",
			"rtt.unmatched":          "1",
			"client_rate.msgs_peak":  "5",
			"client_rate.bytes_peak": "1000",
			"server_rate.msgs_peak":  "3",
			"server_rate.bytes_peak": "300",
			"client_size.count":      "6",
			"client_size.median":     "30",
			"client_size.p99":        "1000",
			"client_size.max":        "1000",
			"server_size.median":     "100",
			"close_handshake":        "0.007000000",
			"close_to_end":           "0.012000000",
			"longest_silence":        "2.000000000",
			"duration":               "2.262",
			"client_rate.msgs_mean":  "2.653",
			"server_rate.bytes_mean": "132.626",
		}
		for k, v := range want {
			var got any = sum
			for _, part := range strings.Split(k, ".") {
				m, _ := got.(map[string]any)
				got = m[part]
			}
			if s := jsonString(got); s != v {
				t.Errorf("-j %s: summary %s = %s, want %s", j, k, s, v)
			}
		}
	}

	code, _, errs := runCLI("-r", path, "--stats", "--no-summary")
	if code != 0 {
		t.Fatalf("--stats: exit %d: %s", code, errs)
	}
	for _, s := range []string{"timing per connection", "| #1 ", "10.0ms/30.0ms/55.0ms/55.0ms", "6 rtt 1 lost 1 unsol", "close_handshake by client", "7.0ms", "12.0ms", "2.000s"} {
		if !strings.Contains(errs, s) {
			t.Errorf("--stats report lacks %q:\n%s", s, errs)
		}
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}
