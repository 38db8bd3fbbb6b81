package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/tlsdec/tlstest"
)

// keyLogByConn splits an NSS key log into the lines of each client
// random, in the order they first appear.
func keyLogByConn(keylog []byte) [][]byte {
	var out [][]byte
	idx := map[string]int{}
	for line := range strings.Lines(string(keylog)) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		i, ok := idx[f[1]]
		if !ok {
			i = len(out)
			idx[f[1]] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], line...)
	}
	return out
}

// withDSBs inserts pcapng Decryption Secrets Blocks into a little-endian
// pcapng file: at[k] holds the key log text to put before packet k+1
// (0: before the first packet).
func withDSBs(t *testing.T, ng []byte, at map[int][]byte) []byte {
	t.Helper()
	block := func(text []byte) []byte {
		body := binary.LittleEndian.AppendUint32(nil, 0x544c534b) // TLSK
		body = binary.LittleEndian.AppendUint32(body, uint32(len(text)))
		body = append(body, text...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		b := binary.LittleEndian.AppendUint32(nil, 0x0000000A)
		b = binary.LittleEndian.AppendUint32(b, uint32(12+len(body)))
		b = append(b, body...)
		return binary.LittleEndian.AppendUint32(b, uint32(12+len(body)))
	}
	var out []byte
	pkts := 0
	for len(ng) >= 12 {
		typ, n := binary.LittleEndian.Uint32(ng), binary.LittleEndian.Uint32(ng[4:])
		if n < 12 || int(n) > len(ng) {
			t.Fatal("bad pcapng block")
		}
		if typ == 6 { // Enhanced Packet Block
			if text, ok := at[pkts]; ok {
				out = append(out, block(text)...)
			}
			pkts++
		}
		out = append(out, ng[:n]...)
		ng = ng[n:]
	}
	return out
}

// TestJobsCaptureSecrets: secrets that a pcapng file carries between its
// packets reach the workers as they reach one engine: a connection that
// the file shows before its secrets is not decrypted with any -j, one
// after them is.
func TestJobsCaptureSecrets(t *testing.T) {
	res, err := tlstest.Session(tlstest.Config{Client: &tls.Config{MaxVersion: tls.VersionTLS13}, Steps: []tlstest.Step{
		{Data: flowgen.UpgradeRequest("/s", "example.test", flowgen.Key(1))},
		{FromServer: true, Data: flowgen.Response101(flowgen.Key(1))},
		{FromServer: true, Data: flowgen.Frames(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("hello")})},
	}, Conns: 3})
	if err != nil {
		t.Fatal(err)
	}
	keys := keyLogByConn(res.KeyLog)
	if len(keys) != 3 {
		t.Fatalf("key log of %d connections", len(keys))
	}
	c := flowgen.NewCapture()
	server := netip.MustParseAddrPort("192.0.2.20:443")
	mid := 0
	for i, conn := range res.Conns {
		if i == 2 {
			mid = c.Len()
		}
		k := c.NewConn(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), uint16(41000+i)), server)
		k.Open()
		for _, w := range conn.Writes {
			if w.FromServer {
				k.Server(w.Data)
			} else {
				k.Client(w.Data)
			}
		}
		k.Close()
	}
	ng, err := c.PcapNG()
	if err != nil {
		t.Fatal(err)
	}
	// The first connection's secrets before the packets, the second's
	// and third's only before the third connection.
	ng = withDSBs(t, ng, map[int][]byte{0: keys[0], mid: append(bytes.Clone(keys[1]), keys[2]...)})
	path := filepath.Join(t.TempDir(), "dsb.pcapng")
	if err := os.WriteFile(path, ng, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]string{{"--json"}, {"-V"}} {
		runJobs(t, append([]string{"-r", path}, v...))
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-r", path, "--json", "-j", "1"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var got []string
	for line := range strings.Lines(out.String()) {
		if strings.Contains(line, `"type":"tls"`) {
			got = append(got, map[bool]string{true: "decrypted", false: "not"}[strings.Contains(line, `"decrypted":true`)])
		}
	}
	if strings.Join(got, " ") != "decrypted not decrypted" {
		t.Errorf("tls events: %v, want the second connection only not decrypted", got)
	}
}
