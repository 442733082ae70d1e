//go:build !linux

package password

import (
	"errors"
	"os/exec"
	"time"
)

// lowPriorityWorks: startLowPriority cannot lower a child alone.
const lowPriorityWorks = false

// selfExe is unused where lowPriorityWorks is false.
const selfExe = ""

// A worker's class is how it shares the CPU; there are no workers here.
type class int

const (
	idleClass class = iota
	lowClass
)

func (c class) String() string { return "none" }

// startLowPriority is Linux-only: elsewhere a priority set on one thread
// may lower the whole server's, so the Hasher hashes in its own process.
func startLowPriority(*exec.Cmd, class) (class, error) {
	return lowClass, errors.New("a low-priority hash worker needs Linux")
}

// cpuTime is not called where there are no workers.
func cpuTime(int) (time.Duration, error) { return 0, errors.ErrUnsupported }
