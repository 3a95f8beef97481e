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
)

// useSpin sets the spin window of the helpers for the rest of the test.
func useSpin(t testing.TB, d time.Duration) {
	saved := SetSpin(d)
	t.Cleanup(func() { SetSpin(saved) })
}

// useWakeMin sets the length from which MaskParallel wakes helpers for the
// call itself, for the rest of the test.
func useWakeMin(t testing.TB, n int) {
	saved := wakeMin
	wakeMin = n
	t.Cleanup(func() { wakeMin = saved })
}

// needProcs makes sure that MaskParallel can use n goroutines.
func needProcs(t testing.TB, n int) {
	if runtime.GOMAXPROCS(0) < n {
		saved := runtime.GOMAXPROCS(n)
		t.Cleanup(func() { runtime.GOMAXPROCS(saved) })
	}
}

// parallelLength returns a random length for MaskParallel of up to 40
// chunks, half the time within 4 bytes of a chunk boundary.
func parallelLength(rng *rand.Rand) int {
	n := rng.IntN(40 * chunkSize)
	if rng.IntN(2) == 0 {
		n = max(0, n/chunkSize*chunkSize+rng.IntN(9)-4)
	}
	return n
}

// TestMaskParallelConcurrent runs MaskParallel from several goroutines at
// once, with random lengths, alignments, phases, worker counts and spin
// windows (0 makes every helper park and be woken), in place and not,
// against maskReference. Under -race it also checks that helpers access
// the buffers only while the call lasts.
func TestMaskParallelConcurrent(t *testing.T) {
	needProcs(t, 2)
	useSpin(t, defaultSpin)
	useWakeMin(t, 20*chunkSize) // wake helpers for some calls, not others
	useKernel(t, kernels[0])    // Go code: visible to the race detector
	goroutinesBefore := runtime.NumGoroutine()
	callers, calls := 8, 40
	if testing.Short() {
		calls = 10
	}
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 11))
			for range calls {
				if c == 0 {
					// One caller toggles parking at once and spinning.
					SetSpin(time.Duration(rng.IntN(2)) * defaultSpin)
				}
				n := parallelLength(rng)
				align := rng.IntN(64)
				srcBuf := make([]byte, n+align)
				fillRandom(rng, srcBuf)
				src := srcBuf[align:]
				key := randomKey(rng)
				pos := rng.IntN(4)
				workers := rng.IntN(5)
				want := make([]byte, n)
				wantNext := maskReference(want, src, key, pos)
				inPlace := rng.IntN(2) == 0
				got := src
				if !inPlace {
					got = make([]byte, n+64)[rng.IntN(64):][:n]
				}
				next := MaskParallel(got, src, key, pos, workers)
				if next != wantNext || !bytes.Equal(got, want) {
					t.Errorf("n=%d align=%d pos=%d workers=%d in place=%v: differs from reference",
						n, align, pos, workers, inPlace)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// At most GOMAXPROCS-1 helpers, whatever the number of callers.
	helpers.mu.Lock()
	started := helpers.started
	helpers.mu.Unlock()
	if limit := runtime.GOMAXPROCS(0) - 1; started > limit {
		t.Errorf("%d helpers started, want at most %d", started, limit)
	}
	// A caller counts until it has returned from its goroutine, a little
	// after wg.Done: give the callers time to exit.
	extra := runtime.NumGoroutine() - goroutinesBefore
	for deadline := time.Now().Add(5 * time.Second); extra > started && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		extra = runtime.NumGoroutine() - goroutinesBefore
	}
	if extra > started {
		t.Errorf("%d more goroutines after the calls than before, %d helpers", extra, started)
	}
}

// TestMaskParallelBuffersFreeAfterReturn overwrites dst and src as soon as
// MaskParallel returns, then checks that nothing masked them again; under
// -race, with the kernel in Go, a helper still accessing them is reported.
func TestMaskParallelBuffersFreeAfterReturn(t *testing.T) {
	needProcs(t, 2)
	useSpin(t, defaultSpin)
	useKernel(t, kernels[0])
	rng := rand.New(rand.NewPCG(12, 13))
	n := 4*MinPartSize + 5
	src, dst := make([]byte, n), make([]byte, n)
	for i := range 200 {
		inPlace := i%2 == 0
		out := dst
		if inPlace {
			out = src
		}
		MaskParallel(out, src, randomKey(rng), 0, 2)
		fill := byte(i)
		for k := range n {
			src[k], dst[k] = fill, fill
		}
		runtime.Gosched()
		if bytes.Count(src, []byte{fill}) != n || bytes.Count(dst, []byte{fill}) != n {
			t.Fatalf("call %d (in place %v): buffers changed after MaskParallel returned", i, inPlace)
		}
	}
}

// TestMaskParallelPanicReachesCaller makes a helper and the caller panic in
// the kernel: the process survives and the caller gets the panic.
func TestMaskParallelPanicReachesCaller(t *testing.T) {
	needProcs(t, 2)
	useWakeMin(t, 0) // wake a helper for the call
	for _, spin := range []time.Duration{0, defaultSpin} {
		t.Run(fmt.Sprintf("spin=%v", spin), func(t *testing.T) {
			useSpin(t, spin)
			// The first kernel call waits for a second one, which must be
			// on another goroutine, before everyone panics.
			var mu sync.Mutex
			calls := 0
			second := make(chan struct{})
			useKernel(t, kernel{name: "panicking", fn: func(dst, src *byte, n int, key uint32) {
				mu.Lock()
				calls++
				first := calls == 1
				if calls == 2 {
					close(second)
				}
				mu.Unlock()
				if first {
					select {
					case <-second:
					case <-time.After(10 * time.Second):
						panic("no helper called the kernel")
					}
				}
				panic("kernel failure")
			}})
			defer func() {
				if r := recover(); r != "kernel failure" {
					t.Fatalf("recovered %v, want the kernel's panic", r)
				}
			}()
			buf := make([]byte, 8*chunkSize)
			MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 2)
			t.Fatal("MaskParallel returned without panicking")
		})
	}
}

// TestHelpersPark checks that helpers poll for the spin window after a
// call, and then park, so that they use no CPU while idle.
func TestHelpersPark(t *testing.T) {
	needProcs(t, 2)
	useWakeMin(t, 0) // wake a helper for each call
	buf := bytes.Repeat([]byte{1}, 4*MinPartSize)
	for _, spin := range []time.Duration{0, defaultSpin, 50 * time.Millisecond} {
		useSpin(t, spin)
		MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 2)
		returned := time.Now()
		if spin >= 50*time.Millisecond {
			// The woken helper arrives well within 10 ms.
			time.Sleep(10 * time.Millisecond)
			if helpers.polling.Load() == 0 {
				t.Errorf("spin %v: no helper polling 10ms after the call", spin)
			}
		}
		for {
			helpers.mu.Lock()
			parked, started := len(helpers.parked), helpers.started
			helpers.mu.Unlock()
			if parked == started {
				break
			}
			if time.Since(returned) > spin+5*time.Second {
				t.Fatalf("spin %v: %d of %d helpers still not parked", spin, started-parked, started)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if prev := SetSpin(-time.Second); prev != 50*time.Millisecond {
		t.Errorf("SetSpin returned %v, want the previous 50ms", prev)
	}
	if prev := SetSpin(defaultSpin); prev != 0 {
		t.Errorf("SetSpin(-1s) set %v, want 0", prev)
	}
}

// TestMaskParallelWakesOnlyWhenItPays checks the wake-up policy: a call
// after a pause longer than the spin window leaves parked helpers asleep,
// a call right after another wakes one, and so does a call of wakeMin
// bytes or more.
func TestMaskParallelWakesOnlyWhenItPays(t *testing.T) {
	needProcs(t, 2)
	// A woken helper polls long enough to be seen awake after the call,
	// even on a slow emulator.
	const spin = 100 * time.Millisecond
	useSpin(t, spin)
	useWakeMin(t, 8*MinPartSize)
	small := bytes.Repeat([]byte{1}, 2*MinPartSize)
	large := bytes.Repeat([]byte{1}, 8*MinPartSize)
	// A first call starts the helper if need be.
	MaskParallel(small, small, [4]byte{1}, 0, 2)
	MaskParallel(small, small, [4]byte{1}, 0, 2)
	allParked := func() bool {
		helpers.mu.Lock()
		defer helpers.mu.Unlock()
		return helpers.started > 0 && len(helpers.parked) == helpers.started
	}
	waitParked := func() {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !allParked(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("helpers did not park")
			}
		}
		time.Sleep(spin + 10*time.Millisecond) // no call within a spin window
	}
	tests := []struct {
		name     string
		buf      []byte
		previous bool // call MaskParallel just before
		wantWake bool
	}{
		{"small after a pause", small, false, false},
		{"small back to back", small, true, true},
		{"large after a pause", large, false, true},
	}
	for _, tt := range tests {
		waitParked()
		if tt.previous {
			// Parked helpers stay asleep for this one, after a pause.
			MaskParallel(tt.buf, tt.buf, [4]byte{1}, 0, 2)
		}
		MaskParallel(tt.buf, tt.buf, [4]byte{1}, 0, 2)
		if woke := !allParked(); woke != tt.wantWake {
			t.Errorf("%s: woke a helper = %v, want %v", tt.name, woke, tt.wantWake)
		}
	}
}

// BenchmarkMaskParallel compares one goroutine (workers=1, which is Mask)
// with two, in place and into a separate buffer, with calls back to back,
// spaced by a gap shorter than the spin window (helpers still polling when
// the next call comes), and by one longer (helpers parked: cold). The
// caller stays busy during the gaps, as it would be between calls.
func BenchmarkMaskParallel(b *testing.B) {
	needProcs(b, 2)
	for _, mode := range []string{"copy", "inplace"} {
		for _, n := range []int{256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 16 << 20, 64 << 20} {
			for _, gap := range []time.Duration{0, defaultSpin / 2, 4 * defaultSpin} {
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

// benchmarkParallel times MaskParallel calls separated by gap, spent
// spinning and excluded from the time.
func benchmarkParallel(b *testing.B, dst, src []byte, workers int, gap time.Duration) {
	key := [4]byte{1, 2, 3, 4}
	b.SetBytes(int64(len(src)))
	if gap == 0 {
		for b.Loop() {
			MaskParallel(dst, src, key, 1, workers)
		}
		return
	}
	var total time.Duration
	for b.Loop() {
		for start := time.Now(); time.Since(start) < gap; {
		}
		start := time.Now()
		MaskParallel(dst, src, key, 1, workers)
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(len(src))*float64(b.N)/total.Seconds()/1e6, "MB/s")
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

// TestMaskParallelAloneWhileAnotherShares checks that while two calls are
// in progress polling helpers go to sleep, and that while another call is
// sharing its work a new call masks alone, waking nobody, even right
// after another call.
func TestMaskParallelAloneWhileAnotherShares(t *testing.T) {
	needProcs(t, 2)
	const spin = 200 * time.Millisecond
	useSpin(t, spin)
	useWakeMin(t, 0) // without the other call, every call would wake helpers
	buf := bytes.Repeat([]byte{7}, 4*MinPartSize)
	want := make([]byte, len(buf))
	maskReference(want, buf, [4]byte{1, 2, 3, 4}, 0)
	MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 2) // wakes or starts a helper
	MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 2) // back to back: unmasks
	parkedAll := func() bool {
		helpers.mu.Lock()
		defer helpers.mu.Unlock()
		return helpers.started > 0 && len(helpers.parked) == helpers.started
	}
	// Two other calls in progress: helpers have no CPU to take.
	helpers.callers.Add(2)
	for deadline := time.Now().Add(spin / 2); !parkedAll(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			helpers.mu.Lock()
			t.Fatalf("helpers kept polling while another call was sharing: started %d, parked %d, polling %d", helpers.started, len(helpers.parked), helpers.polling.Load())
		}
	}
	// One other call, sharing: calls now mask alone.
	helpers.callers.Add(-1)
	defer helpers.callers.Add(-1)
	for range 3 {
		MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 2)
		if !parkedAll() {
			t.Fatal("a call woke a helper while another call was sharing")
		}
		MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 2)
	}
	MaskParallel(buf, buf, [4]byte{1, 2, 3, 4}, 0, 2)
	if !bytes.Equal(buf, want) {
		t.Error("masked wrongly while masking alone")
	}
}
