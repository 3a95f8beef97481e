// Command gomask is the C ABI of the gomask Python package, built with
// -buildmode=c-shared and called through ctypes.
//
// Every export follows the same contract:
//   - buffers arrive as a pointer and a size_t length and are never kept
//     after the call returns (cgo pointer rules);
//   - the result is NULL on success or a gomask_error the caller releases
//     with gomask_error_free;
//   - every argument is checked before it is used: a NULL pointer with a
//     non-zero length (or where a result is to be written), a length or a
//     count beyond Go's int, counts whose arrays do not fit in memory and
//     lengths whose sum wraps around are GOMASK_EVALUE or GOMASK_EOVERFLOW
//     errors. A check describes what is wrong in Go memory (abiError);
//     only the export turns it into the one C error it returns, so no
//     error path allocates anything it does not hand over;
//   - exports that return void cannot fail: they accept every value of
//     their arguments (a NULL result pointer is not written);
//   - panics are recovered and reported as GOMASK_EPANIC errors, since an
//     unrecovered panic would abort the host interpreter; none is expected
//     from any argument (tests/test_abi.py calls every export of the
//     generated header with hostile ones);
//   - memory handed to the caller is C memory, released by the matching
//     gomask_*_free export.
//
// The ABI is C data only: pointers with their lengths, integers, and the
// error struct. No Python object or Python function crosses it, so one
// library serves every Python implementation and version that has ctypes.
// The exports of exports_debug.go exist for tests and benchmarks only; the
// Python side works without them (build with -tags gomask_nodebug).
//
// The ABI version is written once, as ABI_VERSION in src/gomask/_abi.py;
// the build passes it here (-ldflags -X main.abiVersion=N), and a library
// built without it reports 0, which the binding refuses. Changing any
// prototype, or a struct of gomask_abi.h, requires bumping it.
package main

/*
#include "gomask_abi.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"gomask/internal/cthread"
	"gomask/internal/person"
	"gomask/internal/wsmask"
)

// abiVersion identifies the prototypes and struct layouts of this file;
// version is the gomask release. The build sets both with -X.
var abiVersion, version = "0", "unknown"

func abi() uint32 {
	v, err := strconv.ParseUint(abiVersion, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(v)
}

func main() {}

// init runs after the init of every package this one imports: wsmask has
// sized its splits by the CPUs before cthread raises GOMAXPROCS.
func init() { cthread.RaiseProcs() }

//export gomask_abi_version
func gomask_abi_version() C.uint32_t { return C.uint32_t(abi()) }

// gomask_build_info returns a JSON object describing the build; release it
// with gomask_free.
//
//export gomask_build_info
func gomask_build_info() *C.char {
	info, _ := json.Marshal(map[string]any{
		"version":     version,
		"abi":         abi(),
		"go_version":  runtime.Version(),
		"goos":        runtime.GOOS,
		"goarch":      runtime.GOARCH,
		"max_procs":   runtime.GOMAXPROCS(0),
		"yields":      cthread.Enabled(),
		"max_workers": wsmask.MaxWorkers(),
		"mask_kernel": wsmask.Kernel(),
		// Copies of at least this many bytes write with non-temporal
		// stores (twice that when split over goroutines).
		"stream_threshold": wsmask.StreamThreshold(),
	})
	return C.CString(string(info))
}

//export gomask_free
func gomask_free(p unsafe.Pointer) { C.free(p) }

//export gomask_error_free
func gomask_error_free(e *C.gomask_error) {
	if e != nil {
		C.free(unsafe.Pointer(e.message))
		C.free(unsafe.Pointer(e))
	}
}

// Masking. Every buffer comes with its length in bytes; key points to the
// 4 bytes of a masking key, the length RFC 6455 fixes, applied from its
// first byte: for a stream position that is not a multiple of 4 the caller
// passes the key rotated. dst and src are the same pointer (masking in
// place) or do not overlap. Go reads and writes them only until the export
// returns. Each masking export ends with cthread.Return, so that calls
// after short pauses cost what they cost back to back.

// gomask_mask writes n bytes of src masked with key into dst. Buffers of
// at least the threshold of gomask_set_parallelism are split over
// goroutines.
//
//export gomask_mask
func gomask_mask(dst, src *C.uint8_t, n C.size_t, key *C.uint8_t) (err *C.gomask_error) {
	defer cthread.Return()
	defer recoverPanic(&err)
	if e := checkMask(dst, src, n, key); e != nil {
		return e.c()
	}
	d, s, k := goBytes(dst, n), goBytes(src, n), goKey(key)
	if workers := split.workers.Load(); workers > 1 && uint64(n) >= split.threshold.Load() {
		wsmask.MaskParallel(d, s, k, 0, int(workers))
	} else {
		wsmask.Mask(d, s, k, 0)
	}
	return nil
}

// gomask_mask_inplace is gomask_mask with dst == src: one argument fewer,
// which costs Python less per call than the masking of a kilobyte.
//
//export gomask_mask_inplace
func gomask_mask_inplace(buf *C.uint8_t, n C.size_t, key *C.uint8_t) *C.gomask_error {
	return gomask_mask(buf, buf, n, key)
}

// split holds the settings of gomask_set_parallelism, read on every large
// call: atomics, so that no call takes a lock.
var split = newSplitSettings()

type splitSettings struct {
	threshold atomic.Uint64
	workers   atomic.Int64
}

func newSplitSettings() *splitSettings {
	s := &splitSettings{}
	s.threshold.Store(wsmask.DefaultParallelThreshold)
	s.workers.Store(int64(wsmask.MaxWorkers()))
	return s
}

// gomask_set_parallelism sets from which length gomask_mask splits a
// buffer (threshold) and over how many goroutines at most (workers, the
// caller's included; 1 turns splitting off, and more than
// wsmask.MaxWorkers, the CPUs Go may use, counts as that many); 0 for
// either restores its default. gomask_parallelism reports the settings in
// effect.
//
//export gomask_set_parallelism
func gomask_set_parallelism(threshold, workers C.size_t) {
	if threshold == 0 {
		threshold = wsmask.DefaultParallelThreshold
	}
	if workers == 0 {
		workers = C.size_t(wsmask.MaxWorkers())
	}
	split.threshold.Store(uint64(threshold))
	split.workers.Store(int64(min(uint64(workers), uint64(wsmask.MaxWorkers()))))
}

//export gomask_parallelism
func gomask_parallelism(threshold, workers *C.size_t) {
	// Either may be NULL: that setting is not reported.
	if threshold != nil {
		*threshold = C.size_t(split.threshold.Load())
	}
	if workers != nil {
		*workers = C.size_t(split.workers.Load())
	}
}

// gomask_mask_batch masks count payloads laid out back to back, each with
// its own key, from mask position 0: payload i is the lens[i] bytes that
// follow payload i-1 in src (the first at src), written to the same
// offset of dst; lens holds count lengths that add up to n; keys holds
// keys_len == 4 * count bytes, the key of payload i at 4 * i.
//
//export gomask_mask_batch
func gomask_mask_batch(dst, src *C.uint8_t, n C.size_t, lens *C.size_t, count C.size_t, keys *C.uint8_t, keysLen C.size_t) (err *C.gomask_error) {
	defer cthread.Return()
	defer recoverPanic(&err)
	if e := checkBatch(unsafe.Pointer(dst), unsafe.Pointer(src), uint64(n), unsafe.Pointer(lens), uint64(count), unsafe.Pointer(keys), uint64(keysLen)); e != nil {
		return e.c()
	}
	// size_t has the width of uintptr wherever Go builds c-shared libraries.
	l := unsafe.Slice((*uintptr)(unsafe.Pointer(lens)), int(count))
	if e := checkLengths(l, uint64(n)); e != nil {
		return e.c()
	}
	d, s, k := goBytes(dst, n), goBytes(src, n), goBytes(keys, keysLen)
	for i, size := range l {
		wsmask.Mask(d[:size], s[:size], [wsmask.KeySize]byte(k[i*wsmask.KeySize:]), 0)
		d, s = d[size:], s[size:]
	}
	return nil
}

// abiError is what a check found wrong with an export's arguments, in Go
// memory: the export converts it (c) into the gomask_error it returns, so
// that a check can never allocate an error nobody returns.
type abiError struct {
	code    C.int32_t
	message string
}

func (e *abiError) c() *C.gomask_error { return newError(e.code, e.message) }

func valueError(format string, args ...any) *abiError {
	return &abiError{C.GOMASK_EVALUE, fmt.Sprintf(format, args...)}
}

func overflowError(format string, args ...any) *abiError {
	return &abiError{C.GOMASK_EOVERFLOW, fmt.Sprintf(format, args...)}
}

// checkBatch checks gomask_mask_batch's pointers and sizes, before any is
// used: count payloads need count lengths of a size_t each and 4 * count
// key bytes, all within Go's int; NULL only where nothing is read through
// it (count or n is 0).
func checkBatch(dst, src unsafe.Pointer, n uint64, lens unsafe.Pointer, count uint64, keys unsafe.Pointer, keysLen uint64) *abiError {
	if count > math.MaxInt/max(wsmask.KeySize, uint64(unsafe.Sizeof(uintptr(0)))) {
		return overflowError("gomask_mask_batch: %d payloads: their lengths or keys do not fit in an int", count)
	}
	if keysLen != count*wsmask.KeySize {
		return valueError("gomask_mask_batch: %d key bytes for %d payloads", keysLen, count)
	}
	if n > math.MaxInt {
		return overflowError("gomask_mask_batch: length %d does not fit in an int", n)
	}
	if n > 0 && (dst == nil || src == nil) {
		return valueError("gomask_mask_batch: NULL buffer with a non-zero length")
	}
	if count > 0 && (lens == nil || keys == nil) {
		return valueError("gomask_mask_batch: NULL lengths or keys with a non-zero count")
	}
	return nil
}

// checkLengths checks that the payload lengths add up to exactly n, without
// letting their sum wrap around: each must fit in what is left of n.
func checkLengths(lens []uintptr, n uint64) *abiError {
	left := n
	for i, size := range lens {
		if uint64(size) > left {
			return valueError("gomask_mask_batch: the lengths add up to more than n = %d (at payload %d)", n, i)
		}
		left -= uint64(size)
	}
	if left != 0 {
		return valueError("gomask_mask_batch: the lengths add up to %d, not n = %d", n-left, n)
	}
	return nil
}

func checkMask(dst, src *C.uint8_t, n C.size_t, key *C.uint8_t) *abiError {
	if key == nil || (n > 0 && (dst == nil || src == nil)) {
		return valueError("gomask_mask: NULL buffer or key")
	}
	if uint64(n) > math.MaxInt {
		return overflowError("gomask_mask: length does not fit in an int")
	}
	return nil
}

// goKey copies the 4 key bytes at key.
func goKey(key *C.uint8_t) [wsmask.KeySize]byte {
	return *(*[wsmask.KeySize]byte)(unsafe.Pointer(key))
}

// gomask_hello_world writes a line to standard output with the write
// system call itself, not through os.Stdout: the os package turns EPIPE on
// descriptor 1 or 2 into a SIGPIPE that kills the whole host process
// (c-shared Go does not see that Python ignores SIGPIPE), so printing to a
// closed pipe must come back as an error instead.
//
//export gomask_hello_world
func gomask_hello_world() (err *C.gomask_error) {
	defer recoverPanic(&err)
	line := []byte("Hello, world! (from Go)\n")
	for len(line) > 0 {
		n, werr := syscall.Write(syscall.Stdout, line)
		if werr == syscall.EINTR {
			continue // a signal (Ctrl-C) arrived: Python handles it after the call
		}
		if werr == nil && n <= 0 {
			werr = io.ErrShortWrite // never loop forever on a write that makes no progress
		}
		if werr != nil {
			return newError(C.GOMASK_EVALUE, "hello_world: cannot write to standard output: "+werr.Error())
		}
		line = line[n:]
	}
	return nil
}

//export gomask_add
func gomask_add(a, b C.int64_t, out *C.int64_t) (err *C.gomask_error) {
	defer recoverPanic(&err)
	if out == nil {
		return newError(C.GOMASK_EVALUE, "add: NULL result pointer")
	}
	sum := int64(a) + int64(b)
	if (sum > int64(a)) != (int64(b) > 0) {
		return newError(C.GOMASK_EOVERFLOW, fmt.Sprintf("add: %d + %d overflows a 64-bit integer", int64(a), int64(b)))
	}
	*out = C.int64_t(sum)
	return nil
}

// gomask_parse_person decodes n bytes of JSON at doc into *out, which the
// caller releases with gomask_person_free; *out is NULL after an error.
//
//export gomask_parse_person
func gomask_parse_person(doc *C.char, n C.size_t, out **C.gomask_person) (err *C.gomask_error) {
	defer recoverPanic(&err)
	if out == nil {
		return newError(C.GOMASK_EVALUE, "parse_person: NULL result pointer")
	}
	*out = nil // on every error
	if n > 0 && doc == nil {
		return newError(C.GOMASK_EVALUE, "parse_person: NULL document with a non-zero length")
	}
	if uint64(n) > person.MaxDocumentSize {
		return newError(C.GOMASK_EVALUE, fmt.Sprintf("parse_person: document is %d bytes, more than the limit of %d", uint64(n), person.MaxDocumentSize))
	}
	p, derr := person.Decode(goBytes((*C.uint8_t)(unsafe.Pointer(doc)), n))
	if derr != nil {
		return newError(C.GOMASK_EVALUE, derr.Error())
	}
	*out = cPerson(p)
	return nil
}

//export gomask_person_free
func gomask_person_free(p *C.gomask_person) {
	if p == nil {
		return
	}
	C.free(unsafe.Pointer(p.name.data))
	for _, s := range unsafe.Slice(p.cars, p.n_cars) {
		C.free(unsafe.Pointer(s.data))
	}
	C.free(unsafe.Pointer(p.cars))
	for _, f := range unsafe.Slice(p.friends, p.n_friends) {
		C.free(unsafe.Pointer(f.name.data))
	}
	C.free(unsafe.Pointer(p.friends))
	C.free(unsafe.Pointer(p))
}

func recoverPanic(err **C.gomask_error) {
	if r := recover(); r != nil {
		*err = newError(C.GOMASK_EPANIC, fmt.Sprintf("Go panic: %v", r))
	}
}

// takeError returns the code and message of e, which it frees; 0 and "" for
// NULL. For the tests of this package, which cannot use cgo themselves.
func takeError(e *C.gomask_error) (code int, message string) {
	if e == nil {
		return 0, ""
	}
	defer gomask_error_free(e)
	return int(e.code), C.GoString(e.message)
}

func newError(code C.int32_t, message string) *C.gomask_error {
	e := (*C.gomask_error)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gomask_error{}))))
	e.code = code
	e.message = C.CString(message)
	return e
}

// goBytes views C memory as a Go slice without copying. The slice must not
// outlive the export call that received p. The caller has checked that p
// is not NULL where n > 0 and that n fits in an int: unsafe.Slice's own
// checks are a recoverable panic in a normal build but a fatal error in a
// checkptr build (-race, -asan), which the host could not survive.
func goBytes(p *C.uint8_t, n C.size_t) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

func cString(s string) C.gomask_string {
	// C.CBytes of an empty slice may return NULL; a 1-byte allocation
	// keeps every data pointer valid and freeable.
	data := C.malloc(C.size_t(max(len(s), 1)))
	copy(unsafe.Slice((*byte)(data), len(s)), s)
	return C.gomask_string{data: (*C.char)(data), len: C.size_t(len(s))}
}

func cPerson(p person.Person) *C.gomask_person {
	out := (*C.gomask_person)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gomask_person{}))))
	out.name = cString(p.Name)
	out.age = C.int64_t(p.Age)
	out.n_cars = C.size_t(len(p.Cars))
	out.cars = (*C.gomask_string)(C.calloc(C.size_t(max(len(p.Cars), 1)), C.size_t(unsafe.Sizeof(C.gomask_string{}))))
	for i, car := range p.Cars {
		unsafe.Slice(out.cars, len(p.Cars))[i] = cString(car)
	}
	out.n_friends = C.size_t(len(p.Friends))
	out.friends = (*C.gomask_friend)(C.calloc(C.size_t(max(len(p.Friends), 1)), C.size_t(unsafe.Sizeof(C.gomask_friend{}))))
	for i, f := range p.Friends {
		unsafe.Slice(out.friends, len(p.Friends))[i] = C.gomask_friend{name: cString(f.Name), age: C.int64_t(f.Age)}
	}
	return out
}
