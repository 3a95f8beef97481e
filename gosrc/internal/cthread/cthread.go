// Package cthread keeps calls into Go that arrive on threads Go did not
// create — a C program's, or Python's calling a c-shared library through
// ctypes — as cheap after a short pause as back to back.
//
// Since Go 1.21 such a thread keeps its M between calls, and an export that
// returns leaves it "in a system call" still holding its P, so that the
// next call finds the P waiting. But the thread's goroutine never passes
// through the scheduler, so the P's scheduling tick never moves, and the
// runtime's monitor thread (sysmon), which takes a P from a system call
// once it has seen the same tick for 10 ms (forcePreemptNS), takes this P
// on its first pass after every call from then on. The next call then
// finds no P: it takes an idle one and wakes sysmon, which takes it away
// again and wakes another thread: tens of microseconds of CPU in the
// runtime's threads per call, whenever calls are more than a sysmon tick
// (20 µs to 10 ms) apart. docs/runtime-tax.md describes it with a
// reproduction; it belongs fixed in the runtime, and this package is the
// workaround: Return lets the scheduler run on the caller's P once in a
// while, which moves the tick, so that sysmon leaves the P alone.
//
// RaiseProcs raises GOMAXPROCS to at least MinProcs (unless the GOMAXPROCS
// environment variable is set): sysmon also takes a P from a system call
// after one tick when no P is idle, and every thread that calls keeps one.
package cthread

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname, for goyield
)

const (
	// Interval is the shortest time between two yields on one P, and
	// Window how recent a thread's previous call must be for Return to
	// yield. A thread whose calls are less than Window apart yields at
	// most Interval+Window after its last yield: under forcePreemptNS
	// (10 ms), so that the tick moves between any two passes of sysmon
	// 10 ms apart. A yield wakes other threads for a moment, so it pays
	// only where several calls share one; a thread that calls less often
	// keeps the runtime's behaviour, and one that stops calling costs
	// nothing.
	Interval = 6 * time.Millisecond
	Window   = 3 * time.Millisecond

	// MinProcs is the GOMAXPROCS this package sets at least: up to
	// MinProcs-1 threads can keep a P between their calls while one P stays
	// idle. Go code runs only for the length of a call, and gomask's own
	// goroutines are bounded by the CPUs, not by GOMAXPROCS.
	MinProcs = 16
)

// RaiseProcs sets GOMAXPROCS to MinProcs where it is lower and the
// GOMAXPROCS environment variable does not set it. Call it once, from the
// main package's init: packages that size their work by the CPUs (as
// wsmask does, from GOMAXPROCS, which follows a container's CPU limit)
// read GOMAXPROCS in their own init, before it.
func RaiseProcs() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < MinProcs {
		runtime.GOMAXPROCS(MinProcs)
	}
}

// pState is what Return remembers of one P: sysmon's check is per P, and a
// thread that keeps its P between calls sees the same one every time.
type pState struct {
	lastCall, lastYield time.Duration // since start
}

// perP holds one pState per P: sync.Pool keeps a private item per P, and
// Get and Put on the P the caller holds touch only that one. An item lost
// to the garbage collector (after two cycles) costs one early yield.
var perP = sync.Pool{New: func() any { return new(pState) }}

var (
	start   = time.Now()
	enabled atomic.Bool
)

func init() { enabled.Store(true) }

// Enabled reports whether Return yields (see SetEnabled).
func Enabled() bool { return enabled.Load() }

// SetEnabled turns Return on or off, process-wide, and reports whether it
// was on: off, calls cost what the runtime charges them (for measurements).
func SetEnabled(on bool) (was bool) { return enabled.Swap(on) }

// Return must be called by an export, on the calling thread, just before it
// returns to C. It yields to the scheduler if the thread's previous call on
// this P was less than Window ago and its last yield at least Interval ago;
// otherwise it only notes the time (tens of nanoseconds).
func Return() {
	if !enabled.Load() {
		return
	}
	now := time.Since(start)
	st := perP.Get().(*pState)
	due := st.note(now)
	perP.Put(st)
	if !due {
		return
	}
	yield()
	// The thread may hold another P now, whose tick moved with this yield.
	st = perP.Get().(*pState)
	st.yielded(now)
	perP.Put(st)
}

// note records a call at now and reports whether to yield.
func (st *pState) note(now time.Duration) bool {
	due := now-st.lastCall < Window && now-st.lastYield >= Interval
	st.lastCall = now
	return due
}

// yielded records a yield at now.
func (st *pState) yielded(now time.Duration) { st.lastCall, st.lastYield = now, now }

// yield runs the scheduler on the calling goroutine's P. The goroutine is
// locked to its thread (a cgo callback), so the thread hands its P to one
// other thread, which runs the scheduler (a tick), finds the goroutine and
// hands the P back.
//
// It is runtime.goyield, not runtime.Gosched: Gosched puts the goroutine on
// the global run queue and first wakes a spinning thread to look for work,
// which wakes more; goyield puts it on this P's own queue and wakes only the
// thread that takes the P: one thread woken per yield instead of about four
// (docs/runtime-tax.md). goyield is internal, but the runtime keeps it
// linkable with its signature for programs that use it (go.dev/issue/67401)
// in every Go this module builds with; a Go without it fails to link, loudly.
var yield = goyield

//go:linkname goyield runtime.goyield
func goyield()
