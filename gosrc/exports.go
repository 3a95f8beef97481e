// Command gomask is the C ABI of the gomask Python package, built with
// -buildmode=c-shared and called through ctypes.
//
// Every export follows the same contract:
//   - buffers arrive as a pointer and a size_t length and are never kept
//     after the call returns (cgo pointer rules);
//   - the result is NULL on success or a gomask_error the caller releases
//     with gomask_error_free;
//   - panics are recovered and reported as GOMASK_EPANIC errors, since an
//     unrecovered panic would abort the host interpreter;
//   - memory handed to the caller is C memory, released by the matching
//     gomask_*_free export.
//
// pyapi.c adds exports written in C around the masking exports:
// gomask_set_python_api, gomask_set_mask_policy, gomask_mask_new,
// gomask_mask_bytearray and gomask_mask_batch, which call CPython's C API
// (pyapi.c explains why and the rules); gomask_mask_new and
// gomask_mask_batch return Python objects, gomask_mask_bytearray raises
// Python exceptions.
//
// Changing any prototype or struct below requires bumping abiVersion and
// the ABI_VERSION constant in src/gomask/_native.py.
package main

/*
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

enum {
	GOMASK_EVALUE = 1,
	GOMASK_EOVERFLOW = 2,
	GOMASK_EPANIC = 3,
};

typedef struct {
	int32_t code;
	char *message;
} gomask_error;

typedef struct {
	char *data;
	size_t len;
} gomask_string;

typedef struct {
	gomask_string name;
	int64_t age;
} gomask_friend;

typedef struct {
	gomask_string name;
	int64_t age;
	gomask_string *cars;
	size_t n_cars;
	gomask_friend *friends;
	size_t n_friends;
} gomask_person;
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"gomask/internal/person"
	"gomask/internal/wsmask"
)

// abiVersion identifies the prototypes and struct layouts of this file.
const abiVersion = 3

// version is the gomask release, set by the build with -X main.version.
var version = "unknown"

func main() {}

//export gomask_abi_version
func gomask_abi_version() C.uint32_t { return abiVersion }

// gomask_build_info returns a JSON object describing the build; release it
// with gomask_free.
//
//export gomask_build_info
func gomask_build_info() *C.char {
	info, _ := json.Marshal(map[string]any{
		"version":     version,
		"abi":         abiVersion,
		"go_version":  runtime.Version(),
		"goos":        runtime.GOOS,
		"goarch":      runtime.GOARCH,
		"max_procs":   runtime.GOMAXPROCS(0),
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

// Masking. Every buffer comes with its length; key points to the 4 bytes
// of a masking key (the length RFC 6455 fixes), applied from its first
// byte: for a stream position that is not a multiple of 4 the caller passes
// the key rotated. dst and src may be the same pointer (masking in place)
// or must not overlap. Python calls the short-buffer exports with the GIL
// held, so they take as few arguments as possible: converting each argument
// costs more than masking a kilobyte.

// gomask_mask writes n bytes of src masked with key into dst, splitting
// buffers of at least two parts (wsmask.MinPartSize each) over up to
// workers goroutines.
//
//export gomask_mask
func gomask_mask(dst, src *C.uint8_t, n C.size_t, key *C.uint8_t, workers C.size_t) (err *C.gomask_error) {
	defer recoverPanic(&err)
	if e := checkMask(dst, src, n, key); e != nil {
		return e
	}
	wsmask.MaskParallel(goBytes(dst, n), goBytes(src, n), goKey(key), 0, int(min(workers, 1<<16)))
	return nil
}

// gomask_set_spin sets how long, in nanoseconds, the helper goroutines of
// gomask_mask poll for the next call before they sleep (wsmask.SetSpin).
//
//export gomask_set_spin
func gomask_set_spin(ns C.int64_t) {
	wsmask.SetSpin(time.Duration(ns))
}

// gomask_mask_copy is gomask_mask on one goroutine, without the workers
// argument.
//
//export gomask_mask_copy
func gomask_mask_copy(dst, src *C.uint8_t, n C.size_t, key *C.uint8_t) (err *C.gomask_error) {
	defer recoverPanic(&err)
	if e := checkMask(dst, src, n, key); e != nil {
		return e
	}
	wsmask.Mask(goBytes(dst, n), goBytes(src, n), goKey(key), 0)
	return nil
}

// gomask_mask_inplace masks n bytes at buf in place, on one goroutine.
//
//export gomask_mask_inplace
func gomask_mask_inplace(buf *C.uint8_t, n C.size_t, key *C.uint8_t) (err *C.gomask_error) {
	defer recoverPanic(&err)
	if e := checkMask(buf, buf, n, key); e != nil {
		return e
	}
	b := goBytes(buf, n)
	wsmask.Mask(b, b, goKey(key), 0)
	return nil
}

// gomask_mask_vectors masks count frames, each with its own key, from mask
// position 0: frame i is the lens[i] bytes at srcs[i], written to dsts[i]
// (the same pointer, or a buffer that does not overlap it); keys holds
// keys_len == 4 * count bytes, the key of frame i at 4 * i.
//
//export gomask_mask_vectors
func gomask_mask_vectors(dsts, srcs **C.uint8_t, lens *C.size_t, count C.size_t, keys *C.uint8_t, keysLen C.size_t) (err *C.gomask_error) {
	defer recoverPanic(&err)
	if uint64(count) > math.MaxInt/wsmask.KeySize {
		return newError(C.GOMASK_EOVERFLOW, "gomask_mask_vectors: count does not fit in an int")
	}
	if uint64(keysLen) != uint64(count)*wsmask.KeySize {
		return newError(C.GOMASK_EVALUE, fmt.Sprintf("gomask_mask_vectors: %d key bytes for %d frames", uint64(keysLen), uint64(count)))
	}
	if count == 0 {
		return nil
	}
	if dsts == nil || srcs == nil || lens == nil || keys == nil {
		return newError(C.GOMASK_EVALUE, "gomask_mask_vectors: NULL array with a non-zero count")
	}
	m := int(count)
	d, s, l := unsafe.Slice(dsts, m), unsafe.Slice(srcs, m), unsafe.Slice(lens, m)
	k := goBytes(keys, keysLen)
	for i := range m {
		if l[i] == 0 {
			continue
		}
		if e := checkMask(d[i], s[i], l[i], keys); e != nil {
			return e
		}
		wsmask.Mask(goBytes(d[i], l[i]), goBytes(s[i], l[i]), [wsmask.KeySize]byte(k[i*wsmask.KeySize:]), 0)
	}
	return nil
}

// gomask_debug_empty2 and gomask_debug_empty3 do nothing, with the
// argument types of gomask_mask_new and gomask_mask_bytearray (two
// objects), and of gomask_mask_inplace: the benchmark times them as the
// floor cost of a call into Go. They are not part of the public API.
//
//export gomask_debug_empty3
func gomask_debug_empty3(buf *C.uint8_t, n C.size_t, key *C.uint8_t) *C.gomask_error {
	return nil
}

//export gomask_debug_empty2
func gomask_debug_empty2(obj, key unsafe.Pointer) *C.gomask_error {
	return nil
}

func checkMask(dst, src *C.uint8_t, n C.size_t, key *C.uint8_t) *C.gomask_error {
	if key == nil || (n > 0 && (dst == nil || src == nil)) {
		return newError(C.GOMASK_EVALUE, "gomask_mask: NULL buffer or key")
	}
	if uint64(n) > math.MaxInt {
		return newError(C.GOMASK_EOVERFLOW, "gomask_mask: length does not fit in an int")
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
	sum := int64(a) + int64(b)
	if (sum > int64(a)) != (int64(b) > 0) {
		return newError(C.GOMASK_EOVERFLOW, fmt.Sprintf("add: %d + %d overflows a 64-bit integer", int64(a), int64(b)))
	}
	*out = C.int64_t(sum)
	return nil
}

// gomask_parse_person decodes n bytes of JSON at doc into *out, which the
// caller releases with gomask_person_free.
//
//export gomask_parse_person
func gomask_parse_person(doc *C.char, n C.size_t, out **C.gomask_person) (err *C.gomask_error) {
	defer recoverPanic(&err)
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

// gomask_debug_panic panics on purpose so that tests can check that a Go
// panic reaches Python as an exception. It is not part of the public API.
//
//export gomask_debug_panic
func gomask_debug_panic(msg *C.char, n C.size_t, runtimeError C.int) (err *C.gomask_error) {
	defer recoverPanic(&err)
	if runtimeError != 0 {
		var table []int
		_ = table[int(n)] // index out of range: a runtime.Error panic
	}
	panic(string(goBytes((*C.uint8_t)(unsafe.Pointer(msg)), n)))
}

func recoverPanic(err **C.gomask_error) {
	if r := recover(); r != nil {
		*err = newError(C.GOMASK_EPANIC, fmt.Sprintf("Go panic: %v", r))
	}
}

func newError(code C.int32_t, message string) *C.gomask_error {
	e := (*C.gomask_error)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gomask_error{}))))
	e.code = code
	e.message = C.CString(message)
	return e
}

// goBytes views C memory as a Go slice without copying. The slice must not
// outlive the export call that received p.
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
