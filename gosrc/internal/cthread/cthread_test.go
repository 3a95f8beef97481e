package cthread

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestNote(t *testing.T) {
	ms := time.Millisecond
	// Each step: the time of a call, and whether it yields.
	for _, tc := range []struct {
		name  string
		calls []time.Duration
		want  []bool
	}{
		{"first call never yields", []time.Duration{100 * ms}, []bool{false}},
		{"calls close together yield once per Interval",
			[]time.Duration{100 * ms, 101 * ms, 102 * ms, 104 * ms, 106 * ms, 107 * ms, 110 * ms, 111 * ms, 113 * ms},
			[]bool{false, true, false, false, false, true, false, false, true}},
		{"calls Window apart never yield",
			[]time.Duration{100 * ms, 103 * ms, 106 * ms, 112 * ms, 122 * ms},
			[]bool{false, false, false, false, false}},
		{"a pause ends the run; the next close call yields again",
			[]time.Duration{100 * ms, 101 * ms, 150 * ms, 151 * ms},
			[]bool{false, true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st pState
			for i, now := range tc.calls {
				got := st.note(now)
				if got {
					st.yielded(now)
				}
				if got != tc.want[i] {
					t.Fatalf("call %d at %v: yield %v, want %v", i, now, got, tc.want[i])
				}
			}
		})
	}
}

// TestYieldsCoverSysmonsWindow: a thread whose calls are less than Window
// apart yields again less than forcePreemptNS (10 ms) after its last
// yield, whatever the gap, so that sysmon always sees its P's tick move.
func TestYieldsCoverSysmonsWindow(t *testing.T) {
	const forcePreemptNS = 10 * time.Millisecond
	if Interval+Window >= forcePreemptNS {
		t.Fatalf("Interval+Window = %v, not under %v", Interval+Window, forcePreemptNS)
	}
	for gap := 50 * time.Microsecond; gap < Window; gap += 50 * time.Microsecond {
		var st pState
		last := time.Duration(0)
		for now := time.Second; now < 2*time.Second; now += gap {
			if st.note(now) {
				st.yielded(now)
				if last != 0 && now-last >= forcePreemptNS {
					t.Fatalf("gap %v: yields at %v and %v", gap, last, now)
				}
				last = now
			}
		}
		if last == 0 {
			t.Fatalf("gap %v: no yield in a second of calls", gap)
		}
	}
}

func TestReturnYieldsOnlyWhenEnabled(t *testing.T) {
	defer func(y func()) { yield = y }(yield)
	var mu sync.Mutex
	yields := 0
	yield = func() { mu.Lock(); yields++; mu.Unlock(); runtime.Gosched() }
	was := SetEnabled(false)
	defer SetEnabled(was)
	for range 10 {
		Return()
		time.Sleep(time.Millisecond)
	}
	if yields != 0 {
		t.Fatalf("disabled: %d yields", yields)
	}
	SetEnabled(true)
	// Calls 1 ms apart, within Window, for 20 Intervals, on one P (the
	// state is per P): they yield, but for the items that the race
	// detector's sync.Pool drops on purpose.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for range 20 * Interval / time.Millisecond {
		Return()
		time.Sleep(time.Millisecond)
	}
	if yields == 0 {
		t.Fatal("enabled: calls Interval apart never yielded")
	}
}

func TestMinProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	RaiseProcs()
	got := runtime.GOMAXPROCS(0)
	if env := os.Getenv("GOMAXPROCS"); env != "" {
		if want, _ := strconv.Atoi(env); got != want {
			t.Fatalf("GOMAXPROCS=%s in the environment, but %d in effect", env, got)
		}
	} else if got < MinProcs {
		t.Fatalf("GOMAXPROCS %d after init, want at least %d", got, MinProcs)
	}
}

// BenchmarkReturn is what Return adds to every call that does not yield.
func BenchmarkReturn(b *testing.B) {
	for b.Loop() {
		Return()
	}
}
