package devfleet

import "syscall"

// procAttr kills a goiardi if the process that started it dies without
// calling Stop (a test binary hitting its timeout), so no shard outlives it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
