package main

import "syscall"

// sysProcAttr puts the service in a process group of its own, so that a
// terminal's Ctrl-C reaches this program only (which then stops the
// service with SIGTERM), and has the kernel send it SIGTERM should this
// program die first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
