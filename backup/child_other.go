//go:build !linux

package backup

import "os/exec"

// dieWithParent is Linux only (Pdeathsig); elsewhere a child orphaned by
// a killed server runs until it is stopped by hand.
func dieWithParent(*exec.Cmd) {}
