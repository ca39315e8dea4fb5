package chanprune

import (
	"sync"
	"sync/atomic"
)

// The package keeps its worker goroutines between calls, so that a call in
// steady state allocates nothing: a job is handed out as slots over a
// channel, and the caller works on slot 0 itself.

// A job runs run(slot, i) for every i in [0, n); each slot takes the next i
// as it finishes the last. A job is reused from call to call.
type job struct {
	run  func(slot, i int)
	n    int
	next atomic.Int64
	wg   sync.WaitGroup
}

type slotWork struct {
	j    *job
	slot int
}

var pool struct {
	mu      sync.Mutex
	started int
	work    chan slotWork
}

// do runs the job over n items on the given number of slots and returns
// when all are done.
func (j *job) do(n, slots int) {
	j.n = n
	j.next.Store(0)
	if slots <= 1 {
		j.work(0)
		return
	}
	startWorkers(slots - 1)
	j.wg.Add(slots - 1)
	for s := 1; s < slots; s++ {
		pool.work <- slotWork{j, s}
	}
	j.work(0)
	j.wg.Wait()
}

func (j *job) work(slot int) {
	for i := int(j.next.Add(1) - 1); i < j.n; i = int(j.next.Add(1) - 1) {
		j.run(slot, i)
	}
}

// startWorkers makes sure at least n pool goroutines run.
func startWorkers(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.work == nil {
		pool.work = make(chan slotWork)
	}
	for ; pool.started < n; pool.started++ {
		go func() {
			for sw := range pool.work {
				sw.j.work(sw.slot)
				sw.j.wg.Done()
			}
		}()
	}
}
