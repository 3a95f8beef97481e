package wsmask

import (
	"runtime"
	"sync/atomic"
)

// MinPartSize is the smallest share of a buffer worth a goroutine of its
// own: MaskParallel uses at most one goroutine per MinPartSize bytes.
const MinPartSize = 256 << 10

// DefaultParallelThreshold is the length from which the gomask library
// splits a buffer over goroutines unless told otherwise: a helper starts
// working only once an idle thread has woken up, and starting it slows the
// caller, so only calls long enough to absorb that gain from every arrival
// pattern (back to back, cold, irregular gaps, several threads at once).
// benchmarks/threads.py measures it; docs/performance.md has the numbers.
const DefaultParallelThreshold = 16 << 20

// maxWorkers is the number of CPUs Go may use, read once: runtime.GOMAXPROCS
// takes the scheduler's lock, which per call would serialise the threads
// that call into Go.
var maxWorkers = min(runtime.NumCPU(), runtime.GOMAXPROCS(0))

// MaxWorkers returns the most goroutines MaskParallel shares a buffer
// between: the CPUs Go may use, as read at start-up.
func MaxWorkers() int { return maxWorkers }

// splitting counts the MaskParallel calls in progress that could split.
var splitting atomic.Int32

// MaskParallel is Mask shared with up to workers-1 helper goroutines,
// started for this call; fewer when the buffer has fewer than workers
// MinPartSize shares or Go has fewer CPUs. While another call is split,
// the CPUs are taken: this one masks alone, as Mask does, and the helpers
// of the other leave their work to its caller as soon as they see this
// one.
//
// The buffer is cut into chunks of chunkSize bytes that the caller claims
// one at a time from the front and the helpers from the back, so the
// caller never waits for a helper that has not started: it masks
// whatever is left, then waits only for the chunks helpers are masking,
// and a helper that starts after every chunk is claimed does nothing.
//
// When MaskParallel returns, every byte is masked and no goroutine touches
// dst or src any more, nor keeps a reference to them. A panic while
// masking, on any goroutine, is raised again on the caller's.
func MaskParallel(dst, src []byte, key [KeySize]byte, pos int, workers int) int {
	n := len(src)
	if len(dst) < n {
		panic("wsmask: dst shorter than src")
	}
	workers = splitWorkers(n, workers)
	if workers < 2 {
		return Mask(dst, src, key, pos)
	}
	defer splitting.Add(-1)
	if splitting.Add(1) > 1 {
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
	for range workers - 1 {
		go j.work(false)
	}
	j.work(true)
	j.wait()
	// Every chunk is claimed and finished: a helper that still holds j
	// finds nothing to claim and never looks at the buffers again.
	j.dst, j.src = nil, nil
	if p := j.panicked.Load(); p != nil {
		// Re-raised on the caller's goroutine, where the export layer
		// recovers it; a panic on a helper would abort the process.
		panic(*p)
	}
	return (phase + n) & (KeySize - 1)
}

// splitWorkers returns how many goroutines MaskParallel uses for n bytes
// when asked for workers: at most the CPUs Go uses, and one per MinPartSize
// share.
func splitWorkers(n, workers int) int {
	return min(workers, maxWorkers, n/MinPartSize)
}

// parallelJob is one MaskParallel call: chunk i covers bytes
// [i*chunkSize, (i+1)*chunkSize) of src and dst, the same key phase for
// every chunk since chunkSize is a multiple of KeySize.
type parallelJob struct {
	dst, src []byte
	key      uint32
	stream   bool          // non-temporal stores (useStream of the whole call)
	chunks   int           // chunks in all
	claims   atomic.Uint64 // chunks claimed: from the front (low 32 bits), from the back (high)
	finished atomic.Int64  // chunks masked, or abandoned after a panic
	done     chan struct{} // closed by whoever finishes the last chunk
	panicked atomic.Pointer[any]
}

// maskChunk masks one chunk; tests replace it to inject panics.
var maskChunk = maskRotated

// work masks chunks until none is left to claim (a helper also stops when
// another call wants the CPUs), then counts them as finished; whoever
// finishes the last chunk closes done.
//
// A panic while masking is recorded for the caller to raise again, and
// abandons the chunks nobody claimed yet, counted as finished with the one
// that panicked: the call fails anyway, and nobody is left waiting for
// them. The count is added once per call of work rather than per chunk.
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
		maskChunk(j.dst[start:end], j.src[start:end], j.key, j.stream)
		masked++
		if !front && splitting.Load() > 1 {
			return // another call is masking: its thread needs this CPU
		}
	}
}

// wait returns once every chunk is finished. When the caller runs out of
// chunks, helpers hold at most one chunk each, which takes far less time
// than waking a blocked thread: it polls for them a bounded number of
// times before it blocks.
func (j *parallelJob) wait() {
	for range 1 << 16 {
		if int(j.finished.Load()) == j.chunks {
			return
		}
	}
	<-j.done
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
		left := j.chunks - lo - hi
		if left <= 0 {
			return 0
		}
		if j.claims.CompareAndSwap(s, uint64(j.chunks-hi)|uint64(hi)<<32) {
			return left
		}
	}
}
