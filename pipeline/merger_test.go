package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// mergeInput makes the results that workers of a parallel run hand the
// merger: packets 1..packets go to workers in runs of 1 to 4 packets,
// each packet renders one chunk of about size bytes (its number in
// text), results hold at most limit bytes. It returns, per worker, its
// results, and the output a single engine writes.
func mergeInput(workers, packets, size, limit int) ([][]*result, []byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	res := make([][]*result, workers)
	cur := make([]*result, workers)
	dummy := make([]*worker, workers)
	for i := range dummy {
		dummy[i] = &worker{rfree: make(chan *result, 1)}
		cur[i] = &result{w: dummy[i]}
	}
	var want bytes.Buffer
	w := 0
	for n := 1; n <= packets; {
		run := 1 + rng.IntN(4)
		for k := 0; k < run && n <= packets; k, n = k+1, n+1 {
			line := fmt.Sprintf("%0*d\n", size-1, n)
			want.WriteString(line)
			r := cur[w]
			r.out = append(r.out, line...)
			r.chunks = append(r.chunks, chunk{key{n: n, phase: phasePacket}, len(r.out)})
			if len(r.out) >= limit {
				r.wm = key{n: n, phase: phasePacket, conn: 1 << 62}
				res[w] = append(res[w], r)
				cur[w] = &result{w: dummy[w]}
			}
		}
		w = (w + 1 + rng.IntN(workers)) % workers
	}
	for i, r := range cur {
		r.wm = keyMax
		res[i] = append(res[i], r)
	}
	return res, want.Bytes()
}

// runMerger feeds res to a merger writing to out and waits for it.
func runMerger(res [][]*result, out io.Writer) (*merger, error) {
	m := newMerger(Config{JSON: true}, out, len(res))
	for i := range res {
		go func(i int) {
			for _, r := range res[i] {
				m.in[i] <- r
			}
			close(m.in[i])
		}(i)
	}
	go m.run()
	err := <-m.done
	return m, err
}

func TestMergerSplices(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 16} {
		for _, limit := range []int{1, 100, 64 << 10} {
			res, want := mergeInput(workers, 5000, 40, limit)
			var got bytes.Buffer
			m, err := runMerger(res, &got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("workers %d limit %d: merged output differs from the single engine's", workers, limit)
			}
			if m.chunks != 5000 {
				t.Errorf("workers %d limit %d: %d chunks written, want 5000", workers, limit, m.chunks)
			}
			// Runs of 1 to 4 packets per worker: contiguous chunks go
			// out in one write (one worker: all of a result's).
			if workers > 1 && limit > 100 && m.writes*2 > m.chunks {
				t.Errorf("workers %d limit %d: %d writes for %d chunks: contiguous chunks not spliced", workers, limit, m.writes, m.chunks)
			}
			if workers == 1 && limit > 100 && m.writes != len(res[0]) {
				t.Errorf("one worker: %d writes for %d results", m.writes, len(res[0]))
			}
		}
	}
}

// BenchmarkMerger measures the merger alone: results of N workers merged
// into io.Discard, chunks of 4,000 bytes (what a packet of the medium
// workload renders to with --json: 338 MB in 83,400 chunks), results of
// 256 KiB. b.SetBytes: output bytes.
func BenchmarkMerger(b *testing.B) {
	for _, workers := range []int{2, 4, 16} {
		b.Run(fmt.Sprintf("j%d", workers), func(b *testing.B) {
			res, want := mergeInput(workers, 20000, 4000, 256<<10)
			b.SetBytes(int64(len(want)))
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for _, rs := range res { // runMerger sends them again
					for _, r := range rs {
						r.w.rfree = make(chan *result, 1)
					}
				}
				b.StartTimer()
				if _, err := runMerger(res, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
