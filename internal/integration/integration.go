// Package integration marks the tests that need a real outside program
// (goiardi, consul, chromium, haproxy, sshd, a built binary): `make
// test-unit` (go test -short) skips them, `make test` and CI run them all.
// Only tests import it.
package integration

import "testing"

// Needs skips t under -short, naming what it needs; otherwise it does
// nothing, so an integration test never skips in a full run.
func Needs(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("integration: needs %s; run make test", what)
	}
}
