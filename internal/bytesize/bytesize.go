// Package bytesize writes byte counts as Shearch's configuration gives
// them (64 MiB, 16 KiB), so an error names a bound as the operator wrote
// it. It is a leaf: it must never import anything of Shearch.
package bytesize

import "fmt"

// Format writes n as configs give it: 64 MiB, 16 KiB, 100 bytes.
func Format(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
