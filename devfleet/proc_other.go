//go:build !linux

package devfleet

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
