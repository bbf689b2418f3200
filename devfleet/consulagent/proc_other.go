//go:build !linux

package consulagent

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
