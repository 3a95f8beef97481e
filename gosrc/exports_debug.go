//go:build !gomask_nodebug

package main

/*
#include "gomask_abi.h"
*/
import "C"

import (
	"math"
	"unsafe"

	"gomask/internal/cthread"
)

// Exports for tests and benchmarks, not part of the public API: the Python
// side declares them only where they exist, and a library built with
// -tags gomask_nodebug, which leaves them out, works the same.

// gomask_debug_empty does nothing, with the prototype of gomask_mask: the
// benchmark times it as the floor cost of a call into Go.
//
//export gomask_debug_empty
func gomask_debug_empty(dst, src *C.uint8_t, n C.size_t, key *C.uint8_t) *C.gomask_error {
	return nil
}

// gomask_debug_panic panics on purpose so that tests can check that a Go
// panic reaches Python as an exception; with runtimeError set it indexes
// out of range (a runtime.Error) instead. A message it cannot read (NULL
// with a length, a length beyond Go's int) is an error, not a panic.
//
//export gomask_debug_panic
func gomask_debug_panic(msg *C.char, n C.size_t, runtimeError C.int) (err *C.gomask_error) {
	defer recoverPanic(&err)
	if uint64(n) > math.MaxInt {
		return overflowError("debug_panic: length %d does not fit in an int", uint64(n)).c()
	}
	if n > 0 && msg == nil {
		return valueError("debug_panic: NULL message with a non-zero length").c()
	}
	if runtimeError != 0 {
		var table []int
		_ = table[int(n)]
	}
	panic(string(goBytes((*C.uint8_t)(unsafe.Pointer(msg)), n)))
}

// gomask_debug_set_yields turns the yields of cthread.Return on (on != 0)
// or off and returns 1 if they were on: the benchmark measures calls after
// pauses both ways.
//
//export gomask_debug_set_yields
func gomask_debug_set_yields(on C.int) C.int {
	if cthread.SetEnabled(on != 0) {
		return 1
	}
	return 0
}
