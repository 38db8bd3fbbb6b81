//go:build pcap

package capture

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"

	"github.com/wscap/wscap/source"
)

// The pcap build compiles filters with libpcap and adds a libpcap capture
// backend: the only one on systems other than Linux.
func init() {
	pcapCompile = compileLibpcap
	register("pcap", openPcap)
	if runtime.GOOS != "linux" {
		lister = pcapInterfaces
	}
}

func compileLibpcap(expr, dlt string, snaplen int) ([]bpf.RawInstruction, error) {
	v := pcap.DatalinkNameToVal(dlt)
	if v < 0 {
		return nil, fmt.Errorf("libpcap does not know link type %s", dlt)
	}
	ins, err := pcap.CompileBPFFilter(layers.LinkType(v), snaplen, expr)
	if err != nil {
		return nil, err
	}
	prog := make([]bpf.RawInstruction, len(ins))
	for i, in := range ins {
		prog[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return prog, nil
}

// libpcap's PCAP_IF_* flags.
const (
	pcapIfLoopback = 0x1
	pcapIfUp       = 0x2
	pcapIfRunning  = 0x4
)

func pcapInterfaces() ([]Interface, error) {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]Interface, 0, len(devs))
	for _, d := range devs {
		i := Interface{
			Name:        d.Name,
			Description: d.Description,
			Up:          d.Flags&pcapIfUp != 0,
			Running:     d.Flags&pcapIfRunning != 0,
			Loopback:    d.Flags&pcapIfLoopback != 0,
		}
		for _, a := range d.Addresses {
			i.Addrs = append(i.Addrs, a.IP.String())
		}
		out = append(out, i)
	}
	return out, nil
}

// pcapHandle captures through libpcap.
type pcapHandle struct {
	name    string
	h       *pcap.Handle
	lt      layers.LinkType
	snaplen int
	closed  bool
}

func openPcap(opt Options, ifc Interface) (Handle, error) {
	name := ifc.Name
	in, err := pcap.NewInactiveHandle(name)
	if err != nil {
		return nil, &Error{Interface: name, Err: err}
	}
	defer in.CleanUp()
	set := func(err error) error {
		if err != nil {
			return &Error{Interface: name, Err: err}
		}
		return nil
	}
	if err := errors.Join(
		set(in.SetSnapLen(opt.Snaplen)),
		set(in.SetPromisc(!opt.NoPromiscuous)),
		set(in.SetTimeout(opt.Timeout)),
		set(in.SetBufferSize(opt.BufferSize)),
		set(in.SetImmediateMode(true)),
	); err != nil {
		return nil, err
	}
	h, err := in.Activate()
	if err != nil {
		msg := strings.ToLower(err.Error())
		switch {
		case strings.Contains(msg, "permission") || strings.Contains(msg, "not permitted"):
			return nil, &Error{Interface: name, Err: ErrPermission, Hint: permissionHint()}
		case strings.Contains(msg, "no such device"):
			return nil, &Error{Interface: name, Err: ErrNoInterface}
		}
		return nil, &Error{Interface: name, Err: err}
	}
	lt := h.LinkType()
	if strings.TrimSpace(opt.Filter) != "" {
		// libpcap compiles for the handle, with the fix-ups its
		// platform needs (cooked sockets, loopback direction).
		if err := h.SetBPFFilter(opt.Filter); err != nil {
			h.Close()
			return nil, &FilterError{Expr: opt.Filter, LinkType: lt, Msg: err.Error()}
		}
	}
	return &pcapHandle{name: name, h: h, lt: lt, snaplen: opt.Snaplen}, nil
}

func (p *pcapHandle) Next() (source.Packet, error) {
	if p.closed {
		return source.Packet{}, ErrClosed
	}
	data, ci, err := p.h.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			return source.Packet{}, ErrTimeout
		}
		return source.Packet{}, fmt.Errorf("capture on %s: %w", p.name, err)
	}
	return source.Packet{Data: data, Time: ci.Timestamp.UTC(), CapLen: len(data), Len: max(ci.Length, len(data)), LinkType: p.lt}, nil
}

func (p *pcapHandle) LinkType() layers.LinkType { return p.lt }
func (p *pcapHandle) Snaplen() int              { return p.snaplen }
func (p *pcapHandle) Interface() string         { return p.name }
func (p *pcapHandle) Backend() string           { return "pcap" }

func (p *pcapHandle) Stats() (Stats, error) {
	if p.closed {
		return Stats{}, ErrClosed
	}
	s, err := p.h.Stats()
	if err != nil {
		return Stats{}, fmt.Errorf("capture statistics: %w", err)
	}
	return Stats{Received: uint64(s.PacketsReceived), KernelDropped: uint64(s.PacketsDropped), IfDropped: uint64(s.PacketsIfDropped)}, nil
}

func (p *pcapHandle) Close() error {
	if !p.closed {
		p.closed = true
		p.h.Close()
	}
	return nil
}
