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
			[]time.Duration{100 * ms, 101 * ms, 102 * ms, 104 * ms, 106 * ms, 107 * ms, 110 * ms, 111 * ms},
			[]bool{false, true, false, false, true, false, false, true}},
		{"calls Window apart never yield",
			[]time.Duration{100 * ms, 110 * ms, 120 * ms, 135 * ms},
			[]bool{false, false, false, false}},
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

func TestReturnYieldsOnlyWhenEnabled(t *testing.T) {
	defer func(y func()) { yield = y }(yield)
	var mu sync.Mutex
	yields := 0
	yield = func() { mu.Lock(); yields++; mu.Unlock(); runtime.Gosched() }
	was := SetEnabled(false)
	defer SetEnabled(was)
	for range 3 {
		Return()
		time.Sleep(Interval)
	}
	if yields != 0 {
		t.Fatalf("disabled: %d yields", yields)
	}
	SetEnabled(true)
	// Calls Interval apart, well within Window, on one P (the state is per
	// P): from the second on, each yields, but for the items that the race
	// detector's sync.Pool drops on purpose.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for range 20 {
		Return()
		time.Sleep(Interval + time.Millisecond)
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
