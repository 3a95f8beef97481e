// Package wsmask implements WebSocket payload masking as specified by
// RFC 6455 section 5.3: byte i of the payload is XORed with byte (i mod 4)
// of a 4-byte masking key.
//
// Masking is an involution: applying the same key at the same position
// twice restores the input, so the same functions unmask.
//
// The work is done by the fastest kernel for the CPU: AVX2 (32-byte
// vectors) or SSE2 on amd64, NEON on arm64, chosen once at start-up, and a
// portable 64-bit word loop everywhere else or with the purego build tag.
// Every kernel XORs against the key broadcast into a register, so nothing
// is built per call. On amd64, copies too large for the last-level cache
// write with non-temporal stores (see StreamThreshold).
package wsmask

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// KeySize is the length of a WebSocket masking key.
const KeySize = 4

// kernel is one implementation of the masking loop: fn masks n > 0 bytes
// of src into dst with key, whose low byte applies to src[0]. dst and src
// are the same pointer or do not overlap.
//
// stream, when not nil, is fn with non-temporal stores, which write dst to
// memory without keeping it in the caches: for copies larger than the
// last-level cache, where the cached lines would be evicted unread anyway,
// this saves reading dst into the cache before overwriting it and is much
// faster; for smaller ones it is slower. It requires dst 32-byte aligned
// and distinct from src, and orders its stores before returning.
type kernel struct {
	name   string
	fn     func(dst, src *byte, n int, key uint32)
	stream func(dst, src *byte, n int, key uint32)
}

// kernels are the implementations this CPU can run, slowest first: the
// portable one, then those of archKernels (kernel_*.go). Tests run each.
var kernels = append([]kernel{{"generic", maskGeneric, nil}}, archKernels()...)

// active is the kernel in use: the last, fastest, of kernels.
var active = kernels[len(kernels)-1]

// Kernel names the kernel in use ("avx2", "sse2", "neon" or "generic").
// Large copies use its variant with non-temporal stores, where it has one
// (avx2 and sse2; see StreamThreshold).
func Kernel() string { return active.name }

// streamMin is the copy length from which the non-temporal stores of the
// kernel pay, for one goroutine: 3/8 of the last-level cache, the length
// from which src and dst together fill 3/4 of it, or 12 MiB if CPUID
// gives no cache size (the crossover BenchmarkMaskCopyStream finds; see
// docs/performance.md).
//
// A copy shared by two goroutines switches at twice the length, 3/4 of the
// cache, as glibc's memcpy does: cached stores from two cores go twice as
// fast, while non-temporal ones are bounded by the memory bandwidth that
// one core nearly saturates.
var streamMin = streamThreshold(lastLevelCacheSize())

func streamThreshold(cacheSize int) int {
	if cacheSize <= 0 {
		return 12 << 20
	}
	return cacheSize / 8 * 3
}

// StreamThreshold returns the length from which Mask copies (dst distinct
// from src) with non-temporal stores, on kernels that have them: stores
// that bypass the caches, faster when src and dst do not fit in the
// last-level cache, and that leave the cache to other data. It is 3/8 of
// the last-level cache that CPUID reports. MaskParallel uses twice that
// for the copies it shares with helpers, which write faster to the cache.
func StreamThreshold() int { return streamMin }

const (
	// chunkSize bounds the bytes one assembly call masks. The runtime
	// cannot preempt a goroutine inside assembly, so a large buffer is
	// masked in chunks to keep it responsive: a garbage collection waits
	// for one chunk at most.
	chunkSize = 64 << 10

	// alignMin is the length from which dst is first brought to a 32-byte
	// boundary, so that no vector store splits a cache line.
	alignMin = 512
)

// Mask writes src XORed with the mask stream of key into dst and returns
// the mask position that continues the stream after src.
//
// pos is the position of src[0] in the mask stream; only pos mod 4 matters.
// dst must be at least len(src) bytes long. dst and src may overlap exactly
// (masking in place) or not at all; any other overlap gives unspecified
// results. Mask panics if dst is too short, without writing anything.
func Mask(dst, src []byte, key [KeySize]byte, pos int) int {
	n := len(src)
	if len(dst) < n {
		panic("wsmask: dst shorter than src")
	}
	phase := pos & (KeySize - 1)
	maskRotated(dst[:n], src, rotate(key, phase), useStream(dst, src, false))
	return (phase + n) & (KeySize - 1)
}

// useStream reports whether the copy of src into dst (dst at least as long)
// is long enough for non-temporal stores, shared with helpers or not. The
// decision is taken once for the whole call, whose length is what matters
// for the caches, and passed down to each chunk.
func useStream(dst, src []byte, shared bool) bool {
	threshold := streamMin
	if shared {
		threshold *= 2
	}
	return len(src) >= threshold && unsafe.SliceData(dst) != unsafe.SliceData(src)
}

// rotate returns the key as a little-endian word whose low byte is the one
// applied at mask position phase.
func rotate(key [KeySize]byte, phase int) uint32 {
	return bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*phase)
}

// maskRotated masks src into dst (len(dst) == len(src)) with a key word
// from rotate, with the non-temporal stores of the active kernel if stream
// is set and it has them.
func maskRotated(dst, src []byte, key uint32, stream bool) {
	n := len(src)
	if n == 0 {
		return
	}
	fn := active.fn
	if n >= alignMin {
		if head := int(-uintptr(unsafe.Pointer(&dst[0])) & 31); head != 0 {
			maskGeneric(&dst[0], &src[0], head, key)
			key = bits.RotateLeft32(key, -8*(head&(KeySize-1)))
			dst, src, n = dst[head:], src[head:], n-head
		}
		// dst is aligned, as the stream kernels require.
		if stream && active.stream != nil {
			fn = active.stream
		}
	}
	// Chunks are multiples of KeySize: the key phase is the same at each.
	for n > chunkSize {
		fn(&dst[0], &src[0], chunkSize, key)
		dst, src, n = dst[chunkSize:], src[chunkSize:], n-chunkSize
	}
	fn(&dst[0], &src[0], n, key)
}

// maskGeneric is the portable kernel: eight bytes at a time with the key
// repeated in a uint64, four words per iteration.
func maskGeneric(dstp, srcp *byte, n int, key uint32) {
	dst := unsafe.Slice(dstp, n)
	src := unsafe.Slice(srcp, n)
	k := uint64(key) | uint64(key)<<32
	i := 0
	for ; n-i >= 32; i += 32 {
		s := src[i : i+32 : i+32]
		d := dst[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(d[0:], binary.LittleEndian.Uint64(s[0:])^k)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k)
	}
	for ; n-i >= 8; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k)
	}
	if n-i >= 4 {
		binary.LittleEndian.PutUint32(dst[i:], binary.LittleEndian.Uint32(src[i:])^key)
		i += 4
	}
	for ; i < n; i++ {
		dst[i] = src[i] ^ byte(key)
		key >>= 8
	}
}
