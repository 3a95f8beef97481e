// Package wsmask implements WebSocket payload masking as specified by
// RFC 6455 section 5.3: byte i of the payload is XORed with byte (i mod 4)
// of a 4-byte masking key.
//
// Masking is an involution: applying the same key at the same position
// twice restores the input, so the same functions unmask.
package wsmask

import (
	"crypto/subtle"
	"encoding/binary"
	"runtime"
	"sync"
)

// KeySize is the length of a WebSocket masking key.
const KeySize = 4

// tileSize is the length of the pre-tiled key block handed to
// subtle.XORBytes. It is a multiple of KeySize (so every block starts at the
// same mask phase) and small enough to stay in L1 next to the data.
const tileSize = 1024

// wordLoopMax is the length below which building a tile costs more than it
// saves: short payloads go through a 64-bit word loop instead.
const wordLoopMax = 64

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
	rotated := rotate(key, phase)
	if n < wordLoopMax {
		maskWords(dst[:n], src, rotated)
	} else {
		maskTiled(dst[:n], src, rotated)
	}
	return (phase + n) & (KeySize - 1)
}

// MaskParallel is Mask split over up to workers goroutines, each masking a
// contiguous part of src. It is worth it only for buffers of several MiB,
// where one core cannot saturate memory bandwidth; workers <= 1 or short
// inputs fall back to Mask. Workers beyond runtime.GOMAXPROCS are not used.
func MaskParallel(dst, src []byte, key [KeySize]byte, pos int, workers int) int {
	n := len(src)
	if len(dst) < n {
		panic("wsmask: dst shorter than src")
	}
	workers = min(workers, runtime.GOMAXPROCS(0), n/minPartSize)
	if workers <= 1 {
		return Mask(dst, src, key, pos)
	}
	// Parts are multiples of the tile size so each starts on a whole key
	// period and at a cache-line boundary relative to src.
	part := (n/workers + tileSize - 1) / tileSize * tileSize
	var wg sync.WaitGroup
	var panicked any
	var once sync.Once
	for start := 0; start < n; start += part {
		end := min(start+part, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					once.Do(func() { panicked = r })
				}
			}()
			Mask(dst[start:end], src[start:end], key, pos+start)
		}()
	}
	wg.Wait()
	if panicked != nil {
		// Re-raise on the caller's goroutine, where the export layer
		// recovers it; a panic on another goroutine would abort the process.
		panic(panicked)
	}
	return (pos + n) & (KeySize - 1)
}

// minPartSize is the smallest share of a buffer worth handing to its own
// goroutine: below it, start-up and synchronisation cost more than the
// parallel XOR saves.
const minPartSize = 256 << 10

// rotate returns key rotated so that its first byte is the one applied at
// mask position phase.
func rotate(key [KeySize]byte, phase int) [KeySize]byte {
	var r [KeySize]byte
	for i := range r {
		r[i] = key[(i+phase)&(KeySize-1)]
	}
	return r
}

// maskWords masks 8 bytes at a time with the key repeated in a uint64.
func maskWords(dst, src []byte, key [KeySize]byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k64)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] ^ key[i&(KeySize-1)]
	}
}

// maskTiled XORs src against a block of repeated key bytes with
// subtle.XORBytes, which uses SIMD on amd64 and arm64.
func maskTiled(dst, src []byte, key [KeySize]byte) {
	var tile [tileSize]byte
	filled := min(len(src), tileSize)
	filled = (filled + KeySize - 1) &^ (KeySize - 1)
	copy(tile[:KeySize], key[:])
	for done := KeySize; done < filled; done *= 2 {
		copy(tile[done:filled], tile[:done])
	}
	for i := 0; i < len(src); i += tileSize {
		end := min(i+tileSize, len(src))
		subtle.XORBytes(dst[i:end], src[i:end], tile[:end-i])
	}
}
