// Package capture reads packets from a network interface as they arrive.
//
// The default build is pure Go: on Linux it captures with an AF_PACKET
// socket and a TPACKET_V3 memory-mapped ring (gopacket's afpacket package),
// falling back to a plain AF_PACKET socket (pcapgo.EthernetHandle) when the
// ring cannot be set up. Built with the pcap tag (cgo and libpcap), it can
// also capture through libpcap, which is how it works on macOS, the BSDs and
// Windows; without the tag, [Open] on those systems returns an error that
// says what to do instead.
//
// # Filters
//
// Capture filters use tcpdump's syntax. [CompileFilter] compiles them with
// libpcap when built with the pcap tag, and otherwise by running
// "tcpdump -ddd" (exactly libpcap's semantics, as tcpdump is libpcap's
// front end); the program is attached to the socket, so the kernel drops
// what the filter rejects. The same programs filter capture files in user
// space (see source.NewFilter).
//
// # Loopback
//
// An AF_PACKET socket on a loopback device sees every packet twice: once
// going out and once coming in. As libpcap does, the kernel filter drops
// the outgoing copies.
//
// # Link types
//
// Ethernet and loopback interfaces are captured with their link-layer
// header (LINKTYPE_ETHERNET). Other interfaces (tun, WireGuard, PPP...) and
// the "any" pseudo-interface are captured "cooked", from the network
// header on (LINKTYPE_RAW); on those, filters cannot test link-layer fields.
package capture

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/wscap/wscap/source"
)

// DefaultSnaplen is the snapshot length when none is given: libpcap's
// MAXIMUM_SNAPLEN.
const DefaultSnaplen = 262144

// DefaultBufferSize is the size of the capture ring when none is given.
const DefaultBufferSize = 8 << 20

// DefaultTimeout is how long Next waits for a packet before it returns
// [ErrTimeout] when none is given.
const DefaultTimeout = 100 * time.Millisecond

// Any is the name of the pseudo-interface that captures on all interfaces
// (Linux only).
const Any = "any"

// ErrTimeout is returned by [Handle.Next] when no packet arrived within the
// timeout. It is not a failure: call Next again.
var ErrTimeout = errors.New("capture: timeout")

// ErrClosed is returned by [Handle.Next] once the handle is closed.
var ErrClosed = errors.New("capture: handle closed")

// Options configure [Open].
type Options struct {
	// Interface is the name of the interface to capture on ("any" for
	// all of them, on Linux).
	Interface string
	// Filter is a capture filter in tcpdump syntax ("" = every packet).
	Filter string
	// Snaplen is the most bytes kept of each packet (0: DefaultSnaplen).
	Snaplen int
	// NoPromiscuous leaves the interface out of promiscuous mode.
	NoPromiscuous bool
	// BufferSize is the size of the kernel capture buffer in bytes
	// (0: DefaultBufferSize).
	BufferSize int
	// Timeout is how long Next waits before it returns ErrTimeout
	// (0: DefaultTimeout).
	Timeout time.Duration
	// Backend selects the capture method: "" (the best available),
	// "afpacket" or "socket" (Linux), or "pcap" (builds with the pcap tag).
	Backend string
}

func (o *Options) defaults() {
	if o.Snaplen <= 0 || o.Snaplen > DefaultSnaplen {
		o.Snaplen = DefaultSnaplen
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
}

// Stats are the capture counters of a [Handle].
type Stats struct {
	// Received counts the packets the filter accepted, as the kernel (or
	// libpcap) counts them: those later dropped included.
	Received uint64
	// KernelDropped counts packets dropped because the capture buffer was
	// full (the reader was too slow).
	KernelDropped uint64
	// IfDropped counts packets the interface (its driver) dropped during
	// the capture; on Linux, the rx_dropped counter of the interface.
	IfDropped uint64
}

// Handle is a live capture.
type Handle interface {
	// Next returns the next packet. Its Data is valid only until the next
	// call of Next. It returns ErrTimeout when no packet arrived within
	// the timeout, and another error when the capture failed.
	Next() (source.Packet, error)
	// LinkType is the link type of every packet Next returns.
	LinkType() layers.LinkType
	// Snaplen is the snapshot length in effect.
	Snaplen() int
	// Interface is the name of the interface captured on.
	Interface() string
	// Backend names the capture method ("afpacket", "socket", "pcap").
	Backend() string
	// Stats returns the counters since the capture started.
	Stats() (Stats, error)
	// Close stops the capture. Next must not be running.
	Close() error
}

// opener opens a live capture on an interface known to exist.
type opener func(opt Options, ifc Interface) (Handle, error)

// backends are the capture methods built in, registered by the
// platform-specific files, in order of preference.
var backends []backend

type backend struct {
	name string
	open opener
}

func register(name string, open opener) {
	backends = append(backends, backend{name, open})
}

// Interface describes a network interface one can capture on.
type Interface struct {
	Name        string
	Index       int
	Description string
	Up          bool
	Running     bool
	Loopback    bool
	Addrs       []string
}

// lister lists the interfaces; set by the platform files.
var lister func() ([]Interface, error)

// Interfaces lists the interfaces one can capture on.
func Interfaces() ([]Interface, error) {
	if lister == nil {
		return nil, errors.New("list interfaces: not supported on " + runtime.GOOS)
	}
	return lister()
}

// FormatInterfaces writes the list as tcpdump -D does: one line each,
// "1.eth0 [Up, Running]".
func FormatInterfaces(ifs []Interface) string {
	var b strings.Builder
	for i, ifc := range ifs {
		fmt.Fprintf(&b, "%d.%s", i+1, ifc.Name)
		if ifc.Description != "" {
			fmt.Fprintf(&b, " (%s)", ifc.Description)
		}
		var flags []string
		if ifc.Up {
			flags = append(flags, "Up")
		}
		if ifc.Running {
			flags = append(flags, "Running")
		}
		if ifc.Loopback {
			flags = append(flags, "Loopback")
		}
		if len(flags) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(flags, ", "))
		}
		if len(ifc.Addrs) > 0 {
			fmt.Fprintf(&b, " %s", strings.Join(ifc.Addrs, " "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Error is a failure to start a capture, with a hint on what to do.
type Error struct {
	Interface string
	Err       error  // what went wrong
	Hint      string // what to do about it ("" = nothing to say)
}

func (e *Error) Error() string {
	s := fmt.Sprintf("capture on %s: %v", e.Interface, e.Err)
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ErrPermission is wrapped by the error of Open when the process may not
// capture.
var ErrPermission = errors.New("permission denied")

// ErrNoInterface is wrapped by the error of Open for an unknown interface.
var ErrNoInterface = errors.New("no such interface")

// ErrUnsupported is wrapped by the error of Open when this build cannot
// capture on this system.
var ErrUnsupported = errors.New("live capture is not supported by this build")

// permissionHint says how to get the right to capture.
func permissionHint() string {
	switch runtime.GOOS {
	case "linux":
		return "run as root or: setcap cap_net_raw,cap_net_admin+ep $(which wscap)"
	case "darwin", "freebsd", "openbsd", "netbsd", "dragonfly":
		return "run as root or give your user read access to /dev/bpf* (Wireshark's ChmodBPF does that on macOS)"
	case "windows":
		return "install Npcap and run as Administrator (or install Npcap without its admin-only option)"
	}
	return "run as root"
}

// unsupportedHint says what to do on a system this build cannot capture on.
func unsupportedHint() string {
	return "build wscap with libpcap: CGO_ENABLED=1 go build -tags pcap (needs libpcap, or Npcap's SDK on Windows), " +
		"or capture with tcpdump and pipe: tcpdump -i IFACE -U -w - 'tcp port 8080' | wscap -r -"
}

// Open starts a live capture. Errors are *Error values: a permission
// problem wraps ErrPermission, an unknown interface ErrNoInterface (and the
// hint lists the existing ones), a filter that does not compile is a
// *FilterError.
func Open(opt Options) (Handle, error) {
	opt.defaults()
	name := opt.Interface
	var chosen []backend
	for _, b := range backends {
		if opt.Backend == "" || opt.Backend == b.name {
			chosen = append(chosen, b)
		}
	}
	if len(chosen) == 0 {
		if opt.Backend != "" {
			var names []string
			for _, b := range backends {
				names = append(names, b.name)
			}
			return nil, &Error{Interface: name, Err: fmt.Errorf("unknown capture backend %q", opt.Backend),
				Hint: "this build has: " + strings.Join(names, ", ")}
		}
		return nil, &Error{Interface: name, Err: fmt.Errorf("%w on %s", ErrUnsupported, runtime.GOOS), Hint: unsupportedHint()}
	}
	ifc, err := findInterface(name)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, b := range chosen {
		h, err := b.open(opt, ifc)
		if err == nil {
			return h, nil
		}
		var fe *FilterError
		if errors.As(err, &fe) || errors.Is(err, ErrPermission) || errors.Is(err, ErrNoInterface) {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// findInterface looks name up among the interfaces.
func findInterface(name string) (Interface, error) {
	ifs, err := Interfaces()
	if err != nil {
		return Interface{}, &Error{Interface: name, Err: err}
	}
	var names []string
	for _, ifc := range ifs {
		if ifc.Name == name {
			return ifc, nil
		}
		names = append(names, ifc.Name)
	}
	sort.Strings(names)
	hint := "there are no interfaces"
	if len(names) > 0 {
		hint = "existing interfaces: " + strings.Join(names, ", ") + " (wscap -D lists them)"
	}
	return Interface{}, &Error{Interface: name, Err: ErrNoInterface, Hint: hint}
}

// netInterfaces lists the system's interfaces with their flags and addresses.
func netInterfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]Interface, 0, len(ifs))
	for _, ifc := range ifs {
		i := Interface{
			Name:     ifc.Name,
			Index:    ifc.Index,
			Up:       ifc.Flags&net.FlagUp != 0,
			Running:  ifc.Flags&net.FlagRunning != 0,
			Loopback: ifc.Flags&net.FlagLoopback != 0,
		}
		if addrs, err := ifc.Addrs(); err == nil {
			for _, a := range addrs {
				i.Addrs = append(i.Addrs, a.String())
			}
		}
		out = append(out, i)
	}
	return out, nil
}
