//go:build !linux

package main

import "syscall"

// sysProcAttr: nothing special off Linux (where RSS is not read either).
func sysProcAttr() *syscall.SysProcAttr { return nil }
