//go:build !purego

package wsmask

// Implemented in kernel_amd64.s.

//go:noescape
func maskAVX2(dst, src *byte, n int, key uint32)

//go:noescape
func maskAVX2Stream(dst, src *byte, n int, key uint32)

//go:noescape
func maskSSE2(dst, src *byte, n int, key uint32)

//go:noescape
func maskSSE2Stream(dst, src *byte, n int, key uint32)

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
	k := []kernel{{"sse2", maskSSE2, maskSSE2Stream}}
	if hasAVX2() {
		k = append(k, kernel{"avx2", maskAVX2, maskAVX2Stream})
	}
	return k
}

// lastLevelCacheSize returns the size in bytes of the largest data or
// unified cache that CPUID describes, or 0 if it describes none. Intel
// describes its caches in leaf 4, AMD in leaf 0x8000001D (with the
// topology extensions); both use the same layout, and each vendor returns
// zeros for the other's leaf, so both are tried.
func lastLevelCacheSize() int {
	if maxID, _, _, _ := cpuid(0, 0); maxID >= 4 {
		if size := cacheLeafSize(4); size != 0 {
			return size
		}
	}
	const topologyExtensions = 1 << 22
	maxExt, _, _, _ := cpuid(0x80000000, 0)
	if maxExt < 0x8000001D {
		return 0
	}
	if _, _, ecx, _ := cpuid(0x80000001, 0); ecx&topologyExtensions == 0 {
		return 0
	}
	return cacheLeafSize(0x8000001D)
}

// cacheLeafSize returns the size of the largest data or unified cache of a
// deterministic cache parameters leaf, whose subleaves describe one cache
// each until one of type 0.
func cacheLeafSize(leaf uint32) int {
	const instructionCache = 2
	size := 0
	for sub := uint32(0); sub < 16; sub++ {
		eax, ebx, ecx, _ := cpuid(leaf, sub)
		typ := eax & 31
		if typ == 0 {
			break
		}
		if typ == instructionCache {
			continue
		}
		ways := int(ebx>>22) + 1
		partitions := int(ebx>>12&0x3ff) + 1
		lineSize := int(ebx&0xfff) + 1
		sets := int(ecx) + 1
		size = max(size, ways*partitions*lineSize*sets)
	}
	return size
}
