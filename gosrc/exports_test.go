package main

import (
	"math"
	"strings"
	"testing"
	"unsafe"
)

// The argument checks of the export layer, and the exports themselves where
// their arguments can be written without cgo (NULL and integers):
// tests/test_abi.py calls every export with hostile arguments from C.

const (
	codeValue    = 1 // GOMASK_EVALUE
	codeOverflow = 2 // GOMASK_EOVERFLOW
)

func TestCheckLengthsRejectsSumsThatWrapAround(t *testing.T) {
	for _, tc := range []struct {
		lens []uintptr
		n    uint64
		ok   bool
	}{
		{nil, 0, true},
		{[]uintptr{0, 0}, 0, true},
		{[]uintptr{2, 3}, 5, true},
		{[]uintptr{2, 3}, 6, false},
		{[]uintptr{2, 4}, 5, false},
		// 1 + (2**64-1) + 1 wraps to 1: a sum taken naively would pass.
		{[]uintptr{1, math.MaxUint, 1}, 1, false},
		{[]uintptr{math.MaxUint, 1}, 0, false},
		{[]uintptr{1 << 63, 1 << 63}, 0, false},
	} {
		if got := checkLengths(tc.lens, tc.n); (got == nil) != tc.ok {
			t.Errorf("checkLengths(%v, %d) = %v, want ok = %v", tc.lens, tc.n, got, tc.ok)
		}
	}
}

func TestCheckBatch(t *testing.T) {
	var b [64]byte
	p := unsafe.Pointer(&b[0])
	for _, tc := range []struct {
		name                 string
		dst, src, lens, keys unsafe.Pointer
		n, count, keysLen    uint64
		code                 int
		messagePart          string
	}{
		{"nothing", nil, nil, nil, nil, 0, 0, 0, 0, ""},
		{"no payloads, data NULL", nil, nil, nil, nil, 5, 0, 0, codeValue, "NULL buffer"},
		{"NULL keys", p, p, p, nil, 4, 1, 4, codeValue, "NULL lengths or keys"},
		{"NULL lengths", p, p, nil, p, 4, 1, 4, codeValue, "NULL lengths or keys"},
		{"key bytes", p, p, p, p, 4, 1, 3, codeValue, "3 key bytes for 1 payloads"},
		{"n beyond int", p, p, p, p, 1 << 63, 1, 4, codeOverflow, "does not fit"},
		// 4 * 2**62 wraps to 0 in 64 bits: keysLen 0 would match it.
		{"count * 4 wraps", p, p, p, p, 4, 1 << 62, 0, codeOverflow, "do not fit"},
		{"count * 8 beyond int", p, p, p, p, 4, math.MaxInt/4 - 1, 4 * (math.MaxInt/4 - 1), codeOverflow, "do not fit"},
		{"count max", p, p, p, p, 4, math.MaxUint64, 0, codeOverflow, "do not fit"},
		{"one payload", p, p, p, p, 4, 1, 4, 0, ""},
	} {
		e := checkBatch(tc.dst, tc.src, tc.n, tc.lens, tc.count, tc.keys, tc.keysLen)
		switch {
		case tc.code == 0 && e != nil:
			t.Errorf("%s: %v, want no error", tc.name, e.message)
		case tc.code != 0 && (e == nil || int(e.code) != tc.code || !strings.Contains(e.message, tc.messagePart)):
			t.Errorf("%s: %+v, want code %d with %q", tc.name, e, tc.code, tc.messagePart)
		}
	}
}

func TestExportsTakeNULLWithoutPanicking(t *testing.T) {
	gomask_parallelism(nil, nil) // panicked (nil dereference), aborting the process
	for _, tc := range []struct {
		name string
		call func() (int, string)
		code int
	}{
		{"mask_batch empty", func() (int, string) { return takeError(gomask_mask_batch(nil, nil, 0, nil, 0, nil, 0)) }, 0},
		{"mask_batch NULL data", func() (int, string) { return takeError(gomask_mask_batch(nil, nil, 5, nil, 0, nil, 0)) }, codeValue},
		{"mask_batch NULL lens", func() (int, string) { return takeError(gomask_mask_batch(nil, nil, 0, nil, 1, nil, 4)) }, codeValue},
		{"mask_batch huge count", func() (int, string) {
			return takeError(gomask_mask_batch(nil, nil, 0, nil, math.MaxUint64, nil, math.MaxUint64))
		}, codeOverflow},
		{"mask NULL key", func() (int, string) { return takeError(gomask_mask(nil, nil, 0, nil)) }, codeValue},
		{"mask NULL data", func() (int, string) { return takeError(gomask_mask_inplace(nil, 1, nil)) }, codeValue},
		{"add NULL out", func() (int, string) { return takeError(gomask_add(1, 2, nil)) }, codeValue},
		{"parse_person NULL out", func() (int, string) { return takeError(gomask_parse_person(nil, 0, nil)) }, codeValue},
		{"parse_person NULL doc", func() (int, string) {
			var out *_Ctype_gomask_person
			code, message := takeError(gomask_parse_person(nil, 5, &out))
			if out != nil {
				t.Errorf("parse_person wrote a result with its error")
			}
			return code, message
		}, codeValue},
	} {
		if code, message := tc.call(); code != tc.code {
			t.Errorf("%s: code %d (%q), want %d", tc.name, code, message, tc.code)
		}
	}
}
