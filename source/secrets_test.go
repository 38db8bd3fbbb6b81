package source

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

const (
	keys1 = "CLIENT_RANDOM 0101010101010101010101010101010101010101010101010101010101010101 " +
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	keys2 = "CLIENT_TRAFFIC_SECRET_0 0202020202020202020202020202020202020202020202020202020202020202 " +
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" // no newline: one is added
)

// order is a byte order that can append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngBlock encodes one pcapng block: type, total length, body padded to 4
// bytes, total length.
func ngBlock(o order, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, n)
	b = append(b, body...)
	return o.AppendUint32(b, n)
}

// handNg writes a pcapng file by hand: a section header, an Ethernet
// interface, and then blocks.
func handNg(o order, blocks ...[]byte) []byte {
	shb := o.AppendUint32(nil, byteOrderMagic)
	shb = o.AppendUint16(shb, 1)
	shb = o.AppendUint16(shb, 0)
	shb = o.AppendUint64(shb, ^uint64(0))
	idb := o.AppendUint16(nil, uint16(layers.LinkTypeEthernet))
	idb = o.AppendUint16(idb, 0)
	idb = o.AppendUint32(idb, 65535)
	out := ngBlock(o, blockSHB, shb)
	out = append(out, ngBlock(o, 1, idb)...)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out
}

func dsb(o order, typ uint32, secrets string) []byte {
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, uint32(len(secrets)))
	return ngBlock(o, blockDSB, append(b, secrets...))
}

func epb(o order, data []byte) []byte {
	b := o.AppendUint32(nil, 0)
	b = o.AppendUint32(b, 0)
	b = o.AppendUint32(b, 1000)
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, uint32(len(data)))
	return ngBlock(o, 6, append(b, data...))
}

func TestTLSSecrets(t *testing.T) {
	pkt := bytes.Repeat([]byte{0x42}, 60)
	for _, o := range []order{binary.LittleEndian, binary.BigEndian} {
		file := handNg(o, dsb(o, secretsTypeTLS, keys1), epb(o, pkt), dsb(o, 0x5353484b, "ssh keys"), dsb(o, secretsTypeTLS, keys2), epb(o, pkt))
		for name, b := range map[string][]byte{"plain": file, "gzip": gz(t, file)} {
			t.Run(o.String()+"/"+name, func(t *testing.T) {
				src, err := NewReader("test", bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				src.(TLSSecrets).OnTLSSecrets(func(k []byte) { got = append(got, string(k)) })
				pkts, err := readAll(src)
				if err != io.EOF || len(pkts) != 2 {
					t.Fatalf("%d packets, %v", len(pkts), err)
				}
				want := keys1 + keys2 + "\n"
				if s := string(src.(TLSSecrets).TLSSecrets()); s != want {
					t.Errorf("TLSSecrets %q, want %q", s, want)
				}
				// Each block as it is read: the second after the first packet.
				if len(got) != 2 || got[0] != keys1 || got[1] != keys2+"\n" {
					t.Errorf("OnTLSSecrets got %q", got)
				}
			})
		}
	}
}

// TestTLSSecretsStreamed checks that blocks read after OnTLSSecrets are
// reported before the packets behind them, when the file arrives in small
// pieces (a pipe).
func TestTLSSecretsStreamed(t *testing.T) {
	var o order = binary.LittleEndian
	pkt := make([]byte, 4000)
	var blocks [][]byte
	for range 600 { // more than the 1 MiB read buffer
		blocks = append(blocks, epb(o, pkt))
	}
	blocks = append(blocks, dsb(o, secretsTypeTLS, keys2), epb(o, pkt))
	src, err := NewReader("pipe", &slowReader{b: handNg(o, blocks...)})
	if err != nil {
		t.Fatal(err)
	}
	n, at := 0, -1
	src.(TLSSecrets).OnTLSSecrets(func([]byte) { at = n })
	for {
		if _, err := src.Next(); err != nil {
			break
		}
		n++
	}
	if n != 601 || at < 0 || at > 600 {
		t.Errorf("%d packets, secrets reported after packet %d", n, at)
	}
}

// slowReader returns at most 1000 bytes per Read.
type slowReader struct{ b []byte }

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, os.ErrClosed
	}
	n := copy(p[:min(len(p), 1000)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestTLSSecretsDamaged: damaged blocks yield no secrets, only the
// reader's error, and nothing panics.
func TestTLSSecretsDamaged(t *testing.T) {
	var o order = binary.LittleEndian
	good := handNg(o, dsb(o, secretsTypeTLS, keys1), epb(o, make([]byte, 60)))
	lying := dsb(o, secretsTypeTLS, keys1)
	binary.LittleEndian.PutUint32(lying[12:], 1<<30) // secrets length beyond the block
	for name, b := range map[string][]byte{
		"cut":        good[:len(good)-30],
		"lying":      handNg(o, lying),
		"bad-length": append(handNg(o), 10, 0, 0, 0, 7, 0, 0, 0),
		"no-section": epb(o, []byte("x")),
	} {
		src, err := NewReader(name, &slowReader{b: b})
		if err != nil {
			if name != "no-section" {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		for {
			if _, err := src.Next(); err != nil {
				break
			}
		}
		tls := src.(TLSSecrets).TLSSecrets()
		if name == "cut" && string(tls) != keys1 {
			t.Errorf("%s: %q", name, tls)
		}
		if name != "cut" && len(tls) != 0 {
			t.Errorf("%s: %q", name, tls)
		}
	}
}

// TestInjectSecrets reads a file made by editcap --inject-secrets.
func TestInjectSecrets(t *testing.T) {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Skip("editcap not installed")
	}
	dir := t.TempDir()
	in := writeFile(t, "in.pcapng", writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet}, testPackets()))
	keys := filepath.Join(dir, "keys.txt")
	out := filepath.Join(dir, "out.pcapng")
	if err := os.WriteFile(keys, []byte(keys1+keys2+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(editcap, "--inject-secrets", "tls,"+keys, in, out).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, b)
	}
	src, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got []byte
	src.(TLSSecrets).OnTLSSecrets(func(k []byte) { got = append(got, k...) })
	pkts, err := readAll(src)
	if err != io.EOF || len(pkts) != len(testPackets()) || !pkts[0].Time.Equal(testPackets()[0].time.Truncate(time.Nanosecond)) {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	if string(got) != keys1+keys2+"\n" {
		t.Errorf("secrets %q", got)
	}
}
