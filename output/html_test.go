package output

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/dfilter"
)

// htmlReport renders evs (given in one Write, then in one Write per
// event: the report must not depend on the batching) and returns the page
// and its embedded data.
func htmlReport(t *testing.T, evs []decode.Event, opt HTMLOptions) (string, map[string]any) {
	t.Helper()
	opt.Now = func() time.Time { return t0 }
	var pages [2]string
	for i := range pages {
		var out bytes.Buffer
		x := NewHTML(&out, opt)
		x.(interface{ SetEpoch(time.Time) }).SetEpoch(t0)
		if i == 0 {
			if err := x.Write(evs); err != nil {
				t.Fatal(err)
			}
		} else {
			for j := range evs {
				if err := x.Write(evs[j : j+1]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		pages[i] = out.String()
	}
	if pages[0] != pages[1] {
		t.Fatal("the report depends on how the events are batched")
	}
	return pages[0], htmlData(t, pages[0])
}

// htmlData extracts the JSON the page embeds.
func htmlData(t *testing.T, page string) map[string]any {
	t.Helper()
	const open = `<script id="data" type="application/json">`
	i := strings.Index(page, open)
	if i < 0 {
		t.Fatal("no data in the page")
	}
	j := strings.Index(page[i:], "</script>")
	var d map[string]any
	if err := json.Unmarshal([]byte(page[i+len(open):i+j]), &d); err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	return d
}

func num(v any) float64 { f, _ := v.(float64); return f }

// TestHTMLSampleCounts: the totals and per-connection counts of the
// sample capture equal what its events say.
func TestHTMLSampleCounts(t *testing.T) {
	evs := sampleEvents()
	var conns, msgs, anoms int
	for _, ev := range evs {
		switch ev.Kind {
		case decode.KindConn:
			conns++
		case decode.KindMessage:
			msgs++
		case decode.KindAnomaly:
			anoms++
		}
	}
	_, d := htmlReport(t, evs, HTMLOptions{Title: "sample"})
	tot := d["totals"].(map[string]any)
	if int(num(tot["conns"])) != conns || int(num(tot["messages"])) != msgs || int(num(tot["anomalies"])) != anoms {
		t.Errorf("totals %v, want %d conns, %d messages, %d anomalies", tot, conns, msgs, anoms)
	}
	sum := 0
	for _, c := range d["conns"].([]any) {
		m := c.(map[string]any)["msgs"].([]any)
		sum += int(num(m[0]) + num(m[1]))
	}
	if sum != msgs {
		t.Errorf("messages of the connections: %d, want %d", sum, msgs)
	}
	if n := len(d["anoms"].([]any)); n != anoms {
		t.Errorf("%d anomalies listed, want %d", n, anoms)
	}
}

// TestHTMLRTT: a pong is matched to the earliest unanswered ping of the
// other side with the same payload; unsolicited pongs and pongs from the
// pinging side are no round trips.
func TestHTMLRTT(t *testing.T) {
	var b builder
	C, S, N := decode.RoleClient, decode.RoleServer, decode.RoleNone
	cli := netip.MustParseAddrPort("10.0.0.2:5000")
	srv := netip.MustParseAddrPort("10.0.0.1:80")
	b.add(1, 1, 0, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: cli, Server: srv}})
	ctl := func(pkt int, us int64, from decode.Role, op decode.Opcode, p string) {
		b.add(1, pkt, us, from, decode.Event{Kind: decode.KindFrame, Frame: frame(true, op, from == C, p)})
	}
	ctl(2, 1000, S, decode.OpPing, "a")
	ctl(3, 2000, C, decode.OpPing, "x")
	ctl(4, 6000, C, decode.OpPong, "a")  // 5 ms
	ctl(5, 12000, S, decode.OpPong, "x") // 10 ms
	ctl(6, 20000, S, decode.OpPing, "b")
	ctl(7, 30000, S, decode.OpPing, "b")
	ctl(8, 37000, C, decode.OpPong, "b")  // the first b: 17 ms
	ctl(9, 40000, C, decode.OpPong, "b")  // the second: 10 ms
	ctl(10, 50000, C, decode.OpPong, "z") // unsolicited
	ctl(11, 60000, S, decode.OpPing, "c")
	ctl(12, 61000, S, decode.OpPong, "c") // same side: not an answer
	ctl(13, 70000, C, decode.OpPong, "c") // 10 ms
	ctl(14, 80000, C, decode.OpPong, "c") // answered already
	ctl(15, 90000, S, decode.OpPing, "")  // empty payloads match too
	ctl(16, 90250, C, decode.OpPong, "")  // 0.25 ms
	_, d := htmlReport(t, b.evs, HTMLOptions{})
	c := d["conns"].([]any)[0].(map[string]any)
	var got []float64
	var at []float64
	for _, p := range c["rtt"].([]any) {
		got = append(got, num(p.([]any)[1]))
		at = append(at, num(p.([]any)[0]))
	}
	want := []float64{5, 10, 17, 10, 10, 0.25}
	wantAt := []float64{0.001, 0.002, 0.02, 0.03, 0.06, 0.09}
	if len(got) != len(want) {
		t.Fatalf("rtt %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] || at[i] != wantAt[i] {
			t.Errorf("rtt %d: %v ms at %v s, want %v ms at %v s", i, got[i], at[i], want[i], wantAt[i])
		}
	}
	st := c["rtts"].(map[string]any)
	if num(st["n"]) != 6 || num(st["min"]) != 0.25 || num(st["max"]) != 17 || num(st["med"]) != 10 {
		t.Errorf("rtt stats %v", st)
	}
	if n := num(d["totals"].(map[string]any)["rtts"]); n != 6 {
		t.Errorf("total round trips %v, want 6", n)
	}
}

func TestFairShare(t *testing.T) {
	for _, tc := range []struct {
		lens  []int
		total int
		want  int
	}{
		{nil, 10, 10},
		{[]int{3, 4}, 10, 4},   // all fit: the longest
		{[]int{10, 10}, 10, 5}, // even split
		{[]int{1, 10, 10}, 11, 5},
		{[]int{2, 100, 100, 100}, 32, 10},
		{[]int{50, 50, 50}, 2, 0},
	} {
		if got := fairShare(tc.lens, tc.total); got != tc.want {
			t.Errorf("fairShare(%v, %d) = %d, want %d", tc.lens, tc.total, got, tc.want)
		}
	}
}

// TestHTMLLimits: conversations and payloads are cut at the documented
// limits, and the cuts are counted.
func TestHTMLLimits(t *testing.T) {
	var b builder
	C, N := decode.RoleClient, decode.RoleNone
	cli := netip.MustParseAddrPort("10.0.0.2:5000")
	srv := netip.MustParseAddrPort("10.0.0.1:80")
	b.add(1, 1, 0, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: cli, Server: srv}})
	long := strings.Repeat("é", 400) // 800 bytes: cut inside no rune
	b.add(1, 2, 10, C, decode.Event{Kind: decode.KindMessage, Message: textMsg(1, long)})
	bin := decode.Message{N: 2, Opcode: decode.OpBinary, Frames: 1, Len: 5000, WireLen: 5000, Payload: bytes.Repeat([]byte{0xff}, 1000), Truncated: true}
	b.add(1, 3, 20, C, decode.Event{Kind: decode.KindMessage, Message: bin})
	extra := 7
	for i := range HTMLConvPerConn + extra - 2 {
		b.add(1, 4+i, int64(30+i), C, decode.Event{Kind: decode.KindMessage, Message: textMsg(3+i, "hi")})
	}
	_, d := htmlReport(t, b.evs, HTMLOptions{})
	c := d["conns"].([]any)[0].(map[string]any)
	conv := c["conv"].([]any)
	if len(conv) != HTMLConvPerConn || int(num(c["convMore"])) != extra {
		t.Errorf("conversation of %d items, %v more; want %d, %d", len(conv), c["convMore"], HTMLConvPerConn, extra)
	}
	m := conv[0].(map[string]any)
	if txt := m["text"].(string); len(txt) != HTMLPreview || num(m["more"]) != float64(800-HTMLPreview) {
		t.Errorf("text preview of %d bytes, %v more", len(txt), m["more"])
	}
	m = conv[1].(map[string]any)
	if b64 := m["b64"].(string); len(b64) != (HTMLPreview+2)/3*4 || num(m["more"]) != float64(5000-HTMLPreview) {
		t.Errorf("binary preview %d base64 chars, %v more", len(b64), m["more"])
	}
	if n := num(d["totals"].(map[string]any)["messages"]); int(n) != HTMLConvPerConn+extra {
		t.Errorf("messages %v: every message counts", n)
	}
}

// TestHTMLConvTotal: past the total limit, every connection keeps a fair
// share of its conversation.
func TestHTMLConvTotal(t *testing.T) {
	var b builder
	C, N := decode.RoleClient, decode.RoleNone
	srv := netip.MustParseAddrPort("10.0.0.1:80")
	nconn := 3*HTMLConvTotal/HTMLConvPerConn + 1
	for c := 1; c <= nconn; c++ {
		cli := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), uint16(1000+c))
		b.add(c, c, int64(c), N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: cli, Server: srv}})
		for i := range HTMLConvPerConn {
			b.add(c, c, int64(c*1000+i), C, decode.Event{Kind: decode.KindMessage, Message: textMsg(i+1, "x")})
		}
	}
	_, d := htmlReport(t, b.evs, HTMLOptions{})
	total := 0
	want := HTMLConvTotal / nconn
	for _, c := range d["conns"].([]any) {
		n := len(c.(map[string]any)["conv"].([]any))
		if n != want {
			t.Fatalf("a connection keeps %d items, want %d", n, want)
		}
		total += n
	}
	if total > HTMLConvTotal {
		t.Errorf("%d items in all, limit %d", total, HTMLConvTotal)
	}
}

// TestHTMLSelfContained: the page loads nothing from anywhere, and no
// payload or title can end the data's script element or inject markup.
func TestHTMLSelfContained(t *testing.T) {
	var b builder
	C, N := decode.RoleClient, decode.RoleNone
	cli := netip.MustParseAddrPort("10.0.0.2:5000")
	srv := netip.MustParseAddrPort("10.0.0.1:80")
	evil := "</script><script>alert(1)</script>\u2028<!--"
	b.add(1, 1, 0, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: cli, Server: srv}})
	b.add(1, 2, 10, N, decode.Event{Kind: decode.KindHandshake, Handshake: &decode.Handshake{Method: "GET", Path: "/" + evil, Proto: "HTTP/1.1", Status: 101}})
	b.add(1, 3, 20, C, decode.Event{Kind: decode.KindMessage, Message: textMsg(1, evil)})
	a := anomaly("test_code", evil)
	b.add(1, 4, 30, C, decode.Event{Kind: decode.KindAnomaly, Anomaly: a})
	page, d := htmlReport(t, b.evs, HTMLOptions{Title: evil})
	clean, _ := htmlReport(t, nil, HTMLOptions{Title: "x"})
	if got, want := strings.Count(page, "<script"), strings.Count(clean, "<script"); got != want {
		t.Errorf("%d <script in the page, %d in a clean one", got, want)
	}
	if got, want := strings.Count(page, "</script"), strings.Count(clean, "</script"); got != want {
		t.Errorf("%d </script in the page, %d in a clean one", got, want)
	}
	if i := strings.Index(page, "\u2028"); i >= 0 {
		t.Errorf("U+2028 in the page: %q", page[max(0, i-40):i+10])
	}
	if i := strings.Index(page, "<!--"); i >= 0 {
		t.Errorf("<!-- in the page: %q", page[max(0, i-40):i+10])
	}
	lower := strings.ToLower(page)
	for _, s := range []string{"http://", "https://", "src=", "@import", "url(", "<link", "//cdn"} {
		if strings.Contains(lower, s) {
			t.Errorf("the page contains %q: it must load nothing", s)
		}
	}
	conv := d["conns"].([]any)[0].(map[string]any)["conv"].([]any)
	if got := conv[1].(map[string]any)["text"]; got != evil {
		t.Errorf("payload %q, want %q", got, evil)
	}
	if d["title"] != evil {
		t.Errorf("title %q", d["title"])
	}
}

// TestHTMLFilter: with -Y, only the matching events count and only the
// connections with one are listed.
func TestHTMLFilter(t *testing.T) {
	f, err := dfilter.Compile("conn == 2")
	if err != nil {
		t.Fatal(err)
	}
	_, all := htmlReport(t, sampleEvents(), HTMLOptions{})
	_, d := htmlReport(t, sampleEvents(), HTMLOptions{Filter: f})
	conns := d["conns"].([]any)
	if len(conns) != 1 || num(conns[0].(map[string]any)["id"]) != 2 {
		t.Fatalf("connections %v, want #2 only", conns)
	}
	var want float64
	for _, c := range all["conns"].([]any) {
		if m := c.(map[string]any); num(m["id"]) == 2 {
			ms := m["msgs"].([]any)
			want = num(ms[0]) + num(ms[1])
		}
	}
	if got := num(d["totals"].(map[string]any)["messages"]); got != want {
		t.Errorf("messages %v, want %v (those of #2)", got, want)
	}
	if d["filter"] != "conn == 2" {
		t.Errorf("filter %v", d["filter"])
	}
}

// TestHTMLCells: past HTMLCells the time buckets double, and every
// message is still in the rate chart.
func TestHTMLCells(t *testing.T) {
	var b builder
	C, N := decode.RoleClient, decode.RoleNone
	cli := netip.MustParseAddrPort("10.0.0.2:5000")
	srv := netip.MustParseAddrPort("10.0.0.1:80")
	b.add(1, 1, 0, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: cli, Server: srv}})
	n := HTMLCells // one per ms: two cells each (connection and rate)
	for i := range n {
		b.add(1, 2+i, int64(i)*1000, C, decode.Event{Kind: decode.KindMessage, Message: textMsg(i+1, "x")})
	}
	_, d := htmlReport(t, b.evs, HTMLOptions{})
	if res := num(d["res"]); res <= 0.001 {
		t.Errorf("bucket %v s: it should have grown", res)
	}
	var sum float64
	for _, r := range d["rate"].([]any) {
		sum += num(r.([]any)[1])
	}
	cells := len(d["rate"].([]any)) + len(d["conns"].([]any)[0].(map[string]any)["cells"].([]any))
	if int(sum) != n || cells > HTMLCells {
		t.Errorf("rate chart holds %v messages in %d cells, want %d in at most %d", sum, cells, n, HTMLCells)
	}
}
