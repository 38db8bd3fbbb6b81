package output

import (
	"math/rand/v2"
	"testing"
	"time"
)

// arrayRate is the peak rate over a 1 s window by a ring of every 10 ms
// bin, as rate was first written: the reference rate must agree with.
type arrayRate struct {
	started          bool
	head             int64
	cnt              [rateBins]uint64
	byt              [rateBins]uint64
	winCnt, winBytes uint64
	peakCnt, peakByt uint64
}

func (r *arrayRate) add(t time.Time, n uint64) {
	k := floorDiv(t.UnixNano(), int64(rateBin))
	switch {
	case !r.started:
		r.started, r.head = true, k
	case k > r.head:
		for j := r.head + 1; j <= min(k, r.head+rateBins); j++ {
			i := mod(j, rateBins)
			r.winCnt -= r.cnt[i]
			r.winBytes -= r.byt[i]
			r.cnt[i], r.byt[i] = 0, 0
		}
		r.head = k
	case k <= r.head-rateBins:
		k = r.head
	}
	i := mod(k, rateBins)
	r.cnt[i]++
	r.byt[i] += n
	r.winCnt++
	r.winBytes += n
	r.peakCnt = max(r.peakCnt, r.winCnt)
	r.peakByt = max(r.peakByt, r.winBytes)
}

// TestRateSparse checks the sparse window against every bin's ring on
// random message times: steady, bursty, with pauses longer than the
// window, stepping back within and beyond it, before 1970.
func TestRateSparse(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		var sparse rate
		var ref arrayRate
		now := time.Unix(0, 0).Add(time.Duration(rng.Int64N(4e9) - 2e9))
		for i := 0; i < 2000; i++ {
			switch x := rng.IntN(100); {
			case x < 60:
				now = now.Add(time.Duration(rng.Int64N(int64(20 * time.Millisecond))))
			case x < 70:
				now = now.Add(time.Duration(rng.Int64N(int64(3 * time.Second))))
			case x < 80:
				now = now.Add(-time.Duration(rng.Int64N(int64(900 * time.Millisecond))))
			case x < 83:
				now = now.Add(-time.Duration(rng.Int64N(int64(5 * time.Second))))
			}
			n := uint64(rng.IntN(5000))
			sparse.add(now, n)
			ref.add(now, n)
			if sparse.peakCnt != ref.peakCnt || sparse.peakByt != ref.peakByt || sparse.winCnt != ref.winCnt || sparse.winBytes != ref.winBytes {
				t.Fatalf("seed %d message %d: sparse peak %d/%d window %d/%d, every bin %d/%d window %d/%d", seed, i,
					sparse.peakCnt, sparse.peakByt, sparse.winCnt, sparse.winBytes, ref.peakCnt, ref.peakByt, ref.winCnt, ref.winBytes)
			}
			if len(sparse.bins)-sparse.lo > rateBins {
				t.Fatalf("seed %d: %d bins kept, more than the window's %d", seed, len(sparse.bins)-sparse.lo, rateBins)
			}
		}
	}
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
