package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wscap/wscap/reassembly"
	"github.com/wscap/wscap/shards"
)

// Sharding (--shard I/N, --merge FILE...): see package shards and the
// README's "Sharding across machines".

// parseShard parses --shard I/N: I is 0-based (Kubernetes'
// JOB_COMPLETION_INDEX, a Slurm array of --array=0-(N-1)).
func parseShard(s string) (reassembly.Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return reassembly.Shard{}, usagef("invalid --shard %q: want I/N, e.g. --shard 0/4 (shards 0/4 to 3/4)", s)
	case n < 1 || n > reassembly.MaxShards:
		return reassembly.Shard{}, usagef("invalid --shard %q: N must be 1-%d", s, reassembly.MaxShards)
	case i == n:
		return reassembly.Shard{}, usagef("invalid --shard %q: I is 0-based, 0 to %d (as JOB_COMPLETION_INDEX; with Slurm use --array=0-%d)", s, n-1, n-1)
	case i < 0 || i > n:
		return reassembly.Shard{}, usagef("invalid --shard %q: I must be 0-%d", s, n-1)
	}
	return reassembly.Shard{Index: i, Count: n}, nil
}

// shardFree are the flags that do not change what a shard writes to
// standard output (or that name per-machine files): the shards of one run
// may differ in them. --memcap is among them because the shard line
// records the budget in bytes, which --merge compares: "512M" and
// "512MiB" are one budget. Every other flag is in the options that the
// shard line records and --merge compares.
var shardFree = map[string]bool{
	"shard": true, "read": true, "jobs": true, "progress": true, "no-progress": true, "memcap": true,
	"write": true, "html": true, "har": true, "extract": true, "keylog": true,
	"stats": true, "fail-on": true, "color": true, "cpuprofile": true, "memprofile": true,
}

// shardOptions lists the flags of fs that were given and shape the
// output, as --name=value in the order of the help text.
func shardOptions(fs *pflag.FlagSet) string {
	var opts []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed && !shardFree[f.Name] {
			opts = append(opts, "--"+f.Name+"="+f.Value.String())
		}
	})
	return strings.Join(opts, " ")
}

// parseMerge checks the command line of --merge FILE...: nothing but
// the files.
func parseMerge(fs *pflag.FlagSet, cfg *config) (*config, error) {
	var other string
	fs.Visit(func(f *pflag.Flag) {
		if f.Name != "merge" && other == "" {
			other = "--" + f.Name
		}
	})
	if other != "" {
		return nil, usagef("--merge takes only the shard files (%s given): the shards were decoded with their options", other)
	}
	cfg.mergeFiles = fs.Args()
	if len(cfg.mergeFiles) == 0 {
		return nil, usagef("--merge needs the shard files: wscap --merge shard-0.jsonl shard-1.jsonl ...")
	}
	return cfg, nil
}

// shardRun writes the first and last lines of a sharded --json run and
// sums up the packets it reads.
type shardRun struct {
	shard  reassembly.Shard
	out    *lineCounter
	digest shards.Digest
}

// newShardRun starts the shard file on w; nil unless cfg is a sharded
// JSON run. The returned writer is where the run's output goes.
func newShardRun(cfg *config, w io.Writer) (*shardRun, io.Writer, error) {
	if !cfg.shard.On() || !cfg.json {
		return nil, w, nil
	}
	s := &shardRun{shard: cfg.shard, out: &lineCounter{w: w}}
	h := shards.AppendHeader(nil, shards.Header{
		Shard: cfg.shard.Index, Shards: cfg.shard.Count,
		// cfg.memcap is -1 for no budget (reassembly.Config's way); the
		// shard line says 0, as shards.Header documents.
		Version: versionNumber(), Options: cfg.shardOptions, MemCap: max(cfg.memcap, 0),
	})
	if _, err := s.out.Write(h); err != nil {
		return nil, nil, fmt.Errorf("write output: %w", err)
	}
	return s, s.out, nil
}

// end writes the last line of the shard file: what was read, and what
// the memory budget saw.
func (s *shardRun) end(st *reassembly.Stats, memPeak, trackPeak int64, readErr error) error {
	if s == nil {
		return nil
	}
	t := shards.Trailer{
		Shard: s.shard.Index, Shards: s.shard.Count,
		Packets: s.digest.Packets, Bytes: s.digest.Bytes, CRC32C: s.digest.CRC(),
		Lines: s.out.lines, Evicted: st.Evicted, MemPeak: memPeak, TrackPeak: trackPeak,
	}
	if readErr != nil && readErr != io.EOF {
		t.ReadError = readErr.Error()
	}
	if _, err := s.out.w.Write(shards.AppendTrailer(nil, t)); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// shardWarnings are the stderr lines of a sharded run about what may make
// the merge of its shards differ from an unsharded run.
func shardWarnings(cfg *config, st *reassembly.Stats) []string {
	if !cfg.shard.On() {
		return nil
	}
	var out []string
	if st.Evicted > 0 {
		out = append(out, "wscap: warning: --shard: the memory budget evicted connections in this shard, so an unsharded run evicts too: the merged shards may differ from its output (raise --memcap)")
	}
	if st.ResumedNoKey > 0 {
		out = append(out, fmt.Sprintf("wscap: warning: --shard: %d TLS connections resumed a session that the key log has no line for: the connection that established it may be in another shard, where an unsharded run finds it (a key log with a line for every connection avoids this)", st.ResumedNoKey))
	}
	return out
}

// lineCounter counts the lines written through it.
type lineCounter struct {
	w     io.Writer
	lines int64
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.lines += int64(bytes.Count(p[:n], []byte{'\n'}))
	return n, err
}

// mergeShards runs --merge: the shard files' lines, merged, to stdout.
func mergeShards(files []string, stdout, stderr io.Writer) error {
	var in []shards.Input
	stdin := false
	for _, name := range files {
		if name == "-" {
			if stdin {
				return &usageError{"--merge: standard input (-) given twice"}
			}
			stdin = true
		}
		x, closer, err := openShard(name)
		if err != nil {
			return err
		}
		defer closer.Close()
		in = append(in, x)
	}
	res, err := shards.Merge(stdout, in)
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "wscap: warning: %s\n", w)
	}
	return err
}

// openShard opens a shard file: "-" is standard input, gzip is read as
// is, and a regular file's last line is read first (shards.Input.Tail).
func openShard(name string) (shards.Input, io.Closer, error) {
	if name == "-" {
		r := bufio.NewReader(os.Stdin)
		in, err := gunzip(name, r)
		return in, io.NopCloser(nil), err
	}
	f, err := os.Open(name)
	if err != nil {
		return shards.Input{}, nil, err
	}
	br := bufio.NewReader(f)
	in, err := gunzip(name, br)
	if err != nil {
		f.Close()
		return in, nil, err
	}
	if in.R == br {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size := st.Size()
			in.Tail = func() ([]byte, error) { return shards.TailLine(f, size) }
		}
	}
	return in, f, nil
}

// gunzip returns the input of r, decompressed if it is gzip.
func gunzip(name string, r *bufio.Reader) (shards.Input, error) {
	if magic, _ := r.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(r)
		if err != nil {
			return shards.Input{}, fmt.Errorf("%s: %w", name, err)
		}
		return shards.Input{Name: name, R: z}, nil
	}
	return shards.Input{Name: name, R: r}, nil
}
