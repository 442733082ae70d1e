package backup

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel stop the child when the server dies
// (SIGKILL, the OOM killer) so that no orphan streams a database that a
// new server, with its own child, is writing.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
