package wsmask

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// useStreamMin makes n the copy length from which Mask uses non-temporal
// stores (MaskParallel twice that), for the rest of the test.
func useStreamMin(t testing.TB, n int) {
	saved := streamMin
	streamMin = n
	t.Cleanup(func() { streamMin = saved })
}

// alignedBytes returns n bytes at an address that is offset bytes past a
// multiple of 64, inside a buffer of guard bytes 0xa5 of which guarded is
// the whole.
func alignedBytes(n, offset int) (b, guarded []byte) {
	guarded = bytes.Repeat([]byte{0xa5}, n+192)
	start := 64 + int(-uintptr(unsafe.Pointer(&guarded[64]))&63) + offset
	return guarded[start : start+n], guarded
}

// checkGuards fails the test if any byte of guarded outside b changed.
func checkGuards(t *testing.T, b, guarded []byte, what string) {
	t.Helper()
	start := int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(&guarded[0])))
	for i, v := range guarded {
		if (i < start || i >= start+len(b)) && v != 0xa5 {
			t.Fatalf("%s: wrote outside dst at %d", what, i-start)
		}
	}
}

// TestStreamKernelsMatchReference calls every non-temporal kernel directly
// at every length up to 300 bytes and around each step, into a 32-byte
// aligned dst (which they require) from sources at every alignment.
func TestStreamKernelsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tested := 0
	for _, k := range kernels {
		if k.stream == nil {
			continue
		}
		tested++
		t.Run(k.name, func(t *testing.T) {
			forKernelCases(rng, func(n, align int, src []byte, key [4]byte, want []byte) {
				for _, dstAlign := range []int{0, 32} {
					dst, guarded := alignedBytes(n, dstAlign)
					k.stream(&dst[0], &src[0], n, rotate(key, 0))
					if !bytes.Equal(dst, want) {
						t.Fatalf("n=%d align=%d/%d: differs from reference", n, align, dstAlign)
					}
					checkGuards(t, dst, guarded, "stream kernel")
				}
			})
		})
	}
	if tested == 0 {
		t.Skip("no kernel with non-temporal stores on this target")
	}
}

// TestMaskStreamMatchesReference forces the non-temporal path of every
// kernel at every length of testLengths, every phase, and source and
// destination alignments other than 32 bytes, through Mask and
// MaskParallel.
func TestMaskStreamMatchesReference(t *testing.T) {
	useStreamMin(t, 1)
	rng := rand.New(rand.NewPCG(9, 10))
	lengths := testLengths()
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			useKernel(t, k)
			for _, n := range lengths {
				aligns := []int{0, 1, 3, 5, 16, 29, 31}
				positions := 4
				if n > 4096 {
					aligns, positions = []int{0, 7}, 2
				}
				for _, align := range aligns {
					src, _ := alignedBytes(n, align)
					fillRandom(rng, src)
					key := randomKey(rng)
					for pos := range positions {
						want := make([]byte, n)
						wantNext := maskReference(want, src, key, pos)
						dstAlign := (align*3 + pos + 1) % 64
						dst, guarded := alignedBytes(n, dstAlign)
						if next := Mask(dst, src, key, pos); next != wantNext || !bytes.Equal(dst, want) {
							t.Fatalf("n=%d align=%d/%d pos=%d: Mask differs from reference", n, align, dstAlign, pos)
						}
						checkGuards(t, dst, guarded, "Mask")
					}
				}
			}
			for _, n := range []int{2 * MinPartSize, 2*MinPartSize + 3, 3*MinPartSize + chunkSize/2 + 1} {
				src, _ := alignedBytes(n, 13)
				fillRandom(rng, src)
				key := randomKey(rng)
				want := make([]byte, n)
				wantNext := maskReference(want, src, key, 3)
				dst, guarded := alignedBytes(n, 5)
				if next := MaskParallel(dst, src, key, 3, 2); next != wantNext || !bytes.Equal(dst, want) {
					t.Fatalf("n=%d: MaskParallel differs from reference", n)
				}
				checkGuards(t, dst, guarded, "MaskParallel")
			}
		})
	}
}

// TestStreamChoice checks, with a kernel that records its calls, that the
// non-temporal stores are used for copies of at least streamMin bytes
// only (twice that when shared with helpers), never in place, and always
// into a 32-byte aligned dst.
func TestStreamChoice(t *testing.T) {
	var calls, streamCalls int
	useKernel(t, kernel{
		name: "recording",
		fn: func(dst, src *byte, n int, key uint32) {
			calls++
			maskGeneric(dst, src, n, key)
		},
		stream: func(dst, src *byte, n int, key uint32) {
			if uintptr(unsafe.Pointer(dst))&31 != 0 || dst == src {
				t.Fatalf("stream kernel called with dst %p, src %p", dst, src)
			}
			streamCalls++
			maskGeneric(dst, src, n, key)
		},
	})
	const threshold = 3 * chunkSize
	useStreamMin(t, threshold)
	src := make([]byte, threshold+101)
	dst := make([]byte, len(src))
	tests := []struct {
		name        string
		dst, src    []byte
		wantStreams int
	}{
		{"copy below threshold", dst[3 : threshold-1], src[:threshold-4], 0},
		{"unaligned copy at threshold", dst[3 : threshold+3], src[:threshold], 3},
		{"unaligned copy above threshold", dst[1:], src[:threshold+100], 4},
		{"in place above threshold", src, src, 0},
	}
	for _, tt := range tests {
		calls, streamCalls = 0, 0
		Mask(tt.dst, tt.src, [4]byte{1, 2, 3, 4}, 0)
		if streamCalls != tt.wantStreams {
			t.Errorf("%s: %d stream kernel calls, want %d (and %d others)", tt.name, streamCalls, tt.wantStreams, calls)
		}
	}
	// A copy shared with helpers switches at twice the length.
	long, out := make([]byte, 2*threshold), make([]byte, 2*threshold)
	if useStream(out, long[:2*threshold-1], true) {
		t.Error("shared copy shorter than twice the threshold uses non-temporal stores")
	}
	if !useStream(out, long, true) {
		t.Error("shared copy of twice the threshold does not use non-temporal stores")
	}
}

// BenchmarkMaskCopyStream compares copies with and without non-temporal
// stores, on one goroutine and on two (back to back: helpers awake),
// around the size of the last-level cache: streamMin should sit where the
// stream rows become faster with one goroutine, twice streamMin with two.
func BenchmarkMaskCopyStream(b *testing.B) {
	if kernels[len(kernels)-1].stream == nil {
		b.Skip("no kernel with non-temporal stores on this target")
	}
	b.Logf("last-level cache %d bytes, streamMin %d", lastLevelCacheSize(), streamMin)
	for _, n := range []int{8 << 20, 12 << 20, 16 << 20, 20 << 20, 24 << 20, 32 << 20, 64 << 20} {
		for _, stores := range []struct {
			name      string
			streamMin int
		}{{"cached", n + 1}, {"stream", 1}} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", stores.name, sizeName(n), workers), func(b *testing.B) {
					useStreamMin(b, stores.streamMin)
					src, dst := make([]byte, n), make([]byte, n)
					b.SetBytes(int64(n))
					for b.Loop() {
						MaskParallel(dst, src, [4]byte{1, 2, 3, 4}, 1, workers)
					}
				})
			}
		}
	}
}
