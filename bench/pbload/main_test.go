package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/server"
)

// TestMain lets the test binary serve as the password hash worker of the
// Roster it runs, as the roster binary does.
func TestMain(m *testing.M) {
	if password.IsHashWorker() {
		os.Exit(server.HashWorker())
	}
	os.Exit(m.Run())
}

// startRoster serves Roster on a new database over loopback, wired as
// serve wires it, and returns its base URL.
func startRoster(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"ROSTER_DB":       t.TempDir() + "/roster.db",
		"ROSTER_BASE_URL": base,
		"ROSTER_ADDR":     ln.Addr().String(),
	}
	roster := server.Command{Static: os.DirFS("../../static"), Version: "dev"}
	app, err := roster.Open(t.Context(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app.Echo}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		app.Store.Close()
	})
	return base
}

// pbload runs the program with args and returns what it printed; anything
// on stderr (a failed request) fails the test.
func pbload(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(args, &stdout, &stderr); err != nil {
		t.Fatalf("pbload %s: %v", strings.Join(args, " "), err)
	}
	if stderr.Len() > 0 {
		t.Errorf("pbload %s wrote to stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	return stdout.String()
}

// figures is the line measure prints, as the summary of the notes parses it.
var figures = regexp.MustCompile(`^(.*?): (\d+) in [\d.]+s, [\d.]+/s ok, p50 [\d.]+ms p99 [\d.]+ms max [\d.]+ms, errors (\d+), 503/429 \d+\n$`)

// checkFigures checks that out is one line of figures for what, with n
// requests and no errors.
func checkFigures(t *testing.T, out, what string, n int) {
	t.Helper()
	m := figures.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("got %q, want one line of figures", out)
	}
	if m[1] != what || m[2] != strconv.Itoa(n) || m[3] != "0" {
		t.Errorf("got %q, want %q with %d requests and errors 0", out, what, n)
	}
}

// TestRoster runs the subcommands against a real Roster, as "How to rerun"
// does: sign-ups and sign-ins through its forms (CSRF cookie and masked
// token), the own-record read with the session cookie the sign-in set, and
// the bare reference, whose body must be Roster's answer byte for byte.
func TestRoster(t *testing.T) {
	base := startRoster(t)

	if got, want := pbload(t, "users", "roster", base, "3"), "users roster: 3 signed up\n"; got != want {
		t.Errorf("users: got %q, want %q", got, want)
	}

	tok := pbload(t, "token", "roster", base)
	readURL, header, ok := strings.Cut(strings.TrimSuffix(tok, "\n"), "\t")
	if !ok || readURL != base+"/api/v1/me/preferences" || !strings.HasPrefix(header, "Cookie: roster_session=") {
		t.Fatalf("token: got %q, want URL<TAB>Cookie: roster_session=...", tok)
	}
	checkFigures(t, pbload(t, "read", readURL, header, "20"), "read "+readURL, 20)

	checkFigures(t, pbload(t, "signin", "roster", base, "2", "4"), "signin roster x2", 4)
	checkFigures(t, pbload(t, "waves", "roster", base, "3", "1"), "waves roster x3", 3)

	bare := httptest.NewServer(bareHandler())
	defer bare.Close()
	checkFigures(t, pbload(t, "read", bare.URL+"/me", "Accept: */*", "20"), "read "+bare.URL+"/me", 20)

	name, value, _ := strings.Cut(header, ": ")
	if got, want := get(t, readURL, name, value), get(t, bare.URL+"/me", "Accept", "*/*"); got != want {
		t.Errorf("bare sends %q, Roster %q: want the same", want, got)
	}
}

// get is the body of a GET of url with one header, which must answer 200.
func get(t *testing.T, url, name, value string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(name, value)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", url, res.StatusCode)
	}
	return string(body)
}

// TestUsage checks that a mistaken command line is refused with a line
// saying what is wrong, before any request.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no subcommand"},
		{[]string{"load"}, `unknown subcommand "load"`},
		{[]string{"users", "roster", "http://127.0.0.1:1"}, "users takes KIND BASE N"},
		{[]string{"signin", "couch", "http://127.0.0.1:1", "10", "300"}, `KIND must be roster or pb, got "couch"`},
		{[]string{"signin", "roster", "127.0.0.1:1", "10", "300"}, "BASE must be a URL"},
		{[]string{"waves", "pb", "http://127.0.0.1:1", "50", "0"}, `W must be a number above zero, got "0"`},
		{[]string{"read", "http://127.0.0.1:1/me", "Accept */*", "10"}, `HEADER must be "Name: value"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(tc.args, &stdout, io.Discard)
			var usage usageError
			if !errors.As(err, &usage) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want a usage error starting %q", err, tc.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("printed %q, want nothing", stdout.String())
			}
		})
	}
}
