package bytesize

import "testing"

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{1000, "1000 bytes"},
		{1 << 10, "1 KiB"},
		{16 << 10, "16 KiB"},
		{(1 << 20) + (1 << 10), "1025 KiB"},
		{64 << 20, "64 MiB"},
		{8 << 30, "8192 MiB"},
	} {
		if got := Format(c.n); got != c.want {
			t.Errorf("Format(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
