//go:build linux

package capture

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/wscap/wscap/source"
)

func init() {
	lister = linuxInterfaces
	register("afpacket", openAFPacket)
	register("socket", openSocket)
}

// linuxInterfaces lists the interfaces, then "any".
func linuxInterfaces() ([]Interface, error) {
	out, err := netInterfaces()
	if err != nil {
		return nil, err
	}
	out = append(out, Interface{Name: Any, Description: "all interfaces, IP packets without link headers", Up: true, Running: true})
	return out, nil
}

// ARPHRD values of Linux interfaces captured with their Ethernet header
// (linux/if_arp.h); the loopback device has an all-zero Ethernet header.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
)

// linkSetup says how to capture on ifc: with its link header (Ethernet) or
// cooked, from the network header (raw IP).
func linkSetup(ifc Interface) (cooked bool, lt layers.LinkType) {
	if ifc.Name == Any {
		return true, layers.LinkTypeRaw
	}
	b, err := os.ReadFile("/sys/class/net/" + ifc.Name + "/type")
	if err == nil {
		switch t, _ := strconv.Atoi(strings.TrimSpace(string(b))); t {
		case arphrdEther, arphrdLoopback:
			return false, layers.LinkTypeEthernet
		}
		return true, layers.LinkTypeRaw
	}
	if nifc, err := net.InterfaceByName(ifc.Name); err == nil && (len(nifc.HardwareAddr) == 6 || ifc.Loopback) {
		return false, layers.LinkTypeEthernet
	}
	return true, layers.LinkTypeRaw
}

// loopbackIndex returns the index of the loopback device (0: none).
func loopbackIndex() int {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			return ifc.Index
		}
	}
	return 0
}

// kernelProgram compiles the filter for a capture on ifc and puts the
// Linux-specific prefix before it.
func kernelProgram(opt Options, ifc Interface, lt layers.LinkType) ([]bpf.RawInstruction, error) {
	prog, err := CompileFilter(opt.Filter, lt, opt.Snaplen)
	if err != nil {
		return nil, err
	}
	if prog == nil {
		prog = acceptAll(opt.Snaplen)
	}
	prog = ClampSnaplen(prog, opt.Snaplen)
	switch {
	case ifc.Name == Any:
		return withPrefix(anyPrefix(loopbackIndex()), prog)
	case ifc.Loopback:
		return withPrefix(dropOutgoing(), prog)
	}
	return prog, nil
}

// checkPermission opens and closes a packet socket: EPERM says the process
// lacks CAP_NET_RAW.
func checkPermission(name string) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return openError(name, err)
	}
	unix.Close(fd)
	return nil
}

// openError turns the error of a socket call into an *Error.
func openError(name string, err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return &Error{Interface: name, Err: ErrPermission, Hint: permissionHint()}
	}
	if errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO) {
		return &Error{Interface: name, Err: ErrNoInterface}
	}
	return &Error{Interface: name, Err: err}
}

// ifDropped sums the rx_dropped counters of the interfaces in names.
func ifDropped(names []string) uint64 {
	var sum uint64
	for _, n := range names {
		b, err := os.ReadFile("/sys/class/net/" + n + "/statistics/rx_dropped")
		if err != nil {
			continue
		}
		v, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		sum += v
	}
	return sum
}

// dropNames are the interfaces whose drop counters a capture on ifc sums.
func dropNames(ifc Interface) []string {
	if ifc.Name != Any {
		return []string{ifc.Name}
	}
	ifs, _ := net.Interfaces()
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names
}

// ringGeometry sizes the TPACKET_V3 ring for a buffer of size bytes:
// blocks of 1 MiB (at least a page-rounded snaplen plus headers, so a full
// packet fits in one), at least two of them.
func ringGeometry(size, snaplen int) (blockSize, numBlocks int) {
	page := max(os.Getpagesize(), afpacket.DefaultFrameSize)
	roundUp := func(n int) int { return (n + page - 1) / page * page }
	need := roundUp(snaplen + 4096)
	blockSize = max(1<<20, need)
	if size < 4*blockSize {
		blockSize = max(need, size/4/page*page)
	}
	numBlocks = max(2, size/blockSize)
	return blockSize, numBlocks
}

// common is what both Linux handles share.
type common struct {
	name     string
	backend  string
	lt       layers.LinkType
	snaplen  int
	attached time.Time // the filter was attached: packets before may not match it
	started  bool      // a packet at or after attached was seen
	drops    []string
	ifDrop0  uint64
	closed   bool
}

func (c *common) LinkType() layers.LinkType { return c.lt }
func (c *common) Snaplen() int              { return c.snaplen }
func (c *common) Interface() string         { return c.name }
func (c *common) Backend() string           { return c.backend }

// early reports whether a packet captured at t arrived before the filter
// was attached (it is discarded, as libpcap discards what the socket
// buffered before its filter was set).
func (c *common) early(t time.Time) bool {
	if c.started {
		return false
	}
	if t.Before(c.attached) {
		return true
	}
	c.started = true
	return false
}

// packet builds the Packet for data, cut to the snapshot length.
func (c *common) packet(data []byte, t time.Time, length int) source.Packet {
	if len(data) > c.snaplen {
		data = data[:c.snaplen]
	}
	return source.Packet{Data: data, Time: t.UTC(), CapLen: len(data), Len: max(length, len(data)), LinkType: c.lt}
}

// afHandle captures with a TPACKET_V3 ring.
type afHandle struct {
	common
	tp   *afpacket.TPacket
	base afpacket.SocketStatsV3 // counters at the time the filter was attached
}

func openAFPacket(opt Options, ifc Interface) (Handle, error) {
	cooked, lt := linkSetup(ifc)
	prog, err := kernelProgram(opt, ifc, lt)
	if err != nil {
		return nil, err
	}
	if err := checkPermission(ifc.Name); err != nil {
		return nil, err
	}
	blockSize, numBlocks := ringGeometry(opt.BufferSize, opt.Snaplen)
	socktype := afpacket.SocketRaw
	if cooked {
		socktype = afpacket.SocketDgram
	}
	iface := ifc.Name
	if iface == Any {
		iface = ""
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		afpacket.OptFrameSize(afpacket.DefaultFrameSize),
		afpacket.OptBlockSize(blockSize),
		afpacket.OptNumBlocks(numBlocks),
		afpacket.OptBlockTimeout(10*time.Millisecond),
		afpacket.OptPollTimeout(opt.Timeout),
		socktype,
	)
	if err != nil {
		return nil, openError(ifc.Name, fmt.Errorf("afpacket: %w", err))
	}
	h := &afHandle{common: common{name: ifc.Name, backend: "afpacket", lt: lt, snaplen: opt.Snaplen, drops: dropNames(ifc)}, tp: tp}
	if err := tp.SetBPF(prog); err != nil {
		tp.Close()
		return nil, &Error{Interface: ifc.Name, Err: fmt.Errorf("attach filter: %w", err)}
	}
	if !opt.NoPromiscuous && ifc.Name != Any && !ifc.Loopback {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, openError(ifc.Name, fmt.Errorf("promiscuous mode: %w", err))
		}
	}
	h.attached = time.Now()
	_, h.base, _ = tp.SocketStats()
	h.ifDrop0 = ifDropped(h.drops)
	return h, nil
}

func (h *afHandle) Next() (source.Packet, error) {
	if h.closed {
		return source.Packet{}, ErrClosed
	}
	for {
		data, ci, err := h.tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) {
				return source.Packet{}, ErrTimeout
			}
			return source.Packet{}, fmt.Errorf("capture on %s: %w", h.name, err)
		}
		if h.early(ci.Timestamp) {
			continue
		}
		return h.packet(data, ci.Timestamp, ci.Length), nil
	}
}

func (h *afHandle) Stats() (Stats, error) {
	if h.closed {
		return Stats{}, ErrClosed
	}
	_, s, err := h.tp.SocketStats()
	if err != nil {
		return Stats{}, fmt.Errorf("capture statistics: %w", err)
	}
	return Stats{
		Received:      uint64(s.Packets() - h.base.Packets()),
		KernelDropped: uint64(s.Drops() - h.base.Drops()),
		IfDropped:     sat(ifDropped(h.drops), h.ifDrop0),
	}, nil
}

func (h *afHandle) Close() error {
	if !h.closed {
		h.closed = true
		h.tp.Close()
	}
	return nil
}

// sat returns a-b, or 0 when a counter went backwards (an interface was
// removed).
func sat(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// sockHandle captures with a plain AF_PACKET socket (pcapgo's
// EthernetHandle): one system call per packet, read by a goroutine so that
// Next can time out.
type sockHandle struct {
	common
	eh      *pcapgo.EthernetHandle
	ch      chan sockPacket
	done    chan struct{}
	timer   *time.Timer
	timeout time.Duration
	recv    uint64
	drop    uint64
	err     error
}

type sockPacket struct {
	data   []byte
	t      time.Time
	length int
	err    error
}

func openSocket(opt Options, ifc Interface) (Handle, error) {
	cooked, lt := linkSetup(ifc)
	if cooked {
		return nil, &Error{Interface: ifc.Name, Err: errors.New("the socket backend captures only Ethernet and loopback interfaces")}
	}
	prog, err := kernelProgram(opt, ifc, lt)
	if err != nil {
		return nil, err
	}
	if err := checkPermission(ifc.Name); err != nil {
		return nil, err
	}
	eh, err := pcapgo.NewEthernetHandle(ifc.Name)
	if err != nil {
		return nil, &Error{Interface: ifc.Name, Err: err}
	}
	if err := eh.SetCaptureLength(opt.Snaplen); err != nil {
		eh.Close()
		return nil, &Error{Interface: ifc.Name, Err: err}
	}
	if err := eh.SetBPF(prog); err != nil {
		eh.Close()
		return nil, &Error{Interface: ifc.Name, Err: fmt.Errorf("attach filter: %w", err)}
	}
	if !opt.NoPromiscuous && !ifc.Loopback {
		if err := eh.SetPromiscuous(true); err != nil {
			eh.Close()
			return nil, openError(ifc.Name, fmt.Errorf("promiscuous mode: %w", err))
		}
	}
	h := &sockHandle{
		common:  common{name: ifc.Name, backend: "socket", lt: lt, snaplen: opt.Snaplen, drops: dropNames(ifc)},
		eh:      eh,
		ch:      make(chan sockPacket, 1024),
		done:    make(chan struct{}),
		timer:   time.NewTimer(time.Hour),
		timeout: opt.Timeout,
	}
	h.timer.Stop()
	h.attached = time.Now()
	h.eh.Stats() // reset the counters: they count from the last call
	h.ifDrop0 = ifDropped(h.drops)
	go h.read()
	return h, nil
}

// read runs in its own goroutine until the handle is closed.
func (h *sockHandle) read() {
	for {
		data, ci, err := h.eh.ReadPacketData()
		if err != nil {
			select {
			case <-h.done:
			case h.ch <- sockPacket{err: err}:
			}
			return
		}
		select {
		case <-h.done:
			return
		case h.ch <- sockPacket{data: data, t: ci.Timestamp, length: ci.Length}:
		}
	}
}

func (h *sockHandle) Next() (source.Packet, error) {
	if h.closed {
		return source.Packet{}, ErrClosed
	}
	if h.err != nil {
		return source.Packet{}, h.err
	}
	h.timer.Reset(h.timeout)
	defer h.timer.Stop()
	for {
		select {
		case p := <-h.ch:
			if p.err != nil {
				h.err = fmt.Errorf("capture on %s: %w", h.name, p.err)
				return source.Packet{}, h.err
			}
			if h.early(p.t) {
				continue
			}
			return h.packet(p.data, p.t, p.length), nil
		case <-h.timer.C:
			return source.Packet{}, ErrTimeout
		}
	}
}

func (h *sockHandle) Stats() (Stats, error) {
	if h.closed {
		return Stats{}, ErrClosed
	}
	s, err := h.eh.Stats()
	if err != nil {
		return Stats{}, fmt.Errorf("capture statistics: %w", err)
	}
	h.recv += uint64(s.Packets)
	h.drop += uint64(s.Drops)
	return Stats{Received: h.recv, KernelDropped: h.drop, IfDropped: sat(ifDropped(h.drops), h.ifDrop0)}, nil
}

func (h *sockHandle) Close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	close(h.done)
	return h.eh.Close()
}
