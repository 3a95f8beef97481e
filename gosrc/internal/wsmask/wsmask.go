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
// is built per call.
package wsmask

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// KeySize is the length of a WebSocket masking key.
const KeySize = 4

// kernel is one implementation of the masking loop: it masks n > 0 bytes
// of src into dst with key, whose low byte applies to src[0]. dst and src
// are the same pointer or do not overlap.
type kernel struct {
	name string
	fn   func(dst, src *byte, n int, key uint32)
}

// kernels are the implementations this CPU can run, slowest first: the
// portable one, then those of archKernels (kernel_*.go). Tests run each.
var kernels = append([]kernel{{"generic", maskGeneric}}, archKernels()...)

// active is the kernel in use: the last, fastest, of kernels.
var active = kernels[len(kernels)-1]

// Kernel names the kernel in use ("avx2", "sse2", "neon" or "generic").
func Kernel() string { return active.name }

const (
	// chunkSize bounds the bytes one assembly call masks. The runtime
	// cannot preempt a goroutine inside assembly, so a 16 MiB buffer is
	// masked in chunks to keep it responsive (a garbage collection waits
	// for at most one chunk, about 2 µs).
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
	maskRotated(dst[:n], src, rotate(key, phase))
	return (phase + n) & (KeySize - 1)
}

// rotate returns the key as a little-endian word whose low byte is the one
// applied at mask position phase.
func rotate(key [KeySize]byte, phase int) uint32 {
	return bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*phase)
}

// maskRotated masks src into dst (len(dst) == len(src)) with a key word
// from rotate.
func maskRotated(dst, src []byte, key uint32) {
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

// MaskParallel is Mask shared with up to workers-1 more goroutines.
//
// The buffer is cut into chunks of chunkSize bytes that the calling
// goroutine and its helpers claim one at a time, so the caller starts at
// once and a helper that the scheduler starts late (waking a sleeping
// thread takes microseconds) just takes fewer chunks: it is never slower
// than Mask by more than the cost of starting the helpers, and with two
// free cores close to twice as fast on large buffers. workers <= 1, and
// inputs of less than two MinPartSize shares, fall back to Mask; helpers
// beyond runtime.GOMAXPROCS or one per MinPartSize are not started.
//
// When MaskParallel returns, every byte is masked and no helper touches
// dst or src any more: a helper that starts after all chunks are claimed
// returns without reading them.
func MaskParallel(dst, src []byte, key [KeySize]byte, pos int, workers int) int {
	n := len(src)
	if len(dst) < n {
		panic("wsmask: dst shorter than src")
	}
	workers = min(workers, runtime.GOMAXPROCS(0), n/MinPartSize)
	if workers <= 1 {
		return Mask(dst, src, key, pos)
	}
	phase := pos & (KeySize - 1)
	j := &parallelJob{dst: dst[:n], src: src, key: rotate(key, phase), chunks: (n + chunkSize - 1) / chunkSize}
	j.done = make(chan struct{})
	for range workers - 1 {
		go j.work()
	}
	j.work()
	j.wait()
	// Every claimed chunk is finished; late helpers find none left and
	// never look at the buffers, which nothing keeps after this.
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
type parallelJob struct {
	dst, src []byte
	key      uint32
	chunks   int
	next     atomic.Int64 // the next chunk to claim
	finished atomic.Int64 // chunks masked (or abandoned by a panic)
	done     chan struct{}
	panicked atomic.Pointer[any]
}

// work masks chunks until none is left to claim; whoever finishes the last
// chunk closes done.
func (j *parallelJob) work() {
	for {
		i := int(j.next.Add(1) - 1)
		if i >= j.chunks {
			return
		}
		j.maskChunk(i)
		if int(j.finished.Add(1)) == j.chunks {
			close(j.done)
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

func (j *parallelJob) maskChunk(i int) {
	defer func() {
		if r := recover(); r != nil {
			j.panicked.CompareAndSwap(nil, &r)
		}
	}()
	start := i * chunkSize
	end := min(start+chunkSize, len(j.src))
	maskRotated(j.dst[start:end], j.src[start:end], j.key)
}

// MinPartSize is the smallest share of a buffer worth a goroutine of its
// own: MaskParallel starts one helper per MinPartSize bytes at most.
const MinPartSize = 256 << 10
