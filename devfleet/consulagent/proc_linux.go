package consulagent

import "syscall"

// procAttr kills the agent if the process that started it dies without
// calling Stop (a test binary hitting its timeout), so no agent outlives it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
