package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/samltest"
	"github.com/rosterhq/roster/internal/totptest"
	"github.com/rosterhq/roster/server"
)

// axeSource is axe-core (e2e/testdata/axe, see its VERSIONS): the tests
// inject it into the page under test; Roster never serves it.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// a11yPage is one page Roster serves as HTML, opened the way a person
// reaches it, with data in its tables.
type a11yPage struct {
	name     string // what the failure message calls it
	route    string // the GET route it covers, as e.Routes() writes it ("GET /accounts/:id"), or "" for none
	path     string // what the browser opens
	waitFor  string // a selector that is there once the page has loaded
	signedIn bool
	hal      bool // signed in as Hal (two-factor on) in a tab of his own, not Ada
	// act, when set, is JavaScript run once the page is there (a form sent
	// with htmx, to show its refusal or its success); then is a selector
	// that is there once its answer has been swapped in.
	act, then string
}

// a11yNotPages are the GET routes that answer with something other than a
// page for people, each with the reason; every other GET route must be
// opened by TestBrowserAccessibility.
var a11yNotPages = map[string]string{
	"GET /":                        "redirects to /profile",
	"GET /healthz":                 "health check for the operator: text, not a page",
	"GET /static/*":                "static files (CSS, JS, icons)",
	"GET /auth/:provider/callback": "the provider's callback: redirects (a refusal renders the error page, which is covered)",
	"GET /saml/:conn/metadata":     "SAML service-provider metadata: XML for the IdP",
	"GET /profile/invite-badge":    "the user menu's badge poll: a fragment or 204 (the badge is checked on every signed-in page)",
	"GET /api/v1/me/preferences":   "JSON API",
	"GET /profile/data":            "Download my data: a JSON file",
}

// a11yThemes and a11yWidths are what every page is checked in.
var (
	a11yThemes = []string{"light", "dark"}
	a11yWidths = []int64{1200, 375}
)

// axeViolation is one rule axe found broken, with the elements that break it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// TestBrowserAccessibility runs axe-core on every page Roster serves as
// HTML, signed out and signed in with data in the tables, in the light and
// dark themes at 1200 and 375 px wide: no violations at any impact, and at
// 375 px no page scrolls sideways. The list of pages is checked against the
// route table, so a new page cannot be left out.
func TestBrowserAccessibility(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	site := startA11ySite(t)
	checkA11yRoutes(t, site.app, site.pages)

	browserCtx := startChromium(t, ctx)
	out := newBrowserTab(t, browserCtx, "signed out", browserUAChrome, true, true)
	in := newBrowserTab(t, browserCtx, "Ada", browserUAChrome, true, true)
	hal := newBrowserTab(t, browserCtx, "Hal", browserUAChrome, true, true)
	site.prepare(t, in)
	site.prepareOut(t, out)
	site.prepareHal(t, hal)
	for _, tb := range []*browserTab{out, in, hal} {
		// Pico honours reduced motion: no colour transition is caught
		// half-way when the theme changes under axe.
		if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	var problems []string
	for _, p := range site.pages {
		problems = append(problems, p.tab(out, in, hal).checkA11y(t, site.base, p)...)
	}
	if len(problems) > 0 {
		t.Errorf("%d accessibility problems:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	t.Logf("%d pages x %d themes x %d widths checked in %s", len(site.pages), len(a11yThemes), len(a11yWidths), time.Since(start).Round(time.Millisecond))
}

// checkA11y opens p and runs axe on it in each theme and width; it returns
// one line per violated rule and per sideways scroll, saying where.
func (tb *browserTab) checkA11y(t *testing.T, base string, p a11yPage) []string {
	t.Helper()
	var problems []string
	for _, width := range a11yWidths {
		tb.do(t, fmt.Sprintf("open %s at %dpx", p.name, width),
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(base+p.path),
			chromedp.WaitVisible(chromedp.CSS(p.waitFor)),
			htmxSettled,
		)
		if p.act != "" {
			tb.eval(t, p.act+`, 'ok'`)
			tb.do(t, fmt.Sprintf("wait for the answer on %s", p.name), chromedp.WaitVisible(chromedp.CSS(p.then)), htmxSettled)
		}
		if tb.eval(t, `typeof axe`) == "undefined" {
			ctx, cancel := tb.step()
			_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource))
			cancel()
			if err != nil {
				tb.fatalf(t, "inject axe-core into %s: %v", p.name, err)
			}
		}
		for _, theme := range a11yThemes {
			where := fmt.Sprintf("%s (%s), %s theme, %dpx", p.name, p.path, theme, width)
			tb.eval(t, `document.documentElement.setAttribute('data-theme', '`+theme+`'), 'ok'`)
			problems = append(problems, tb.runAxe(t, where)...)
			if width <= 375 {
				if wide := tb.eval(t, a11yOverflowJS); wide != "" {
					problems = append(problems, fmt.Sprintf("%s: scrolls sideways: %s", where, wide))
				}
			}
		}
		// What hides behind a <summary> (the user menu, Delete's
		// confirmation, More) is checked too, with every <details> open.
		if n := tb.eval(t, `String(document.querySelectorAll('details:not([open])').length)`); n != "0" {
			tb.eval(t, `document.querySelectorAll('details').forEach(function (d) { d.open = true; }), 'ok'`)
			for _, theme := range a11yThemes {
				where := fmt.Sprintf("%s (%s) with every <details> open, %s theme, %dpx", p.name, p.path, theme, width)
				tb.eval(t, `document.documentElement.setAttribute('data-theme', '`+theme+`'), 'ok'`)
				problems = append(problems, tb.runAxe(t, where)...)
			}
		}
	}
	return problems
}

// runAxe runs axe-core on the page as it is and returns one line per
// violated rule: where, the rule, its impact, and each element's selector
// and HTML.
func (tb *browserTab) runAxe(t *testing.T, where string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](
		`axe.run(document, {resultTypes: ['violations']}).then(function (r) { return r.violations; })`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		tb.fatalf(t, "axe on %s: %v", where, err)
	}
	var problems []string
	for _, v := range violations {
		var nodes []string
		for _, n := range v.Nodes {
			var target []string
			for _, s := range n.Target {
				target = append(target, fmt.Sprint(s))
			}
			html := strings.Join(strings.Fields(n.HTML), " ")
			if len(html) > 160 {
				html = html[:160] + "..."
			}
			nodes = append(nodes, fmt.Sprintf("    at %s: %s\n      %s", strings.Join(target, " >>> "), html,
				strings.Join(strings.Fields(n.Summary), " ")))
		}
		problems = append(problems, fmt.Sprintf("%s: %s (%s): %s\n%s", where, v.ID, v.Impact, v.Help, strings.Join(nodes, "\n")))
	}
	return problems
}

// a11yOverflowJS says how wide the page is when it is wider than the
// window, and which elements stick out past its right edge (not those
// inside a box that scrolls or clips them), or "".
const a11yOverflowJS = `(function () {
	var w = window.innerWidth, s = document.scrollingElement.scrollWidth;
	if (s <= w) { return ''; }
	var name = function (el) {
		var n = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
		if (typeof el.className === 'string' && el.className.trim()) { n += '.' + el.className.trim().split(/\s+/).join('.'); }
		return el.parentElement && el.parentElement !== document.body ? name(el.parentElement) + ' > ' + n : n;
	};
	var out = [], clipped = [];
	document.querySelectorAll('body *').forEach(function (el) {
		var r = el.getBoundingClientRect();
		if (r.right <= w + 0.5 || r.width === 0) { return; }
		var list = out;
		for (var a = el.parentElement; a && a !== document.body; a = a.parentElement) {
			if (getComputedStyle(a).overflowX !== 'visible') { list = clipped; break; }
		}
		if (list.length < 4) { list.push(name(el) + ' (right edge ' + Math.round(r.right) + ' px)'); }
	});
	return s + ' px wide in a ' + w + ' px window; sticking out: ' + (out.length ? out : clipped).join('; ');
})()`

// checkA11yRoutes fails for every GET route of the app that is neither
// opened by a page of the list nor listed in a11yNotPages with its reason.
func checkA11yRoutes(t *testing.T, app *server.App, pages []a11yPage) {
	t.Helper()
	covered := map[string]bool{}
	for _, p := range pages {
		covered[p.route] = true
	}
	for _, r := range app.Echo.Routes() {
		if r.Method != http.MethodGet {
			continue
		}
		key := r.Method + " " + r.Path
		if covered[key] {
			continue
		}
		if reason := a11yNotPages[key]; reason != "" {
			continue
		}
		t.Errorf("route %s is neither opened by TestBrowserAccessibility (add it to the pages of startA11ySite, with data) "+
			"nor listed in a11yNotPages with the reason it is not a page", key)
	}
	routes := map[string]bool{}
	for _, r := range app.Echo.Routes() {
		routes[r.Method+" "+r.Path] = true
	}
	for key := range a11yNotPages {
		if !routes[key] {
			t.Errorf("a11yNotPages lists %s, which the app does not have", key)
		}
	}
	for _, p := range pages {
		if p.route != "" && !routes[p.route] {
			t.Errorf("page %q names route %s, which the app does not have", p.name, p.route)
		}
	}
}

// a11ySite is the application with people and data in every table.
type a11ySite struct {
	app     *server.App
	base    string
	acme    string // Acme's id
	pages   []a11yPage
	prepare func(t *testing.T, ada *browserTab) // signs Ada in, in her tab
	// prepareOut gives the signed-out tab Grace's sign-in waiting for its
	// second step (the password was right), for the second step's page.
	prepareOut func(t *testing.T, out *browserTab)
	// prepareHal signs Hal in, in his tab (a session of his, as after both
	// steps of his sign-in).
	prepareHal func(t *testing.T, hal *browserTab)
}

// tab is the tab p is checked in.
func (p a11yPage) tab(out, in, hal *browserTab) *browserTab {
	switch {
	case p.hal:
		return hal
	case p.signedIn:
		return in
	}
	return out
}

// a11yToken is a random token and its SHA-256, as the app stores it.
func a11yToken(t *testing.T) (string, []byte) {
	t.Helper()
	token := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(token))
	return token, sum[:]
}

// startA11ySite starts Roster with Stripe (stripe-mock), GitHub and Slack
// logins and the notify API configured, and fills it: Ada owns Acme (Bob a
// member, Carol invited, a SAML connection, a card paying for it), is a
// member of Globex and invited to Initech; she has contact methods, a
// linked login, several sessions, notifications, a pending email change.
func startA11ySite(t *testing.T) *a11ySite {
	t.Helper()
	ctx := t.Context()
	mock := startBrowserStripeMock(t)
	js := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		fmt.Fprint(w, browserStripeJS)
	}))
	t.Cleanup(js.Close)
	const apiToken = "a11y-notify-token-of-32-characters!!"
	// At localhost, not 127.0.0.1: passkeys need a host name.
	base, app := serveBrowserAppAt(t, map[string]string{
		"ROSTER_STRIPE_SECRET_KEY":      "sk_test_roster",
		"ROSTER_STRIPE_PUBLISHABLE_KEY": "pk_test_roster",
		"ROSTER_STRIPE_API_BASE":        mock,
		"ROSTER_STRIPE_JS_URL":          js.URL + "/v3/",
		"ROSTER_GITHUB_CLIENT_ID":       "gh-id", "ROSTER_GITHUB_CLIENT_SECRET": "gh-secret",
		"ROSTER_SLACK_CLIENT_ID": "slack-id", "ROSTER_SLACK_CLIENT_SECRET": "slack-secret",
		"ROSTER_API_TOKEN": apiToken,
	}, "localhost")
	store := app.Store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	user := func(name, email string) db.User {
		t.Helper()
		createBrowserUser(t, store, name, email, a11yPassword)
		u, err := store.UserByEmail(ctx, email)
		must(err)
		return u
	}
	ada, bob, grace := user("Ada Lovelace", "ada@example.com"), user("Bob Babbage", "bob@example.com"), user("Grace Hopper", "grace@example.com")
	account := func(owner db.User, name string) db.Account {
		t.Helper()
		acc, err := store.CreateAccount(ctx, owner.ID, name, db.Event{Kind: db.EventAccountCreated})
		must(err)
		return acc
	}
	invite := func(acc db.Account, from db.User, email, role string) (db.Invite, string) {
		t.Helper()
		token, hash := a11yToken(t)
		inv, err := store.CreateInvite(ctx, acc.ID, from.ID, email, role, hash, nil, db.Event{Kind: db.EventInviteSent})
		must(err)
		return inv, token
	}
	acme, globex, initech := account(ada, "Acme"), account(grace, "Globex"), account(grace, "Initech")
	inv, _ := invite(acme, ada, bob.Email, db.RoleAdmin)
	_, err := store.AcceptInvite(ctx, inv.ID, bob.ID, db.Event{Kind: db.EventInviteAccepted})
	must(err)
	_, carolToken := invite(acme, ada, "carol@example.com", db.RoleNormal)
	inv, _ = invite(globex, grace, ada.Email, db.RoleNormal)
	_, err = store.AcceptInvite(ctx, inv.ID, ada.ID, db.Event{Kind: db.EventInviteAccepted})
	must(err)
	_, initechToken := invite(initech, grace, ada.Email, db.RoleNormal)
	// Umbrella requires two-factor authentication of its members: Hal, its
	// owner, has it on; Ada, a member, has not, so it is refused to her.
	hal := user("Hal Hartley", "hal@example.com")
	umbrella := account(hal, "Umbrella")
	must(totptest.Start(ctx, store, hal.ID, []byte("a11y: never read")))
	must(totptest.Confirm(ctx, store, hal.ID, 1, nil, db.Event{Kind: db.EventTwoFactorEnabled}))
	must(store.SetRequireTwoFactor(ctx, umbrella.ID, hal.ID, true, db.Event{Kind: db.EventTwoFactorRequired}))
	inv, _ = invite(umbrella, hal, ada.Email, db.RoleNormal)
	_, err = store.AcceptInvite(ctx, inv.ID, ada.ID, db.Event{Kind: db.EventInviteAccepted})
	must(err)
	_, umbrellaToken := invite(umbrella, hal, "dan@example.com", db.RoleNormal)

	// Contact methods, a linked login, notifications, a pending email change.
	compose := func(m db.ContactMethod, code string) (db.Notice, error) {
		return db.Notice{Subject: "Your code", Body: "Your code is " + code}, nil
	}
	work, err := store.AddContactMethod(ctx, ada.ID, db.NewContactMethod{Kind: db.KindEmail, Address: "ada.work@example.com", Label: "Work"}, compose, db.Event{Kind: db.EventContactAdded})
	must(err)
	_, err = store.AddContactMethod(ctx, ada.ID, db.NewContactMethod{Kind: db.KindEmail, Address: "ada.home@example.com", Label: "Home"}, compose, db.Event{Kind: db.EventContactAdded})
	must(err)
	must(store.LinkIdentity(ctx, ada.ID, db.External{Provider: "github", Subject: "1815", Email: ada.Email, EmailVerified: true, DisplayName: "ada"}, db.Event{Kind: db.EventLoginLinked}))
	for i, subject := range []string{"web-1 is down", "web-1 is up again", "Disk 91% full"} {
		body := fmt.Sprintf(`{"user": %q, "circumstance": "alerts", "severity": %d, "subject": %q, "body": "Details."}`, ada.Email, i+1, subject)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/notify", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		must(err)
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("notify API: %d, want 202", res.StatusCode)
		}
	}
	// A passkey in the Passkeys panel (its record is never read here).
	_, err = store.PasskeyHandle(ctx, ada.ID)
	must(err)
	_, err = store.AddPasskey(ctx, db.Passkey{UserID: ada.ID, RPID: "localhost", CredentialID: []byte("a11y-passkey"), Name: "Ada's laptop", Credential: []byte("{}")},
		db.Event{Kind: db.EventPasskeyAdded})
	must(err)
	// A pending change belongs to the session that asked for it: each
	// has one of its own (see the sessions below).
	// It returns the token of the link that cancels it.
	askChange := func(userID int64, email string, hash []byte) string {
		_, asker := a11yToken(t)
		_, err := store.CreateSession(ctx, db.Session{IDHash: asker, UserID: userID, ExpiresAt: time.Now().Add(24 * time.Hour), IP: "192.0.2.7", UserAgent: browserUAFirefox})
		must(err)
		cancelToken, cancel := a11yToken(t)
		must(store.RequestEmailChange(ctx, db.EmailChangeAsk{UserID: userID, SessionHash: asker, NewEmail: email, TokenHash: hash, CancelHash: cancel,
			TTL: time.Hour, Confirm: &db.Mail{Subject: "Confirm", Body: "Confirm"}}, db.Event{Kind: db.EventEmailChangeAsked}))
		return cancelToken
	}
	changeToken, changeHash := a11yToken(t)
	askChange(ada.ID, "ada.new@example.com", changeHash)
	// The pages of emailed links, opened in another browser, are Bob's:
	// the keyboard test follows both Ada's and Bob's links to the end.
	bobChangeToken, bobChangeHash := a11yToken(t)
	askChange(bob.ID, "bob.new@example.com", bobChangeHash)
	// The link that stops a change, mailed to the old address, is Grace's
	// (the keyboard test stops it).
	_, graceChangeHash := a11yToken(t)
	graceCancelToken := askChange(grace.ID, "grace.new@example.com", graceChangeHash)
	verifyToken, verifyHash := a11yToken(t)
	must(store.CreateEmailToken(ctx, verifyHash, ada.ID, db.TokenVerify, ada.Email, time.Hour, nil))
	bobVerifyToken, bobVerifyHash := a11yToken(t)
	must(store.CreateEmailToken(ctx, bobVerifyHash, bob.ID, db.TokenVerify, bob.Email, time.Hour, nil))
	resetToken, resetHash := a11yToken(t)
	must(store.CreateEmailToken(ctx, resetHash, bob.ID, db.TokenReset, bob.Email, time.Hour, nil))
	for _, ua := range []string{browserUAFirefox, browserUASafari} {
		_, hash := a11yToken(t)
		_, err := store.CreateSession(ctx, db.Session{IDHash: hash, UserID: ada.ID, ExpiresAt: time.Now().Add(24 * time.Hour), IP: "192.0.2.7", UserAgent: ua})
		must(err)
	}

	// A card (stripe-mock's test card) pays for Acme.
	card, err := store.AddCard(ctx, ada.ID, db.NewCard{StripeID: "pm_card_visa", Brand: "visa", Last4: "4242", ExpMonth: 8, ExpYear: 2030, Fingerprint: "a11y"}, db.Event{Kind: db.EventCardAdded})
	must(err)
	must(store.SetAccountBilling(ctx, acme.ID, ada.ID, card.ID, db.Event{Kind: db.EventBillingSet}))

	// Acme's SAML connection, its domain verified and IdP-initiated
	// sign-in on; one IdP-initiated response is held for Ada's browser.
	idp := samltest.New(t, nil)
	conn, err := store.CreateSAMLConnection(ctx, acme.ID, ada.ID, db.NewSAMLConnection{
		Name: "Acme IdP", IdPMetadataXML: httpGet(t, idp.URL+"/metadata"), IdPEntityID: idp.URL + "/metadata",
		EmailDomains: []string{"example.com"}, DefaultRole: db.RoleNormal,
	}, db.Event{Kind: db.EventSAMLConnectionAdded})
	must(err)
	must(store.VerifySAMLDomain(ctx, conn.ID, "example.com", db.Event{Kind: db.EventSAMLDomainVerified}))
	must(store.SetSAMLIdPInitiated(ctx, acme.ID, ada.ID, conn.ID, true, db.Event{Kind: db.EventSAMLConnectionChanged}))
	samlCookie := rand.Text()
	heldToken, heldHash := a11yToken(t)
	browserHash := sha256.Sum256([]byte(samlCookie))
	must(store.HoldSAMLResponse(ctx, db.HeldSAML{ConnectionID: conn.ID, AssertionID: "a11y-assertion", TokenHash: heldHash, BrowserHash: browserHash[:],
		External: db.External{Provider: db.SAMLProvider(conn.ID), Subject: "ada", Email: ada.Email, DisplayName: "Ada Lovelace"}}))

	// Grace's password was right in the signed-out browser: her sign-in
	// waits for its second step (prepareOut sets its cookie).
	pendingToken := rand.Text()
	pendingHash := sha256.Sum256([]byte(pendingToken))
	must(store.StartPendingSignIn(ctx, db.PendingSignIn{TokenHash: pendingHash[:], UserID: grace.ID, Method: "password"}))
	// Grace has a passkey: her second step offers it.
	_, err = store.PasskeyHandle(ctx, grace.ID)
	must(err)
	_, err = store.AddPasskey(ctx, db.Passkey{UserID: grace.ID, RPID: "localhost", CredentialID: []byte("a11y-passkey-grace"), Name: "Grace's key", Credential: []byte("{}")},
		db.Event{Kind: db.EventPasskeyAdded})
	must(err)

	acc := func(id int64, tail string) string { return "/accounts/" + strconv.FormatInt(id, 10) + tail }
	connID := strconv.FormatInt(conn.ID, 10)
	out := func(name, route, path, waitFor string) a11yPage {
		return a11yPage{name: name, route: route, path: path, waitFor: waitFor}
	}
	in := func(name, route, path, waitFor string) a11yPage {
		return a11yPage{name: name, route: route, path: path, waitFor: waitFor, signedIn: true}
	}
	asHal := func(p a11yPage) a11yPage { p.hal = true; return p }
	// Hal's session: his sign-in passed both steps.
	halRaw := make([]byte, 32)
	_, _ = rand.Read(halRaw) // crypto/rand: never fails
	halSession := base64.RawURLEncoding.EncodeToString(halRaw)
	halHash := sha256.Sum256([]byte(halSession))
	_, err = store.CreateSession(ctx, db.Session{IDHash: halHash[:], UserID: hal.ID, ExpiresAt: time.Now().Add(24 * time.Hour), IP: "192.0.2.8", UserAgent: browserUAChrome})
	must(err)
	pages := []a11yPage{
		out("log in", "GET /login", "/login", "#login-form"),
		out("log in with SAML", "GET /login/saml", "/login/saml", "main form"),
		out("log in with SAML, unknown domain", "GET /login/saml", "/login/saml?email=someone%40nowhere.test", "main form"),
		out("second step of logging in", "GET /login/two-factor", "/login/two-factor", "#second-step-form"),
		withAct(out("second step of logging in, a code refused", "GET /login/two-factor", "/login/two-factor", "#second-step-form"),
			`document.querySelector('#second-step-form #code').value = '000000',
			document.querySelector('#second-step-form').requestSubmit()`, "#second-step-form .field-error"),
		withAct(out("second step of logging in, a passkey refused", "GET /login/two-factor", "/login/two-factor", "#second-step-passkey"),
			`document.querySelector('#second-step-passkey input[name=credential]').value = '{}',
			document.querySelector('#second-step-passkey').requestSubmit()`, "#second-step-passkey-error:not([hidden])"),
		out("sign up", "GET /signup", "/signup", "#signup-form"),
		withAct(out("sign up, refused", "GET /signup", "/signup", "#signup-form"),
			`document.querySelector('#signup-form').requestSubmit()`, "#signup-form .field-error"),
		withAct(out("log in, refused", "GET /login", "/login", "#login-form"),
			`document.querySelector('#login-form #email').value = 'ada@example.com',
			document.querySelector('#login-form #password').value = 'not her password',
			document.querySelector('#login-form').requestSubmit()`, "#login-form .flash.error, #login-form .field-error"),
		withAct(out("forgot password, sent", "GET /password/forgot", "/password/forgot", "main form"),
			`document.querySelector('#forgot-form #email').value = 'nobody@example.com',
			document.querySelector('#forgot-form').requestSubmit()`, "main .flash"),
		withAct(out("log in with a passkey, refused", "GET /login", "/login", "#passkey-login"),
			`document.querySelector('#passkey-login input[name=credential]').value = '{}',
			document.querySelector('#passkey-login').requestSubmit()`, "#passkey-login-error:not([hidden])"),
		out("forgot password", "GET /password/forgot", "/password/forgot", "main form"),
		out("reset password", "GET /password/reset/:token", "/password/reset/"+resetToken, "main form"),
		out("reset password, dead link", "GET /password/reset/:token", "/password/reset/no-such-token", "main h1"),
		out("confirm email, other browser", "GET /verify/:token", "/verify/"+bobVerifyToken, "main form"),
		out("confirm email, dead link", "GET /verify/:token", "/verify/no-such-token", "main h1"),
		out("confirm email change, other browser", "GET /email-change/:token", "/email-change/"+bobChangeToken, "main form"),
		out("stop an email change, from the old address", "GET /email-change/cancel/:token", "/email-change/cancel/"+graceCancelToken, "main form"),
		out("stop an email change, dead link", "GET /email-change/cancel/:token", "/email-change/cancel/no-such-token", "main h1"),
		out("invite, signed out", "GET /invites/:token", "/invites/"+carolToken, "main h1"),
		out("invite, account requires two-factor", "GET /invites/:token", "/invites/"+umbrellaToken, "#invite-two-factor"),
		out("error page (404)", "", "/no-such-page", "main h1"),
		in("profile", "GET /profile", "/profile", "section#sessions"),
		withAct(in("profile, a name refused", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('form[action="/profile/name"] input[name=name]').value = '',
			document.querySelector('form[action="/profile/name"]').requestSubmit()`,
			`form[action="/profile/name"] .field-error`),
		withAct(in("profile, a passkey without a name refused", "GET /profile", "/profile", "section#passkeys"),
			`document.querySelector('#add-passkey').requestSubmit()`, "#add-passkey-error:not([hidden])"),
		// Changing the password asks for it again first (re-authentication):
		// with htmx in place of the section, without it (a plain submit) as
		// a page; then a wrong password is refused by its field.
		withAct(in("profile, the re-authentication prompt", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('form[action="/profile/password"]').requestSubmit()`, "#change-password #sudo_password"),
		withAct(in("profile, a wrong password at the re-authentication prompt", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('form[action="/profile/password"]').requestSubmit(),
			new Promise(function (done) { document.body.addEventListener('htmx:afterSettle', done, {once: true}); }).then(function () {
				document.querySelector('#change-password #sudo_password').value = 'not her password';
				document.querySelector('#change-password form').requestSubmit();
			})`, "#change-password .field-error"),
		withAct(in("profile, a passkey refused at the re-authentication prompt", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('form[action="/profile/password"]').requestSubmit(),
			new Promise(function (done) { document.body.addEventListener('htmx:afterSettle', done, {once: true}); }).then(function () {
				var f = document.querySelector('#change-password form[data-passkey]');
				f.querySelector('input[name=credential]').value = '{}';
				f.requestSubmit();
			})`, "#change-password [data-passkey-error]:not([hidden])"),
		withAct(in("re-authentication prompt page", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('form[action="/profile/password"]').submit()`, "main #sudo_password"),
		// Someone with two-factor on (Hal) is offered a code from the app
		// or a recovery code at the prompt: the field, a code refused by
		// it, and the prompt page.
		asHal(withAct(in("profile, the re-authentication prompt with a code field", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('form[action="/profile/password"]').requestSubmit()`, "#change-password #sudo_2fa_code")),
		asHal(withAct(in("profile, a code refused at the re-authentication prompt", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('form[action="/profile/password"]').requestSubmit(),
			new Promise(function (done) { document.body.addEventListener('htmx:afterSettle', done, {once: true}); }).then(function () {
				document.querySelector('#change-password #sudo_2fa_code').value = '000000';
				document.querySelector('#sudo_2fa_code').form.requestSubmit();
			})`, "#change-password #sudo_2fa_code[aria-invalid=true]")),
		asHal(withAct(in("re-authentication prompt page with a code field", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('form[action="/profile/password"]').submit()`, "main #sudo_2fa_code")),
		// Delete my profile, refused while Ada owns Acme: the password at
		// the prompt first (this re-authenticates Ada's tab: it comes after
		// the pages of the prompt).
		withAct(in("profile, Delete my profile refused", "GET /profile", "/profile", "section#sessions"),
			`document.querySelector('#confirm-email').value = 'ada@example.com',
			document.querySelector('form[action="/profile/delete"]').requestSubmit(),
			new Promise(function (done) { document.body.addEventListener('htmx:afterSettle', done, {once: true}); }).then(function () {
				var pw = document.querySelector('#leave #sudo_password');
				if (pw) { pw.value = '`+a11yPassword+`'; document.querySelector('#leave form').requestSubmit(); }
			})`, "#leave .flash.error"),
		// Two-factor authentication: setting up (a sensitive action: after
		// the page above Ada's tab is re-authenticated, else the password
		// at the prompt) shows the QR code and the key (the page stays so
		// for the second width), then a wrong code.
		withAct(in("profile, setting up two-factor", "GET /profile", "/profile", "section#sessions"),
			`(function () {
				var f = document.querySelector('form[action="/profile/two-factor"]');
				if (!f) { return; }
				f.requestSubmit();
				return new Promise(function (done) { document.body.addEventListener('htmx:afterSettle', done, {once: true}); }).then(function () {
					var pw = document.querySelector('#two-factor #sudo_password');
					if (pw) { pw.value = '`+a11yPassword+`'; document.querySelector('#two-factor form').requestSubmit(); }
				});
			})()`,
			"#two-factor svg.qr"),
		withAct(in("profile, a two-factor code refused", "GET /profile", "/profile", "#two-factor svg.qr"),
			`document.querySelector('#confirm_code').value = '000000',
			document.querySelector('form[action="/profile/two-factor/confirm"]').requestSubmit()`, "#two-factor .field-error"),
		withAct(in("Manage console, an invite refused", "GET /accounts/:id/manage", acc(acme.ID, "/manage"), "section#billing"),
			`document.querySelector('form[action="`+acc(acme.ID, "/invites")+`"]').requestSubmit()`, "#invite .field-error, #invite .flash"),
		in("notifications", "GET /profile/notifications", "/profile/notifications", "main h1"),
		in("security activity", "GET /profile/activity", "/profile/activity", "main h1"),
		in("preferences", "GET /preferences", "/preferences", "main form"),
		in("create account", "GET /accounts/new", "/accounts/new", "#account-form"),
		in("account page", "GET /accounts/:id", acc(acme.ID, ""), "main h1"),
		in("account page, as a member", "GET /accounts/:id", acc(globex.ID, ""), "main h1"),
		in("Manage console", "GET /accounts/:id/manage", acc(acme.ID, "/manage"), "section#billing"),
		in("Manage SAML", "GET /accounts/:id/saml", acc(acme.ID, "/saml"), "main h1"),
		in("Manage console refused (403)", "GET /accounts/:id/manage", acc(globex.ID, "/manage"), "main h1"),
		// Accounts may require two-factor: Umbrella is refused to Ada, who
		// has none, and she cannot require it of Acme's members yet.
		in("account refused, two-factor (403)", "GET /accounts/:id", acc(umbrella.ID, ""), "#two-factor-required-page"),
		withAct(in("Manage console, requiring two-factor refused", "GET /accounts/:id/manage", acc(acme.ID, "/manage"), "section#require-two-factor"),
			`document.querySelector('#require-two-factor-check').checked = true,
			document.querySelector('#require-two-factor form').requestSubmit()`, "#require-two-factor small[role=alert]"),
		in("credit cards", "GET /cards", "/cards", "section#cards"),
		withAct(in("credit cards, delete refused", "GET /cards", "/cards", "section#cards"),
			`document.querySelector('#cards form[action$="/delete"]').requestSubmit()`, "#cards .flash.error"),
		in("invite, signed in", "GET /invites/:token", "/invites/"+initechToken, "main h1"),
		in("confirm email", "GET /verify/:token", "/verify/"+verifyToken, "main form"),
		in("confirm email change", "GET /email-change/:token", "/email-change/"+changeToken, "main form"),
		in("confirm SAML sign-in", "GET /saml/:conn/confirm", "/saml/"+connID+"/confirm?token="+heldToken, "main form"),
		// A GET of a sign-in start, or of a contact method's emailed link,
		// only shows a page whose button posts (login CSRF, SECURITY.md).
		out("log in with GitHub, continue", "GET /auth/:provider", "/auth/github?next=%2Fcards", "main form"),
		out("log in with single sign-on, continue", "GET /saml/:conn/login", "/saml/"+connID+"/login", "main form"),
		in("verify a contact method, from its link", "GET /profile/contacts/:id/verify", "/profile/contacts/"+strconv.FormatInt(work.ID, 10)+"/verify?code=123456", "main form"),
	}
	return &a11ySite{app: app, base: base, acme: strconv.FormatInt(acme.ID, 10), pages: pages, prepare: func(t *testing.T, ada *browserTab) {
		t.Helper()
		u := strings.TrimPrefix(base, "http://")
		host := u[:strings.LastIndex(u, ":")]
		if _, err := chromedp.Call(ada.ctx, network.SetCookie, network.SetCookieParams{Name: "roster_saml", Value: samlCookie, Domain: host, Path: "/"}); err != nil {
			t.Fatal(err)
		}
		ada.signIn(t, base, "ada@example.com", a11yPassword)
	}, prepareHal: func(t *testing.T, hal *browserTab) {
		t.Helper()
		u := strings.TrimPrefix(base, "http://")
		host := u[:strings.LastIndex(u, ":")]
		if _, err := chromedp.Call(hal.ctx, network.SetCookie, network.SetCookieParams{Name: "roster_session", Value: halSession, Domain: host, Path: "/"}); err != nil {
			t.Fatal(err)
		}
		hal.navigate(t, base+"/profile", "section#sessions")
	}, prepareOut: func(t *testing.T, out *browserTab) {
		t.Helper()
		u := strings.TrimPrefix(base, "http://")
		host := u[:strings.LastIndex(u, ":")]
		if _, err := chromedp.Call(out.ctx, network.SetCookie, network.SetCookieParams{Name: "roster_2fa", Value: pendingToken, Domain: host, Path: "/"}); err != nil {
			t.Fatal(err)
		}
	}}
}

// withAct is p with an action run once it has loaded, and what shows its
// answer.
func withAct(p a11yPage, act, then string) a11yPage {
	p.act, p.then = act, then
	return p
}

const a11yPassword = "lantern orbit velvet quarry 42"

// TestAxeVersions: the vendored axe-core files have the sha256 that
// e2e/testdata/axe/VERSIONS records.
func TestAxeVersions(t *testing.T) {
	dir := filepath.Join("testdata", "axe")
	b, err := os.ReadFile(filepath.Join(dir, "VERSIONS"))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[1], "axe-core@4.") || !strings.HasPrefix(f[2], "sha256:") {
			t.Errorf("VERSIONS line %q: want <file> axe-core@4.x sha256:<hex>", line)
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f[0]))
		if err != nil {
			t.Errorf("VERSIONS names %s: %v", f[0], err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != f[2] {
			t.Errorf("%s: %s, VERSIONS says %s", f[0], got, f[2])
		}
		if f[0] == "axe.min.js" && !bytes.HasPrefix(data, []byte("/*! axe v"+strings.TrimPrefix(f[1], "axe-core@")+"\n")) {
			t.Errorf("axe.min.js does not start with the banner of %s", f[1])
		}
		seen = append(seen, f[0])
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"LICENSE", "axe.min.js"}) {
		t.Errorf("VERSIONS lists %v, want axe.min.js and LICENSE", seen)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := e.Name(); name != "VERSIONS" && !slices.Contains(seen, name) {
			t.Errorf("%s in %s is not in VERSIONS", name, dir)
		}
	}
}
