package chanprune

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counter is a job context that counts the items it runs.
type counter struct {
	hits []atomic.Int32
	// slots records which slots ran, to check that none ran twice at once.
	inSlot []atomic.Int32
	clash  atomic.Bool
}

func (c *counter) item(slot, i int) {
	if c.inSlot[slot].Add(1) != 1 {
		c.clash.Store(true)
	}
	c.hits[i].Add(1)
	c.inSlot[slot].Add(-1)
}

// finishes fails t if f does not return within a generous time: the pool
// must never leave a caller waiting on work that cannot finish.
func finishes(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return: the pool is deadlocked", what)
	}
}

// handOuts are the two ways a job shares its items out: do, from one
// counter, and doOwned, from a run per slot with stealing.
var handOuts = []struct {
	name string
	do   func(j *job[counter], n, slots int, fn func(*counter, int, int), c *counter)
}{
	{"do", (*job[counter]).do},
	{"doOwned", (*job[counter]).doOwned},
}

func TestJobRunsEachItemOnce(t *testing.T) {
	for _, h := range handOuts {
		for _, slots := range []int{1, 2, 3, 8} {
			for _, n := range []int{0, 1, 2, 7, 100} {
				c := &counter{hits: make([]atomic.Int32, n), inSlot: make([]atomic.Int32, slots)}
				var j job[counter]
				for call := range 3 { // the same job again: runs set afresh
					clear(c.hits)
					h.do(&j, n, slots, (*counter).item, c)
					for i := range c.hits {
						if got := c.hits[i].Load(); got != 1 {
							t.Fatalf("%s call %d, slots %d, n %d: item %d ran %d times, want 1", h.name, call, slots, n, i, got)
						}
					}
					if c.clash.Load() {
						t.Fatalf("%s, slots %d, n %d: a slot ran on two goroutines at once", h.name, slots, n)
					}
					if j.ctx != nil {
						t.Fatalf("%s, slots %d, n %d: the job keeps its context after do", h.name, slots, n)
					}
				}
			}
		}
	}
}

// TestOwnedRunTake takes a run's items from both ends at once: each item
// once, the owner's in order from the front.
func TestOwnedRunTake(t *testing.T) {
	const lo, hi = 5, 20005
	var r ownedRun
	r.bounds.Store(hi<<32 | lo)
	hits := make([]atomic.Int32, hi)
	var wg sync.WaitGroup
	for thief := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := hi
			for i, ok := r.take(false); ok; i, ok = r.take(false) {
				if i >= last {
					t.Errorf("thief %d took %d after %d: not from the back", thief, i, last)
				}
				last = i
				hits[i].Add(1)
			}
		}()
	}
	last := lo - 1
	for i, ok := r.take(true); ok; i, ok = r.take(true) {
		if i <= last {
			t.Fatalf("the owner took %d after %d: not from the front", i, last)
		}
		last = i
		hits[i].Add(1)
	}
	wg.Wait()
	for i := range hits {
		want := int32(0)
		if i >= lo {
			want = 1
		}
		if got := hits[i].Load(); got != want {
			t.Fatalf("item %d taken %d times, want %d", i, got, want)
		}
	}
}

// startedWorkers starts at least n pool workers and returns how many run.
func startedWorkers(n int) int {
	startWorkers(n)
	return int(pool.started.Load())
}

// blocker is a job context whose items wait until it is released.
type blocker struct {
	started atomic.Int32
	release chan struct{}
}

func (b *blocker) item(_, _ int) {
	b.started.Add(1)
	<-b.release
}

// TestJobDoesNotWaitForBusyWorkers occupies every pool worker with one
// caller's job; another caller's job must still finish, run by its caller.
func TestJobDoesNotWaitForBusyWorkers(t *testing.T) {
	workers := startedWorkers(3)
	b := &blocker{release: make(chan struct{})}
	var busy job[blocker]
	go busy.do(workers+1, workers+1, (*blocker).item, b)
	defer close(b.release)
	for deadline := time.Now().Add(time.Second); int(b.started.Load()) < workers+1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	for _, h := range handOuts {
		c := &counter{hits: make([]atomic.Int32, 50), inSlot: make([]atomic.Int32, workers+1)}
		var j job[counter]
		finishes(t, h.name+" while the workers are busy", func() { h.do(&j, 50, workers+1, (*counter).item, c) })
		for i := range c.hits {
			if got := c.hits[i].Load(); got != 1 {
				t.Fatalf("%s: item %d ran %d times, want 1", h.name, i, got)
			}
		}
	}
}

// nested is a job context whose items each run an inner job.
type nested struct {
	inner []job[counter]
	count []*counter
}

func (n *nested) item(slot, i int) {
	n.inner[slot].do(len(n.count[i].hits), 4, (*counter).item, n.count[i])
}

// TestJobInsideJob runs a job from inside every item of another job on a
// slot for every worker, which leaves no idle worker for the inner jobs.
func TestJobInsideJob(t *testing.T) {
	const items = 16
	slots := startedWorkers(3) + 1
	n := &nested{inner: make([]job[counter], slots)}
	for range items {
		n.count = append(n.count, &counter{hits: make([]atomic.Int32, 30), inSlot: make([]atomic.Int32, 4)})
	}
	var outer job[nested]
	finishes(t, "a job inside a job", func() { outer.do(items, slots, (*nested).item, n) })
	for i, c := range n.count {
		for k := range c.hits {
			if h := c.hits[k].Load(); h != 1 {
				t.Fatalf("inner job %d: item %d ran %d times, want 1", i, k, h)
			}
		}
	}
}

// TestJobAlreadyRunning checks the guard against calling do on a job from
// inside its own items.
func TestJobAlreadyRunning(t *testing.T) {
	type self struct {
		j   job[self]
		got any
	}
	s := &self{}
	s.j.do(1, 1, func(s *self, _, _ int) {
		defer func() { s.got = recover() }()
		s.j.do(1, 1, func(*self, int, int) {}, s)
	}, s)
	if s.got == nil {
		t.Fatal("do on a running job did not panic")
	}
	if s.j.running.Load() {
		t.Fatal("the job is still marked running after do returned")
	}
}

func TestJobAllocatesNothing(t *testing.T) {
	for _, h := range handOuts {
		c := &counter{hits: make([]atomic.Int32, 64), inSlot: make([]atomic.Int32, 4)}
		var j job[counter]
		h.do(&j, 64, 4, (*counter).item, c) // start the workers
		if allocs := testing.AllocsPerRun(allocRuns, func() { h.do(&j, 64, 4, (*counter).item, c) }); allocs != 0 {
			t.Fatalf("job.%s allocated %v times a call, want 0", h.name, allocs)
		}
	}
}

// spinner is a job context whose items each take a few microseconds of
// one core (a chain of dependent adds), the size of one batch's packing
// or column sums on the Gram path.
type spinner struct{ sums [64 * 8]float64 }

func (s *spinner) item(slot, _ int) {
	acc := 0.0
	for k := range 8192 {
		acc += float64(k)
	}
	s.sums[slot%64*8] += acc // one cache line a slot
}

// BenchmarkJobHandOff times a job of 8 short items on one slot and on
// every processor: what handing slots to the pool's workers costs against
// what it gains, on work as fine as the Gram path's steps (16-core Xeon,
// GOMAXPROCS 2: 52 µs on one slot, 38 on two; 64 on two before workers
// polled for offers).
func BenchmarkJobHandOff(b *testing.B) {
	s := &spinner{}
	var j job[spinner]
	for _, slots := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("slots%d", slots), func(b *testing.B) {
			for range b.N {
				j.do(8, slots, (*spinner).item, s)
			}
		})
	}
}
