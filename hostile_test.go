package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/internal/hostile"
	"github.com/wscap/wscap/pipeline"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/source"
)

// ciScale is the size of the hostile cases in go test: a 5000th of the
// issue's (20 SYN flows for 100,000, a 40 KB claim for 200 MB).
// bench/hostile runs them at full size.
const ciScale = 0.0002

// writeGen writes g's capture to a file in dir.
func writeGen(t testing.TB, dir, name string, g hostile.Generator) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if _, err := g.Write(bw); err != nil {
		t.Fatalf("generate %s: %v", name, err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// runOut runs wscap and returns its standard output and error.
func runOut(args ...string) (string, error) {
	var o, e bytes.Buffer
	err := run(context.Background(), args, &o, &e)
	return o.String(), err
}

// TestHostile runs every hostile class of issue 11 at a small scale with
// -j 1 and -j 2: no panic, a broken capture ends in an error that names
// the packet, every other one reads to the end, and both outputs are the
// same bytes.
func TestHostile(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	dir := t.TempDir()
	files := map[string]string{}
	for _, c := range hostile.Cases(ciScale) {
		t.Run(c.Name, func(t *testing.T) {
			path, ok := files[c.File]
			if !ok {
				path = writeGen(t, dir, c.File, c.Gen)
				files[c.File] = path
			}
			args := append([]string{"-r", path}, c.Args...)
			out1, err1 := runOut(append(args, "-j", "1")...)
			out2, err2 := runOut(append(args, "-j", "2")...)
			if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
				t.Errorf("-j 1 error %v, -j 2 error %v", err1, err2)
			}
			switch {
			case c.Broken && err1 == nil:
				t.Errorf("broken capture read without an error")
			case c.Broken && !strings.Contains(err1.Error(), "packet 7"):
				t.Errorf("error %q does not name the lying packet (7)", err1)
			case !c.Broken && err1 != nil:
				t.Errorf("wscap fails: %v", err1)
			}
			if out1 != out2 {
				line, x, y := firstDiff([]byte(out1), []byte(out2))
				t.Errorf("-j 1 and -j 2 differ at line %d:\n-j 1: %s\n-j 2: %s", line, x, y)
			}
			if c.Broken && !strings.Contains(out1, `"type":"message"`) {
				t.Errorf("nothing printed of the session before the damage:\n%s", out1)
			}
		})
	}
}

// TestHostileBomb checks that each message of the inflate bomb is
// inflated to its full 1 MiB (the default --max-payload) and no further.
func TestHostileBomb(t *testing.T) {
	path := writeGen(t, t.TempDir(), "bomb.pcapng.gz", hostile.InflateBomb{Messages: 5, Gzip: true})
	out, err := runOut("-r", path, "--json", "-j", "2")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for l := range strings.SplitSeq(out, "\n") {
		var ev struct {
			Type       string
			Len        int
			Compressed bool
		}
		if json.Unmarshal([]byte(l), &ev) != nil || ev.Type != "message" {
			continue
		}
		n++
		if ev.Len != 1<<20 || !ev.Compressed {
			t.Errorf("message %d: len %d, compressed %v; want 1 MiB compressed", n, ev.Len, ev.Compressed)
		}
	}
	if n != 5 {
		t.Errorf("%d messages, want 5", n)
	}
}

// liveHeap returns the heap in use by live objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestHostileConnCost measures the live heap each open connection costs
// at the end of a capture, before anything is flushed, on one worker:
// every connection is still open when the file ends, so all of them are
// held at once. Issue 11 measured about 3 KB for a SYN-only flow, 25 KB for
// a message left open each way and 170 KB for permessage-deflate with
// context takeover (peak RSS, more than the live heap measured here: 2 KB,
// 12.6 KB and 109 KB when this test was written). The bounds are about
// twice what the code costs today.
func TestHostileConnCost(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	tests := []struct {
		name  string
		conns int
		g     hostile.Generator
		bound uint64 // bytes per connection
	}{
		// Measured 2.1 KB: the tracker, the engine's connection, the
		// assembler's and a decoder (was about 3 KB).
		{"syn", 400, hostile.SYNFlood{Conns: 400, Seed: 1}, 3 << 10},
		// Measured 5.5 KB with the renderer's counters (was 12.6 KB;
		// the issue measured 25 KB).
		{"open-message", 200, hostile.OpenMessages{Conns: 200, Both: true, Seed: 3}, 8 << 10},
		// Measured 93 KB with both 32 KiB windows full (was 109-170 KB).
		{"deflate", 40, hostile.DeflateTakeover{Conns: 40, Seed: 5}, 112 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if _, err := tt.g.Write(&b); err != nil {
				t.Fatal(err)
			}
			src, err := source.NewReader(tt.name, bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			p := pipeline.New(pipeline.Config{
				Workers: 1,
				JSON:    true,
				Engine:  reassembly.Config{Decode: decode.Options{MaxPayload: 1 << 20, MaxInflate: 64 << 20}},
			}, io.Discard)
			// The first packet sets up the pipeline (buffers, renderers),
			// which is not the connections' cost.
			first, err := src.Next()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Packet(1, first); err != nil {
				t.Fatal(err)
			}
			before := liveHeap()
			for n := 2; ; n++ {
				pk, err := src.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Packet(n, pk); err != nil {
					t.Fatal(err)
				}
			}
			after := liveHeap()
			runtime.KeepAlive(b.Bytes()) // the packets point into it
			per := (int64(after) - int64(before)) / int64(tt.conns)
			t.Logf("%s: %d bytes of live heap per open connection (%d connections)", tt.name, per, tt.conns)
			if per > int64(tt.bound) {
				t.Errorf("%s: %d bytes per open connection, bound %d", tt.name, per, tt.bound)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// fuzzMaxHeap bounds the heap during one run of FuzzPipeline. The inputs
// are at most a few hundred KB, and wscap holds at most 64 MiB of inflate
// output and 16 MiB of record at a time; a run above this bound grows
// with a length the input claims rather than with the input.
const fuzzMaxHeap = 1 << 30

// peakHeap samples the heap in use until stop is closed and returns the
// largest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	res := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				res <- peak
				return
			case <-tk.C:
			}
		}
	}()
	return res
}

// FuzzPipeline reads mutated captures through the whole program at -j 1
// and -j 2: no panic, a heap bounded whatever the input claims, and the
// same output and error from both. The seeds are the small real captures,
// the small fixtures and a few hostile cases; the output mode depends on
// the input's length, so that the timeline, the JSON Lines and the
// verbose views are all fuzzed. Run it for minutes before a release:
//
//	go test -run '^$' -fuzz FuzzPipeline -fuzztime 5m -fuzzminimizetime 0 .
//
// Without -fuzzminimizetime 0 the fuzzer spends its time minimizing: about
// one input in 30 brings new coverage, and minimizing one of up to 32 KB,
// two whole runs of wscap per try, took longer than a 30 s session.
func FuzzPipeline(f *testing.F) {
	var seeds []string
	real, _ := filepath.Glob("testdata/real/*.pcapng")
	h2, _ := filepath.Glob("testdata/real/h2/*.pcapng")
	apps, _ := filepath.Glob("testdata/real/app/*.pcapng")
	real = append(append(real, h2...), apps...)
	fixtures, _ := filepath.Glob("testdata/*.pcap*")
	for _, p := range append(real, fixtures...) {
		if st, err := os.Stat(p); err == nil && st.Size() <= 32<<10 && !strings.HasSuffix(p, ".golden") {
			seeds = append(seeds, p)
		}
	}
	if len(seeds) == 0 {
		f.Fatal("no seed captures in testdata")
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, g := range []hostile.Generator{
		hostile.EPBClaim{Claim: 1 << 20, Follow: 64},
		hostile.TabInPath{},
		hostile.HoleThenBytes{Conns: 2, Bytes: 20},
		hostile.DeflateTakeover{Conns: 2, Messages: 2, Size: 300},
		hostile.InflateBomb{Messages: 2, Size: 64 << 10, Gzip: true},
		hostile.ManyInterfaces{Interfaces: 3},
	} {
		var b bytes.Buffer
		if _, err := g.Write(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	modes := [][]string{{"--json"}, {}, {"-V", "-x", "--no-summary"}, {"--json", "--summary", "-d", "8080"}}
	dir := f.TempDir()
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, fmt.Sprintf("in%d", seq.Add(1)))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		args := append([]string{"-r", path}, modes[len(data)%len(modes)]...)
		var outs [2]string
		var errs [2]error
		for i, j := range []string{"1", "2"} {
			stop := make(chan struct{})
			peak := peakHeap(stop)
			outs[i], errs[i] = runOut(append(args, "-j", j)...)
			close(stop)
			if p := <-peak; p > fuzzMaxHeap {
				t.Errorf("-j %s: heap reached %d MiB on a %d-byte input", j, p>>20, len(data))
			}
		}
		if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && errs[0].Error() != errs[1].Error() {
			t.Errorf("-j 1 error %v, -j 2 error %v", errs[0], errs[1])
		}
		var ue *usageError
		if errors.As(errs[0], &ue) {
			t.Errorf("a capture's content gave a usage error: %v", errs[0])
		}
		if outs[0] != outs[1] {
			line, x, y := firstDiff([]byte(outs[0]), []byte(outs[1]))
			t.Errorf("-j 1 and -j 2 differ at line %d:\n-j 1: %s\n-j 2: %s", line, x, y)
		}
	})
}
