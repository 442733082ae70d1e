//go:build !linux

package password

import (
	"errors"
	"os/exec"
)

// lowPriorityWorks: startLowPriority cannot lower a child alone.
const lowPriorityWorks = false

// selfExe is unused where lowPriorityWorks is false.
const selfExe = ""

// startLowPriority is Linux-only: elsewhere a priority set on one thread
// may lower the whole server's, so the Hasher hashes in its own process.
func startLowPriority(*exec.Cmd) error {
	return errors.New("a low-priority hash worker needs Linux")
}
