package chanprune

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestTeamCounts: a team's warm-up calls go uncounted, and with a limit
// each worker makes exactly that many counted calls.
func TestTeamCounts(t *testing.T) {
	const workers, limit = 3, 50
	var calls [workers]atomic.Uint64
	tm := newTeam(workers, limit, func(w int) { calls[w].Add(1) })
	for calls[0].Load() == 0 || calls[workers-1].Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if n := tm.total(); n != 0 {
		t.Errorf("%d calls counted before start", n)
	}
	warm := [workers]uint64{}
	for w := range warm {
		warm[w] = calls[w].Load()
	}
	tm.start.Store(true)
	tm.done.Wait()
	if n := tm.total(); n != workers*limit {
		t.Errorf("counted %d calls, want %d", n, workers*limit)
	}
	for w := range calls {
		// Warm-up calls go on until start is seen, so only a lower bound.
		if got := calls[w].Load() - warm[w]; got < limit {
			t.Errorf("worker %d: %d calls after start, want %d at least", w, got, limit)
		}
	}
}

// TestBestRateCountsEveryWorker: calls that sleep a millisecond bound the
// rate from above whatever the machine's load (2 workers: 2000 calls/s),
// and from below by more than one worker can make (calls of the best
// window under 1.8 ms), which catches a worker left out or a wrong unit.
// A loaded machine can stretch every sleep of a measurement (301 calls/s
// was seen), so the lower bound gets a few tries; the upper one none.
func TestBestRateCountsEveryWorker(t *testing.T) {
	var rates []float64
	for range 5 {
		rate := bestRate(2, 20*time.Millisecond, func(int) { time.Sleep(time.Millisecond) })
		if rate > 2000*1.05 {
			t.Fatalf("%v calls/s from 2 workers of 1 ms calls, more than 2100", rate)
		}
		if rate >= 1100 {
			return
		}
		rates = append(rates, rate)
	}
	t.Errorf("%v calls/s from 2 workers of 1 ms calls, want 1100 to 2100", rates)
}
