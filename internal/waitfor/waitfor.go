// Package waitfor is the tests' one way to wait for what other goroutines
// or processes make true: it polls a condition, never sleeps a fixed time,
// and fails the test naming what did not happen. Tests whose timers are
// their own use testing/synctest instead. It must never be imported by
// non-test code.
package waitfor

import (
	"testing"
	"time"
)

// Within is how long Until waits: far past what any condition takes on a
// busy 2-core machine, so it bounds a hung test, never times a pass.
const Within = 10 * time.Second

// Until polls cond, from every millisecond up to every 20 ms, until it
// holds; past Within it fails the test, naming the condition by what.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Within)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; it never happened", Within, what)
		}
		time.Sleep(pause)
	}
}
