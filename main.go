// Wscap prints a dissector-style timeline of the WebSocket traffic in a
// packet capture.
//
// It reads pcap and pcapng files (also gzip-compressed, or from standard
// input), reassembles TCP, finds HTTP/1.1 Upgrade handshakes on any port,
// checks Sec-WebSocket-Accept, decodes RFC 6455 frames and permessage-deflate
// messages, and reports every protocol violation it sees as an anomaly.
//
// Usage:
//
//	wscap -r FILE [flags]
//
// Examples:
//
//	wscap -r capture.pcapng              # timeline, then a summary table
//	wscap -r capture.pcap -V -x          # with field trees and hex dumps
//	wscap -r capture.pcap --json | jq .  # JSON Lines, one event per line
//	wscap -r capture.pcap -d 8080        # port 8080 is WebSocket, handshake or not
//	wscap -r capture.pcap --fail-on error  # exit 3 on protocol errors (CI)
//
// Exit status: 0 on success (anomalies in the traffic are not failures), 1
// when the capture cannot be read or is damaged, 2 for usage errors, 3 when
// --fail-on found an anomaly at or above its level.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version from the build information is shown.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

const usageHead = `wscap: a WebSocket wire-format analyzer for pcap and pcapng captures.

Usage: wscap -r FILE [flags]

Examples:
  wscap -r capture.pcapng                 timeline of every WebSocket connection, then a summary
  wscap -r capture.pcap -V                with a field tree under each row
  wscap -r capture.pcap -x                with hex dumps of the payloads
  wscap -r capture.pcap --json | jq .     JSON Lines, one event per line
  wscap -r capture.pcap -d 8080           decode port 8080 as WebSocket even without a handshake
  wscap -r capture.pcap.gz -t absolute    gzip is read as is; times in UTC
  wscap -r capture.pcap --fail-on error   exit 3 if the traffic breaks the protocol (for CI)
  tcpdump -i lo -w - port 8080 | wscap -r -
                                          read the capture from standard input

Exit status: 0 ok (anomalies in the traffic are not failures), 1 unreadable or
damaged capture, 2 usage error, 3 --fail-on found an anomaly at or above its level.

Flags:
`

// config is the parsed command line.
type config struct {
	read       string
	count      int
	verbose    bool
	hex        bool
	json       bool
	summary    bool
	decodeAs   []uint16
	maxPayload int
	maxInflate int64
	timeFmt    output.TimeFormat
	failOn     decode.Severity
	failOnSet  bool
	stats      bool
	cpuprofile string
	help       bool
	version    bool
	usage      string // the help text
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// failOnError reports that --fail-on found anomalies: exit status 3.
type failOnError struct {
	n     int
	level decode.Severity
}

func (e *failOnError) Error() string {
	noun := "anomalies"
	if e.n == 1 {
		noun = "anomaly"
	}
	return fmt.Sprintf("%d %s at or above %s level (--fail-on)", e.n, noun, e.level)
}

// exitCode prints err (if any) to stderr and returns the exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if ue, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprintf(stderr, "wscap: %s\nTry 'wscap --help' for more information.\n", ue.msg)
		return 2
	}
	if fe, ok := errors.AsType[*failOnError](err); ok {
		fmt.Fprintf(stderr, "wscap: %s\n", fe)
		return 3
	}
	fmt.Fprintf(stderr, "wscap: %v\n", err)
	return 1
}

// parseArgs parses the command line into a config.
func parseArgs(args []string) (*config, error) {
	cfg := &config{}
	fs := pflag.NewFlagSet("wscap", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	var (
		decodeAs   []string
		maxPayload string
		maxInflate string
		timeFmt    string
		failOn     string
		summary    bool
		noSummary  bool
	)
	fs.StringVarP(&cfg.read, "read", "r", "", "read packets from `FILE` (pcap or pcapng, maybe gzipped; \"-\" = standard input)")
	fs.IntVarP(&cfg.count, "count", "c", 0, "stop after `N` packets")
	fs.BoolVarP(&cfg.verbose, "verbose", "V", false, "show a field tree under each row")
	fs.BoolVarP(&cfg.hex, "hex", "x", false, "show a hex dump of each payload")
	fs.BoolVar(&cfg.json, "json", false, "write JSON Lines (one event per line) instead of the timeline")
	fs.BoolVar(&summary, "summary", false, "print the per-connection summary (default for the timeline)")
	fs.BoolVar(&noSummary, "no-summary", false, "do not print the summary (default with --json)")
	fs.StringSliceVarP(&decodeAs, "decode-as", "d", nil, "decode connections on `PORT` as WebSocket even without a handshake (repeatable, or a comma list)")
	fs.StringVar(&maxPayload, "max-payload", "1MiB", "keep at most `BYTES` of each message's payload (K, M, G suffixes are powers of 1024; 0: none)")
	fs.StringVar(&maxInflate, "max-inflate", "64MiB", "stop inflating a compressed message after `BYTES`")
	fs.StringVarP(&timeFmt, "time", "t", "relative", "show times as `FORMAT`: relative (to the first packet), absolute (UTC) or delta (to the previous row)")
	fs.StringVar(&failOn, "fail-on", "", "exit with status 3 if an anomaly of `LEVEL` (warning or error) or above was seen")
	fs.BoolVar(&cfg.stats, "stats", false, "print packet, connection and throughput counts to stderr at the end")
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	fs.BoolVarP(&cfg.help, "help", "h", false, "show this help and exit")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile to `FILE`")
	fs.MarkHidden("cpuprofile")
	cfg.usage = usageHead + fs.FlagUsages()

	if err := fs.Parse(args); err != nil {
		return nil, usagef("%v", err)
	}
	if cfg.help || cfg.version {
		return cfg, nil
	}
	if fs.NArg() > 0 {
		if cfg.read == "" {
			return nil, usagef("unexpected argument %q (to read a capture, use -r %s)", fs.Arg(0), fs.Arg(0))
		}
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	}
	if cfg.read == "" {
		return nil, usagef("no capture to read: use -r FILE (or -r - for standard input)")
	}
	if fs.Changed("count") && cfg.count < 1 {
		return nil, usagef("invalid --count %d: must be at least 1", cfg.count)
	}
	for _, d := range decodeAs {
		p, err := strconv.ParseUint(strings.TrimSpace(d), 10, 16)
		if err != nil || p == 0 {
			return nil, usagef("invalid --decode-as port %q: must be 1-65535", d)
		}
		cfg.decodeAs = append(cfg.decodeAs, uint16(p))
	}
	n, err := parseSize(maxPayload)
	if err != nil {
		return nil, usagef("invalid --max-payload %q: %v", maxPayload, err)
	}
	cfg.maxPayload = int(n)
	if n == 0 {
		cfg.maxPayload = -1 // decode.Options: negative keeps no payload
	}
	if cfg.maxInflate, err = parseSize(maxInflate); err != nil {
		return nil, usagef("invalid --max-inflate %q: %v", maxInflate, err)
	}
	if cfg.maxInflate == 0 {
		return nil, usagef("invalid --max-inflate %q: must be more than 0", maxInflate)
	}
	var ok bool
	if cfg.timeFmt, ok = output.ParseTimeFormat(timeFmt); !ok {
		return nil, usagef("invalid --time %q: want relative, absolute or delta", timeFmt)
	}
	if fs.Changed("fail-on") {
		switch failOn {
		case "warning", "warn", "error":
			cfg.failOn, _ = decode.ParseSeverity(failOn)
			cfg.failOnSet = true
		default:
			return nil, usagef("invalid --fail-on %q: want warning or error", failOn)
		}
	}
	switch {
	case summary && noSummary:
		return nil, usagef("--summary and --no-summary contradict each other")
	case summary:
		cfg.summary = true
	case noSummary:
		cfg.summary = false
	default:
		cfg.summary = !cfg.json
	}
	return cfg, nil
}

// maxSize bounds size flags (1 TiB): more is certainly a typo.
const maxSize = 1 << 40

// parseSize parses a byte count with an optional K, M or G suffix (KB, KiB,
// MB, MiB... all mean powers of 1024, case-insensitive).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(strings.TrimSpace(t[len(num):]))
	mult := int64(1)
	switch unit {
	case "", "b":
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("unknown unit %q (use K, M or G)", unit)
	}
	if num == "" || strings.ContainsFunc(num, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, errors.New("not a number of bytes")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > maxSize/mult {
		return 0, errors.New("not a number of bytes up to 1 TiB")
	}
	return n * mult, nil
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return fmt.Sprintf("wscap %s (%s)", v, runtime.Version())
}

// run is the whole program: main only turns its error into an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseArgs(args)
	if err != nil {
		return err
	}
	switch {
	case cfg.help:
		_, err := io.WriteString(stdout, cfg.usage)
		return err
	case cfg.version:
		_, err := fmt.Fprintln(stdout, versionString())
		return err
	}
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return fmt.Errorf("create CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	return analyze(ctx, cfg, stdout, stderr)
}

// analyze runs source -> reassembly -> decode -> output.
func analyze(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	start := time.Now()
	src, err := source.Open(cfg.read)
	if err != nil {
		return err
	}
	defer src.Close()

	opt := output.Options{
		Verbose:  cfg.verbose,
		Hex:      cfg.hex,
		Time:     cfg.timeFmt,
		Width:    termWidth(stdout),
		Summary:  cfg.summary,
		Timeline: true,
	}
	var r output.Renderer
	if cfg.json {
		r = output.NewJSON(stdout, opt)
	} else {
		r = output.NewText(stdout, opt)
	}

	failures := 0
	sink := func(evs []decode.Event) error {
		if cfg.failOnSet {
			for i := range evs {
				if evs[i].Kind == decode.KindAnomaly && evs[i].Anomaly.Severity >= cfg.failOn {
					failures++
				}
			}
		}
		if err := r.Write(evs); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	eng := reassembly.New(reassembly.Config{
		Decode:        decode.Options{MaxPayload: cfg.maxPayload, MaxInflate: cfg.maxInflate},
		DecodeAsPorts: cfg.decodeAs,
	}, sink)

	// On a damaged capture, everything decoded before the damage is still
	// flushed and printed; the read error is returned afterwards.
	var readErr error
	n := 0
	done := ctx.Done()
	for cfg.count == 0 || n < cfg.count {
		if n&255 == 0 {
			select {
			case <-done: // interrupted: finish like at the end of the file
				readErr = io.EOF
			default:
			}
			if readErr != nil {
				break
			}
		}
		p, err := src.Next()
		if err != nil {
			readErr = err
			break
		}
		n++
		if n == 1 {
			r.SetEpoch(p.Time)
		}
		if err := eng.Packet(n, p); err != nil {
			r.Close()
			return err
		}
	}
	if err := eng.Flush(); err != nil {
		r.Close()
		return err
	}
	if err := r.Close(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}

	st := eng.Stats()
	if st.UnsupportedLink > 0 {
		fmt.Fprintf(stderr, "wscap: warning: skipped %d packets of link types wscap does not decode\n", st.UnsupportedLink)
	}
	if cfg.stats {
		el := time.Since(start)
		fmt.Fprintf(stderr, "wscap: %d packets, %s, %d connections, %d WebSocket, %d undecodable, %.3f s, %.1f MB/s\n",
			st.Packets, byteCount(st.Bytes), st.Conns, st.WebSocket, st.Undecodable, el.Seconds(),
			float64(st.Bytes)/1e6/max(el.Seconds(), 1e-9))
	}
	if readErr != nil && readErr != io.EOF {
		return readErr
	}
	if failures > 0 {
		return &failOnError{n: failures, level: cfg.failOn}
	}
	return nil
}

func byteCount(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
