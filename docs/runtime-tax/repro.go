// A c-shared library with one export that does nothing, to show what the Go
// runtime charges calls that arrive on threads it did not create, after a
// pause (see ../runtime-tax.md):
//
//	go build -buildmode=c-shared -o librepro.so repro.go
//	python3 driver.py ./librepro.so
//
// With REPRO_YIELD=1 in the environment, the export lets the scheduler run
// on its P at most every 5 ms (runtime.Gosched), which moves the P's
// scheduling tick so that sysmon leaves the P alone: the workaround that
// gomask ships (gosrc/internal/cthread), in its simplest form.
package main

import "C"

import (
	"os"
	"runtime"
	"sync/atomic"
	"time"
)

func main() {}

var (
	yield     = os.Getenv("REPRO_YIELD") == "1"
	start     = time.Now()
	lastYield atomic.Int64
)

//export noop
func noop() {
	if !yield {
		return
	}
	if now := int64(time.Since(start)); now-lastYield.Load() >= int64(5*time.Millisecond) {
		lastYield.Store(now)
		runtime.Gosched()
	}
}
