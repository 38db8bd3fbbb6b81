// Wscap prints a dissector-style timeline of the WebSocket traffic in a
// packet capture, or on a network interface as it happens.
//
// It reads pcap and pcapng files (also gzip-compressed, or from standard
// input) or captures live, reassembles TCP, finds HTTP/1.1 Upgrade
// handshakes on any port, checks Sec-WebSocket-Accept, decodes RFC 6455
// frames and permessage-deflate messages, and reports every protocol
// violation it sees as an anomaly.
//
// Usage:
//
//	wscap -r FILE [flags]
//	wscap -i INTERFACE [flags]
//	wscap --merge SHARD-FILE...
//
// Examples:
//
//	wscap -r capture.pcapng              # timeline, then a summary table
//	wscap -r capture.pcap -V -x          # with field trees and hex dumps
//	wscap -r capture.pcap --follow 1     # connection #1 as a conversation
//	wscap -r capture.pcap --json | jq .  # JSON Lines, one event per line
//	wscap -r capture.pcap -d 8080        # port 8080 is WebSocket, handshake or not
//	wscap -r capture.pcap --fail-on error  # exit 3 on protocol errors (CI)
//	wscap -r capture.pcap -f 'port 8080' # only the packets a capture filter accepts
//	sudo wscap -i lo -f 'tcp port 8080'  # live, until Ctrl-C
//	sudo wscap -i any --json -w ws.pcapng  # live JSON Lines, packets kept as pcapng
//	wscap -r big.pcapng --json --shard 0/4 > s0.jsonl  # one shard of 4 (0/4 to 3/4)
//	wscap --merge s0.jsonl s1.jsonl s2.jsonl s3.jsonl  # the output of one run
//
// Live capture needs root or the CAP_NET_RAW capability (and CAP_NET_ADMIN
// for promiscuous mode). Ctrl-C (SIGINT) or SIGTERM stops it: every open
// connection is flushed, the summary printed, the -w file closed, capture
// statistics written to stderr, and wscap exits 0. A second Ctrl-C (more
// than a second after the first: signals closer together count as one)
// exits at once with status 130, flushing nothing.
//
// Exit status: 0 on success (anomalies in the traffic are not failures), 1
// when the capture cannot be read or is damaged, 2 for usage errors (a bad
// filter included), 3 when --fail-on found an anomaly at or above its
// level, 130 after a second interrupt.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/spf13/pflag"
	"golang.org/x/net/bpf"

	"github.com/wscap/wscap/app"
	"github.com/wscap/wscap/capture"
	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/dfilter"
	"github.com/wscap/wscap/output"
	"github.com/wscap/wscap/pipeline"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version from the build information is shown.
var version = ""

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go onSignals(sigs, cancel, time.Now, os.Stderr, os.Exit)
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		tuneGC()
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if cfg, err := parseArgs(os.Args[1:]); err == nil && cfg.memcap > 0 {
			debug.SetMemoryLimit(memLimitFor(cfg.memcap))
		}
	}
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	os.Exit(exitCode(err, os.Stderr))
}

// sameSignal is how close two signals must be to count as one: timeout(1)
// and a terminal's Ctrl-C signal the whole process group, and a shell
// may pass a signal on too, so one stop request can arrive twice.
const sameSignal = time.Second

// onSignals handles SIGINT and SIGTERM: the first cancels (reading stops;
// flush, summary and statistics follow), as do others within sameSignal
// of it; a later one exits at once with status 130.
func onSignals(sigs <-chan os.Signal, cancel func(), now func() time.Time, stderr io.Writer, exit func(int)) {
	<-sigs
	first := now()
	cancel()
	for range sigs {
		if now().Sub(first) < sameSignal {
			continue
		}
		fmt.Fprintln(stderr, "wscap: interrupted again: exiting at once (output and -w file may be incomplete)")
		exit(130)
		return
	}
}

// GC pacing. wscap's live heap is mostly per-connection state that grows
// with the connections open at once (10,000 take about 60 MB), and it
// allocates little besides: with the default GOGC=100 the heap grows to
// twice the live heap. Past gcSoftHeap/2 of live heap the GC percent
// shrinks so that the heap goal stays near gcSoftHeap, down to
// gcMinPercent (unlike a memory limit, the GC never runs back to back).
// Captures with fewer connections keep GOGC=100. Setting GOGC or
// GOMEMLIMIT turns this off.
const (
	gcSoftHeap   = 80 << 20
	gcMinPercent = 25
)

// gcPercentFor returns the GC percent for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 || 2*live <= gcSoftHeap {
		return 100
	}
	if live >= gcSoftHeap {
		return gcMinPercent
	}
	return max(gcMinPercent, int(100*(gcSoftHeap-live)/live))
}

// memLimitFor returns the Go soft memory limit for a --memcap of budget
// bytes: the traffic state the budget counts can pass it by what the
// packets between a checkpoint and its eviction add, and the heap holds
// more than the state (buffers of the run, garbage not yet collected), so
// the garbage collector works harder only past a quarter more and 64 MiB.
func memLimitFor(budget int64) int64 { return budget + budget/4 + 64<<20 }

// tuneGC sets the GC percent from the live heap after every collection,
// from a finalizer that re-arms itself.
func tuneGC() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	percent := 100
	var arm func()
	arm = func() {
		runtime.SetFinalizer(new([32]byte), func(*[32]byte) {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				if p := gcPercentFor(sample[0].Value.Uint64()); p != percent {
					percent = p
					debug.SetGCPercent(p)
				}
			}
			arm()
		})
	}
	arm()
}

const usageHead = `wscap: a WebSocket wire-format analyzer for pcap and pcapng captures and live interfaces.

Usage: wscap -r FILE [flags]
       wscap -i INTERFACE [flags]
       wscap --merge SHARD-FILE...

Examples:
  wscap -r capture.pcapng                 timeline of every WebSocket connection, then a summary
  wscap -r capture.pcap -V                with a field tree under each row
  wscap -r capture.pcap -x                with hex dumps of the payloads
  wscap -r capture.pcap --messages        only messages, close frames and anomalies (--frames: every frame)
  wscap -r capture.pcap --follow 1 --pretty
                                          connection #1 as a conversation, whole payloads, JSON indented
  wscap -r capture.pcap --json | jq .     JSON Lines, one event per line
  wscap -r capture.pcap --html r.html     also a one-file HTML report: charts, connections, conversations
  wscap -r capture.pcap -d 8080           decode port 8080 as WebSocket even without a handshake
  wscap -r wss.pcapng --keylog keys.txt   decrypt wss:// (TLS 1.2/1.3) with an SSLKEYLOGFILE key log
  wscap -r capture.pcap.gz -t absolute    gzip is read as is; times in UTC
  wscap -r capture.pcap --fail-on error   exit 3 if the traffic breaks the protocol (for CI)
  wscap -r capture.pcap -f 'port 8080'    only the packets the capture filter accepts
  tcpdump -i lo -U -w - port 8080 | wscap -r -
                                          read the capture from standard input
  sudo wscap -i lo -f 'tcp port 8080'     decode a local server's traffic live, until Ctrl-C
  sudo wscap -i any --json -w ws.pcapng   live JSON Lines; the packets are kept as pcapng
  wscap -r big.pcapng --json --shard 0/4 > s0.jsonl
                                          one of 4 shards of the connections (run 0/4 to 3/4 anywhere),
  wscap --merge s0.jsonl s1.jsonl s2.jsonl s3.jsonl
                                          joined into the output of one run
  wscap -D                                list the interfaces

Live capture needs root or: setcap cap_net_raw,cap_net_admin+ep $(which wscap).
Filters (-f) are compiled by libpcap in -tags pcap builds, else by tcpdump -ddd.
Ctrl-C stops a capture: connections are flushed, the summary and capture
statistics printed, -w closed; a second Ctrl-C (a second later) exits at once (130).

Exit status: 0 ok (anomalies in the traffic are not failures), 1 unreadable or
damaged capture or capture failure, 2 usage error or bad filter, 3 --fail-on
found an anomaly at or above its level.

Flags:
`

// config is the parsed command line.
type config struct {
	read       string
	iface      string
	listIfaces bool
	filter     string
	display    *dfilter.Filter
	duration   time.Duration
	snaplen    int
	noPromisc  bool
	write      string
	har        string // --har FILE
	bufferSize int
	backend    string
	count      int
	verbose    bool
	hex        bool
	json       bool
	html       string // --html FILE
	extract    string // --extract DIR
	summary    bool
	view       output.View
	follow     *output.Follow
	pretty     bool
	all        bool
	color      string // "auto", "always" or "never"
	decodeAs   []uint16
	app        app.Config
	keylog     string
	maxPayload int
	cidSeed    uint16 // --community-id-seed
	maxInflate int64
	memcap     int64
	connIdle   time.Duration
	maxHead    int
	timeFmt    output.TimeFormat
	failOn     decode.Severity
	failOnSet  bool
	stats      bool
	jobs       int
	progress   int // --progress 1, --no-progress -1, else 0
	cpuprofile string
	memprofile string
	help       bool
	version    bool
	usage      string // the help text

	// --shard I/N, and the options that its shard line records (see
	// main_shard.go).
	shard        reassembly.Shard
	shardOptions string
	merge        bool     // --merge
	mergeFiles   []string // its files
}

// onceString is a string flag that may be given once: pflag keeps the
// last of repeated flags, which would silently drop the first (-r A -r B).
type onceString struct {
	p   *string
	set bool
}

func once(p *string) *onceString { return &onceString{p: p} }

func (o *onceString) String() string { return *o.p }
func (o *onceString) Type() string   { return "string" }
func (o *onceString) Set(v string) error {
	if o.set {
		return &repeatedError{o: o, first: *o.p, second: v}
	}
	*o.p, o.set = v, true
	return nil
}

// repeatedError is a onceString flag given twice.
type repeatedError struct {
	o             *onceString
	first, second string
}

func (e *repeatedError) Error() string {
	return fmt.Sprintf("given twice (%q and %q)", e.first, e.second)
}

// message names the flag (the one of fs given twice) and says what to do.
func (e *repeatedError) message(fs *pflag.FlagSet) string {
	name := "?"
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Value == pflag.Value(e.o) {
			name = "--" + f.Name
			if f.Shorthand != "" {
				name = "-" + f.Shorthand
			}
		}
	})
	why := "it takes one value"
	switch name {
	case "-r":
		why = "wscap reads one capture (merge captures first: mergecap -w both.pcapng A B)"
	case "-i":
		why = "wscap captures on one interface (-i any captures on all of them)"
	case "-f":
		why = "the capture filter is one expression (combine them: -f 'A and B')"
	case "-w":
		why = "the packets are written to one file"
	case "--keylog":
		why = "wscap reads one key log (concatenate them: cat A B > keys.txt)"
	}
	return fmt.Sprintf("%s given twice (%q and %q): %s", name, e.first, e.second, why)
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
	if fe, ok := errors.AsType[*capture.FilterError](err); ok && !fe.NoCompiler {
		fmt.Fprintf(stderr, "wscap: %s\n", fe)
		return 2
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
		maxHead    string
		timeFmt    string
		failOn     string
		summary    bool
		noSummary  bool
		bufferSize string
		memcap     string
		frames     bool
		messages   bool
		follow     []string
		appProtos  []string
		protoFile  string
		progressOn bool
		progressNo bool
		cidSeed    int
		shardArg   string
	)
	fs.VarP(once(&cfg.read), "read", "r", "read packets from `FILE` (pcap or pcapng, maybe gzipped; \"-\" = standard input)")
	fs.VarP(once(&cfg.iface), "interface", "i", "capture live on interface `NAME` (\"any\": all interfaces, Linux) until Ctrl-C")
	fs.BoolVarP(&cfg.listIfaces, "list-interfaces", "D", false, "list the interfaces -i can capture on and exit")
	fs.VarP(once(&cfg.filter), "filter", "f", "capture filter `EXPR` in tcpdump syntax, e.g. 'tcp port 8080' (with -r: applied to the file)")
	var display string
	fs.VarP(once(&display), "display-filter", "Y", "show only the events that match the display filter `EXPR` (Wireshark syntax, JSON Lines field names, e.g. 'conn == 2 and type == \"message\"')")
	fs.IntVarP(&cfg.count, "count", "c", 0, "stop after `N` packets (that the filter accepted)")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop a live capture after `TIME` (e.g. 30s, 10m)")
	fs.IntVarP(&cfg.snaplen, "snaplen", "s", capture.DefaultSnaplen, "live: keep at most `BYTES` of each packet (0: the default)")
	fs.BoolVarP(&cfg.noPromisc, "no-promiscuous", "p", false, "live: do not put the interface into promiscuous mode")
	fs.VarP(once(&cfg.write), "write", "w", "also write the packets (those the filter accepted) to `FILE` as pcapng")
	fs.StringVar(&bufferSize, "buffer-size", "8MiB", "live: kernel capture buffer of `BYTES`")
	fs.StringVar(&cfg.backend, "capture-backend", "", "live capture method: afpacket, socket or pcap")
	fs.MarkHidden("capture-backend")
	fs.BoolVarP(&cfg.verbose, "verbose", "V", false, "show a field tree under each row")
	fs.BoolVarP(&cfg.hex, "hex", "x", false, "show a hex dump of each payload")
	fs.BoolVar(&frames, "frames", false, "timeline: a row for every frame as well as for every message")
	fs.BoolVar(&messages, "messages", false, "timeline: only data messages, close frames, anomalies and gaps")
	fs.StringSliceVar(&follow, "follow", nil, "show the conversation of connection `ID` (as in #ID; repeatable, a comma list, or all) instead of the timeline")
	fs.BoolVar(&cfg.pretty, "pretty", false, "pretty-print JSON payloads (with --follow or -V)")
	fs.Var(once(&cfg.har), "har", "also write the WebSockets to `FILE` as HAR 1.2 (Chrome DevTools' format, with _webSocketMessages), beside the main output")
	fs.BoolVar(&cfg.json, "json", false, "write JSON Lines (one event per line) instead of the timeline")
	fs.IntVar(&cidSeed, "community-id-seed", 0, "seed `N` (0-65535) of the Community ID of each connection (community_id; Zeek's and Suricata's default is 0)")
	fs.Var(once(&cfg.html), "html", "also write a one-file HTML report (charts, connections, conversations, anomalies) to `FILE`")
	fs.Var(once(&cfg.extract), "extract", "also write each message's payload to a file in `DIR` (created if missing, must be empty), listed in DIR/manifest.jsonl")
	fs.BoolVar(&summary, "summary", false, "print the per-connection summary (default for the timeline)")
	fs.BoolVar(&noSummary, "no-summary", false, "do not print the summary (default with --json)")
	fs.BoolVar(&cfg.all, "all", false, "also show TLS connections that are not WebSocket (HTTPS, HTTP/2, not decrypted) in the timeline and summary")
	fs.StringVar(&cfg.color, "color", "auto", "colour the text output: `WHEN` auto (on a terminal, unless NO_COLOR is set), always or never")
	fs.StringSliceVarP(&decodeAs, "decode-as", "d", nil, "decode connections on `PORT` as WebSocket even without a handshake (repeatable, or a comma list)")
	fs.StringSliceVar(&appProtos, "app", nil, "decode messages as application protocol `PROTO` (one of "+strings.Join(app.Names(), ", ")+"), only on server port PORT with PORT=PROTO, or none; default: chosen per connection by subprotocol, path and first messages")
	fs.Var(once(&protoFile), "proto", "decode binary messages that no protocol claims as protobuf message `FILE.proto[:Type]` (default Type: the file's message that no other message uses; imports from the file's directory)")
	fs.Var(once(&cfg.keylog), "keylog", "decrypt TLS (wss://) with the NSS key log `FILE` (default $SSLKEYLOGFILE; re-read as it grows; keys embedded in a pcapng are used too)")
	fs.StringVar(&maxPayload, "max-payload", "1MiB", "keep at most `BYTES` of each message's payload (K, M, G suffixes are powers of 1024; 0: none)")
	fs.StringVar(&maxInflate, "max-inflate", "64MiB", "stop inflating a compressed message after `BYTES`")
	fs.StringVar(&memcap, "memcap", "512MiB", "memory budget of `BYTES` for the state of all connections: past it the least recently active are evicted, with a memcap_evicted anomaly (at least 16MiB; 0: no budget)")
	fs.DurationVar(&cfg.connIdle, "conn-timeout", 5*time.Minute, "finish a connection without FIN or RST after `TIME` of capture time without a packet")
	fs.StringVar(&maxHead, "max-head", "64KiB", "decode HTTP heads (the Upgrade request and response) of up to `BYTES`")
	fs.StringVarP(&timeFmt, "time", "t", "relative", "show times as `FORMAT`: relative (to the first packet), absolute (UTC) or delta (to the previous row)")
	fs.StringVar(&failOn, "fail-on", "", "exit with status 3 if an anomaly of `LEVEL` (warning or error) or above was seen")
	fs.BoolVar(&cfg.stats, "stats", false, "print packet, connection and throughput counts, and per connection timing statistics (ping round trips, message rates and sizes, close timing), to stderr at the end")
	fs.IntVarP(&cfg.jobs, "jobs", "j", runtime.NumCPU(), "decode on `N` workers, each connection on one of them (the output is the same for every N)")
	fs.BoolVar(&progressOn, "progress", false, "show the progress of reading -r FILE on stderr (default when stderr is a terminal; elsewhere a line a second)")
	fs.BoolVar(&progressNo, "no-progress", false, "do not show the progress of reading -r FILE")
	fs.Var(once(&shardArg), "shard", "decode only the connections of shard `I/N` (0 <= I < N <= 1024, I 0-based as $JOB_COMPLETION_INDEX); packet numbers and connection ids stay those of the whole capture, and --merge joins the --json output of the N shards into that of one run")
	fs.BoolVar(&cfg.merge, "merge", false, "merge the --json files of the N shards of one run (wscap --merge FILE...) into the output of one unsharded run, and exit")
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	fs.BoolVarP(&cfg.help, "help", "h", false, "show this help and exit")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile to `FILE`")
	fs.MarkHidden("cpuprofile")
	fs.StringVar(&cfg.memprofile, "memprofile", "", "write an allocation profile to `FILE` at the end")
	fs.MarkHidden("memprofile")
	cfg.usage = usageHead + fs.FlagUsages()

	if err := fs.Parse(args); err != nil {
		if r, ok := errors.AsType[*repeatedError](err); ok {
			return nil, usagef("%s", r.message(fs))
		}
		return nil, usagef("%v", err)
	}
	if cfg.help || cfg.version || cfg.listIfaces {
		return cfg, nil
	}
	if cfg.merge {
		return parseMerge(fs, cfg)
	}
	if fs.NArg() > 0 {
		if cfg.read == "" && cfg.iface == "" {
			return nil, usagef("unexpected argument %q (to read a capture, use -r %s)", fs.Arg(0), fs.Arg(0))
		}
		return nil, usagef("unexpected argument %q (a capture filter goes in -f: -f '%s')", fs.Arg(0), strings.Join(fs.Args(), " "))
	}
	switch {
	case cfg.read != "" && cfg.iface != "":
		return nil, usagef("-r and -i exclude each other: read a capture file or capture live")
	case cfg.read == "" && cfg.iface == "":
		return nil, usagef("no capture to read: use -r FILE (or -r - for standard input), or -i INTERFACE to capture live")
	}
	if cfg.read != "" {
		for _, name := range []string{"duration", "snaplen", "no-promiscuous", "buffer-size", "capture-backend"} {
			if fs.Changed(name) {
				return nil, usagef("--%s applies to live capture (-i) only", name)
			}
		}
	}
	if shardArg != "" {
		if cfg.iface != "" {
			return nil, usagef("--shard reads a capture file (-r): every shard reads the same packets")
		}
		sh, err := parseShard(shardArg)
		if err != nil {
			return nil, err
		}
		cfg.shard = sh
		cfg.shardOptions = shardOptions(fs)
	}
	if cidSeed < 0 || cidSeed > 65535 {
		return nil, usagef("invalid --community-id-seed %d: the seed is 16 bits, 0 to 65535", cidSeed)
	}
	cfg.cidSeed = uint16(cidSeed)
	switch {
	case progressOn && progressNo:
		return nil, usagef("--progress and --no-progress exclude each other")
	case progressOn && cfg.iface != "":
		return nil, usagef("--progress applies to reading a file (-r) only")
	case progressOn:
		cfg.progress = 1
	case progressNo:
		cfg.progress = -1
	}
	if fs.Changed("display-filter") {
		f, err := dfilter.Compile(display)
		if e, ok := errors.AsType[*dfilter.Error](err); ok {
			return nil, usagef("-Y: %s\n    %s", e, strings.ReplaceAll(e.Caret(), "\n", "\n    "))
		}
		cfg.display = f
	}
	if cfg.jobs < 1 || cfg.jobs > 256 {
		return nil, usagef("invalid --jobs %d: must be 1-256", cfg.jobs)
	}
	if fs.Changed("count") && cfg.count < 1 {
		return nil, usagef("invalid --count %d: must be at least 1", cfg.count)
	}
	if fs.Changed("duration") && cfg.duration <= 0 {
		return nil, usagef("invalid --duration %s: must be more than 0", cfg.duration)
	}
	if cfg.snaplen < 0 || cfg.snaplen > capture.DefaultSnaplen {
		return nil, usagef("invalid --snaplen %d: must be 0-%d", cfg.snaplen, capture.DefaultSnaplen)
	}
	if cfg.snaplen == 0 {
		cfg.snaplen = capture.DefaultSnaplen
	}
	bs, err := parseSize(bufferSize)
	if err != nil {
		return nil, usagef("invalid --buffer-size %q: %v", bufferSize, err)
	}
	if bs < 64<<10 || bs > 1<<30 {
		return nil, usagef("invalid --buffer-size %q: must be 64KiB-1GiB", bufferSize)
	}
	cfg.bufferSize = int(bs)
	if cfg.write == "-" {
		return nil, usagef("-w - is not supported: standard output carries the decoded output")
	}
	if cfg.html == "-" {
		return nil, usagef("--html - is not supported: standard output carries the decoded output")
	}
	if err := checkHAR(cfg); err != nil {
		return nil, err
	}
	for _, out := range []struct{ flag, name string }{{"-w", cfg.write}, {"--html", cfg.html}} {
		if out.name == "" || cfg.read == "" || cfg.read == "-" {
			continue
		}
		a, err1 := os.Stat(cfg.read)
		b, err2 := os.Stat(out.name)
		if err1 == nil && err2 == nil && os.SameFile(a, b) {
			return nil, usagef("%s %s would overwrite the capture being read", out.flag, out.name)
		}
	}
	for _, d := range decodeAs {
		p, err := strconv.ParseUint(strings.TrimSpace(d), 10, 16)
		if err != nil || p == 0 {
			return nil, usagef("invalid --decode-as port %q: must be 1-65535", d)
		}
		cfg.decodeAs = append(cfg.decodeAs, uint16(p))
	}
	for _, a := range appProtos {
		if err := cfg.app.Set(a); err != nil {
			return nil, usagef("invalid --app %q: %v", a, err)
		}
	}
	if protoFile != "" {
		file, typ := protoFile, ""
		if i := strings.LastIndexByte(protoFile, ':'); i > 0 && strings.HasSuffix(protoFile[:i], ".proto") {
			file, typ = protoFile[:i], protoFile[i+1:]
		}
		s, err := app.LoadSchema(file, typ)
		if err != nil {
			return nil, usagef("invalid --proto %q: %v", protoFile, err)
		}
		cfg.app.Schema = s
	}
	n, err := parseSize(maxPayload)
	if err != nil {
		return nil, usagef("invalid --max-payload %q: %v", maxPayload, err)
	}
	cfg.maxPayload = int(n)
	if n == 0 {
		cfg.maxPayload = -1 // decode.Options: negative keeps no payload
	}
	if cfg.extract != "" && cfg.maxPayload < 0 {
		return nil, usagef("--extract writes the payloads that --max-payload keeps, and --max-payload 0 keeps none")
	}
	if cfg.maxInflate, err = parseSize(maxInflate); err != nil {
		return nil, usagef("invalid --max-inflate %q: %v", maxInflate, err)
	}
	if cfg.maxInflate == 0 {
		return nil, usagef("invalid --max-inflate %q: must be more than 0", maxInflate)
	}
	if cfg.memcap, err = parseSize(memcap); err != nil {
		return nil, usagef("invalid --memcap %q: %v", memcap, err)
	}
	if cfg.memcap == 0 {
		cfg.memcap = -1 // reassembly.Config: negative is no budget
	} else if cfg.memcap < reassembly.MinMemCap {
		return nil, usagef("invalid --memcap %q: must be at least 16MiB (or 0 for no budget)", memcap)
	}
	if cfg.connIdle < time.Second {
		return nil, usagef("invalid --conn-timeout %s: must be at least 1s", cfg.connIdle)
	}
	if n, err = parseSize(maxHead); err != nil || n <= 0 || n > 1<<30 {
		return nil, usagef("invalid --max-head %q: want a size from 1 byte to 1GiB", maxHead)
	}
	cfg.maxHead = int(n)
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
	if err := cfg.parseViews(frames, messages, follow); err != nil {
		return nil, err
	}
	switch cfg.color {
	case "auto", "always", "never":
	default:
		return nil, usagef("invalid --color %q: want auto, always or never", cfg.color)
	}
	if cfg.json {
		// Flags of the text output that JSON Lines would silently ignore.
		switch {
		case cfg.verbose:
			return nil, usagef("-V and --json cannot be combined: -V draws field trees under timeline rows, and JSON Lines already carry every field")
		case cfg.hex:
			return nil, usagef("-x and --json cannot be combined: -x dumps payloads under timeline rows, and JSON Lines already carry them (text, or base64 in data)")
		case fs.Changed("time"):
			return nil, usagef("-t and --json cannot be combined: -t formats the timeline's Time column, and JSON Lines carry ts in UTC")
		case cfg.color == "always":
			return nil, usagef("--color always and --json cannot be combined: JSON Lines are never coloured")
		case cfg.all && !summary:
			return nil, usagef("--all with --json needs --summary: JSON Lines carry the events of every connection already; --all adds the summary lines of those that are not WebSocket")
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
		cfg.summary = !cfg.json && cfg.follow == nil
	}
	return cfg, nil
}

// parseViews checks and sets the text views: --frames, --messages,
// --follow and --pretty.
func (cfg *config) parseViews(frames, messages bool, follow []string) error {
	switch {
	case frames && messages:
		return usagef("--frames and --messages exclude each other: every frame, or only the messages")
	case cfg.json && (frames || messages):
		return usagef("--frames and --messages choose the rows of the text timeline; JSON Lines (--json) always carries every event")
	case frames:
		cfg.view = output.ViewFrames
	case messages:
		cfg.view = output.ViewMessages
	}
	if follow != nil {
		f := &output.Follow{}
		for _, v := range follow {
			v = strings.TrimPrefix(strings.TrimSpace(v), "#")
			if v == "all" {
				f.All = true
				continue
			}
			conn, stream, h2 := strings.Cut(v, "/")
			id, err := strconv.Atoi(conn)
			st, serr := strconv.ParseUint(stream, 10, 31)
			if err != nil || id < 1 || h2 && (serr != nil || st == 0) {
				return usagef("invalid --follow %q: want a connection id (1, 2, ... as the timeline's #1, #2), a WebSocket over HTTP/2 (#1/5) or all", v)
			}
			if h2 {
				f.Streams = append(f.Streams, output.Stream{Conn: id, Stream: uint32(st)})
				continue
			}
			f.Conns = append(f.Conns, id)
		}
		slices.Sort(f.Conns)
		f.Conns = slices.Compact(f.Conns)
		switch {
		case cfg.json:
			return usagef("--follow is a text view and --json writes JSON Lines: for one connection's events use jq 'select(.conn == N)'")
		case frames || messages:
			return usagef("--follow replaces the timeline: --frames and --messages do not apply to it")
		case cfg.verbose || cfg.hex:
			return usagef("--follow shows whole payloads already (binary ones as hex dumps): -V and -x apply to the timeline only")
		}
		cfg.follow = f
	}
	if cfg.pretty && (cfg.json || cfg.follow == nil && !cfg.verbose) {
		return usagef("--pretty applies to --follow and -V only (JSON Lines carries payloads as sent)")
	}
	return nil
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

// htmlTitle names the capture at the top of the --html report.
func htmlTitle(cfg *config) string {
	switch {
	case cfg.read == "-":
		return "standard input"
	case cfg.read != "":
		return filepath.Base(cfg.read)
	}
	return "live capture on " + cfg.iface
}

// checkHAR checks --har: a file, not standard output (which carries the
// main output) nor a file wscap reads or writes.
func checkHAR(cfg *config) error {
	if cfg.har == "" {
		return nil
	}
	if cfg.har == "-" {
		return usagef("--har - is not supported: standard output carries the timeline or JSON Lines; give a file name")
	}
	a, err := os.Stat(cfg.har)
	if err != nil {
		return nil
	}
	for _, other := range []string{cfg.read, cfg.write} {
		if other == "" || other == "-" {
			continue
		}
		if b, err := os.Stat(other); err == nil && os.SameFile(a, b) {
			return usagef("--har %s would overwrite %s", cfg.har, other)
		}
	}
	return nil
}

// versionNumber is the version without the Go release ("devel", "v1.2.0").
func versionNumber() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

func versionString() string {
	return fmt.Sprintf("wscap %s (%s)", versionNumber(), runtime.Version())
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
	case cfg.listIfaces:
		ifs, err := capture.Interfaces()
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, capture.FormatInterfaces(ifs))
		return err
	case cfg.merge:
		return mergeShards(cfg.mergeFiles, stdout, stderr)
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
	if cfg.memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			if f, err := os.Create(cfg.memprofile); err == nil {
				kind := "allocs"
				if os.Getenv("WSCAP_HEAPPROFILE") != "" {
					kind = "heap"
				}
				pprof.Lookup(kind).WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	return analyze(ctx, cfg, stdout, stderr)
}

// compileFilter compiles -f for a file; a variable so that tests run
// without libpcap or tcpdump.
var compileFilter = capture.CompileFilter

// streamIdle is how long a stream (-r - or a FIFO) may be quiet before
// what is decoded is printed.
const streamIdle = 50 * time.Millisecond

// analyze runs source -> reassembly -> decode -> output.
func analyze(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	start := time.Now()
	var (
		src  source.Source
		live capture.Handle
		filt *source.Filter
		// stream: -r reads a pipe or FIFO; like live capture, its
		// events are printed as its packets arrive.
		stream bool
		prog   *progressRun // the progress line of a file's read
	)
	keys, err := openKeyLog(cfg.keylog, os.Getenv)
	secrets := new(pipeline.Secrets) // the capture's own, added between packets
	if err != nil {
		return err
	}
	if keys != nil {
		keys.SetDone(ctx.Done()) // an interrupt stops reading the key log
	}
	if cfg.iface != "" {
		h, err := capture.Open(capture.Options{
			Interface:     cfg.iface,
			Filter:        cfg.filter,
			Snaplen:       cfg.snaplen,
			NoPromiscuous: cfg.noPromisc,
			BufferSize:    cfg.bufferSize,
			Backend:       cfg.backend,
		})
		if err != nil {
			return err
		}
		live, src = h, h
		lt := capture.DLTName(h.LinkType())
		if lt == "" {
			lt = h.LinkType().String()
		}
		fmt.Fprintf(stderr, "wscap: listening on %s (%s), link-type %s, snapshot length %d bytes\n",
			h.Interface(), h.Backend(), lt, h.Snaplen())
		if cfg.duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, cfg.duration)
			defer cancel()
		}
	} else {
		s, err := source.OpenStream(ctx, cfg.read, streamIdle)
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted while waiting for the writer
			}
			return err
		}
		src, stream = s, source.IsStream(s)
		prog = newProgress(cfg, s, stream, stderr, start)
		defer prog.stop() // on error paths; stopped after the read below

		keys = withCaptureSecrets(keys, s, secrets) // before the filter wraps s: it does not carry secrets
		if cfg.filter != "" {
			expr := cfg.filter
			filt = source.NewFilter(s, func(lt layers.LinkType) ([]bpf.RawInstruction, error) {
				return compileFilter(expr, lt, capture.DefaultSnaplen)
			})
			src = filt
		}
	}
	defer src.Close()

	var w *capture.Writer
	if cfg.write != "" {
		info := capture.WriterInfo{Filter: cfg.filter, LinkType: layers.LinkTypeEthernet, Version: versionString()}
		if live != nil {
			info.Interface, info.Snaplen, info.LinkType = live.Interface(), live.Snaplen(), live.LinkType()
		}
		var err error
		if w, err = capture.CreateWriter(cfg.write, info); err != nil {
			return err
		}
		defer w.Close(nil) // on error paths; closed with statistics below
	}

	var exporters []output.Exporter
	if cfg.extract != "" {
		x, err := output.NewExtractor(cfg.extract, output.ExtractOptions{Filter: cfg.display, Stderr: prog.stderr(stderr)})
		if errors.Is(err, output.ErrExtractNotEmpty) {
			return usagef("%v", err)
		}
		if err != nil {
			return err
		}
		exporters = append(exporters, x)
	}
	var htmlFile *os.File
	if cfg.html != "" {
		f, err := os.Create(cfg.html)
		if err != nil {
			return err
		}
		defer f.Close() // on error paths; closed after the pipeline below
		htmlFile = f
		exporters = append(exporters, output.NewHTML(f, output.HTMLOptions{
			Title: htmlTitle(cfg), Version: versionString(), Filter: cfg.display}))
	}

	opt := output.Options{
		Verbose:  cfg.verbose,
		Hex:      cfg.hex,
		Time:     cfg.timeFmt,
		Width:    termWidth(stdout),
		Summary:  cfg.summary,
		Stats:    cfg.stats,
		Timeline: true,
		View:     cfg.view,
		Follow:   cfg.follow,
		Pretty:   cfg.pretty,
		All:      cfg.all,
		Color:    useColor(cfg.color, stdout, os.Getenv),
		Filter:   cfg.display,
	}
	if cfg.har != "" {
		f, err := os.Create(cfg.har)
		if err != nil {
			return err
		}
		exporters = append(exporters, output.NewHAR(f, output.HAROptions{Version: versionNumber(), Filter: cfg.display}))
	}
	// A sharded JSON run starts and ends its output with the lines that
	// --merge checks (see main_shard.go).
	shard, out, err := newShardRun(cfg, prog.stdout(stdout))
	if err != nil {
		return err
	}
	pipe := pipeline.New(pipeline.Config{
		Workers: cfg.jobs,
		Engine: reassembly.Config{
			Decode:        decode.Options{MaxPayload: cfg.maxPayload, MaxInflate: cfg.maxInflate, MaxHead: cfg.maxHead, App: cfg.app.Factory(), CommunityIDSeed: cfg.cidSeed},
			DecodeAsPorts: cfg.decodeAs,
			KeyLog:        keys,
			MemCap:        cfg.memcap,
			ConnTimeout:   cfg.connIdle,
			Shard:         cfg.shard,
		},
		JSON:          cfg.json,
		Output:        opt,
		FailOn:        cfg.failOn,
		CountFailures: cfg.failOnSet,
		Exporters:     exporters,
		Secrets:       secrets,
	}, out)
	// Live, events reach a terminal or a JSON consumer (| jq) as they
	// happen (with workers: within flushWorkers); otherwise output is
	// flushed at least once a second.
	streaming := live != nil || stream
	flushEach := streaming && (cfg.json || isTerminal(stdout))
	const flushWorkers = 50 * time.Millisecond

	// flush pushes output and the -w file out during a live capture.
	lastFlush := start
	flush := func(now time.Time) error {
		lastFlush = now
		if err := pipe.Flush(); err != nil {
			return err
		}
		if w != nil {
			return w.Flush()
		}
		return nil
	}

	// On a damaged capture, everything decoded before the damage is still
	// flushed and printed; the read error is returned afterwards.
	// n numbers every packet of the file, also those -f rejects (they
	// still number connections: see Pipeline.Skip); -c counts accepted.
	var readErr error
	n, accepted := 0, 0
	done := ctx.Done()
	for cfg.count == 0 || accepted < cfg.count {
		if streaming || n&255 == 0 {
			prog.tick(pipe)
			select {
			case <-done: // interrupted: finish like at the end of the file
				readErr = io.EOF
			default:
			}
			if readErr != nil {
				break
			}
		}
		var p source.Packet
		ok := true
		if filt != nil {
			p, ok, err = filt.NextAny()
		} else {
			p, err = src.Next()
		}
		if err != nil {
			if err == capture.ErrTimeout {
				// A quiet interface: time still passes for idle
				// connections.
				now := time.Now()
				if err := pipe.Tick(now); err != nil {
					pipe.Close()
					return err
				}
				if err := flush(now); err != nil {
					pipe.Close()
					return err
				}
				continue
			}
			if err == source.ErrIdle {
				// A stream's writer is quiet: print what is decoded.
				if err := flush(time.Now()); err != nil {
					pipe.Close()
					return err
				}
				continue
			}
			if _, ok := errors.AsType[*capture.FilterError](err); ok && n == 0 {
				return err // nothing decoded yet: a usage error
			}
			readErr = err
			break
		}
		n++
		if shard != nil {
			shard.digest.Add(p.Time.UnixNano(), p.CapLen, p.Len, p.Data)
		}
		if !ok {
			if err := pipe.Skip(n, p); err != nil {
				pipe.Close()
				return err
			}
			continue
		}
		accepted++
		if w != nil {
			if err := w.WritePacket(p); err != nil {
				pipe.Close()
				return err
			}
		}
		if err := pipe.Packet(n, p); err != nil {
			pipe.Close()
			return err
		}
		if flushEach && pipe.Workers() == 1 {
			if err := pipe.Flush(); err != nil {
				pipe.Close()
				return err
			}
		}
		if streaming && (n&63 == 0 || flushEach) {
			every := time.Second
			if flushEach {
				every = flushWorkers
			}
			if now := time.Now(); now.Sub(lastFlush) >= every {
				if err := flush(now); err != nil {
					pipe.Close()
					return err
				}
			}
		}
	}
	prog.stop()
	if err := pipe.Close(); err != nil {
		return err
	}
	if shard != nil {
		st := pipe.Stats()
		engines, own := pipe.MemPeak()
		if err := shard.end(&st, engines, own, readErr); err != nil {
			return err
		}
	}
	if htmlFile != nil {
		if err := htmlFile.Close(); err != nil {
			return err
		}
	}

	var capErr error
	if live != nil {
		cs, err := live.Stats()
		if err != nil {
			fmt.Fprintf(stderr, "wscap: warning: %v\n", err)
		} else {
			fmt.Fprintf(stderr, "wscap: %d packets captured, %d received by filter, %d dropped by kernel, %d dropped by interface\n",
				n, cs.Received, cs.KernelDropped, cs.IfDropped)
		}
		if w != nil {
			capErr = w.Close(&cs)
		}
	} else if w != nil {
		capErr = w.Close(nil)
	}

	st := pipe.Stats()
	if st.WebSocket == 0 && st.Packets > 0 {
		fmt.Fprintln(stderr, seenLine(&st))
	}
	if w := keyLogWarning(cfg.keylog, os.Getenv, keys, st.TLS); w != "" {
		fmt.Fprintln(stderr, w)
	}
	if h := pipe.Hidden(); h.Total() > 0 && (!cfg.json || cfg.summary) {
		fmt.Fprintf(stderr, "wscap: not shown (--all shows them): %s\n", h)
	}
	unsupported := st.UnsupportedLink
	if filt != nil {
		unsupported += filt.Stats().Unsupported
	}
	keyLogReadError(keys, stderr)
	if w := followWarning(cfg.follow, pipe.IDs()); w != "" {
		fmt.Fprintln(stderr, w)
	}
	if unsupported > 0 {
		fmt.Fprintf(stderr, "wscap: warning: skipped %d packets of link types wscap does not decode\n", unsupported)
	}
	if st.Evicted > 0 {
		fmt.Fprintf(stderr, "wscap: warning: the memory budget (--memcap %s) was reached: %d connections evicted, %d of them WebSocket or TLS (memcap_evicted anomalies)\n",
			reassembly.MemCapString(cfg.memcap), st.Evicted, st.EvictedWS)
	}
	for _, l := range shardWarnings(cfg, &st) {
		fmt.Fprintln(stderr, l)
	}
	if h := hintLine(&st); h != "" {
		fmt.Fprintln(stderr, h)
	}
	if cfg.stats {
		el := time.Since(start)
		fmt.Fprintf(stderr, "wscap: %d packets, %s, %d connections, %d WebSocket, %d undecodable, %.3f s, %.1f MB/s\n",
			st.Packets, byteCount(st.Bytes), st.Conns, st.WebSocket, st.Undecodable, el.Seconds(),
			float64(st.Bytes)/1e6/max(el.Seconds(), 1e-9))
		if st.TLS > 0 {
			fmt.Fprintf(stderr, "wscap: %d TLS connections, %d decrypted\n", st.TLS, st.TLSDecrypted)
		}
		if cfg.memcap > 0 {
			fmt.Fprintf(stderr, "wscap: %d connections evicted by the memory budget (%s)\n", st.Evicted, reassembly.MemCapString(cfg.memcap))
		}
		// Per connection: ping round trips, rates, sizes, close timing
		// (README, "Timing statistics").
		if ts := pipe.Timings(); len(ts) > 0 {
			fmt.Fprintln(stderr, "wscap: timing per connection:")
			if err := output.WriteTimingTable(stderr, ts, termWidth(stderr)); err != nil {
				return err
			}
		}
	}
	if readErr != nil && readErr != io.EOF {
		return readErr
	}
	if capErr != nil {
		return capErr
	}
	if failures := pipe.Failures(); failures > 0 {
		return &failOnError{n: failures, level: cfg.failOn}
	}
	return nil
}

// seenLine says what a run that found no WebSocket connection saw.
func seenLine(st *reassembly.Stats) string {
	plural := func(n int64, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return strconv.FormatInt(n, 10) + " " + what + "s"
	}
	l := "wscap: no WebSocket connection in " + plural(st.Packets, "packet") + ": " + plural(int64(st.Conns), "TCP connection")
	if st.TLS > 0 {
		l += fmt.Sprintf(" (%d TLS, %d decrypted)", st.TLS, st.TLSDecrypted)
	}
	if st.NonTCP > 0 {
		l += ", " + plural(st.NonTCP, "packet") + " not TCP"
	}
	return l
}

// maxHintPorts is how many ports the hint names.
const maxHintPorts = 5

// hintLine is the stderr hint about the ports whose connections start
// with what look like masked client WebSocket frames, no handshake seen
// (see reassembly.Stats.Hinted); "" when there are none.
func hintLine(st *reassembly.Stats) string {
	ports := st.HintPorts.Ports()
	if st.Hinted == 0 || len(ports) == 0 {
		return ""
	}
	more := ""
	if len(ports) > maxHintPorts {
		more = fmt.Sprintf(" and %d more", len(ports)-maxHintPorts)
		ports = ports[:maxHintPorts]
	}
	list := make([]string, len(ports))
	for i, p := range ports {
		list[i] = strconv.Itoa(int(p))
	}
	conns := "1 connection"
	if st.Hinted != 1 {
		conns = strconv.Itoa(st.Hinted) + " connections"
	}
	what := "port " + list[0] + " carries"
	if len(list) > 1 {
		what = "ports " + strings.Join(list, ", ") + more + " carry"
	}
	return fmt.Sprintf("wscap: hint: %s what look like WebSocket frames without a handshake (%s): try -d %s",
		what, conns, strings.Join(list, ","))
}

// useColor decides --color: always, never, or auto (a terminal, and
// NO_COLOR unset or empty: https://no-color.org).
func useColor(when string, stdout io.Writer, getenv func(string) string) bool {
	switch when {
	case "always":
		return true
	case "never":
		return false
	}
	return getenv("NO_COLOR") == "" && isTerminal(stdout)
}

// followWarning names the connections --follow asked for that the
// capture does not have (it has #1 to #ids); "" when there is none.
func followWarning(f *output.Follow, ids int) string {
	if f == nil || f.All {
		return ""
	}
	var missing []string
	for _, id := range f.Conns {
		if id > ids {
			missing = append(missing, "#"+strconv.Itoa(id))
		}
	}
	for _, s := range f.Streams {
		if s.Conn > ids {
			missing = append(missing, fmt.Sprintf("#%d/%d", s.Conn, s.Stream))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	has := "no connection"
	switch {
	case ids == 1:
		has = "one connection, #1"
	case ids > 1:
		has = fmt.Sprintf("connections #1 to #%d", ids)
	}
	return fmt.Sprintf("wscap: warning: --follow %s: the capture has %s", strings.Join(missing, ", "), has)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
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
