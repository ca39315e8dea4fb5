package chanprune

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The package keeps its worker goroutines between calls, so that a call in
// steady state allocates nothing: a job's slots are offered over a channel
// to the workers, and the caller works on slot 0 itself.
//
// A worker that finishes a slot polls for the next offer for a while
// (workerSpin) before it blocks. A call made of several short jobs (one
// batch's Gram matrix is three, a sweep's batch four) would otherwise wake
// a parked worker at each of them and wait for it at the end: tens of
// microseconds a job (BenchmarkJobHandOff: 8 items of a few microseconds
// ran slower on two slots than on one). A caller whose own items are done
// polls for its workers the same while before it blocks: parked, it is
// woken tens of microseconds after the last worker ends, perhaps on
// another core (a 1024x4096 T1 product on two Zen 4 cores, alternating
// runs: 0.13-0.14 ms against 0.22-0.23 ms).

// workerSpin is how long an idle worker polls for work, and a caller for
// its workers, before it blocks: longer than the gaps between the jobs of
// one call, short beside a processor's time slice. It polls without
// yielding: runtime.Gosched would move it to the global run queue, other
// processors' idle threads take it from there, and a worker that parks on
// one processor and wakes on another drained the runtime's per-processor
// caches (2 to 30 allocations an evaluation at GOMAXPROCS 16).
const workerSpin = 20 * time.Microsecond

// A job runs fn(ctx, slot, i) for every i in [0, n); each slot takes the
// next i as it finishes the last (from its own run first under doOwned),
// and a slot indexes per-worker scratch. A job is reused from call to
// call. fn is a method expression such as (*Evaluator).evalRun, named at
// the call to do: a static func that, unlike a method value, allocates
// nothing.
type job[T any] struct {
	fn   func(ctx *T, slot, i int)
	ctx  *T
	n    int
	next atomic.Int64
	// wg and left both count the offered slots not yet done or withdrawn
	// (open and settle): the caller polls left, then blocks on wg.
	wg      sync.WaitGroup
	left    atomic.Int64
	running atomic.Bool
	call    uint64 // the number of this call of do
	// per slot: 2·call while the call's offer of the slot is open, 2·call+1
	// once a worker took it or the caller withdrew it. Made at the first
	// call and never replaced, so that a worker holding an old offer may
	// read it at any time.
	offers []atomic.Uint64
	// owned is set by doOwned: slot s first takes the items of its own
	// run, runs[s], and then steals from the back of the others'.
	owned bool
	runs  []ownedRun
}

// ownedRun is the items [lo, hi) of a slot's own run, lo in the low 32
// bits and hi in the high, on a cache line of its own: the owner takes lo
// and thieves take hi−1, each with one compare-and-swap.
type ownedRun struct {
	bounds atomic.Uint64
	_      [56]byte
}

// take claims an item of the run, the first one if front, else the last.
func (r *ownedRun) take(front bool) (int, bool) {
	for {
		b := r.bounds.Load()
		lo, hi := uint32(b), uint32(b>>32)
		if lo >= hi {
			return 0, false
		}
		next, i := b+1, lo
		if !front {
			next, i = b-1<<32, hi-1
		}
		if r.bounds.CompareAndSwap(b, next) {
			return int(i), true
		}
	}
}

// slotRunner is a job of any context, as the workers see it.
type slotRunner interface{ take(slot int, call uint64) }

// slotOffer is slot of call number call of job j.
type slotOffer struct {
	j    slotRunner
	slot int
	call uint64
}

var pool struct {
	mu      sync.Mutex
	started atomic.Int64 // written under mu, read without it
	work    chan slotOffer
}

// offerBuffer is the capacity of pool.work: offers that no worker took in
// time are withdrawn by their caller and dropped by the worker that
// receives them.
const offerBuffer = 256

// do runs fn(ctx, slot, i) for i in [0, n) on at most the given number of
// slots and returns when all are done. Slots 1 … are offered to the pool's
// workers, and the caller runs slot 0; when it has run out of items it
// withdraws the offers no worker has taken, so a caller never waits for a
// worker busy with another caller's job or with the job this one is called
// from, and a job may call do on another job from inside its fn. A worker
// that took an offer may still have no processor to run on: then the
// caller, its own pieces done, waits for it to find none left; Layer
// bounds a call's slots by its share of GOMAXPROCS (workerCount) so that
// this does not happen. Calling do on a job that is running is a bug in
// the package: it panics.
func (j *job[T]) do(n, slots int, fn func(ctx *T, slot, i int), ctx *T) {
	j.run(n, slots, false, fn, ctx)
}

// doOwned is do with the items cut into one contiguous run per slot, which
// the slot takes first, so that from call to call a slot runs the same
// items as long as the same workers take the same slots. The small-T
// products use it: each slot then reads the same part of the weight on
// every call, which stays in the caches near its core (a 1024x4096 T1
// product on two Zen 4 cores, alternating runs: 0.11-0.12 ms, against
// 0.13-0.14 with the items shared out as do does).
func (j *job[T]) doOwned(n, slots int, fn func(ctx *T, slot, i int), ctx *T) {
	j.run(n, slots, uint64(n) <= math.MaxUint32, fn, ctx)
}

// run is do, and doOwned where owned.
func (j *job[T]) run(n, slots int, owned bool, fn func(ctx *T, slot, i int), ctx *T) {
	if !j.running.CompareAndSwap(false, true) {
		panic("job.do: the job is already running")
	}
	j.fn, j.ctx, j.n = fn, ctx, n
	j.next.Store(0)
	j.call++
	offered := 1
	slots = max(1, min(slots, n))
	if j.offers == nil && slots > 1 {
		j.offers = make([]atomic.Uint64, max(slots, runtime.GOMAXPROCS(0), runtime.NumCPU()))
		j.runs = make([]ownedRun, len(j.offers))
	}
	j.owned = owned && slots > 1
	if j.owned {
		slots = min(slots, cap(j.runs))
		j.runs = j.runs[:slots]
		for s := range slots {
			lo, hi := uint64(s)*uint64(n)/uint64(slots), uint64(s+1)*uint64(n)/uint64(slots)
			j.runs[s].bounds.Store(hi<<32 | lo)
		}
	}
	if slots > 1 {
		startWorkers(slots - 1)
		for ; offered < min(slots, len(j.offers)); offered++ {
			j.offers[offered].Store(2 * j.call)
			j.open()
			select {
			case pool.work <- slotOffer{j, offered, j.call}:
				continue
			default:
				j.settle()
			}
			break
		}
	}
	j.runSlot(0)
	for s := 1; s < offered; s++ {
		if j.offers[s].CompareAndSwap(2*j.call, 2*j.call+1) {
			j.settle() // withdrawn: no worker took it
		}
	}
	for start := time.Now(); j.left.Load() > 0 && time.Since(start) < workerSpin; {
	}
	j.wg.Wait()
	j.fn, j.ctx = nil, nil // keep no caller memory alive
	j.running.Store(false)
}

func (j *job[T]) runSlot(slot int) {
	if !j.owned {
		for i := int(j.next.Add(1) - 1); i < j.n; i = int(j.next.Add(1) - 1) {
			j.fn(j.ctx, slot, i)
		}
		return
	}
	for v := range j.runs {
		r := &j.runs[(slot+v)%len(j.runs)]
		for i, ok := r.take(v == 0); ok; i, ok = r.take(v == 0) {
			j.fn(j.ctx, slot, i)
		}
	}
}

// take runs slot of call number call if its offer is still open.
func (j *job[T]) take(slot int, call uint64) {
	if j.offers[slot].CompareAndSwap(2*call, 2*call+1) {
		j.runSlot(slot)
		j.settle()
	}
}

// open counts an offered slot; settle, once it is done or withdrawn.
func (j *job[T]) open() {
	j.wg.Add(1)
	j.left.Add(1)
}

func (j *job[T]) settle() {
	j.left.Add(-1)
	j.wg.Done()
}

// startWorkers makes sure at least n pool goroutines run, and returns once
// the new ones are about to wait for work. Once they run, it takes no
// lock: concurrent calls of do share nothing but the channel of offers.
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
		pool.work = make(chan slotOffer, offerBuffer)
	}
	ready := new(sync.WaitGroup) // allocated only when workers start
	for ; pool.started.Load() < int64(n); pool.started.Add(1) {
		ready.Add(1)
		go func() {
			ready.Done()
			for {
				o := nextOffer()
				o.j.take(o.slot, o.call)
			}
		}()
	}
	ready.Wait()
}

// nextOffer returns the next offer, polling for workerSpin before it
// blocks.
func nextOffer() slotOffer {
	for start := time.Now(); time.Since(start) < workerSpin; {
		select {
		case o := <-pool.work:
			return o
		default:
		}
	}
	return <-pool.work
}
