package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// FilterError is a capture filter that could not be compiled.
type FilterError struct {
	Expr     string
	LinkType layers.LinkType
	// Msg is the compiler's message (libpcap's, or tcpdump's without its
	// "tcpdump: " prefix).
	Msg string
	// NoCompiler is set when no filter compiler is available at all.
	NoCompiler bool
}

func (e *FilterError) Error() string {
	if e.NoCompiler {
		return fmt.Sprintf("cannot compile filter %q: %s", e.Expr, e.Msg)
	}
	return fmt.Sprintf("invalid filter %q: %s", e.Expr, e.Msg)
}

// pcapCompile compiles with libpcap; set by the pcap build.
var pcapCompile func(expr, dlt string, snaplen int) ([]bpf.RawInstruction, error)

// tcpdumpPath finds tcpdump; a variable so that tests can hide it.
var tcpdumpPath = func() (string, error) { return exec.LookPath("tcpdump") }

// dltNames maps the link types wscap decodes to the names libpcap knows
// their DLT by (tcpdump -y NAME).
var dltNames = map[layers.LinkType]string{
	layers.LinkTypeNull:      "NULL",
	layers.LinkTypeEthernet:  "EN10MB",
	layers.LinkTypeRaw:       "RAW",
	12:                       "RAW", // DLT_RAW as Linux and most BSDs number it
	14:                       "RAW", // DLT_RAW on OpenBSD
	layers.LinkTypeLoop:      "LOOP",
	layers.LinkTypeLinuxSLL:  "LINUX_SLL",
	layers.LinkTypeLinuxSLL2: "LINUX_SLL2",
	layers.LinkTypeIPv4:      "IPV4",
	layers.LinkTypeIPv6:      "IPV6",
}

// DLTName returns libpcap's name for link type lt, or "" when wscap has
// none (it does not decode that link type).
func DLTName(lt layers.LinkType) string { return dltNames[lt] }

// Compiler names the filter compiler this build and system would use:
// "libpcap", "tcpdump (PATH)" or "".
func Compiler() string {
	if pcapCompile != nil {
		return "libpcap"
	}
	if p, err := tcpdumpPath(); err == nil {
		return "tcpdump (" + p + ")"
	}
	return ""
}

// CompileFilter compiles a tcpdump-syntax filter for packets of link type
// lt, with snapshot length snaplen (the value accepting instructions
// return). An empty expression compiles to nil: no filter. Errors are
// *FilterError values.
func CompileFilter(expr string, lt layers.LinkType, snaplen int) ([]bpf.RawInstruction, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	if snaplen <= 0 || snaplen > DefaultSnaplen {
		snaplen = DefaultSnaplen
	}
	name := DLTName(lt)
	if name == "" {
		return nil, &FilterError{Expr: expr, LinkType: lt, Msg: fmt.Sprintf("wscap cannot filter packets of link type %s (%d)", lt, int(lt))}
	}
	var (
		prog []bpf.RawInstruction
		err  error
	)
	if pcapCompile != nil {
		prog, err = pcapCompile(expr, name, snaplen)
		if err != nil {
			return nil, &FilterError{Expr: expr, LinkType: lt, Msg: err.Error()}
		}
	} else {
		path, lerr := tcpdumpPath()
		if lerr != nil {
			return nil, &FilterError{Expr: expr, LinkType: lt, NoCompiler: true,
				Msg: "this wscap was built without libpcap and tcpdump is not on PATH: " +
					"install tcpdump (wscap runs tcpdump -ddd to compile filters), " +
					"or rebuild wscap with libpcap: CGO_ENABLED=1 go build -tags pcap"}
		}
		prog, err = compileTcpdump(path, expr, name, snaplen)
		if err != nil {
			var fe *FilterError
			if errors.As(err, &fe) {
				fe.Expr, fe.LinkType = expr, lt
			}
			return nil, err
		}
	}
	if err := checkProgram(prog); err != nil {
		return nil, &FilterError{Expr: expr, LinkType: lt, Msg: err.Error()}
	}
	return prog, nil
}

// compileTcpdump runs tcpdump -ddd, which prints the program as decimal
// numbers: the instruction count, then "code jt jf k" per line.
func compileTcpdump(path, expr, dlt string, snaplen int) ([]bpf.RawInstruction, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-ddd", "-s", strconv.Itoa(snaplen), "-y", dlt, "--", expr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := tcpdumpMessage(stderr.String())
		if msg == "" {
			msg = fmt.Sprintf("%s: %v", path, err)
			if _, ok := err.(*exec.ExitError); !ok {
				return nil, &FilterError{Msg: msg, NoCompiler: true}
			}
		}
		return nil, &FilterError{Msg: msg}
	}
	prog, err := ParseDDD(stdout.String())
	if err != nil {
		return nil, &FilterError{Msg: fmt.Sprintf("reading the output of %s -ddd: %v", path, err)}
	}
	return prog, nil
}

// tcpdumpMessage extracts tcpdump's error message from its standard error:
// the last line that says something, without the "tcpdump: " prefix
// (earlier lines are warnings).
func tcpdumpMessage(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "Warning:") {
			continue
		}
		return strings.TrimPrefix(l, "tcpdump: ")
	}
	return ""
}

// ParseDDD parses a BPF program in the form tcpdump -ddd prints: the
// number of instructions on the first line, then one "code jt jf k"
// instruction (decimal) per line.
func ParseDDD(s string) ([]bpf.RawInstruction, error) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return nil, errors.New("empty program")
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || n < 1 || n > 4096 {
		return nil, fmt.Errorf("bad instruction count %q", lines[0])
	}
	if len(lines)-1 != n {
		return nil, fmt.Errorf("%d instructions announced, %d given", n, len(lines)-1)
	}
	prog := make([]bpf.RawInstruction, n)
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 4 {
			return nil, fmt.Errorf("instruction %d: %q is not \"code jt jf k\"", i, l)
		}
		var v [4]uint64
		for j, bits := range [4]int{16, 8, 8, 32} {
			if v[j], err = strconv.ParseUint(f[j], 10, bits); err != nil {
				return nil, fmt.Errorf("instruction %d: %q: %v", i, l, err)
			}
		}
		prog[i] = bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])}
	}
	return prog, nil
}

// checkProgram checks that prog is a program the kernel and x/net/bpf's
// VM accept: jumps inside it, a return at its end.
func checkProgram(prog []bpf.RawInstruction) error {
	if len(prog) == 0 {
		return errors.New("empty filter program")
	}
	for i, ri := range prog {
		left := len(prog) - i - 1
		switch ri.Op & 0x07 {
		case 0x05: // BPF_JMP
			if ri.Op&0xf0 == 0x00 { // BPF_JA
				if int(ri.K) >= left {
					return fmt.Errorf("filter program: instruction %d jumps out of the program", i)
				}
			} else if int(ri.Jt) >= left || int(ri.Jf) >= left {
				return fmt.Errorf("filter program: instruction %d jumps out of the program", i)
			}
		}
	}
	if prog[len(prog)-1].Op&0x07 != 0x06 { // BPF_RET
		return errors.New("filter program does not end with a return")
	}
	return nil
}

// ClampSnaplen returns prog with every "ret #k" with k > snaplen lowered to
// snaplen: the kernel keeps as many bytes of a packet as the filter returns.
func ClampSnaplen(prog []bpf.RawInstruction, snaplen int) []bpf.RawInstruction {
	out := make([]bpf.RawInstruction, len(prog))
	copy(out, prog)
	for i, ri := range out {
		if ri.Op == 0x06 && ri.K > uint32(snaplen) { // BPF_RET|BPF_K
			out[i].K = uint32(snaplen)
		}
	}
	return out
}

// acceptAll is the program of an empty filter.
func acceptAll(snaplen int) []bpf.RawInstruction {
	return []bpf.RawInstruction{{Op: 0x06, K: uint32(snaplen)}}
}

// Linux packet types and SKF_AD extensions (linux/if_packet.h,
// linux/filter.h).
const (
	packetOutgoing = 4
	etherTypeIPv4  = 0x0800
	etherTypeIPv6  = 0x86dd
)

// dropOutgoing is the prefix for loopback devices: drop the outgoing copy
// of each packet (libpcap does the same; its "inbound" qualifier compiles
// to this load).
func dropOutgoing() []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: packetOutgoing, SkipTrue: 1},
		bpf.RetConstant{Val: 0},
	}
}

// anyPrefix is the prefix for the cooked capture on all interfaces: keep
// only IPv4 and IPv6 (the rest has no link header to tell what it is), and
// drop the outgoing copies on the loopback device with index lo (0: none).
func anyPrefix(lo int) []bpf.Instruction {
	p := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtProto},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeIPv4, SkipTrue: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeIPv6, SkipTrue: 1},
		bpf.RetConstant{Val: 0},
	}
	if lo > 0 {
		p = append(p,
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: packetOutgoing, SkipTrue: 3},
			bpf.LoadExtension{Num: bpf.ExtInterfaceIndex},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(lo), SkipTrue: 1},
			bpf.RetConstant{Val: 0},
		)
	}
	return p
}

// withPrefix assembles prefix and appends prog (the compiled filter, or
// accept-all): BPF jumps are relative, so prog runs unchanged after it.
func withPrefix(prefix []bpf.Instruction, prog []bpf.RawInstruction) ([]bpf.RawInstruction, error) {
	raw, err := bpf.Assemble(prefix)
	if err != nil {
		return nil, fmt.Errorf("assemble filter prefix: %w", err)
	}
	return append(raw, prog...), nil
}
