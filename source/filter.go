package source

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// CompileFunc compiles a filter for packets of link type lt into a classic
// BPF program.
type CompileFunc func(lt layers.LinkType) ([]bpf.RawInstruction, error)

// FilterStats counts what a [Filter] did.
type FilterStats struct {
	Read        int64 // packets read from the underlying source
	Matched     int64 // packets the filter accepted
	Unsupported int64 // packets dropped because wscap does not decode their link type
}

// Filter is a Source that passes on only the packets a BPF program accepts,
// running the program in user space (golang.org/x/net/bpf), as libpcap
// does for files (tcpdump -r FILE EXPR). The program is compiled lazily
// for each link type met: a pcapng file may mix them. Packets of link types
// wscap does not decode are dropped, as no program can be compiled for
// them.
//
// The program sees the captured bytes only: "len" (and so "greater" and
// "less") is the captured length, where libpcap uses the length on the
// wire; the two differ only for packets cut by the snapshot length.
type Filter struct {
	src     Source
	compile CompileFunc
	vms     map[layers.LinkType]*bpf.VM
	stats   FilterStats
	err     error
}

// NewFilter returns a Source that reads src and passes on the packets the
// program compile returns for their link type accepts. A nil program
// accepts every packet. A compile error is returned by Next when the first
// packet of that link type is read.
func NewFilter(src Source, compile CompileFunc) *Filter {
	return &Filter{src: src, compile: compile, vms: make(map[layers.LinkType]*bpf.VM)}
}

// Next returns the next packet the filter accepts.
func (f *Filter) Next() (Packet, error) {
	for {
		p, ok, err := f.NextAny()
		if err != nil || ok {
			return p, err
		}
	}
}

// NextAny returns the next packet of the underlying source, accepted by
// the filter (ok) or not: a caller that numbers packets counts the
// rejected ones too, as Wireshark numbers frames whatever it displays.
func (f *Filter) NextAny() (p Packet, ok bool, err error) {
	if f.err != nil {
		return Packet{}, false, f.err
	}
	p, err = f.src.Next()
	if err != nil {
		return p, false, err
	}
	f.stats.Read++
	if !SupportedLinkType(p.LinkType) {
		f.stats.Unsupported++
		return p, false, nil
	}
	vm, known := f.vms[p.LinkType]
	if !known {
		prog, err := f.compile(p.LinkType)
		if err != nil {
			f.err = err
			return Packet{}, false, err
		}
		if prog != nil {
			if vm, err = NewVM(prog); err != nil {
				f.err = fmt.Errorf("filter for link type %s: %w", p.LinkType, err)
				return Packet{}, false, f.err
			}
		}
		f.vms[p.LinkType] = vm
	}
	if vm != nil {
		if n, err := vm.Run(p.Data); err != nil || n == 0 {
			return p, false, nil
		}
	}
	f.stats.Matched++
	return p, true, nil
}

// Stats returns the counters so far.
func (f *Filter) Stats() FilterStats { return f.stats }

// Close closes the underlying source.
func (f *Filter) Close() error { return f.src.Close() }

// NewVM returns a user-space BPF machine for prog. It fails for programs
// using instructions the VM does not run (Linux extensions other than
// "len", negation).
func NewVM(prog []bpf.RawInstruction) (*bpf.VM, error) {
	ins := make([]bpf.Instruction, len(prog))
	for i, ri := range prog {
		in := ri.Disassemble()
		ok := true
		switch in := in.(type) {
		case bpf.RawInstruction, bpf.NegateA:
			ok = false
		case bpf.LoadExtension:
			ok = in.Num == bpf.ExtLen
		}
		if !ok {
			return nil, fmt.Errorf("instruction %d (%v) cannot run in user space", i, in)
		}
		ins[i] = in
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		return nil, fmt.Errorf("bpf program: %w", err)
	}
	return vm, nil
}
