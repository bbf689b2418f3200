package waitfor

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a testing.TB that notes a failure instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	panic(r)
}

func TestUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		go func() {
			time.Sleep(3 * time.Second)
			n.Store(1)
		}()
		begin := time.Now()
		Until(t, "the flag", func() bool { return n.Load() == 1 })
		if took := time.Since(begin); took < 3*time.Second || took > 3*time.Second+20*time.Millisecond {
			t.Errorf("returned after %s, want within a poll of 3s", took)
		}
	})
}

func TestUntilFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{TB: t}
		func() {
			defer func() {
				if p := recover(); p != nil && p != r {
					panic(p)
				}
			}()
			Until(r, "never", func() bool { return false })
		}()
		if r.failed == "" {
			t.Fatal("a condition that never holds did not fail the test")
		}
	})
}
