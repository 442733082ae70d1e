package e2e

import (
	"os"
	"testing"

	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/server"
)

// TestMain lets the test binary serve as the password hash worker of the
// servers the tests run in their own process, as the roster binary does.
func TestMain(m *testing.M) {
	if password.IsHashWorker() {
		os.Exit(server.HashWorker())
	}
	os.Exit(m.Run())
}

// roster is the command line as main.go builds it, serving the
// repository's static folder.
var roster = server.Command{Static: os.DirFS("../static"), Version: "dev"}
