package cthread

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
)

// TestYieldKeepsALockedGoroutineOnItsThread runs the real yield as a cgo
// callback does, on a goroutine locked to its thread, with other goroutines
// runnable: it returns, on the same thread, every time.
func TestYieldKeepsALockedGoroutineOnItsThread(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	for range 2 {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		}()
	}
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := syscall.Gettid()
		for i := range 1000 {
			yield()
			if now := syscall.Gettid(); now != tid {
				done <- fmt.Errorf("yield %d: on thread %d, locked to %d", i, now, tid)
				return
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
