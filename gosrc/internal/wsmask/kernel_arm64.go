//go:build !purego

package wsmask

// Implemented in kernel_arm64.s.

//go:noescape
func maskNEON(dst, src *byte, n int, key uint32)

func archKernels() []kernel {
	return []kernel{{"neon", maskNEON, nil}}
}

// lastLevelCacheSize returns 0: no kernel here has non-temporal stores to
// choose, so the cache size is not needed.
func lastLevelCacheSize() int { return 0 }
