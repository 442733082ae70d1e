package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// What the tests and benchmarks read of processes in /proc: the children a
// server started (its password hash workers), their priority, CPU, faults
// and memory.

// children lists the running processes that pid started.
func children(pid int) []int {
	lists, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var pids []int
	for _, list := range lists {
		b, _ := os.ReadFile(list)
		for f := range strings.FieldsSeq(string(b)) {
			if child, err := strconv.Atoi(f); err == nil {
				pids = append(pids, child)
			}
		}
	}
	return pids
}

// procStat returns the fields of /proc/PID/stat after "pid (comm) ", so
// that field n of proc(5) is [n-3]: minflt (10) is [7], utime (14) [11],
// stime (15) [12], nice (19) [16].
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 17 {
		return nil, fmt.Errorf("/proc/%d/stat has %d fields after the name", pid, len(f))
	}
	return f, nil
}

// procStatusKB reads one size of pid, in KiB, from /proc/PID/status:
// VmRSS is all resident memory, RssAnon the part that is not file pages.
func procStatusKB(pid int, key string) (int64, error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}
