// Command hostile measures wscap on the hostile inputs of issue 11: it
// generates every case of package internal/hostile once (at -scale times
// the size the issue measured), runs the wscap binary on each with -j 1
// and -j 2 under a memory ceiling and a time limit, and prints a markdown
// table: exit status, peak RSS, wall time, memcap_evicted and other
// anomalies (JSON cases), and whether -j 1 and -j 2 wrote the same bytes.
//
// Run it from the repository:
//
//	go run ./bench/hostile                  # full size: tens of minutes, GBs of disk
//	go run ./bench/hostile -scale 0.05      # a quick look
//	go run ./bench/hostile -run 'syn|deflate' -ceiling 2GiB
//
// Peak RSS is the child's getrusage maxrss. The ceiling is enforced two
// ways: RSS is polled every 10 ms and the run killed when it passes the
// ceiling ("killed at ceiling"), and the address space is limited with
// prlimit --as to the ceiling plus 2 GiB where prlimit exists, so that a
// single huge allocation fails in the child ("out of memory") instead of
// taking the machine down.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wscap/wscap/internal/hostile"
)

func main() {
	var (
		scale   = flag.Float64("scale", 1, "size of the cases relative to the issue's (1: a million SYN flows, a 4 GB claim...)")
		jobs    = flag.String("j", "1,2", "comma-separated -j values to run each case with")
		ceiling = flag.String("ceiling", "4GiB", "memory ceiling per run (RSS; K, M, G suffixes)")
		limit   = flag.Duration("timeout", 2*time.Minute, "wall-time limit per run")
		dir     = flag.String("dir", "", "directory for the captures (default: a temporary one, removed at the end)")
		bin     = flag.String("wscap", "", "wscap binary to measure (default: build the repository's)")
		filter  = flag.String("run", "", "only the cases whose name matches this regexp")
	)
	flag.Parse()
	if err := run(*scale, *jobs, *ceiling, *limit, *dir, *bin, *filter); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

func run(scale float64, jobs, ceilingS string, limit time.Duration, dir, bin, filter string) error {
	ceiling, err := parseSize(ceilingS)
	if err != nil {
		return fmt.Errorf("-ceiling %q: %v", ceilingS, err)
	}
	re, err := regexp.Compile(filter)
	if err != nil {
		return fmt.Errorf("-run: %v", err)
	}
	var js []string
	for _, j := range strings.Split(jobs, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(j)); err != nil || n < 1 {
			return fmt.Errorf("-j %q: want numbers like 1,2", jobs)
		}
		js = append(js, strings.TrimSpace(j))
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "wscap-hostile-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if bin == "" {
		bin = filepath.Join(dir, "wscap")
		fmt.Fprintln(os.Stderr, "# building wscap")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			return fmt.Errorf("go build (run from the repository root): %v\n%s", err, out)
		}
	}
	prlimit, _ := exec.LookPath("prlimit")

	var rows []string
	var docs []string
	made := map[string]bool{}
	for _, c := range hostile.Cases(scale) {
		if !re.MatchString(c.Name) {
			continue
		}
		path := filepath.Join(dir, c.File)
		if !made[c.File] {
			t0 := time.Now()
			n, err := generate(path, c.Gen)
			if err != nil {
				return fmt.Errorf("generate %s: %v", c.File, err)
			}
			st, _ := os.Stat(path)
			fmt.Fprintf(os.Stderr, "# %s: %d packets, %d connections, %s, generated in %.1f s\n",
				c.File, n.Packets, n.Conns, mib(st.Size()), time.Since(t0).Seconds())
			docs = append(docs, fmt.Sprintf("- `%s` (%s, %d packets, %d connections)", c.File, mib(st.Size()), n.Packets, n.Conns))
			made[c.File] = true
		}
		docs = append(docs, fmt.Sprintf("  - %s: %s; flags `%s`", c.Name, c.Doc, strings.Join(c.Args, " ")))
		var res []result
		for _, j := range js {
			args := append([]string{"-r", path, "-j", j}, c.Args...)
			r := measure(bin, prlimit, args, ceiling, limit, slicesContains(c.Args, "--json"))
			fmt.Fprintf(os.Stderr, "# %s -j %s: %s, %.0f MiB, %.2f s\n", c.Name, j, r.status, r.rssMiB, r.wall.Seconds())
			res = append(res, r)
		}
		same := "yes"
		for _, r := range res[1:] {
			switch {
			case !res[0].complete() || !r.complete():
				same = "n/a"
			case r.sum != res[0].sum:
				same = "NO"
			}
		}
		for i, r := range res {
			ev, other := "n/a (text)", "n/a (text)"
			if r.json {
				ev, other = strconv.Itoa(r.evicted), strconv.Itoa(r.anomalies-r.evicted)
			}
			want := ""
			if c.Broken {
				want = " (broken: exit 1 expected)"
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %s%s | %.0f | %.2f | %s | %s | %s |",
				c.Name, js[i], r.status, want, r.rssMiB, r.wall.Seconds(), ev, other, same))
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("wscap on hostile inputs: scale %g, ceiling %s RSS, limit %s per run, %s, %s\n\n",
		scale, ceilingS, limit, host, time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| case | -j | exit | peak RSS MiB | wall s | memcap_evicted | other anomalies | -j outputs identical |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
	fmt.Println()
	for _, d := range docs {
		fmt.Println(d)
	}
	return nil
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func generate(path string, g hostile.Generator) (hostile.Counts, error) {
	f, err := os.Create(path)
	if err != nil {
		return hostile.Counts{}, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	n, err := g.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// result is one run of wscap.
type result struct {
	status    string
	exit      int
	rssMiB    float64
	wall      time.Duration
	json      bool
	anomalies int
	evicted   int
	sum       [32]byte
	killed    bool
}

// complete reports whether the run ended by itself (whatever its status).
func (r result) complete() bool { return !r.killed && r.exit >= 0 }

func measure(bin, prlimit string, args []string, ceiling int64, limit time.Duration, isJSON bool) result {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	name, argv := bin, args
	if prlimit != "" {
		name = prlimit
		argv = append([]string{"--as=" + strconv.FormatInt(ceiling+2<<30, 10), "--", bin}, args...)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	// wscap's own GC pacing, not a limit or GOGC from the caller.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GOMEMLIMIT=") && !strings.HasPrefix(e, "GOGC=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result{status: err.Error(), exit: -1}
	}
	var stderr tail
	cmd.Stderr = &stderr
	r := result{json: isJSON}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return result{status: err.Error(), exit: -1}
	}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		h := sha256.New()
		br := bufio.NewReaderSize(stdout, 1<<20)
		for {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				h.Write(line)
				continue
			}
			h.Write(line)
			if isJSON && bytes.HasPrefix(line, []byte(`{"type":"anomaly"`)) {
				r.anomalies++
				var ev struct{ Code string }
				if json.Unmarshal(line, &ev) == nil && ev.Code == "memcap_evicted" {
					r.evicted++
				}
			}
			if err != nil {
				break
			}
		}
		copy(r.sum[:], h.Sum(nil))
	}()
	// Poll the child's RSS; kill it at the ceiling.
	ticker := time.NewTicker(10 * time.Millisecond)
	waitDone := make(chan error, 1)
	go func() {
		<-outDone
		waitDone <- cmd.Wait()
	}()
	var werr error
	// The peak is the child's own high-water mark (VmHWM), polled: the
	// rusage of a child that os/exec started shares, until its exec, the
	// memory of this process, so its ru_maxrss is never below ours.
	var hwm int64
	sample := func() {
		rss, peak := vmStatus(cmd.Process.Pid)
		hwm = max(hwm, peak)
		if rss > ceiling {
			r.killed = true
			cmd.Process.Kill()
		}
	}
	sample()
poll:
	for {
		select {
		case werr = <-waitDone:
			break poll
		case <-ticker.C:
			sample()
		}
	}
	ticker.Stop()
	r.wall = time.Since(t0)
	r.rssMiB = float64(hwm) / (1 << 20)
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && hwm == 0 {
			r.rssMiB = float64(ru.Maxrss) / 1024
		}
		r.exit = ps.ExitCode()
	}
	oom := strings.Contains(stderr.String(), "out of memory")
	switch {
	case r.killed:
		r.status = "killed at ceiling"
	case ctx.Err() != nil:
		r.status = "timeout"
		r.killed = true
	case oom:
		r.status = fmt.Sprintf("%d (out of memory)", r.exit)
	case werr != nil && r.exit < 0:
		r.status = werr.Error()
	default:
		r.status = strconv.Itoa(r.exit)
	}
	if r.exit != 0 && !r.killed {
		last := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		fmt.Fprintf(os.Stderr, "#   wscap %s: %s\n", strings.Join(args, " "), last)
	}
	return r
}

// vmStatus returns the resident set of process pid and its high-water
// mark since its exec, in bytes (0 if unknown).
func vmStatus(pid int) (rss, hwm int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	kb := func(v string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		return n << 10
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			rss = kb(v)
		} else if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm = kb(v)
		}
	}
	return rss, hwm
}

// tail keeps the last 4 KiB written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = append(t.b[:0], t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }

func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// parseSize parses a byte count with an optional K, M or G suffix (powers
// of 1024; KiB, MB... accepted).
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	num := strings.TrimRight(t, "kmgib")
	mult := int64(1)
	switch strings.TrimSuffix(strings.TrimSuffix(t[len(num):], "b"), "i") {
	case "":
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	default:
		return 0, errors.New("unknown unit")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("not a positive number of bytes")
	}
	return n * mult, nil
}
