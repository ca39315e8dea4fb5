package chanprune

import (
	"sync"
	"sync/atomic"
)

// The package keeps its worker goroutines between calls, so that a call in
// steady state allocates nothing: a job is handed out as slots over a
// channel to idle workers, and the caller works on slot 0 itself.

// A job runs fn(ctx, slot, i) for every i in [0, n); each slot takes the
// next i as it finishes the last, and a slot indexes per-worker scratch. A
// job is reused from call to call. fn is a method expression such as
// (*Evaluator).evalBatch, named at the call to do: a static func that,
// unlike a method value, allocates nothing.
type job[T any] struct {
	fn      func(ctx *T, slot, i int)
	ctx     *T
	n       int
	next    atomic.Int64
	wg      sync.WaitGroup
	running atomic.Bool
}

// slotRunner is a job of any context, as the workers see it.
type slotRunner interface{ runHanded(slot int) }

type slotWork struct {
	j    slotRunner
	slot int
}

var pool struct {
	mu      sync.Mutex
	started atomic.Int64 // written under mu, read without it
	work    chan slotWork
}

// do runs fn(ctx, slot, i) for i in [0, n) on at most the given number of
// slots and returns when all are done. A slot goes only to a worker that is
// idle now: when every worker is busy, with another caller's job or with
// the job this one is called from, the caller's own slot 0 takes the rest,
// so a caller never waits for another's work and a job may call do on
// another job from inside its fn. An idle worker may still have no
// processor to run on: handed a slot then, it waits in a run queue, maybe
// behind another caller's whole call, and the caller, its own pieces done,
// waits for it to find none left; Layer bounds a call's slots by its share
// of GOMAXPROCS (workerCount) so that this does not happen. Calling do on a
// job that is running is a bug in the package: it panics.
func (j *job[T]) do(n, slots int, fn func(ctx *T, slot, i int), ctx *T) {
	if !j.running.CompareAndSwap(false, true) {
		panic("job.do: the job is already running")
	}
	j.fn, j.ctx, j.n = fn, ctx, n
	j.next.Store(0)
	if slots > 1 {
		startWorkers(slots - 1)
	handOut:
		for s := 1; s < slots; s++ {
			j.wg.Add(1)
			select {
			case pool.work <- slotWork{j, s}:
			default:
				j.wg.Done()
				break handOut
			}
		}
	}
	j.runSlot(0)
	j.wg.Wait()
	j.fn, j.ctx = nil, nil // keep no caller memory alive
	j.running.Store(false)
}

func (j *job[T]) runSlot(slot int) {
	for i := int(j.next.Add(1) - 1); i < j.n; i = int(j.next.Add(1) - 1) {
		j.fn(j.ctx, slot, i)
	}
}

// runHanded is runSlot for a worker that do handed the slot to.
func (j *job[T]) runHanded(slot int) {
	j.runSlot(slot)
	j.wg.Done()
}

// startWorkers makes sure at least n pool goroutines run, and returns once
// the new ones are about to wait for work, so that the call that started
// them can hand them slots. Once they run, it takes no lock: concurrent
// calls of do share nothing but the channel of idle workers.
func startWorkers(n int) {
	if pool.started.Load() >= int64(n) {
		return
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.started.Load() >= int64(n) {
		return
	}
	if pool.work == nil {
		pool.work = make(chan slotWork)
	}
	ready := new(sync.WaitGroup) // allocated only when workers start
	for ; pool.started.Load() < int64(n); pool.started.Add(1) {
		ready.Add(1)
		go func() {
			ready.Done()
			for sw := range pool.work {
				sw.j.runHanded(sw.slot)
			}
		}()
	}
	ready.Wait()
}
