package server

import (
	"os"
	"testing"

	"github.com/rosterhq/roster/password"
)

// TestMain lets the test binary serve as the servers' password hash
// worker, as the roster binary does.
func TestMain(m *testing.M) {
	if password.IsHashWorker() {
		os.Exit(HashWorker())
	}
	os.Exit(m.Run())
}

// testCommand is the command line as main.go builds it, serving the
// repository's static folder.
var testCommand = Command{Static: os.DirFS("../static"), Version: "dev"}
