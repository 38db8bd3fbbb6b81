package source

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// firstByteIs returns a program accepting packets that start with b.
func firstByteIs(t *testing.T, b byte) []bpf.RawInstruction {
	t.Helper()
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 0, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(b), SkipFalse: 1},
		bpf.RetConstant{Val: 262144},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// mixed is a pcapng capture with interfaces of three link types: Ethernet
// (0), raw IP (1) and 802.11 (2, which wscap does not decode).
func mixed(t *testing.T) Source {
	pkts := []pkt{
		{data: []byte("A eth 1"), time: t0},
		{data: []byte("B eth 2"), time: t0},
		{data: []byte("B raw 1"), time: t0, iface: 1},
		{data: []byte("A wifi"), time: t0, iface: 2},
		{data: []byte("A eth 3"), time: t0},
		{data: []byte("C raw 2"), time: t0, iface: 1},
	}
	b := writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeIEEE802_11}, pkts)
	s, err := NewReader("mixed", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFilter(t *testing.T) {
	calls := map[layers.LinkType]int{}
	f := NewFilter(mixed(t), func(lt layers.LinkType) ([]bpf.RawInstruction, error) {
		calls[lt]++
		if lt == layers.LinkTypeRaw {
			return nil, nil // no program: every packet
		}
		return firstByteIs(t, 'A'), nil
	})
	got, err := readAll(f)
	if err != io.EOF {
		t.Fatalf("err %v", err)
	}
	var names []string
	for _, p := range got {
		names = append(names, string(p.Data))
	}
	if want := "A eth 1|B raw 1|A eth 3|C raw 2"; strings.Join(names, "|") != want {
		t.Errorf("got %s, want %s", strings.Join(names, "|"), want)
	}
	if calls[layers.LinkTypeEthernet] != 1 || calls[layers.LinkTypeRaw] != 1 || len(calls) != 2 {
		t.Errorf("compile calls %v: want one per decodable link type", calls)
	}
	if st := f.Stats(); st != (FilterStats{Read: 6, Matched: 4, Unsupported: 1}) {
		t.Errorf("stats %+v", st)
	}
}

func TestFilterCompileError(t *testing.T) {
	bad := errors.New("no such thing")
	f := NewFilter(mixed(t), func(lt layers.LinkType) ([]bpf.RawInstruction, error) {
		if lt == layers.LinkTypeRaw {
			return nil, bad
		}
		return nil, nil
	})
	got, err := readAll(f)
	if !errors.Is(err, bad) || len(got) != 2 {
		t.Fatalf("%d packets, err %v: want the 2 packets before the first raw one, then the error", len(got), err)
	}
	if _, err := f.Next(); !errors.Is(err, bad) {
		t.Errorf("error not sticky: %v", err)
	}

	// A program the VM cannot run is an error too.
	f = NewFilter(mixed(t), func(layers.LinkType) ([]bpf.RawInstruction, error) {
		return bpf.Assemble([]bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtType}, bpf.RetA{}})
	})
	if _, err := f.Next(); err == nil || !strings.Contains(err.Error(), "cannot run in user space") {
		t.Errorf("extension program: %v", err)
	}
}

func TestNewVM(t *testing.T) {
	tests := []struct {
		name string
		prog []bpf.Instruction
		err  string
	}{
		{"len", []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}, bpf.RetA{}}, ""},
		{"pkttype", []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtType}, bpf.RetA{}}, "cannot run in user space"},
		{"neg", []bpf.Instruction{bpf.NegateA{}, bpf.RetA{}}, "cannot run in user space"},
		{"no return", []bpf.Instruction{bpf.LoadConstant{Val: 1}}, "must end with"},
	}
	for _, tt := range tests {
		raw, err := bpf.Assemble(tt.prog)
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewVM(raw)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
		}
	}
}

// TestFilterNextAny: NextAny returns every packet, rejected ones too (and
// those of link types wscap does not decode), in order, with the
// filter's verdict.
func TestFilterNextAny(t *testing.T) {
	f := NewFilter(mixed(t), func(lt layers.LinkType) ([]bpf.RawInstruction, error) {
		return firstByteIs(t, 'A'), nil
	})
	var got []string
	for {
		p, ok, err := f.NextAny()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(p.Data)+map[bool]string{true: "+", false: "-"}[ok])
	}
	want := "A eth 1+,B eth 2-,B raw 1-,A wifi-,A eth 3+,C raw 2-"
	if s := strings.Join(got, ","); s != want {
		t.Errorf("got %s, want %s", s, want)
	}
	if st := f.Stats(); st.Read != 6 || st.Matched != 2 || st.Unsupported != 1 {
		t.Errorf("stats %+v", st)
	}
}
