package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// a11yKeyboardForm is the form the keyboard test fills and sends on a page:
// form is its CSS selector ("" for a page without a form, whose every Tab
// stop is walked instead), typed what goes into its first field. A form
// whose controls save themselves on change (Preferences) names instead, in
// saved, the element that says "Saved" once ArrowDown changed the first one.
type a11yKeyboardForm struct {
	form, typed, saved string
}

// a11yKeyboardForms names, for every page of startA11ySite, the form the
// keyboard test sends there. acme is Acme's id, as a string.
func a11yKeyboardForms(acme string) map[string]a11yKeyboardForm {
	return map[string]a11yKeyboardForm{
		"log in":                                     {"#login-form", "ada@example.com", ""},
		"log in with SAML":                           {"#login-saml-form", "someone@nowhere.test", ""},
		"log in with SAML, unknown domain":           {"#login-saml-form", "", ""},
		"second step of logging in":                  {"#second-step-form", "000000", ""},
		"sign up":                                    {"#signup-form", "Kay Keys", ""},
		"forgot password":                            {"#forgot-form", "nobody@example.com", ""},
		"reset password":                             {"#reset-form", "short", ""},
		"reset password, dead link":                  {"", "", ""},
		"confirm email, other browser":               {"main form", "", ""},
		"confirm email, dead link":                   {"", "", ""},
		"confirm email change, other browser":        {"main form", "", ""},
		"stop an email change, from the old address": {"main form", "", ""},
		"stop an email change, dead link":            {"", "", ""},
		"invite, signed out":                         {"", "", ""},
		"error page (404)":                           {"", "", ""},
		"profile":                                    {`form[action="/profile/name"]`, "Ada Lovelace", ""},
		"notifications":                              {"", "", ""},
		"security activity":                          {"", "", ""},
		"preferences":                                {form: "#preferences-form", saved: "#preferences-form .pref-status"},
		"create account":                             {"#account-form", "Keyboard Co", ""},
		"account page":                               {"", "", ""},
		"account page, as a member":                  {"", "", ""},
		"Manage console":                             {`form[action="/accounts/` + acme + `/invites"]`, "dan@example.com", ""},
		"Manage SAML":                                {"#saml-form", "Keyboard IdP", ""},
		"Manage console refused (403)":               {"", "", ""},
		"account refused, two-factor (403)":          {"", "", ""},
		"invite, account requires two-factor":        {"", "", ""},
		"credit cards":                               {`form[action$="/delete"]`, "", ""},
		"invite, signed in":                          {`form[action$="/accept"]`, "", ""},
		"confirm email":                              {"main form", "", ""},
		"confirm email change":                       {"main form", "", ""},
		"confirm SAML sign-in":                       {"main form", "", ""},
		// A page reached by a form's answer (act), sent from the keyboard
		// too: the re-authentication prompt's code field (Hal, two-factor on).
		"re-authentication prompt page with a code field": {"main form:has(#sudo_2fa_code)", "000000", ""},
		// Sending these would leave for the provider or the IdP: their
		// Tab stops (the Continue button, the way back) are walked.
		"log in with GitHub, continue":           {"", "", ""},
		"log in with single sign-on, continue":   {"", "", ""},
		"verify a contact method, from its link": {"main form", "", ""},
	}
}

// a11yFocusJS describes the focused element, and says "NO-RING" when it
// shows no focus indicator: no outline and no box-shadow.
const a11yFocusJS = `(function () {
	var e = document.activeElement;
	if (!e || e === document.body || e === document.documentElement) { return 'BODY'; }
	var s = getComputedStyle(e);
	var ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== 'none');
	var name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.getAttribute('name') ? '[name=' + e.getAttribute('name') + ']' : '');
	var text = (e.getAttribute('aria-label') || e.textContent || e.value || '').trim().replace(/\s+/g, ' ').slice(0, 40);
	return (ring ? '' : 'NO-RING ') + name + (text ? ' "' + text + '"' : '') +
		(ring ? '' : ' (outline ' + s.outlineStyle + ' ' + s.outlineWidth + ', box-shadow ' + s.boxShadow + ')');
})()`

// TestBrowserKeyboard uses Roster with the keyboard alone: Tab reaches the
// user menu, Enter opens it, Tab reaches an entry, Escape closes it and
// gives focus back to its summary; on every page Tab reaches one form's
// first field and the keyboard sends the form (pages without a form are
// walked to their last Tab stop). At every Tab stop the focused element
// shows a focus indicator.
func TestBrowserKeyboard(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	site := startA11ySite(t)
	forms := a11yKeyboardForms(site.acme)
	browserCtx := startChromium(t, ctx)
	out := newBrowserTab(t, browserCtx, "signed out", browserUAChrome, true, true)
	in := newBrowserTab(t, browserCtx, "Ada", browserUAChrome, true, true)
	hal := newBrowserTab(t, browserCtx, "Hal", browserUAChrome, true, true)
	site.prepare(t, in)
	site.prepareOut(t, out)
	site.prepareHal(t, hal)

	// The user menu, from the top of the profile.
	in.navigate(t, site.base+"/profile", "section#sessions")
	var problems []string
	problems = append(problems, in.tabUntil(t, "profile", `document.activeElement.matches('nav#user-menu summary')`)...)
	menu := `(function () { var d = document.querySelector('nav#user-menu details'), a = document.activeElement;
		return d.open + '|' + a.tagName + '|' + (a.getAttribute('href') || a.textContent.trim()); })()`
	in.do(t, "open the user menu with Enter", chromedp.KeyEvent(kb.Enter))
	if got := in.eval(t, menu); !strings.HasPrefix(got, "true|SUMMARY|") {
		in.fatalf(t, "after Enter on the user menu: %q, want it open with focus on its summary", got)
	}
	in.do(t, "Tab to the first entry", chromedp.KeyEvent(kb.Tab))
	if got := in.eval(t, menu); got != "true|A|/profile" {
		in.fatalf(t, "Tab in the open user menu: %q, want focus on its User Profile entry", got)
	}
	if ring := in.eval(t, a11yFocusJS); strings.HasPrefix(ring, "NO-RING") {
		problems = append(problems, "profile, user menu entry: "+ring)
	}
	in.do(t, "press Escape", chromedp.KeyEvent(kb.Escape))
	if got := in.eval(t, menu); !strings.HasPrefix(got, "false|SUMMARY|") {
		in.fatalf(t, "Escape in the user menu: %q, want it closed with focus back on its summary", got)
	}

	// One form on every page.
	for _, p := range site.pages {
		f, ok := forms[p.name]
		if p.act != "" && !ok {
			continue // the same page as another, with a form's answer
		}
		if !ok {
			t.Errorf("page %q has no entry in a11yKeyboardForms: name the form the keyboard test sends there, or \"\" for none", p.name)
			continue
		}
		problems = append(problems, p.tab(out, in, hal).keyboardForm(t, site.base, p, f)...)
	}
	if len(problems) > 0 {
		t.Errorf("%d keyboard problems:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	t.Logf("keyboard walk of %d pages took %s", len(site.pages), time.Since(start).Round(time.Millisecond))
}

// tabUntil presses Tab until the expression is true, checking the focus
// indicator at every stop; it fails the test after 80 stops.
func (tb *browserTab) tabUntil(t *testing.T, page, until string) []string {
	t.Helper()
	var problems []string
	for i := 0; i < 80; i++ {
		if tb.eval(t, `String(!!(`+until+`))`) == "true" {
			if ring := tb.eval(t, a11yFocusJS); i == 0 && strings.HasPrefix(ring, "NO-RING") {
				problems = append(problems, fmt.Sprintf("%s, focused: %s", page, ring))
			}
			return problems
		}
		tb.do(t, "press Tab", chromedp.KeyEvent(kb.Tab))
		ring := tb.eval(t, a11yFocusJS)
		if strings.HasPrefix(ring, "NO-RING") {
			problems = append(problems, fmt.Sprintf("%s, Tab stop %d: %s", page, i+1, ring))
		}
	}
	tb.fatalf(t, "%s: 80 presses of Tab did not reach %s", page, until)
	return nil
}

// keyboardForm opens p and, with the keyboard alone, reaches f's first
// field, types into it and sends the form; or, for a page without a form,
// walks every Tab stop. It returns the stops without a focus indicator.
func (tb *browserTab) keyboardForm(t *testing.T, base string, p a11yPage, f a11yKeyboardForm) []string {
	t.Helper()
	tb.do(t, "open "+p.name, chromedp.EmulateViewport(1200, 900), chromedp.Navigate(base+p.path),
		chromedp.WaitVisible(chromedp.CSS(p.waitFor)), htmxSettled)
	if p.act != "" {
		tb.eval(t, p.act+`, 'ok'`)
		tb.do(t, "wait for the answer on "+p.name, chromedp.WaitVisible(chromedp.CSS(p.then)), htmxSettled)
	}
	name := fmt.Sprintf("%s (%s)", p.name, p.path)
	if f.form == "" {
		// Walk from the top to the last stop: focus leaves the page, or
		// comes back to the first stop.
		tb.eval(t, `document.activeElement && document.activeElement.blur(), 'ok'`)
		var problems []string
		first := ""
		for i := 1; i <= 80; i++ {
			tb.do(t, "press Tab", chromedp.KeyEvent(kb.Tab))
			ring := tb.eval(t, a11yFocusJS)
			if ring == "BODY" || ring == first {
				if i == 1 {
					tb.fatalf(t, "%s: Tab reaches nothing", name)
				}
				return problems
			}
			if first == "" {
				first = ring
			}
			if strings.HasPrefix(ring, "NO-RING") {
				problems = append(problems, fmt.Sprintf("%s, Tab stop %d: %s", name, i, ring))
			}
		}
		return problems
	}
	js := func(s string) string { return strings.ReplaceAll(s, "'", `\'`) }
	formJS := `document.querySelector('` + js(f.form) + `')`
	if tb.eval(t, `String(!!`+formJS+`)`) != "true" {
		tb.fatalf(t, "%s has no form %s", name, f.form)
	}
	// A capturing listener records the submission in sessionStorage, which
	// outlives the page a plain POST loads.
	tb.eval(t, `sessionStorage.removeItem('a11y-submit'); document.addEventListener('submit', function (e) {
		sessionStorage.setItem('a11y-submit', e.target.getAttribute('action') || '(none)'); }, true), 'ok'`)
	field := formJS + `.querySelector('input:not([type=hidden]), select, textarea, button')`
	// A form inside a closed <details> (Leave, Delete) opens with Enter on
	// its summary, as a person does.
	reach := `(function () { var f = ` + formJS + `, d = f.closest('details');
		if (d && !d.open && document.activeElement === d.querySelector('summary')) { return 'summary'; }
		return String(document.activeElement === ` + field + `); })()`
	tb.eval(t, `document.activeElement && document.activeElement.blur(), 'ok'`)
	var problems []string
	for i := 1; ; i++ {
		state := tb.eval(t, reach)
		if state == "true" {
			break
		}
		if state == "summary" {
			tb.do(t, "open the disclosure with Enter", chromedp.KeyEvent(kb.Enter))
		}
		if i > 80 {
			tb.fatalf(t, "%s: 80 presses of Tab did not reach the first field of %s", name, f.form)
		}
		tb.do(t, "press Tab", chromedp.KeyEvent(kb.Tab))
		if ring := tb.eval(t, a11yFocusJS); strings.HasPrefix(ring, "NO-RING") {
			problems = append(problems, fmt.Sprintf("%s, Tab stop %d: %s", name, i, ring))
		}
	}
	if f.saved != "" {
		tb.do(t, "change the first field with ArrowDown", chromedp.KeyEvent(kb.ArrowDown))
		said := ""
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if said = tb.eval(t, `document.querySelector('`+js(f.saved)+`').textContent.trim()`); said == "Saved" {
				return problems
			}
		}
		tb.fatalf(t, "%s: after ArrowDown on the first field, %s says %q, want Saved", name, f.saved, said)
	}
	if f.typed != "" {
		tb.do(t, "type into the first field", chromedp.KeyEvent(f.typed))
	}
	// Enter in a text field sends its form; otherwise Tab on to the
	// form's submit button and press Enter there.
	textField := `(function (e) { return e.tagName === 'INPUT' && /^(text|email|password|search|url|tel|number)$/.test(e.type); })(document.activeElement)`
	if tb.eval(t, `String(`+textField+`)`) != "true" {
		submit := `document.activeElement === ` + formJS + `.querySelector('button[type=submit], button:not([type])')`
		problems = append(problems, tb.tabUntil(t, name, submit)...)
	}
	action := tb.eval(t, formJS+`.getAttribute('action')`)
	tb.do(t, "press Enter", chromedp.KeyEvent(kb.Enter))
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		got, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('a11y-submit') || ''`))
		cancel()
		if got != "" {
			break
		}
	}
	if got != action {
		tb.fatalf(t, "%s: Enter did not send %s (submitted: %q, want %q)", name, f.form, got, action)
	}
	// The answer: a new page (a plain POST or a redirect) or an htmx swap,
	// settled for two looks in a row, so that the next page's load does not
	// cut it short.
	for deadline, calm := time.Now().Add(10*time.Second), 0; ; time.Sleep(250 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === 'complete' &&
			!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`))
		cancel()
		if err == nil && done {
			calm++
		} else {
			calm = 0
		}
		if calm == 2 {
			return problems
		}
		if time.Now().After(deadline) {
			tb.fatalf(t, "%s: no answer to %s within 10s", name, f.form)
		}
	}
}
