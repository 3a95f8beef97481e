//go:build !purego

package wsmask

// Implemented in kernel_amd64.s.

//go:noescape
func maskAVX2(dst, src *byte, n int, key uint32)

//go:noescape
func maskSSE2(dst, src *byte, n int, key uint32)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// hasAVX2 reports whether the CPU has AVX2 and the operating system saves
// the YMM registers on context switches (CPUID and XGETBV, as Go's own
// internal/cpu checks them).
func hasAVX2() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

func archKernels() []kernel {
	k := []kernel{{"sse2", maskSSE2}}
	if hasAVX2() {
		k = append(k, kernel{"avx2", maskAVX2})
	}
	return k
}
