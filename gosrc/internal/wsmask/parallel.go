package wsmask

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// MinPartSize is the smallest share of a buffer worth a goroutine of its
// own: MaskParallel shares with one helper per MinPartSize bytes at most.
const MinPartSize = 256 << 10

// DefaultParallelThreshold is the length from which the gomask library
// splits a buffer over goroutines unless told otherwise.
const DefaultParallelThreshold = 1 << 20

// maxWorkers is GOMAXPROCS as the process started, read once: reading it
// per call takes the scheduler's lock.
var maxWorkers = runtime.GOMAXPROCS(0)

// MaxWorkers returns the most goroutines MaskParallel shares a buffer
// between: the CPUs Go may use, as read at start-up.
func MaxWorkers() int { return maxWorkers }

// MaskParallel is Mask shared with up to workers-1 helper goroutines.
//
// The buffer is cut into chunks of chunkSize bytes that the calling
// goroutine claims one at a time from the front and its helpers from the
// back, so the caller starts at once, a helper that arrives late just takes
// fewer chunks, and when the same buffer is masked again each goroutine
// tends to get the part its core has cached (claiming in turn from one end
// made in-place calls of 4-16 MiB up to twice as slow as one goroutine,
// measured on a 2-vCPU KVM guest; from both ends, 1.4-2.2 times faster
// than one goroutine). workers <=
// 1, and inputs of less than two MinPartSize shares, fall back to Mask;
// helpers beyond runtime.GOMAXPROCS-1 or one per MinPartSize are not used.
//
// The helpers are goroutines kept from call to call, at most GOMAXPROCS-1
// of them. After a call they poll for the next one for the window SetSpin
// sets (50 µs by default), then sleep. A call shares its work with the
// helpers that are polling, which join it within a microsecond; it wakes
// sleeping ones (or starts them, the first time) only where that pays:
//   - when the previous call ended less than a spin window ago: calls come
//     back to back, and a helper woken now serves the next ones;
//   - for buffers of 32 MiB or more, long enough for a helper woken now
//     to help with this one.
//
// Waking a sleeping thread takes from 100 µs to milliseconds on a virtual
// machine, and slows the thread that wakes it, so that a call that wakes
// no helper costs about what Mask costs, and calls that come back to back
// are split, and faster, from two MinPartSize shares on.
//
// When MaskParallel returns, every byte is masked and no helper touches
// dst or src any more, nor keeps a reference to them. A panic while
// masking, on any goroutine, is raised again on the caller's.
func MaskParallel(dst, src []byte, key [KeySize]byte, pos int, workers int) int {
	n := len(src)
	if len(dst) < n {
		panic("wsmask: dst shorter than src")
	}
	workers = min(workers, maxWorkers, n/MinPartSize)
	if workers <= 1 {
		return Mask(dst, src, key, pos)
	}
	// While another call shares its work, the CPUs are taken: this one masks
	// alone, as it would without helpers. Two threads masking their own
	// buffers at once then run as fast as with workers = 1 rather than
	// waiting for each other's helper (measured: 25-40% slower otherwise).
	alone := helpers.callers.Add(1) > 1
	defer helpers.callers.Add(-1)
	if alone {
		return Mask(dst, src, key, pos)
	}
	defer helpers.callEnded()
	wake := helpers.wakePays(n)
	if !wake && helpers.polling.Load() == 0 {
		// No helper would come: mask alone, without claiming chunks.
		return Mask(dst, src, key, pos)
	}
	phase := pos & (KeySize - 1)
	j := &parallelJob{
		dst:    dst[:n],
		src:    src,
		key:    rotate(key, phase),
		stream: useStream(dst, src, true),
		chunks: (n + chunkSize - 1) / chunkSize,
		done:   make(chan struct{}),
	}
	j.seats.Store(int32(workers - 1))
	helpers.offer(j, workers-1, wake)
	j.work(true)
	// Every chunk is claimed: no helper can join usefully any more.
	helpers.open.CompareAndSwap(j, nil)
	j.wait()
	// Every claimed chunk is finished; helpers that hold j find no chunk
	// left and never look at the buffers, which j does not keep either.
	j.dst, j.src = nil, nil
	if p := j.panicked.Load(); p != nil {
		// Re-raise on the caller's goroutine, where the export layer
		// recovers it; a panic on another goroutine would abort the process.
		panic(*p)
	}
	return (phase + n) & (KeySize - 1)
}

// parallelJob is one MaskParallel call: chunk i covers bytes
// [i*chunkSize, (i+1)*chunkSize) of src and dst, the same key phase for
// every chunk since chunkSize is a multiple of KeySize.
//
// Each call has its own parallelJob, never reused: a helper that claims a
// chunk claims it from the job it holds, so one that holds a finished job
// finds nothing to claim, whatever calls came since.
type parallelJob struct {
	dst, src []byte
	key      uint32
	stream   bool // use non-temporal stores (useStream of the whole call)
	chunks   int
	seats    atomic.Int32  // helpers that may still join
	claims   atomic.Uint64 // chunks claimed: from the front (low 32 bits), from the back (high)
	finished atomic.Int64  // chunks masked (or abandoned by a panic)
	done     chan struct{}
	panicked atomic.Pointer[any]
}

// work masks chunks until none is left to claim, then counts them as
// finished; whoever finishes the last chunk closes done.
//
// A panic while masking is recorded for the caller to raise again, and
// abandons the chunks nobody claimed yet, counted as finished with the one
// that panicked: the call fails anyway, and nobody is left waiting for
// them.
//
// The count is added, and the panic recovered, once per call of work
// rather than per chunk: a second locked instruction and a deferred
// function per chunk made a call that shares with no helper 10% slower
// than Mask.
func (j *parallelJob) work(front bool) {
	masked := 0
	defer func() {
		if r := recover(); r != nil {
			j.panicked.CompareAndSwap(nil, &r)
			masked += 1 + j.abandon()
		}
		if masked > 0 && int(j.finished.Add(int64(masked))) == j.chunks {
			close(j.done)
		}
	}()
	for {
		i := j.claim(front)
		if i < 0 {
			return
		}
		start := i * chunkSize
		end := min(start+chunkSize, len(j.src))
		maskRotated(j.dst[start:end], j.src[start:end], j.key, j.stream)
		masked++
		if !front {
			// A helper yields between chunks: a thread entering MaskParallel
			// from C waits for a processor, possibly this one; once in, it
			// counts in callers, and the helper leaves the rest of the job to
			// its caller.
			runtime.Gosched()
			if helpers.callers.Load() > 1 {
				return
			}
		}
	}
}

// wait returns once every chunk is finished. When the caller runs out of
// chunks, helpers still hold at most one each, a few microseconds of work:
// the caller spins for them rather than sleeping, since waking a sleeping
// thread can take 100 µs on a virtual machine. It sleeps only if a helper
// is descheduled in the middle of its chunk.
func (j *parallelJob) wait() {
	for range spinPolls {
		if int(j.finished.Load()) == j.chunks {
			return
		}
	}
	<-j.done
}

// spinPolls bounds the spinning of wait: at a few nanoseconds per poll,
// well under a millisecond.
const spinPolls = 1 << 17

// defaultSpin is the default of SetSpin. A helper that finds no job polls
// for less than it takes to wake it (100 µs at the median, measured on a
// 2-vCPU KVM guest), so that polling in vain costs at most what a wake-up
// would have (the classic spin-then-block bound), while calls that come
// back to back find it awake.
const defaultSpin = 50 * time.Microsecond

// wakeMin is the length from which MaskParallel wakes sleeping helpers for
// the call itself. Measured on a 2-vCPU KVM guest, a woken helper arrives
// after 100 µs to several milliseconds, and the wake-up slows the caller
// meanwhile: it made calls of 8 and 16 MiB up to 20% slower, of 32 MiB
// between 14% slower and 55% faster, of 64 MiB 15 to 60% faster.
var wakeMin = 32 << 20

// SetSpin sets how long a MaskParallel helper that runs out of work polls
// for the next call before it goes to sleep, and returns the previous
// setting (50 µs by default). It also sets how close calls must follow one
// another for MaskParallel to wake sleeping helpers for buffers shorter
// than 32 MiB (see MaskParallel).
//
// A polling helper joins a call within a microsecond; a sleeping one takes
// 100 µs or more to wake on a virtual machine, too late to help with
// buffers of a few MiB. Polling keeps a core busy (though it yields it to
// any goroutine that needs it), so a longer window trades idle CPU time for
// speed on calls spaced by up to that long. 0 (or less) makes helpers sleep
// as soon as they run out of work, and MaskParallel wake them only for
// buffers of 32 MiB or more.
func SetSpin(d time.Duration) time.Duration {
	return time.Duration(helpers.spin.Swap(int64(max(d, 0))))
}

// helpers is the pool of goroutines that MaskParallel shares its work
// with. A helper is in one of three states: polling open for a job (for at
// most the spin window), working on one, or parked on its wake channel.
var helpers = newHelperPool()

type helperPool struct {
	// open is the job helpers join: the last MaskParallel call that has
	// chunks left to claim, or nil. A call that replaces another's leaves
	// it to its caller alone.
	open atomic.Pointer[parallelJob]

	// polling counts the helpers that will look at open without being
	// woken: those polling and those woken or started but not yet polling.
	polling atomic.Int32

	// callers counts the MaskParallel calls in progress that could share
	// their work (long enough to split).
	callers atomic.Int32

	spin    atomic.Int64 // the SetSpin window, in nanoseconds
	epoch   time.Time    // the origin of lastEnd, on the monotonic clock
	lastEnd atomic.Int64 // when the last call that could share its work ended

	mu      sync.Mutex
	started int             // helpers started; they never exit
	parked  []chan struct{} // wake channels of the parked helpers
}

func newHelperPool() *helperPool {
	p := &helperPool{epoch: time.Now()}
	p.spin.Store(int64(defaultSpin))
	p.lastEnd.Store(math.MinInt64 / 2) // long before any call
	return p
}

// wakePays reports whether a call masking n bytes should wake sleeping
// helpers (see MaskParallel).
func (p *helperPool) wakePays(n int) bool {
	backToBack := p.now()-p.lastEnd.Load() < p.spin.Load()
	return backToBack || n >= wakeMin
}

// callEnded records the end of a call that could share its work, for
// wakePays.
func (p *helperPool) callEnded() { p.lastEnd.Store(p.now()) }

// now reads the monotonic clock, in nanoseconds since epoch.
func (p *helperPool) now() int64 { return int64(time.Since(p.epoch)) }

// offer makes j the open job for up to want helpers: the polling ones and,
// if wake is set, parked ones woken and new ones started, up to
// GOMAXPROCS-1 in all.
func (p *helperPool) offer(j *parallelJob, want int, wake bool) {
	p.open.Store(j)
	// A helper about to park stops counting in polling before it looks at
	// open a last time, under mu: one counted here will see j (polling
	// was read after open was stored), one not counted is parked once mu
	// is ours, or will see j.
	need := want - int(p.polling.Load())
	if need <= 0 || !wake {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; need > 0 && len(p.parked) > 0; need-- {
		wake := p.parked[len(p.parked)-1]
		p.parked = p.parked[:len(p.parked)-1]
		p.polling.Add(1)
		wake <- struct{}{} // buffered for one: never blocks
	}
	for ; need > 0 && p.started < runtime.GOMAXPROCS(0)-1; need-- {
		p.started++
		p.polling.Add(1)
		go (&helper{pool: p, wake: make(chan struct{}, 1)}).run()
	}
}

// helper is the state of one helper goroutine.
type helper struct {
	pool *helperPool
	wake chan struct{} // buffered for one: the token of offer
	seen *parallelJob  // the last job joined or found full
}

// run is the loop of a helper goroutine: poll, work, and park when the
// spin window passes without a job to join.
func (h *helper) run() {
	p := h.pool
	for {
		if j := h.poll(); j != nil {
			p.polling.Add(-1)
			j.work(false)
			p.polling.Add(1)
			continue
		}
		p.mu.Lock()
		p.polling.Add(-1)
		if j := p.open.Load(); j != nil && j != h.seen && p.callers.Load() <= 1 {
			// Offered after the poll gave up, perhaps by a caller that
			// counted this helper as polling: look at it rather than park
			// (unless the poll gave up because calls run at once: then
			// the caller masks alone).
			p.polling.Add(1)
			p.mu.Unlock()
			continue
		}
		p.parked = append(p.parked, h.wake)
		p.mu.Unlock()
		h.seen = nil // nothing to keep alive while parked
		<-h.wake
	}
}

// poll returns an open job not seen before that has a seat left, taking
// the seat, or nil when none came within the spin window. It yields the
// processor between polls: a goroutine that needs it, such as a caller
// entering from C, is never kept waiting by a polling helper.
func (h *helper) poll() *parallelJob {
	var deadline time.Time
	for {
		if h.pool.callers.Load() > 1 {
			return nil // the CPUs are taken by callers: sleep
		}
		if j := h.pool.open.Load(); j != nil && j != h.seen {
			h.seen = j
			if j.seats.Add(-1) >= 0 {
				return j
			}
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(time.Duration(h.pool.spin.Load()))
		}
		if !now.Before(deadline) {
			return nil
		}
		runtime.Gosched()
	}
}

// claim returns the index of a chunk nobody has claimed, the first one if
// front is set, else the last one, or -1 if every chunk is claimed. The
// two counts share one word so that a chunk is claimed once, whichever end
// it is claimed from.
func (j *parallelJob) claim(front bool) int {
	for {
		s := j.claims.Load()
		lo, hi := int(s&0xffffffff), int(s>>32)
		if lo+hi >= j.chunks {
			return -1
		}
		if front {
			if j.claims.CompareAndSwap(s, s+1) {
				return lo
			}
		} else if j.claims.CompareAndSwap(s, s+1<<32) {
			return j.chunks - 1 - hi
		}
	}
}

// abandon claims every chunk nobody has claimed, so that no goroutine
// masks them, and returns how many there were.
func (j *parallelJob) abandon() int {
	for {
		s := j.claims.Load()
		lo, hi := int(s&0xffffffff), int(s>>32)
		left := max(0, j.chunks-lo-hi)
		if left == 0 {
			return 0
		}
		if j.claims.CompareAndSwap(s, uint64(j.chunks-hi)|uint64(hi)<<32) {
			return left
		}
	}
}
