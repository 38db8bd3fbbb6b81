package tlsdec

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/wscap/wscap/tlsdec/tlstest"
)

// encodeWrites frames writes as direction byte, 16-bit length, data.
func encodeWrites(ws []tlstest.Write) []byte {
	var b []byte
	for _, w := range ws {
		for p := w.Data; len(p) > 0; {
			n := min(len(p), 0xffff)
			b = append(b, byte(b2i(w.FromServer)))
			b = binary.BigEndian.AppendUint16(b, uint16(n))
			b, p = append(b, p[:n]...), p[n:]
		}
	}
	return b
}

func decodeWrites(b []byte) []tlstest.Write {
	var ws []tlstest.Write
	for len(b) >= 3 {
		n := min(int(binary.BigEndian.Uint16(b[1:])), len(b)-3)
		ws = append(ws, tlstest.Write{FromServer: b[0]&1 == 1, Data: b[3 : 3+n]})
		b = b[3+n:]
	}
	return ws
}

// run feeds writes in chunks of at most chunk bytes and checks the bounds.
func runFuzz(t *testing.T, keys *KeyLog, ws []tlstest.Write, chunk int) (data [2][]byte, codes []Code) {
	c := NewConn(keys)
	in := 0
	collect := func(d int, out []Output) {
		for _, o := range out {
			switch {
			case o.Problem != nil && o.Data == nil:
				codes = append(codes, o.Problem.Code)
			case o.Problem == nil && len(o.Data) > 0:
				data[d] = append(data[d], o.Data...)
			default:
				t.Fatalf("bad output %+v", o)
			}
		}
	}
	for _, w := range ws {
		d := b2i(w.FromServer)
		for p := w.Data; len(p) > 0; {
			n := min(len(p), chunk)
			collect(d, c.Feed(nil, w.FromServer, p[:n]))
			in, p = in+n, p[n:]
			h := &c.h[d]
			if cap(h.body) > maxRecord || len(h.hs) > maxHandshake+maxRecord {
				t.Fatalf("buffers: body %d, handshake %d", cap(h.body), len(h.hs))
			}
		}
	}
	collect(0, c.End(nil, false))
	collect(1, c.End(nil, true))
	if len(data[0])+len(data[1]) > in {
		t.Fatalf("%d bytes out of %d in", len(data[0])+len(data[1]), in)
	}
	c.Info()
	return data, codes
}

func FuzzRecordLayer(f *testing.F) {
	s13 := synth13(suiteByID(0x1301))
	s12 := synth12(suiteByID(0xC028), versionTLS12, true)
	keys := keyLogOf(f, append(slices.Clone(s13.keylog), s12.keylog...))
	// Small seeds: the fuzzer slows to a crawl on inputs of tens of KB, so
	// the 16 KiB server record (writes[6]) is left out.
	f.Add(encodeWrites(append(slices.Clone(s13.writes[:6]), s13.writes[7])), uint16(0))
	f.Add(encodeWrites(s12.writes), uint16(6))
	f.Add(encodeWrites(s13.writes[3:6]), uint16(100))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		ws := decodeWrites(b)
		data, codes := runFuzz(t, keys, ws, int(chunk)+1)
		whole, wcodes := runFuzz(t, keys, ws, 1<<20)
		if !bytes.Equal(data[0], whole[0]) || !bytes.Equal(data[1], whole[1]) || !slices.Equal(codes, wcodes) {
			t.Fatalf("chunk %d changes the result: %v vs %v", chunk+1, codes, wcodes)
		}
	})
}

// FuzzHandshake parses arbitrary handshake bytes directly, as plaintext
// client records and sealed in TLS 1.3 server handshake records.
func FuzzHandshake(f *testing.F) {
	s := suiteByID(0x1301)
	ss := synth13(s)
	keys := keyLogOf(f, ss.keylog)
	f.Add(hsMsg(hsEncryptedExtensions, extList(alpnExt("h2"))), false)
	f.Add(cat(hsMsg(hsFinished, make([]byte, 32)), hsMsg(hsKeyUpdate, []byte{1})), false)
	f.Add(clientHelloMsg(synthCR, []uint16{0x1301}, sniExt("x"), alpnExt("a", "b"), ext(extEarlyData, nil)), true)
	f.Add(serverHelloMsg(synthSR, 0x1301, ext(extSupportedVersions, []byte{3, 4})), false)
	f.Fuzz(func(t *testing.T, msgs []byte, plain bool) {
		if len(msgs) > 0 {
			body := msgs[min(4, len(msgs)-1):]
			parseClientHello(body)
			parseServerHello(body)
			parseEncryptedExtensions(body)
			parseTicket12(body)
		}
		ws := []tlstest.Write{ss.writes[0]}
		sh := rec(typeHandshake, versionTLS12, serverHelloMsg(synthSR, s.id, ext(extSupportedVersions, []byte{3, 4})))
		rc := newCipher13(s, secret(labelServerHS+s.name, 32))
		var recs []byte
		for p := msgs; len(p) > 0; {
			n := min(len(p), 1<<14)
			if plain {
				recs = append(recs, rec(typeHandshake, versionTLS12, p[:n])...)
			} else {
				recs = append(recs, rc.seal(typeHandshake, p[:n], 0)...)
			}
			p = p[n:]
		}
		if plain {
			ws = []tlstest.Write{{Data: recs}}
		} else {
			ws = append(ws, tlstest.Write{FromServer: true, Data: cat(sh, recs)})
		}
		runFuzz(t, keys, ws, 1<<20)
		runFuzz(t, keys, ws, 3)
	})
}

func BenchmarkDecrypt(b *testing.B) {
	const size = 16 << 10
	for _, id := range []uint16{0x1301, 0x1302, 0x1303, 0xC02F, 0xC013} {
		s := suiteByID(id)
		b.Run(s.name, func(b *testing.B) {
			c := NewConn(nil)
			c.haveCH, c.haveSH = true, true
			var sealer *recordCipher
			if s.tls13 {
				c.version = versionTLS13
				c.h[1].rc, c.h[1].app = newCipher13(s, secret("bench", s.prf().Size())), true
				sealer = newCipher13(s, secret("bench", s.prf().Size()))
			} else {
				c.version = versionTLS12
				c.h[1].rc = newCiphers12(s, versionTLS12, secret("m", 48), synthCR, synthSR, false)[1]
				sealer = newCiphers12(s, versionTLS12, secret("m", 48), synthCR, synthSR, false)[1]
			}
			record := sealer.seal(typeAppData, make([]byte, size), 0)
			b.SetBytes(size)
			b.ReportAllocs()
			var out []Output
			for b.Loop() {
				c.h[1].rc.seq = 0
				out = c.Feed(out[:0], true, record)
				if len(out) != 1 || len(out[0].Data) != size {
					b.Fatalf("output %v", out)
				}
			}
		})
	}
}
