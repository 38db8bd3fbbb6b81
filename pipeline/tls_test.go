package pipeline

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
	"github.com/wscap/wscap/tlsdec"
	"github.com/wscap/wscap/tlsdec/tlstest"
)

// tlsSteps is a short WebSocket session: handshake and msgs messages
// each way.
func tlsSteps(i, msgs int) []tlstest.Step {
	key := flowgen.Key(i)
	steps := []tlstest.Step{
		{Data: flowgen.UpgradeRequest("/s", "example.test", key)},
		{FromServer: true, Data: flowgen.Response101(key)},
	}
	for m := range msgs {
		steps = append(steps,
			tlstest.Step{Data: flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Mask: flowgen.MaskKey(m), Payload: fmt.Appendf(nil, "conn %d asks %d", i, m)})},
			tlstest.Step{FromServer: true, Data: flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: bytes.Repeat(fmt.Appendf(nil, "conn %d answers %d;", i, m), 20)})})
	}
	return steps
}

// helloSessionID returns the offset of the 32-byte session id in a
// ClientHello or ServerHello that starts a flight (record header,
// handshake header, version, random, length), or -1.
func helloSessionID(b []byte) int {
	const off = 5 + 4 + 2 + 32
	if len(b) < off+1+32 || b[off] != 32 {
		return -1
	}
	return off + 1
}

// dropTicket renames the session_ticket extension of the ClientHello that
// starts b (an unknown extension of the same length), so that the
// connection resumes by session id only.
func dropTicket(t *testing.T, b []byte) {
	t.Helper()
	s := 5 + 4 + 2 + 32
	s += 1 + int(b[s])                                 // session id
	s += 2 + int(binary.BigEndian.Uint16(b[s:]))       // cipher suites
	s += 1 + int(b[s])                                 // compression
	end := s + 2 + int(binary.BigEndian.Uint16(b[s:])) // extensions
	for s += 2; s+4 <= end; s += 4 + int(binary.BigEndian.Uint16(b[s+2:])) {
		if binary.BigEndian.Uint16(b[s:]) == 35 {
			binary.BigEndian.PutUint16(b[s:], 0xfafa)
			return
		}
	}
	t.Fatal("no session_ticket extension")
}

// tlsConnKind says how a connection of the resumption capture was made.
type tlsConnKind struct {
	conn     tlstest.Conn
	resumed  bool // a TLS 1.2 abbreviated handshake
	decrypts bool // a single engine decrypts it
}

// resumptionCapture builds a capture of TLS 1.2 sessions that later
// connections resume (by ticket, and by session id), TLS 1.3 sessions
// (PSK resumption), a connection with a session id that no connection
// established, and one that resumes a session established only later in
// the capture, interleaved so that the connections of one session run
// on different workers. It returns the capture, its key log and, per
// connection in the order they open, whether it decrypts.
func resumptionCapture(t *testing.T) (*flowgen.Capture, []byte, []bool) {
	t.Helper()
	var keylog bytes.Buffer
	var conns []tlsConnKind
	var late []tlstest.Conn // resume a session established after them
	family := 0
	add := func(v uint16, n int) []tlstest.Conn {
		family++
		res, err := tlstest.Session(tlstest.Config{Client: &tls.Config{MaxVersion: v}, Steps: tlsSteps(family, 3), Conns: n})
		if err != nil {
			t.Fatal(err)
		}
		keylog.Write(res.KeyLog)
		for i, c := range res.Conns {
			if i > 0 && !c.State.DidResume {
				t.Fatalf("family %d conn %d: Go did not resume", family, i)
			}
		}
		return res.Conns
	}
	// TLS 1.2 families: a full handshake, then resumptions by ticket;
	// the third connection of each is made to resume by the session id
	// the second one's ServerHello echoed.
	for range 3 {
		cs := add(tls.VersionTLS12, 6)
		second, third := cs[2].Writes, cs[3].Writes
		sid := helloSessionID(second[1].Data)
		if sid < 0 || !second[1].FromServer || helloSessionID(third[0].Data) < 0 || helloSessionID(third[1].Data) < 0 {
			t.Fatal("unexpected TLS 1.2 flights")
		}
		dropTicket(t, third[0].Data)
		copy(third[0].Data[sid:sid+32], second[1].Data[sid:sid+32])
		copy(third[1].Data[sid:sid+32], second[1].Data[sid:sid+32])
		for i, c := range cs {
			conns = append(conns, tlsConnKind{conn: c, resumed: i > 0, decrypts: true})
		}
	}
	// A bogus session id: a resumption whose ClientHello offers, and
	// whose ServerHello echoes, an id no connection established.
	cs := add(tls.VersionTLS12, 2)
	bogus := cs[1].Writes
	dropTicket(t, bogus[0].Data)
	sid := helloSessionID(bogus[0].Data)
	for i := range 32 {
		bogus[0].Data[sid+i], bogus[1].Data[sid+i] = 0xee, 0xee
	}
	conns = append(conns, tlsConnKind{conn: cs[0], decrypts: true}, tlsConnKind{conn: cs[1], resumed: true})
	// A session resumed before the capture shows it established.
	cs = add(tls.VersionTLS12, 2)
	late = append(late, cs[1])
	conns = append(conns, tlsConnKind{conn: cs[0], decrypts: true})
	// TLS 1.3 with PSK resumption.
	for range 2 {
		for _, c := range add(tls.VersionTLS13, 4) {
			conns = append(conns, tlsConnKind{conn: c, decrypts: true})
		}
	}

	// The late one first, then the others interleaved, each starting
	// two writes after the one before (so that a session's handshake
	// is over before the next connection resumes it), write by write.
	c := flowgen.NewCapture()
	server := netip.MustParseAddrPort("192.0.2.20:443")
	var open []*flowgen.Conn
	var plan [][]tlstest.Write
	var decrypts []bool
	start := func(tc tlstest.Conn, dec bool) {
		k := c.NewConn(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), uint16(40000+len(open))), server)
		k.Open()
		open = append(open, k)
		plan = append(plan, tc.Writes)
		decrypts = append(decrypts, dec)
	}
	step := func(i int) bool {
		if len(plan[i]) == 0 {
			return false
		}
		w := plan[i][0]
		plan[i] = plan[i][1:]
		if w.FromServer {
			open[i].Server(w.Data)
		} else {
			open[i].Client(w.Data)
		}
		if len(plan[i]) == 0 {
			open[i].Close()
		}
		return true
	}
	for _, l := range late {
		start(l, false)
		for step(len(open) - 1) {
		}
	}
	first := len(open)
	for k, tc := range conns {
		start(tc.conn, tc.decrypts)
		for range 2 {
			for i := first; i < len(open); i++ {
				step(i)
			}
		}
		c.Pause(time.Millisecond)
		_ = k
	}
	for more := true; more; {
		more = false
		for i := first; i < len(open); i++ {
			more = step(i) || more
		}
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	return c, keylog.Bytes(), decrypts
}

// TestTLSResumptionWorkers checks that TLS 1.2 sessions resumed across
// workers (by ticket and by session id), TLS 1.3 resumption, a bogus
// session id and a session resumed before it was established give with
// 2 and 4 workers exactly what one engine gives, with every message of
// every connection that one engine decrypts, in small rounds (many
// waits) and large ones.
func TestTLSResumptionWorkers(t *testing.T) {
	capt, keylog, decrypts := resumptionCapture(t)
	raw, err := capt.PcapNG()
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.NewReader("tls", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var pkts []source.Packet
	for {
		p, err := src.Next()
		if err != nil {
			break
		}
		p.Data = bytes.Clone(p.Data)
		pkts = append(pkts, p)
	}
	run := func(workers int) (string, reassembly.Stats) {
		keys := tlsdec.NewKeyLog()
		keys.ReadFrom(bytes.NewReader(keylog))
		cfg := Config{Workers: workers, JSON: true, Output: output.Options{Summary: true, Verbose: true},
			Engine: reassembly.Config{KeyLog: keys}}
		out, p := runAll(t, cfg, pkts)
		if p.Workers() != workers {
			t.Fatalf("%d workers, want %d", p.Workers(), workers)
		}
		return out, p.Stats()
	}
	defer func(n, o int) { batchPackets, outLimit = n, o }(batchPackets, outLimit)
	for _, small := range []bool{false, true} {
		if small {
			batchPackets, outLimit = 3, 1
		}
		one, s1 := run(1)
		for _, w := range []int{2, 4} {
			if got, s := run(w); got != one || s != s1 {
				line, a, b := firstLine(one, got)
				t.Errorf("small=%v: -j 1 and -j %d differ at line %d:\n%s\n%s", small, w, line, a, b)
			}
		}
		// Every connection that should decrypt does, with all its
		// messages; the others say why not.
		msgs := map[int]int{}
		dec := map[int]bool{}
		noKey := map[int]bool{}
		for line := range strings.Lines(one) {
			var ev struct {
				Type      string
				Conn      int
				Decrypted bool
				Code      string
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			switch {
			case ev.Type == "message":
				msgs[ev.Conn]++
			case ev.Type == "tls":
				dec[ev.Conn] = ev.Decrypted
			case ev.Type == "anomaly" && ev.Code == "tls_no_key":
				noKey[ev.Conn] = true
			case ev.Type == "anomaly":
				t.Errorf("conn %d: %s", ev.Conn, line)
			}
		}
		t.Logf("small=%v stats TLS=%d dec=%d pkts=%d msgs=%d", small, s1.TLS, s1.TLSDecrypted, len(pkts), len(msgs))
		if s1.TLS != len(decrypts) {
			t.Fatalf("%d TLS connections, want %d", s1.TLS, len(decrypts))
		}
		want := 0
		for i, d := range decrypts {
			id := i + 1
			if d {
				want++
			}
			if dec[id] != d || noKey[id] == d || d && msgs[id] != 6 {
				t.Errorf("conn %d: decrypted %v, tls_no_key %v, %d messages; want decrypted %v", id, dec[id], noKey[id], msgs[id], d)
			}
		}
		if s1.TLSDecrypted != want {
			t.Errorf("%d connections decrypted, want %d", s1.TLSDecrypted, want)
		}
	}
}

// firstLine returns the first line where a and b differ.
func firstLine(a, b string) (int, string, string) {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(x), len(y)) {
		if x[i] != y[i] {
			return i + 1, x[i], y[i]
		}
	}
	return min(len(x), len(y)) + 1, "", ""
}
