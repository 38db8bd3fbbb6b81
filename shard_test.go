package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wscap/wscap/internal/flowgen"
	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/shards"
)

// shardCaptures lists the captures of testdata (fixtures, real
// recordings, HTTP/2, application protocols) with the flags each needs,
// as TestJobsIdentical runs them.
func shardCaptures(t *testing.T) [][]string {
	caps, _ := filepath.Glob("testdata/*.pcap*")
	real, _ := filepath.Glob("testdata/real/*.pcapng")
	h2, _ := filepath.Glob("testdata/real/h2/*.pcapng")
	apps, _ := filepath.Glob("testdata/real/app/*.pcapng")
	var out [][]string
	for _, in := range slices.Concat(caps, real, h2, apps) {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(in, ".pcapng"), ".pcap")
		args := []string{"-r", in}
		if sc, ok := flowgen.Lookup(filepath.Base(base)); ok && sc.DecodeAs != 0 {
			args = append(args, "-d", strconv.Itoa(int(sc.DecodeAs)))
		}
		if _, err := os.Stat(base + ".keys"); err == nil {
			args = append(args, "--keylog", base+".keys")
		}
		if b, err := os.ReadFile(base + ".args"); err == nil {
			args = append(args, strings.Fields(string(b))...)
		}
		out = append(out, args)
	}
	if len(out) < 40 {
		t.Fatalf("only %d captures in testdata", len(out))
	}
	return out
}

// shardOut runs wscap and returns its standard output; it fails the test
// on an error.
func shardOut(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("wscap %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// mergeBytes merges shard files held in memory, as wscap --merge does
// (their trailers read first).
func mergeBytes(t *testing.T, files [][]byte) ([]byte, shards.Result) {
	t.Helper()
	var in []shards.Input
	for i, f := range files {
		r := bytes.NewReader(f)
		in = append(in, shards.Input{
			Name: fmt.Sprintf("shard-%d.jsonl", i),
			R:    bytes.NewReader(f),
			Tail: func() ([]byte, error) { return shards.TailLine(r, int64(len(f))) },
		})
	}
	var out bytes.Buffer
	res, err := shards.Merge(&out, in)
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	return out.Bytes(), res
}

// checkShards runs the capture of args unsharded and as N = 1..5 shards,
// with -j 1 and -j 2, with --json --summary, and checks that the merged
// shards are the unsharded output byte for byte, that a shard's file is
// the same with -j 1 and -j 2, that every connection
// is in exactly one shard, the one its community_id picks, and that the
// shard files have their first and last lines.
func checkShards(t *testing.T, args []string) {
	t.Helper()
	args = append(slices.Clone(args), "--json", "--summary")
	full := shardOut(t, append(slices.Clone(args), "-j", "1")...)
	fullConns := connsOf(t, full)
	for n := 1; n <= 5; n++ {
		var byJobs [2][][]byte
		for jx, j := range []string{"1", "2"} {
			files := make([][]byte, n)
			byJobs[jx] = files
			owner := map[int]int{}
			for i := range n {
				files[i] = shardOut(t, append(slices.Clone(args), "-j", j, "--shard", fmt.Sprintf("%d/%d", i, n))...)
				if jx == 1 && !bytes.Equal(files[i], byJobs[0][i]) {
					line, x, y := firstDiff(byJobs[0][i], files[i])
					t.Errorf("%v: shard %d/%d differs with -j 1 and -j 2 at line %d:\n-j 1: %s\n-j 2: %s", args, i, n, line, x, y)
				}
				for _, id := range connsOf(t, files[i]) {
					if o, ok := owner[id]; ok && o != i {
						t.Errorf("%v -j %s: connection %d in shards %d and %d of %d", args, j, id, o, i, n)
					}
					owner[id] = i
				}
				checkCommunityShards(t, files[i], i, n)
			}
			got, res := mergeBytes(t, files)
			if len(res.Warnings) > 0 {
				t.Errorf("%v -j %s, %d shards: warnings %q", args, j, n, res.Warnings)
			}
			if !bytes.Equal(got, full) {
				line, x, y := firstDiff(full, got)
				t.Fatalf("%v -j %s: %d shards merged differ from the unsharded run at line %d:\nunsharded: %s\nmerged:    %s", args, j, n, line, x, y)
			}
			if len(owner) != len(fullConns) {
				t.Errorf("%v -j %s: %d shards have %d connections, the unsharded run %d", args, j, n, len(owner), len(fullConns))
			}
		}
	}
}

// connsOf returns the connection ids of the lines of out (shard lines
// and summary lines included).
func connsOf(t *testing.T, out []byte) []int {
	t.Helper()
	seen := map[int]bool{}
	var ids []int
	for line := range bytes.Lines(out) {
		var v struct {
			Conn *int `json:"conn"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		if v.Conn != nil && !seen[*v.Conn] {
			seen[*v.Conn] = true
			ids = append(ids, *v.Conn)
		}
	}
	return ids
}

// checkCommunityShards checks that every conn event of shard i of n has
// the community_id (seed 0) that picks that shard: the first 8 bytes of
// its digest, modulo n.
func checkCommunityShards(t *testing.T, out []byte, i, n int) {
	t.Helper()
	for line := range bytes.Lines(out) {
		if !bytes.Contains(line, []byte(`"type":"conn"`)) {
			continue
		}
		var v struct {
			Type string `json:"type"`
			Conn int    `json:"conn"`
			CID  string `json:"community_id"`
		}
		if err := json.Unmarshal(line, &v); err != nil || v.Type != "conn" {
			continue
		}
		sum, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v.CID, "1:"))
		if err != nil || len(sum) != 20 {
			t.Errorf("connection %d: community_id %q", v.Conn, v.CID)
			continue
		}
		if s := int(binary.BigEndian.Uint64(sum[:8]) % uint64(n)); s != i {
			t.Errorf("connection %d (community_id %s) in shard %d of %d, its community_id picks %d", v.Conn, v.CID, i, n, s)
		}
	}
}

// pktGoesBack reports whether a line of out has a smaller pkt than a line
// before it.
func pktGoesBack(t *testing.T, out []byte) bool {
	t.Helper()
	top := 0
	for line := range bytes.Lines(out) {
		var v struct {
			Pkt int `json:"pkt"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatal(err)
		}
		if v.Pkt < top {
			return true
		}
		top = max(top, v.Pkt)
	}
	return false
}

// TestShardUnion: for N = 1..5 shards, with -j 1 and -j 2, the merged
// shards' JSON Lines (and summary lines) are the unsharded run's, on
// every capture of testdata, the corpus, a capture with idle flushes,
// reused 4-tuples and data behind holes, and a wsgen workload.
func TestShardUnion(t *testing.T) {
	for _, args := range shardCaptures(t) {
		t.Run(filepath.Base(args[1]), func(t *testing.T) { checkShards(t, args) })
	}
	t.Run("idle-reuse-holes", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "idle.pcapng")
		b, err := idleCapture().PcapNG()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// The capture has what makes sorting by pkt wrong: events an
		// idle flush emits after a later packet of another connection.
		out := shardOut(t, "-r", path, "--json")
		if !pktGoesBack(t, out) {
			t.Fatal("no line of the idle capture has a pkt before the line above it")
		}
		checkShards(t, []string{"-r", path})
	})
	t.Run("corpus", func(t *testing.T) {
		dir := smokeCorpusDir(t)
		caps, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcap"))
		ng, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcapng"))
		caps = append(caps, ng...)
		if len(caps) == 0 {
			t.Skip("no captures in the corpus")
		}
		for _, c := range caps {
			name, _ := filepath.Rel(dir, c)
			t.Run(name, func(t *testing.T) {
				args := []string{"-r", c}
				if port, ok := decodeAs[name]; ok {
					args = append(args, "-d", port)
				}
				checkShards(t, args)
			})
		}
	})
	t.Run("wsgen", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds and runs the generator")
		}
		path := genWsgen(t, "-conns", "60", "-concurrent", "20", "-size", "2MB", "-seed", "17", "-rate", "2", "-deflate", "0.5")
		checkShards(t, []string{"-r", path})
	})
}

// TestShardCLI: the command lines of --shard and --merge, their usage
// errors, merging files on disk (plain and gzip), a damaged
// capture, and the text timeline of a shard.
func TestShardCLI(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("testdata", "chat.pcapng")
	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"-r", in, "--shard", "4/4"}, 2, `invalid --shard "4/4": I is 0-based, 0 to 3 (as JOB_COMPLETION_INDEX; with Slurm use --array=0-3)`},
		{[]string{"-r", in, "--shard", "5/4"}, 2, `invalid --shard "5/4": I must be 0-3`},
		{[]string{"-r", in, "--shard", "-1/4"}, 2, `invalid --shard "-1/4": I must be 0-3`},
		{[]string{"-r", in, "--shard", "0/0"}, 2, `invalid --shard "0/0": N must be 1-1024`},
		{[]string{"-r", in, "--shard", "0/1025"}, 2, `invalid --shard "0/1025": N must be 1-1024`},
		{[]string{"-r", in, "--shard", "1"}, 2, `invalid --shard "1": want I/N, e.g. --shard 0/4`},
		{[]string{"-r", in, "--shard", "a/b"}, 2, `invalid --shard "a/b": want I/N`},
		{[]string{"-r", in, "--shard", "0/2", "--shard", "1/2"}, 2, `--shard given twice`},
		{[]string{"-i", "lo", "--shard", "0/2"}, 2, `--shard reads a capture file (-r)`},
		{[]string{"--merge"}, 2, `--merge needs the shard files`},
		{[]string{"--merge", "a", "-r", in}, 2, `--merge takes only the shard files (--read given)`},
		{[]string{"--merge", "a", "--json"}, 2, `--merge takes only the shard files (--json given)`},
		{[]string{"--merge", filepath.Join(dir, "nope")}, 1, "no such file or directory"},
		{[]string{"--merge", in}, 1, `not a shard file: the first line is not a "shard" line`},
		{[]string{"--merge", "-", "-"}, 2, `standard input (-) given twice`},
	} {
		code, stdout, stderr := runCLI(tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) || stdout != "" {
			t.Errorf("wscap %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, stdout, stderr, tt.code, tt.stderr)
		}
	}

	// Shard files on disk, one gzipped, written with different -j and
	// the default budget spelled three ways (the shard line compares it
	// in bytes).
	want := shardOut(t, "-r", in, "--json", "--summary")
	var names []string
	budget := [][]string{nil, {"--memcap", "512MiB"}, {"--memcap", "536870912"}}
	for i := range 3 {
		out := shardOut(t, append([]string{"-r", in, "--json", "--summary", "--shard", fmt.Sprintf("%d/3", i), "-j", strconv.Itoa(i + 1)}, budget[i]...)...)
		name := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i))
		if i == 1 {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(out)
			zw.Close()
			out, name = z.Bytes(), name+".gz"
		}
		if err := os.WriteFile(name, out, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	code, stdout, stderr := runCLI(append([]string{"--merge"}, names...)...)
	if code != 0 || stderr != "" || stdout != string(want) {
		t.Errorf("--merge: exit %d, stderr %q, %d bytes, want %d", code, stderr, len(stdout), len(want))
	}
	// A shard run with other options.
	other := filepath.Join(dir, "other.jsonl")
	os.WriteFile(other, shardOut(t, "-r", in, "--json", "--shard", "2/3"), 0o644)
	code, _, stderr = runCLI("--merge", names[0], names[1], other)
	if want := `other.jsonl was written with the options "--json=true", ` + names[0] + ` with "--json=true --summary=true": run every shard with the same options`; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("--merge with other options: exit %d, stderr %q, want %q", code, stderr, want)
	}

	// A damaged capture: every shard prints what came before the damage
	// and fails, and so does the merge, with the unsharded output.
	full, _ := os.ReadFile(writeCapture(t, session(false)))
	lying := filepath.Join(dir, "lying.pcap")
	os.WriteFile(lying, append(full, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 0o644)
	code, whole, _ := runCLI("-r", lying, "--json")
	if code != 1 || whole == "" {
		t.Fatalf("damaged capture: exit %d, output %q", code, whole)
	}
	names = names[:0]
	for i := range 2 {
		code, out, _ := runCLI("-r", lying, "--json", "--shard", fmt.Sprintf("%d/2", i))
		if code != 1 || !strings.Contains(out, `"read_error":"read `) {
			t.Fatalf("damaged capture, shard %d: exit %d, output %q", i, code, out)
		}
		name := filepath.Join(dir, fmt.Sprintf("lying-%d.jsonl", i))
		os.WriteFile(name, []byte(out), 0o644)
		names = append(names, name)
	}
	code, stdout, stderr = runCLI("--merge", names[0], names[1])
	if code != 1 || stdout != whole || !strings.Contains(stderr, "wscap: the shards' runs stopped at a damaged capture (everything before it is merged): read ") {
		t.Errorf("merge of a damaged capture's shards: exit %d, stderr %q, output equal: %v", code, stderr, stdout == whole)
	}

	// The text timeline of a shard: its connections only, no ord, no
	// shard lines.
	code, stdout, stderr = runCLI("-r", "testdata/real/demo.pcapng", "--shard", "0/1")
	_, plain, _ := runCLI("-r", "testdata/real/demo.pcapng")
	if code != 0 || stderr != "" || stdout != plain {
		t.Errorf("text timeline of shard 0/1: exit %d, stderr %q, differs from the unsharded one: %v", code, stderr, stdout != plain)
	}
}

// TestShardWarnings: what a sharded run says on standard error about
// what may make the merge differ from an unsharded run.
func TestShardWarnings(t *testing.T) {
	cfg := &config{shard: reassembly.Shard{Index: 1, Count: 4}}
	if w := shardWarnings(cfg, &reassembly.Stats{}); len(w) != 0 {
		t.Errorf("warnings %q without evictions", w)
	}
	w := shardWarnings(cfg, &reassembly.Stats{Evicted: 3, ResumedNoKey: 2})
	if len(w) != 2 || !strings.Contains(w[0], "the memory budget evicted connections in this shard") || !strings.Contains(w[1], "2 TLS connections resumed a session") {
		t.Errorf("warnings %q", w)
	}
	if w := shardWarnings(&config{}, &reassembly.Stats{Evicted: 3}); len(w) != 0 {
		t.Errorf("unsharded run: warnings %q", w)
	}
}

// TestShardJobYAML: the Kubernetes Indexed Job of docs/shard-job.yaml
// runs as many shards as it has completions, and its command line, run
// for every JOB_COMPLETION_INDEX (on a fixture instead of
// /data/capture.pcapng), writes shard files that merge into the
// unsharded output.
func TestShardJobYAML(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("docs", "shard-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y := string(raw)
	field := func(name string) string {
		for l := range strings.Lines(y) {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok && k == name {
				v, _, _ = strings.Cut(v, "#")
				return strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
		t.Fatalf("docs/shard-job.yaml has no %s", name)
		return ""
	}
	if field("kind") != "Job" || field("completionMode") != "Indexed" || field("restartPolicy") != "Never" {
		t.Errorf("not an Indexed Job: kind %q, completionMode %q", field("kind"), field("completionMode"))
	}
	n, err := strconv.Atoi(field("completions"))
	if err != nil || n < 2 {
		t.Fatalf("completions %q", field("completions"))
	}
	// SHARDS is the value after its name.
	_, after, _ := strings.Cut(y, "name: SHARDS\n")
	_, v, _ := strings.Cut(after, "value:")
	if shards, _ := strconv.Atoi(strings.Trim(strings.TrimSpace(strings.SplitN(v, "\n", 2)[0]), `"`)); shards != n {
		t.Fatalf("SHARDS is %d, completions %d", shards, n)
	}
	// The folded args: the lines under "- >-".
	_, block, ok := strings.Cut(y, "- >-\n")
	if !ok {
		t.Fatal("no folded args block")
	}
	var cmd []string
	for l := range strings.Lines(block) {
		if !strings.HasPrefix(l, "              ") {
			break
		}
		cmd = append(cmd, strings.TrimSpace(l))
	}
	line := strings.Join(cmd, " ")
	wscapCmd, _, ok := strings.Cut(line, " > ")
	if !ok || !strings.HasPrefix(wscapCmd, "wscap ") {
		t.Fatalf("command line %q", line)
	}
	in := filepath.Join("testdata", "real", "chromium-deflate.pcapng")
	var files [][]byte
	for i := range n {
		args := strings.Fields(strings.TrimPrefix(wscapCmd, "wscap "))
		for k, a := range args {
			a = strings.Trim(a, `"`)
			a = strings.ReplaceAll(a, "$JOB_COMPLETION_INDEX", strconv.Itoa(i))
			a = strings.ReplaceAll(a, "$SHARDS", strconv.Itoa(n))
			if a == "/data/capture.pcapng" {
				a = in
			}
			args[k] = a
		}
		files = append(files, shardOut(t, args...))
	}
	got, _ := mergeBytes(t, files)
	if want := shardOut(t, "-r", in, "--json", "--summary"); !bytes.Equal(got, want) {
		t.Errorf("the job's shards merged differ from the unsharded run")
	}
}

// TestShardHeaderMemCap: the "memcap" of a shard line is the memory
// budget in bytes, 0 for none (--memcap 0), as shards.Header and the
// README's table of the shard file say.
func TestShardHeaderMemCap(t *testing.T) {
	in := filepath.Join("testdata", "chat.pcapng")
	for _, tt := range []struct {
		args []string
		want int64
	}{
		{nil, reassembly.DefaultMemCap},
		{[]string{"--memcap", "1GiB"}, 1 << 30},
		{[]string{"--memcap", "0"}, 0},
	} {
		out := shardOut(t, append([]string{"-r", in, "--json", "--shard", "0/2"}, tt.args...)...)
		first, _, _ := bytes.Cut(out, []byte("\n"))
		var h shards.Header
		if err := json.Unmarshal(first, &h); err != nil {
			t.Fatalf("%v: shard line %q: %v", tt.args, first, err)
		}
		if h.MemCap != tt.want {
			t.Errorf("%v: shard line %s: memcap %d, want %d", tt.args, first, h.MemCap, tt.want)
		}
	}
}
