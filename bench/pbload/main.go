// Command pbload reproduces the README's comparison of Roster with
// PocketBase ("Compared with PocketBase", its "How to rerun" steps and
// bench/pbload/run.sh): it drives both servers over HTTP alike, with the
// same client and connections, and prints one line of figures a run. User i
// is ui@example.com on either server, every user with the same password.
//
// Subcommands (KIND is roster or pb, BASE a server's base URL):
//
//	bare ADDR             serve a bare Echo on ADDR whose GET /me sends the
//	                      JSON Roster sends a user with default preferences:
//	                      the reference for the reads
//	users KIND BASE N     sign up users 0 to N-1
//	token KIND BASE       sign user 0 in and print the read of its own record
//	                      as "URL<TAB>Name: value", for read
//	read URL HEADER N     N GETs of URL with HEADER ("Name: value") over 50
//	                      keep-alive connections
//	signin KIND BASE C N  N password sign-ins, C at once, client w as user w
//	waves KIND BASE C W   W waves of C sign-ins sent at once
//
// A sign-in answered 503 or 429 is sent again, with the cookies that answer
// set (Roster's place in its queue), after Retry-After seconds.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/internal/csrfmask"
)

const usageText = `usage: pbload bare ADDR                 serve the bare reference on ADDR
       pbload users KIND BASE N         sign up u0..u(N-1)@example.com
       pbload token KIND BASE           print user 0's own-record read: URL<TAB>HEADER
       pbload read URL HEADER N         N GETs over 50 connections; HEADER is "Name: value"
       pbload signin KIND BASE C N      N sign-ins, C at once
       pbload waves KIND BASE C W       W waves of C sign-ins sent at once
KIND is roster or pb; BASE a server's base URL, such as http://127.0.0.1:8091.
`

// userPassword is every user's password on both servers.
const userPassword = "pb-compare-Vq7rT2mx"

// readConns is how many connections read uses at once.
const readConns = 50

// rosterPreferences is Roster's answer to GET /api/v1/me/preferences for a
// user with default preferences, byte for byte; bare sends it.
const rosterPreferences = `{"page_size":25,"timezone":"UTC","date_format":"iso","clock":"24","week_start":"monday","theme":"system","graph_style":"bar","graph_range":"7d","legend":true,"colourblind":false,"number_format":"comma_point"}` + "\n"

// usageError is a mistake in the command line: main prints the usage after it.
type usageError string

func (e usageError) Error() string { return string(e) }

func badUsage(format string, a ...any) error { return usageError(fmt.Sprintf(format, a...)) }

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "pbload:", err)
	if _, ok := errors.AsType[usageError](err); ok {
		fmt.Fprint(os.Stderr, usageText)
		os.Exit(2)
	}
	os.Exit(1)
}

// run is the whole program: the subcommand args[0] with the rest of args.
// Figures go to stdout, the first few failed requests to stderr.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return badUsage("no subcommand")
	}
	cmd, args := args[0], args[1:]
	if cmd == "-h" || cmd == "--help" || cmd == "help" {
		fmt.Fprint(stdout, usageText)
		return nil
	}
	c := newClient(stderr)
	switch cmd {
	case "bare":
		if len(args) != 1 {
			return badUsage("bare takes ADDR")
		}
		return http.ListenAndServe(args[0], bareHandler())
	case "read":
		if len(args) != 3 {
			return badUsage("read takes URL HEADER N")
		}
		n, err := positive("N", args[2])
		if err != nil {
			return err
		}
		return c.read(stdout, args[0], args[1], n)
	case "users":
		t, nums, err := parseRun(cmd, args, "N")
		if err != nil {
			return err
		}
		return c.users(stdout, t, nums[0])
	case "token":
		t, _, err := parseRun(cmd, args)
		if err != nil {
			return err
		}
		return c.token(stdout, t)
	case "signin":
		t, nums, err := parseRun(cmd, args, "C", "N")
		if err != nil {
			return err
		}
		c.signIns(stdout, t, nums[0], nums[1])
		return nil
	case "waves":
		t, nums, err := parseRun(cmd, args, "C", "W")
		if err != nil {
			return err
		}
		c.waves(stdout, t, nums[0], nums[1])
		return nil
	}
	return badUsage("unknown subcommand %q", cmd)
}

// parseRun parses the arguments KIND BASE and then one number above zero
// for each of names.
func parseRun(cmd string, args []string, names ...string) (target, []int, error) {
	if len(args) != 2+len(names) {
		return target{}, nil, badUsage("%s takes %s", cmd, strings.Join(append([]string{"KIND", "BASE"}, names...), " "))
	}
	t, err := parseTarget(args[0], args[1])
	if err != nil {
		return target{}, nil, err
	}
	nums := make([]int, len(names))
	for i, name := range names {
		if nums[i], err = positive(name, args[2+i]); err != nil {
			return target{}, nil, err
		}
	}
	return t, nums, nil
}

// positive parses the argument called name as a number above zero.
func positive(name, s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, badUsage("%s must be a number above zero, got %q", name, s)
	}
	return v, nil
}

// bareHandler is an Echo with one route and no middleware: what any Go
// server answering Roster's JSON read costs at least.
func bareHandler() http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.GET("/me", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, []byte(rosterPreferences))
	})
	return e
}

// target is one of the two servers compared.
type target struct {
	kind string // roster or pb
	base string // its base URL, no trailing slash
}

func (t target) isRoster() bool { return t.kind == "roster" }

func parseTarget(kind, base string) (target, error) {
	if kind != "roster" && kind != "pb" {
		return target{}, badUsage("KIND must be roster or pb, got %q", kind)
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return target{}, badUsage("BASE must be a URL such as http://127.0.0.1:8091, got %q", base)
	}
	return target{kind: kind, base: strings.TrimSuffix(base, "/")}, nil
}

// client sends every request of one run, over one pool of connections.
type client struct {
	transport *http.Transport
	csrf      string       // Roster's CSRF cookie: 32 random bytes in base64url
	busy      atomic.Int64 // answers 503 or 429, each sent again
	stderr    io.Writer
}

func newClient(stderr io.Writer) *client {
	token := make([]byte, csrfmask.TokenBytes)
	rand.Read(token)
	return &client{
		transport: &http.Transport{MaxIdleConnsPerHost: 100, DisableCompression: true},
		csrf:      base64.RawURLEncoding.EncodeToString(token),
		stderr:    stderr,
	}
}

// users signs up users 0 to n-1 on t.
func (c *client) users(stdout io.Writer, t target, n int) error {
	for i := range n {
		if _, err := c.post(t, c.signUp(t, i)); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "users %s: %d signed up\n", t.kind, n)
	return nil
}

// token signs user 0 in and prints the request that reads its own record
// as that user: Roster's preferences with the session cookie a browser
// holds, PocketBase's users record with the token its sign-in answers.
func (c *client) token(stdout io.Writer, t target) error {
	s, err := c.post(t, c.signIn(t, 0))
	if err != nil {
		return err
	}
	if t.isRoster() {
		session, csrf := s.cookie(t, "roster_session"), s.cookie(t, "roster_csrf")
		if session == "" {
			return fmt.Errorf("roster sign-in set no session cookie")
		}
		fmt.Fprintf(stdout, "%s/api/v1/me/preferences\tCookie: roster_session=%s; roster_csrf=%s\n", t.base, session, csrf)
		return nil
	}
	var auth struct {
		Token  string
		Record struct{ ID string }
	}
	if err := json.Unmarshal(s.body, &auth); err != nil || auth.Token == "" || auth.Record.ID == "" {
		return fmt.Errorf("pb sign-in answered no token: %.200s", s.body)
	}
	fmt.Fprintf(stdout, "%s/api/collections/users/records/%s\tAuthorization: %s\n", t.base, auth.Record.ID, auth.Token)
	return nil
}

// read sends n GETs of rawURL with header over readConns connections.
func (c *client) read(stdout io.Writer, rawURL, header string, n int) error {
	name, value, ok := strings.Cut(header, ": ")
	if !ok {
		return badUsage("HEADER must be \"Name: value\", got %q", header)
	}
	get := func(int) error {
		req, err := http.NewRequest(http.MethodGet, rawURL, nil)
		if err != nil {
			return err
		}
		req.Header.Set(name, value)
		res, err := c.transport.RoundTrip(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("got %d", res.StatusCode)
		}
		return nil
	}
	c.measure(stdout, "read "+rawURL, readConns, n, 1, get)
	return nil
}

// signIns sends n sign-ins to t, conc at once.
func (c *client) signIns(stdout io.Writer, t target, conc, n int) {
	c.measure(stdout, fmt.Sprintf("signin %s x%d", t.kind, conc), conc, n, 1, c.signInAs(t))
}

// waves sends w waves of size sign-ins to t, each wave all at once.
func (c *client) waves(stdout io.Writer, t target, size, w int) {
	c.measure(stdout, fmt.Sprintf("waves %s x%d", t.kind, size), size, size, w, c.signInAs(t))
}

func (c *client) signInAs(t target) func(user int) error {
	return func(user int) error {
		_, err := c.post(t, c.signIn(t, user))
		return err
	}
}

// form is one POST: its path, content type and body.
type form struct {
	path, contentType, body string
	user                    string // for errors
}

func email(i int) string { return fmt.Sprintf("u%d@example.com", i) }

// signUp is user i's sign-up on t.
func (c *client) signUp(t target, i int) form {
	if t.isRoster() {
		return c.rosterForm("/signup", i, url.Values{"name": {"U" + strconv.Itoa(i)}})
	}
	body, _ := json.Marshal(map[string]string{"email": email(i), "password": userPassword, "passwordConfirm": userPassword})
	return form{"/api/collections/users/records", echo.MIMEApplicationJSON, string(body), email(i)}
}

// signIn is user i's password sign-in on t.
func (c *client) signIn(t target, i int) form {
	if t.isRoster() {
		return c.rosterForm("/login", i, url.Values{})
	}
	body, _ := json.Marshal(map[string]string{"identity": email(i), "password": userPassword})
	return form{"/api/collections/users/auth-with-password", echo.MIMEApplicationJSON, string(body), email(i)}
}

// rosterForm is a form as Roster's pages post it: the CSRF token masked
// afresh, as every page writes it.
func (c *client) rosterForm(path string, i int, v url.Values) form {
	v.Set("email", email(i))
	v.Set("password", userPassword)
	v.Set("_csrf", csrfmask.Mask(c.csrf))
	return form{path, echo.MIMEApplicationForm, v.Encode(), email(i)}
}

// signedIn is a successful POST: its answer's body and the cookies set.
type signedIn struct {
	body []byte
	jar  http.CookieJar
}

// cookie is the value of the cookie name the jar holds for t, if any.
func (s signedIn) cookie(t target, name string) string {
	u, _ := url.Parse(t.base)
	for _, ck := range s.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// post sends f to t as a new browser would, with its own cookie jar
// (holding Roster's CSRF cookie), until it is answered other than 503 or
// 429. Success is 200, or a redirect anywhere but back to /login.
func (c *client) post(t target, f form) (signedIn, error) {
	jar, _ := cookiejar.New(nil)
	if t.isRoster() {
		u, _ := url.Parse(t.base)
		jar.SetCookies(u, []*http.Cookie{{Name: "roster_csrf", Value: c.csrf, Path: "/"}})
	}
	hc := &http.Client{Transport: c.transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	for {
		res, err := hc.Post(t.base+f.path, f.contentType, strings.NewReader(f.body))
		if err != nil {
			return signedIn{}, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return signedIn{}, err
		}
		switch {
		case res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests:
			c.busy.Add(1)
			wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
		case res.StatusCode == http.StatusOK,
			res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") != "/login":
			return signedIn{body: body, jar: jar}, nil
		default:
			return signedIn{}, fmt.Errorf("%s: got %d %.200s", f.user, res.StatusCode, body)
		}
	}
}

// measure runs op n times from conc goroutines at once, rounds times over
// (worker w passes w to op), and prints the figures as one line:
//
//	WHAT: COUNT in S.SSs, R/s ok, p50 Xms p99 Xms max Xms, errors E, 503/429 B
//
// The first three errors go to stderr.
func (c *client) measure(stdout io.Writer, what string, conc, n, rounds int, op func(w int) error) {
	var mu sync.Mutex
	var took []time.Duration
	errs := 0
	start := time.Now()
	for range rounds {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range conc {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					t := time.Now()
					err := op(w)
					d := time.Since(t)
					mu.Lock()
					took = append(took, d)
					if err != nil {
						errs++
						if errs <= 3 {
							fmt.Fprintln(c.stderr, err)
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	slices.Sort(took)
	fmt.Fprintf(stdout, "%s: %d in %.2fs, %.1f/s ok, p50 %.2fms p99 %.2fms max %.2fms, errors %d, 503/429 %d\n",
		what, len(took), elapsed.Seconds(), float64(len(took)-errs)/elapsed.Seconds(),
		millis(quantile(took, 0.5)), millis(quantile(took, 0.99)), millis(quantile(took, 1)), errs, c.busy.Load())
}

// quantile is the p-quantile (0 to 1) of sorted: the value at index p*len,
// the last for p = 1.
func quantile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
