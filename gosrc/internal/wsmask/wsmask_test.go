package wsmask

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestMaskRFC6455Example(t *testing.T) {
	// RFC 6455 section 5.7: a masked "Hello" from a client.
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	got := make([]byte, 5)
	if next := Mask(got, []byte("Hello"), key, 0); next != 1 {
		t.Errorf("next position = %d, want 1", next)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Mask(Hello) = % x, want % x", got, want)
	}
}

func TestMaskTable(t *testing.T) {
	key := [4]byte{1, 2, 4, 8}
	tests := []struct {
		name string
		src  []byte
		pos  int
		want []byte
		next int
	}{
		{"empty", nil, 0, []byte{}, 0},
		{"empty keeps position", nil, 3, []byte{}, 3},
		{"one byte", []byte{0}, 0, []byte{1}, 1},
		{"phase 1", []byte{0, 0, 0, 0, 0}, 1, []byte{2, 4, 8, 1, 2}, 2},
		{"phase 3", []byte{0xff, 0xff}, 3, []byte{0xf7, 0xfe}, 1},
		{"position reduced mod 4", []byte{0}, 6, []byte{4}, 3},
		{"full period", []byte{1, 2, 4, 8, 1, 2, 4, 8}, 0, make([]byte, 8), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]byte, len(tt.src))
			if next := Mask(got, tt.src, key, tt.pos); next != tt.next {
				t.Errorf("next = %d, want %d", next, tt.next)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got % x, want % x", got, tt.want)
			}
		})
	}
}

// useKernel makes k the active kernel for the rest of the test.
func useKernel(t *testing.T, k kernel) {
	saved := active
	active = k
	t.Cleanup(func() { active = saved })
}

// testLengths are the lengths around every boundary of the kernels: the
// 4-, 8-, 16-, 32-, 64- and 128-byte steps of the loops and their tails,
// alignMin (from which dst is aligned first), 256-byte multiples and the
// chunk size.
func testLengths() []int {
	lengths := []int{}
	for n := 0; n <= 3*256+9; n++ {
		if n <= 300 || n%128 <= 9 || n%128 >= 128-9 || (n >= alignMin-40 && n <= alignMin+40) {
			lengths = append(lengths, n)
		}
	}
	for _, base := range []int{chunkSize, 2 * chunkSize} {
		for d := -9; d <= 40; d++ {
			lengths = append(lengths, base+d)
		}
	}
	return append(lengths, 5*chunkSize/2+77)
}

func TestKernelsAvailable(t *testing.T) {
	names := []string{}
	for _, k := range kernels {
		names = append(names, k.name)
	}
	t.Logf("kernels: %v, active: %s", names, Kernel())
	if kernels[0].name != "generic" || active.name != kernels[len(kernels)-1].name {
		t.Fatalf("kernels = %v, active = %s", names, active.name)
	}
}

// TestKernelsMatchReference calls every kernel directly, at every length
// up to 300 bytes and around each step, with src and dst at independent
// alignments, in place and not, and checks the bytes around dst are
// untouched.
func TestKernelsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			forKernelCases(rng, func(n, align int, src []byte, key [4]byte, want []byte) {
				word := rotate(key, 0)
				guarded := bytes.Repeat([]byte{0xa5}, n+64)
				dstAlign := (align * 5) % 32
				dst := guarded[16+dstAlign : 16+dstAlign+n]
				k.fn(&dst[0], &src[0], n, word)
				if !bytes.Equal(dst, want) {
					t.Fatalf("n=%d align=%d/%d: differs from reference", n, align, dstAlign)
				}
				for i, b := range guarded {
					if (i < 16+dstAlign || i >= 16+dstAlign+n) && b != 0xa5 {
						t.Fatalf("n=%d align=%d/%d: wrote outside dst at %d", n, align, dstAlign, i-16-dstAlign)
					}
				}
				k.fn(&src[0], &src[0], n, word)
				if !bytes.Equal(src, want) {
					t.Fatalf("n=%d align=%d: in place differs from reference", n, align)
				}
			})
		})
	}
}

// forKernelCases calls check for every length up to 300 bytes and around
// each 32-byte step up to 700, and every source alignment from 0 to 7,
// with random source bytes, a random key, and what the reference makes of
// them.
func forKernelCases(rng *rand.Rand, check func(n, align int, src []byte, key [4]byte, want []byte)) {
	for n := 1; n <= 700; n++ {
		if n > 300 && n%32 > 3 && n%32 < 29 {
			continue
		}
		for align := 0; align < 8; align++ {
			srcBuf := make([]byte, n+8)
			fillRandom(rng, srcBuf)
			src := srcBuf[align : align+n]
			key := randomKey(rng)
			want := make([]byte, n)
			maskReference(want, src, key, 0)
			check(n, align, src, key, want)
		}
	}
}

// TestMaskMatchesReference covers Mask with every kernel at every length
// of testLengths, every phase, and source and destination alignments
// that exercise the 32-byte alignment step.
func TestMaskMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := testLengths()
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			useKernel(t, k)
			for _, n := range lengths {
				aligns := []int{0, 1, 3, 4, 7, 16, 29}
				if n > 4096 {
					aligns = []int{0, 5}
				}
				for _, align := range aligns {
					buf := make([]byte, n+align)
					fillRandom(rng, buf)
					src := buf[align:]
					key := randomKey(rng)
					for pos := 0; pos < 8; pos++ {
						if n > 4096 && pos > 4 {
							break
						}
						want := make([]byte, n)
						wantNext := maskReference(want, src, key, pos)
						dstAlign := (align + pos) % 32
						got := make([]byte, n+dstAlign)[dstAlign:]
						if next := Mask(got, src, key, pos); next != wantNext || !bytes.Equal(got, want) {
							t.Fatalf("n=%d align=%d/%d pos=%d: Mask differs from reference", n, align, dstAlign, pos)
						}
						inPlace := bytes.Clone(src)
						Mask(inPlace, inPlace, key, pos)
						if !bytes.Equal(inPlace, want) {
							t.Fatalf("n=%d align=%d pos=%d: in-place Mask differs from reference", n, align, pos)
						}
					}
				}
			}
		})
	}
}

func TestMaskDoesNotWritePastSrc(t *testing.T) {
	key := [4]byte{0xaa, 0xbb, 0xcc, 0xdd}
	for n := 0; n < 2*alignMin+5; n += 7 {
		dst := bytes.Repeat([]byte{0x5a}, n+16)
		// dst is longer than src: only len(src) bytes may change.
		Mask(dst[8:], make([]byte, n), key, 1)
		for i, b := range append(dst[:8:8], dst[8+n:]...) {
			if b != 0x5a {
				t.Fatalf("n=%d: guard byte %d overwritten", n, i)
			}
		}
	}
}

func TestMaskShortDstPanicsWithoutWriting(t *testing.T) {
	dst := []byte{9, 9}
	defer func() {
		if recover() == nil {
			t.Fatal("Mask did not panic on a short dst")
		}
		if !bytes.Equal(dst, []byte{9, 9}) {
			t.Fatal("Mask wrote to dst before panicking")
		}
	}()
	Mask(dst, []byte{1, 2, 3}, [4]byte{1, 1, 1, 1}, 0)
}

func TestMaskParallelMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, MinPartSize - 1, MinPartSize, 2*MinPartSize + 3, 5*MinPartSize + chunkSize + 1, 4<<20 + 5} {
		for _, workers := range []int{0, 1, 2, 3, 8} {
			src := make([]byte, n)
			fillRandom(rng, src)
			key := randomKey(rng)
			pos := rng.IntN(4)
			want := make([]byte, n)
			wantNext := maskReference(want, src, key, pos)
			got := make([]byte, n)
			if next := MaskParallel(got, src, key, pos, workers); next != wantNext || !bytes.Equal(got, want) {
				t.Fatalf("n=%d workers=%d: MaskParallel differs from reference", n, workers)
			}
			MaskParallel(src, src, key, pos, workers)
			if !bytes.Equal(src, want) {
				t.Fatalf("n=%d workers=%d: in-place MaskParallel differs from reference", n, workers)
			}
		}
	}
}

func TestMaskParallelShortDstPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MaskParallel did not panic on a short dst")
		}
	}()
	MaskParallel(make([]byte, 1), make([]byte, 2), [4]byte{}, 0, 2)
}

// FuzzMask checks Mask, every kernel (and its non-temporal variant) and
// MaskParallel against the reference, for any payload, key, position and
// source alignment.
func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x3d21fa37), uint8(0), uint8(0))
	f.Add(make([]byte, 200), uint32(0xffffffff), uint8(3), uint8(5))
	f.Add(bytes.Repeat([]byte{0x80}, alignMin+13), uint32(1), uint8(2), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos uint8, align uint8) {
		key := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		shift := int(align % 8)
		if shift > len(data) {
			shift = len(data)
		}
		src := data[shift:]
		want := make([]byte, len(src))
		wantNext := maskReference(want, src, key, int(pos))
		got := make([]byte, len(src))
		if next := Mask(got, src, key, int(pos)); next != wantNext || !bytes.Equal(got, want) {
			t.Fatalf("Mask(len=%d, pos=%d) differs from reference", len(src), pos)
		}
		// Every kernel directly, out of place and in place, and its
		// non-temporal variant into an aligned dst.
		for _, k := range kernels {
			if len(src) == 0 {
				break
			}
			out := make([]byte, len(src))
			k.fn(&out[0], &src[0], len(src), rotate(key, int(pos)))
			inPlace := bytes.Clone(src)
			k.fn(&inPlace[0], &inPlace[0], len(src), rotate(key, int(pos)))
			if !bytes.Equal(out, want) || !bytes.Equal(inPlace, want) {
				t.Fatalf("kernel %s (len=%d, pos=%d) differs from reference", k.name, len(src), pos)
			}
			if k.stream != nil {
				aligned, _ := alignedBytes(len(src), 0)
				k.stream(&aligned[0], &src[0], len(src), rotate(key, int(pos)))
				if !bytes.Equal(aligned, want) {
					t.Fatalf("kernel %s with non-temporal stores (len=%d, pos=%d) differs from reference", k.name, len(src), pos)
				}
			}
		}
		// Involution: masking again at the same position restores src.
		Mask(got, got, key, int(pos))
		if !bytes.Equal(got, src) {
			t.Fatalf("masking twice did not restore the input (len=%d)", len(src))
		}
		// MaskParallel, on src repeated to the smallest length it splits
		// plus len(src) bytes (so that the input moves the last chunk's
		// end), against Mask: in place and into another buffer.
		if len(src) == 0 {
			return
		}
		n := 2*MinPartSize + len(src)
		large := bytes.Repeat(src, n/len(src)+1)[:n]
		wantLarge := make([]byte, n)
		wantNext = Mask(wantLarge, large, key, int(pos))
		workers := 2 + int(align%3)
		gotLarge := make([]byte, n)
		if next := MaskParallel(gotLarge, large, key, int(pos), workers); next != wantNext || !bytes.Equal(gotLarge, wantLarge) {
			t.Fatalf("MaskParallel(len=%d, pos=%d, workers=%d) differs from Mask", n, pos, workers)
		}
		if next := MaskParallel(large, large, key, int(pos), workers); next != wantNext || !bytes.Equal(large, wantLarge) {
			t.Fatalf("MaskParallel in place (len=%d, pos=%d, workers=%d) differs from Mask", n, pos, workers)
		}
	})
}

var benchSizes = []int{64, 125, 128, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 16 << 20}

// BenchmarkMask masks in place with the active kernel; the MB/s column is
// the throughput.
func BenchmarkMask(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				Mask(buf, buf, [4]byte{1, 2, 3, 4}, 1)
			}
		})
	}
}

// BenchmarkMaskCopy masks into a separate buffer, as mask() does.
func BenchmarkMaskCopy(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			src, dst := make([]byte, n), make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				Mask(dst, src, [4]byte{1, 2, 3, 4}, 1)
			}
		})
	}
}

// BenchmarkMaskUnaligned masks in place at an odd address (a memoryview
// slice of a bytearray, for instance).
func BenchmarkMaskUnaligned(b *testing.B) {
	for _, n := range []int{4 << 10, 64 << 10, 1 << 20} {
		b.Run(sizeName(n), func(b *testing.B) {
			buf := make([]byte, n+7)[7:]
			b.SetBytes(int64(n))
			for b.Loop() {
				Mask(buf, buf, [4]byte{1, 2, 3, 4}, 1)
			}
		})
	}
}

// BenchmarkKernels runs every kernel this CPU has, in place.
func BenchmarkKernels(b *testing.B) {
	for _, k := range kernels {
		for _, n := range []int{64, 1 << 10, 64 << 10, 1 << 20} {
			b.Run(k.name+"/"+sizeName(n), func(b *testing.B) {
				buf := make([]byte, n)
				b.SetBytes(int64(n))
				for b.Loop() {
					k.fn(&buf[0], &buf[0], n, 0x04030201)
				}
			})
		}
	}
}

func BenchmarkMaskReference(b *testing.B) {
	for _, n := range []int{64, 64 << 10} {
		b.Run(sizeName(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				maskReference(buf, buf, [4]byte{1, 2, 3, 4}, 1)
			}
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func fillRandom(rng *rand.Rand, buf []byte) {
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
}

func randomKey(rng *rand.Rand) [4]byte {
	k := rng.Uint32()
	return [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
}
