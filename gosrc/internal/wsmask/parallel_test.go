package wsmask

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// needWorkers makes sure that MaskParallel may use n goroutines.
func needWorkers(t testing.TB, n int) {
	saved := maxWorkers
	maxWorkers = max(maxWorkers, n)
	if runtime.GOMAXPROCS(0) < n {
		procs := runtime.GOMAXPROCS(n)
		t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	t.Cleanup(func() { maxWorkers = saved })
}

// randomBytes returns n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestMaskParallelConcurrent runs MaskParallel from several goroutines at
// once, with random lengths, alignments, phases and worker counts, in
// place and not, against maskReference, and overwrites the buffers the
// moment each call returns. Under -race (the portable kernel is Go code
// the race detector sees) a helper that touched a buffer after its call
// returned would be reported.
func TestMaskParallelConcurrent(t *testing.T) {
	needWorkers(t, 4)
	useKernel(t, kernels[0])
	callers, calls := 6, 12
	if testing.Short() {
		calls = 4
	}
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for c := range calls {
				n := 2*MinPartSize + rng.IntN(40*chunkSize)
				if c%3 == 0 {
					n = n/chunkSize*chunkSize + rng.IntN(9) - 4
				}
				off := rng.IntN(64)
				src := randomBytes(rng, n+off)[off:]
				key := [4]byte(randomBytes(rng, 4))
				pos := rng.IntN(8)
				want := make([]byte, n)
				wantNext := maskReference(want, src, key, pos)
				dst := src
				if c%2 == 0 {
					dst = make([]byte, n)
				} else {
					src = bytes.Clone(src)
					dst = src
				}
				if next := MaskParallel(dst, src, key, pos, 1+rng.IntN(4)); next != wantNext || !bytes.Equal(dst, want) {
					t.Errorf("caller %d: n=%d pos=%d: MaskParallel differs from the reference", g, n, pos)
					return
				}
				clear(dst)
				clear(src)
			}
		}()
	}
	wg.Wait()
}

// TestMaskParallelBuffersFreeAfterReturn checks that nothing keeps a
// buffer alive once MaskParallel has returned, even helpers that have not
// started yet.
func TestMaskParallelBuffersFreeAfterReturn(t *testing.T) {
	needWorkers(t, 4)
	var freed atomic.Int32
	const buffers = 8
	for range buffers {
		b := make([]byte, 4<<20)
		runtime.SetFinalizer(&b[0], func(*byte) { freed.Add(1) })
		MaskParallel(b, b, [4]byte{1, 2, 3, 4}, 0, 4)
	}
	deadline := time.Now().Add(10 * time.Second)
	for freed.Load() < buffers && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if f := freed.Load(); f < buffers {
		t.Fatalf("%d of %d buffers freed after their calls returned", f, buffers)
	}
}

// TestMaskParallelPanicReachesCaller makes one chunk panic (the first, the
// last, one in the middle: the caller's, a helper's, either) and checks
// that the caller's goroutine gets the panic, and only once no chunk is
// being masked any more.
func TestMaskParallelPanicReachesCaller(t *testing.T) {
	needWorkers(t, 4)
	n := 4 << 20
	buf := make([]byte, n)
	base := uintptr(unsafe.Pointer(&buf[0]))
	var inside atomic.Int32
	for _, bad := range []int{0, n/chunkSize - 1, n / chunkSize / 2} {
		maskChunk = func(dst, src []byte, key uint32, stream bool) {
			inside.Add(1)
			defer inside.Add(-1)
			if int(uintptr(unsafe.Pointer(&dst[0]))-base)/chunkSize == bad {
				time.Sleep(time.Millisecond) // let the others run meanwhile
				panic(fmt.Sprintf("injected at chunk %d", bad))
			}
			time.Sleep(20 * time.Microsecond)
			maskRotated(dst, src, key, stream)
		}
		func() {
			defer func() {
				if r := recover(); r != fmt.Sprintf("injected at chunk %d", bad) {
					t.Errorf("chunk %d: recovered %v", bad, r)
				}
				if k := inside.Load(); k != 0 {
					t.Errorf("chunk %d: %d chunks still being masked when the panic reached the caller", bad, k)
				}
			}()
			MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 4)
			t.Errorf("chunk %d: no panic", bad)
		}()
	}
	maskChunk = maskRotated
	// The pool of calls is back to normal: a following call splits and works.
	want := make([]byte, n)
	maskReference(want, buf, [4]byte{5, 6, 7, 8}, 1)
	if MaskParallel(buf, buf, [4]byte{5, 6, 7, 8}, 1, 4); !bytes.Equal(buf, want) {
		t.Error("a call after the panics differs from the reference")
	}
	if s := splitting.Load(); s != 0 {
		t.Errorf("%d calls counted as splitting after every call returned", s)
	}
}

// TestSplitWorkers checks how many goroutines a call uses: none beyond
// the caller's for workers=1 or fewer than two MinPartSize shares, at most
// workers, one per share, and the CPUs.
func TestSplitWorkers(t *testing.T) {
	needWorkers(t, 4)
	maxWorkers = 4
	cases := []struct{ n, workers, want int }{
		{4 << 20, 1, 1},
		{2*MinPartSize - 1, 4, 1},
		{2 * MinPartSize, 4, 2},
		{3*MinPartSize + 5, 4, 3},
		{4 << 20, 2, 2},
		{4 << 20, 4, 4},
		{4 << 20, 64, 4},
	}
	for _, c := range cases {
		if got := splitWorkers(c.n, c.workers); got != c.want {
			t.Errorf("splitWorkers(%d, %d) = %d, want %d", c.n, c.workers, got, c.want)
		}
	}
}

// TestAloneWhileAnotherSplits checks that a call made while another is
// being split masks alone, as Mask does (which never goes through
// maskChunk), and that it splits again once the other has returned.
func TestAloneWhileAnotherSplits(t *testing.T) {
	needWorkers(t, 4)
	var chunks atomic.Int32
	maskChunk = func(dst, src []byte, key uint32, stream bool) {
		chunks.Add(1)
		maskRotated(dst, src, key, stream)
	}
	defer func() { maskChunk = maskRotated }()
	buf := make([]byte, 4<<20)
	splitting.Add(1) // as if another call were being split
	MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 4)
	splitting.Add(-1)
	if c := chunks.Load(); c != 0 {
		t.Errorf("a call made while another is split shared %d chunks", c)
	}
	MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 4)
	if c := chunks.Load(); c != int32(len(buf)/chunkSize) {
		t.Errorf("a call alone masked %d chunks through the split, want %d", c, len(buf)/chunkSize)
	}
}

// TestClaimEachChunkOnce claims from both ends at once, from several
// goroutines, and checks that every chunk is claimed exactly once, then
// that abandon leaves nothing to claim.
func TestClaimEachChunkOnce(t *testing.T) {
	for _, chunks := range []int{1, 2, 3, 64, 1000} {
		j := &parallelJob{chunks: chunks}
		counts := make([]atomic.Int32, chunks)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := j.claim(g%2 == 0); i >= 0; i = j.claim(g%2 == 0) {
					counts[i].Add(1)
				}
			}()
		}
		wg.Wait()
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("%d chunks: chunk %d claimed %d times", chunks, i, c)
			}
		}
		if left := j.abandon(); left != 0 {
			t.Errorf("%d chunks: abandon found %d unclaimed after all were claimed", chunks, left)
		}
		half := &parallelJob{chunks: chunks}
		for range chunks / 2 {
			half.claim(true)
		}
		if left := half.abandon(); left != chunks-chunks/2 || half.claim(false) != -1 || half.claim(true) != -1 {
			t.Errorf("%d chunks: abandon after %d claims left %d, want %d, and nothing to claim", chunks, chunks/2, left, chunks-chunks/2)
		}
	}
}

// BenchmarkMaskParallel compares one goroutine (workers=1, which is Mask)
// with two, in place and into a separate buffer, back to back and after
// an idle gap (the helper's thread has gone to sleep: a cold start). The
// caller spins through the gap, as it would be busy between calls, and the
// gap is not timed.
func BenchmarkMaskParallel(b *testing.B) {
	needWorkers(b, 2)
	for _, mode := range []string{"copy", "inplace"} {
		for _, n := range []int{1 << 20, 4 << 20, 16 << 20, 64 << 20} {
			for _, gap := range []time.Duration{0, 2 * time.Millisecond} {
				for _, workers := range []int{1, 2} {
					name := fmt.Sprintf("%s/%s/gap=%v/workers=%d", mode, sizeName(n), gap, workers)
					b.Run(name, func(b *testing.B) {
						src := make([]byte, n)
						dst := src
						if mode == "copy" {
							dst = make([]byte, n)
						}
						benchmarkParallel(b, dst, src, workers, gap)
					})
				}
			}
		}
	}
}

func benchmarkParallel(b *testing.B, dst, src []byte, workers int, gap time.Duration) {
	key := [4]byte{1, 2, 3, 4}
	b.SetBytes(int64(len(src)))
	var total time.Duration
	for b.Loop() {
		for start := time.Now(); time.Since(start) < gap; {
		}
		start := time.Now()
		MaskParallel(dst, src, key, 1, workers)
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
}
