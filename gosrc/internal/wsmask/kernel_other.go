//go:build purego || !(amd64 || arm64)

package wsmask

// archKernels: no assembly for this target (or the purego tag asked for
// none); the portable Go kernel does the work.
func archKernels() []kernel { return nil }

// lastLevelCacheSize returns 0: the portable kernel has no non-temporal
// stores to choose, so the cache size is not needed.
func lastLevelCacheSize() int { return 0 }
