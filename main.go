// Command roster is a self-hosted user-profile and account-membership
// service: one binary, one SQLite file, server-rendered pages. The program
// is in server/; this file holds what is fixed when the binary is built.
package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"

	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

//go:embed static
var staticFiles embed.FS

func main() {
	// The server hashes passwords in a child process: this same binary,
	// started again with ROSTER_HASH_WORKER=1.
	if password.IsHashWorker() {
		os.Exit(server.HashWorker())
	}
	static, _ := fs.Sub(staticFiles, "static")
	roster := server.Command{Static: static, Version: version}
	if err := roster.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "roster:", err)
		os.Exit(1)
	}
}
