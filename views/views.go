// Package views renders Roster's HTML: full pages and the named fragments
// htmx swaps, from the same embedded template files.
package views

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/csrfmask"
)

//go:embed *.html
var files embed.FS

// Page is what every page template can rely on. It is built once per request.
type Page struct {
	Title string
	User  db.User // zero when signed out
	CSRF  string
	// Nonce is the request's CSP nonce. No template writes it: the
	// "nonce" partial writes a slot that fillSlots fills, so the render
	// memo, which leaves it out of the digest, never keeps it.
	Nonce string `memo:"-"`
	Flash Flash
	// Invites counts the open invites of the menu's badge. It is called
	// only when a template shows the badge, so a fragment without it
	// costs no query.
	Invites Count
	Prefs   db.Preferences // the user's, or the defaults when signed out
	// CardsOffered: Credit Cards are set up on this server (Stripe), so
	// the menu offers them.
	CardsOffered bool
	Clock        Clock // shows times as Prefs say
}

// ConfirmFirstText is the sentence shown where creating an account or
// sending an invite waits for the account email to be confirmed.
func (p Page) ConfirmFirstText() string { return RuleText(db.ErrUnconfirmedEmail) }

// InviteCount is the number on the menu's badge, 0 for none.
func (p Page) InviteCount() int {
	if p.Invites == nil {
		return 0
	}
	return p.Invites()
}

// Initials are the user menu's avatar: the first letters of the first and
// last words of the name (of the email when no name is set), upper case.
func (p Page) Initials() string {
	words := strings.Fields(p.User.DisplayName())
	if len(words) == 0 {
		return "?"
	}
	first := func(w string) string { r, _ := utf8.DecodeRuneInString(w); return string(unicode.ToUpper(r)) }
	if len(words) == 1 {
		return first(words[0])
	}
	return first(words[0]) + first(words[len(words)-1])
}

// SignedIn reports whether the page is for a signed-in user.
func (p Page) SignedIn() bool { return p.User.ID != 0 }

// Time renders a timestamp the one way every page shows them: a <time>
// element in the person's zone, date format and clock, with the exact UTC
// time as its title. In templates: {{$.Time .CreatedAt}}.
func (p Page) Time(t time.Time) template.HTML { return p.Clock.Tag(t) }

// Theme is the data-theme of <html>: "light" or "dark", or "" to follow
// the browser's prefers-color-scheme.
func (p Page) Theme() string {
	if p.Prefs.Theme == "light" || p.Prefs.Theme == "dark" {
		return p.Prefs.Theme
	}
	return ""
}

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind    string // "success" or "error"
	Message string
}

// Form carries what a person typed and what was wrong with it, so a failed
// POST re-renders the form with the values kept and messages by the fields.
type Form struct {
	Values  map[string]string
	Errors  map[string]string
	Message string // a success message shown in the form's section
}

// Fail records a message for field and returns the form for chaining.
func (f *Form) Fail(field, message string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	f.Errors[field] = message
}

// Failed reports whether any field has a message.
func (f Form) Failed() bool { return len(f.Errors) > 0 }

// AuthPage is the data of the sign-in, sign-up and password pages.
type AuthPage struct {
	Page
	Form       Form
	Next       string
	SignupOpen bool
	InviteOnly bool
	Sent       bool   // forgot: the link was sent
	Token      string // reset: the token from the link
	Valid      bool   // reset: the token can still be used

	Logins []LoginOption // login: a "Log in with" icon per configured provider
	SAML   bool          // login: a SAML connection exists, so offer /login/saml

	Passkeys     bool   // login: offer "Log in with a passkey" and passkey autofill
	PasskeyError string // login: why the passkey sign-in was refused
}

// ProfilePage is the User Profile page.
type ProfilePage struct {
	Page
	Contact         Form
	VerifyMail      db.MailState  // the confirmation link's mail, while the email is not verified
	Notify          NotifySection // #contact-info: contact methods and the account email change
	Password        Form
	SessionsMessage string
	Sessions        []SessionRow
	SessionsPage    Pager
	Accounts        []db.Membership  // #my-accounts
	SecondFactor    bool             // #my-accounts: the user has one (db.Factors.Any), so no account requiring it is closed
	AccountsForm    Form             // Leave's outcome
	Invites         []db.Invite      // #account-invites: open ones, for accounts the user is not in
	InvitesForm     Form             // Accept's or Ignore's outcome
	Logins          []LoginRow       // #sso-logins: the linked logins
	AddLogins       []LoginOption    // #sso-logins: an Add Login button per configured provider
	LoginsForm      Form             // the X's outcome
	TwoFactor       TwoFactorSection // #two-factor
	Passkeys        []PasskeyRow     // #passkeys
	PasskeysForm    Form             // adding, renaming or removing one
	PasskeysOffered bool             // the server can use passkeys (its base URL has a host name)
	Leave           Form             // #leave: Delete my profile's outcome
	Owned           []db.Account     // #leave: the accounts that keep the profile from being deleted
}

// SessionRow is one signed-in browser in the #sessions table.
type SessionRow struct {
	ID       int64
	Device   string
	IP       string
	LastSeen time.Time
	Created  time.Time
	Current  bool
}

// LoginRow is one linked external login in #sso-logins.
type LoginRow struct {
	ID       int64
	Provider string // as people know it: Google, GitHub, Slack, the OpenID Connect provider's name
	Email    string // the email at the provider
	Linked   time.Time
	LastUsed time.Time
}

// LoginOption is a configured external-login provider: Key in its URLs
// (/auth/{key}), Name on its buttons.
type LoginOption struct {
	Key  string
	Name string
	Icon string // its brand mark under /static/icons/, e.g. "github.svg"
}

// ActivityPage is one page of the security/activity log, under the
// sign-in chart.
type ActivityPage struct {
	Page
	Events []EventRow
	Pager  KeysetPager
	Chart  SignInChart
}

// EventRow is one line of the activity log.
type EventRow struct {
	When   time.Time
	What   string
	IP     string
	Device string
	// ByOther: someone else did it; their IP address and device are
	// not shown (db.Event.ByOther).
	ByOther bool
}

// MessagePage is a page that only says something, with an optional link;
// it serves the error page too.
type MessagePage struct {
	Page
	Heading  string
	Text     string
	Link     string
	LinkText string
}

// SAMLConfirmPage asks the person to confirm an IdP-initiated sign-in:
// Email through the connection named Connection. The form posts Token to
// Action.
type SAMLConfirmPage struct {
	Page
	Email      string
	Connection string
	Action     string
	Token      string
}

// ConfirmLinkPage asks the person who opened an emailed link to confirm
// Email for a profile: verifying the account email, or, when Replaces is
// set, making Email the account email instead of Replaces. Opening the
// link changes nothing (mail scanners open links too); the form posts to
// Action. Stranger is set when this browser is not signed in to that
// profile: the page then warns first and the button is secondary.
type ConfirmLinkPage struct {
	Page
	Email    string
	Replaces string
	Action   string
	Stranger bool
}

// ContinueSignInPage answers a GET of a sign-in start (a bookmark, a link
// from another site or an IdP's dashboard): nothing starts until the
// person posts its form, with the CSRF token, to Action, carrying Next.
type ContinueSignInPage struct {
	Page
	Name string // the provider or SAML connection
	// Account is the account whose SAML connection it is: its Admins chose
	// the identity provider (and named the connection), so the page says
	// whose sign-in it is.
	Account string
	Action  string
	Next    string
}

// SignInSwitchPage refuses an external sign-in that came back for another
// profile than the one this browser is signed in to (Current): it offers
// to log out first, then go to Next.
type SignInSwitchPage struct {
	Page
	Current string // the signed-in person's email
	Method  string // the provider or SAML connection
	Next    string
}

// ContactVerifyPage answers the link in a contact method's code message:
// opening it spends nothing; the form posts Code to Action.
type ContactVerifyPage struct {
	Page
	Kind    string
	Address string
	Action  string
	Code    string
}

// EmailCancelPage answers the link that cancels a pending change of the
// account email (mailed to the current address): opening it changes
// nothing; the form posts to Action.
type EmailCancelPage struct {
	Page
	Email   string // the address the change is to
	Current string // the account email now
	Action  string
}

// pages maps each page file to the zero value of its data, which also lets
// the tests execute every template with zero data.
var pages = map[string]any{
	"login.html":            AuthPage{},
	"signup.html":           AuthPage{},
	"forgot.html":           AuthPage{},
	"reset.html":            AuthPage{},
	"message.html":          MessagePage{},
	"error.html":            MessagePage{},
	"profile.html":          ProfilePage{},
	"activity.html":         ActivityPage{},
	"account_new.html":      NewAccountPage{},
	"account.html":          AccountPage{},
	"manage.html":           ManagePage{},
	"invite.html":           InvitePage{},
	"login_saml.html":       AuthPage{},
	"saml_confirm.html":     SAMLConfirmPage{},
	"confirm_link.html":     ConfirmLinkPage{},
	"preferences.html":      PreferencesPage{},
	"cards.html":            CardsPage{},
	"notifications.html":    NotificationsPage{},
	"login_two_factor.html": SecondStepPage{},
	"sudo.html":             SudoPage{},
	"account_2fa.html":      TwoFactorRequiredPage{},
	"signin_continue.html":  ContinueSignInPage{},
	"signin_switch.html":    SignInSwitchPage{},
	"contact_verify.html":   ContactVerifyPage{},
	"email_cancel.html":     EmailCancelPage{},
}

// Renderer holds one parsed template set per page file, and one per
// message text (mail.go).
type Renderer struct {
	sets map[string]*template.Template
	mail map[string]*texttemplate.Template
	memo *memo
}

// New parses every page with the layout and partials, and every message
// text. A template error stops start-up rather than a request.
func New() (*Renderer, error) {
	mail, err := parseMail()
	if err != nil {
		return nil, err
	}
	r := &Renderer{sets: map[string]*template.Template{}, mail: mail, memo: newMemo()}
	for name := range pages {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "layout.html", "partials.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		r.sets[name] = t
	}
	return r, nil
}

// UseStatic makes the templates' "static" function answer url(name): the
// fingerprinted URL of a static file (assets.Set.URL), constant while the
// process runs. Call it once, before the first page is rendered (a page
// the memo kept before would hold plain /static/ URLs, which still serve).
func (r *Renderer) UseStatic(url func(name string) string) {
	for _, t := range r.sets {
		t.Funcs(template.FuncMap{"static": url})
	}
}

// Page renders a whole page into w: the pages of memoPages through the
// render memo (memo.go).
func (r *Renderer) Page(w io.Writer, page string, data any) error {
	if buf, ok := w.(*bytes.Buffer); ok {
		if done, err := r.pageMemo(buf, page, data); done {
			if err != nil {
				return fmt.Errorf("render %s/layout: %w", page, err)
			}
			return nil
		}
	}
	return r.Fragment(w, page, "layout", data)
}

// execute runs the named template of page into buf, cutting what it wrote
// on failure.
func (r *Renderer) execute(buf *bytes.Buffer, page, name string, data any) error {
	t, ok := r.sets[page]
	if !ok {
		return fmt.Errorf("no page %q", page)
	}
	n := buf.Len()
	if err := t.ExecuteTemplate(buf, name, data); err != nil {
		buf.Truncate(n)
		return err
	}
	return nil
}

// Fragment renders the named template of page (a section or a form) into w.
// A failing template never leaves half a page in w: into a bytes.Buffer (the
// responder's) it renders directly and cuts what it wrote on failure;
// anything else gets the fragment only once it rendered whole.
func (r *Renderer) Fragment(w io.Writer, page, name string, data any) error {
	if _, ok := r.sets[page]; !ok {
		return fmt.Errorf("render: no page %q", page)
	}
	if buf, ok := w.(*bytes.Buffer); ok {
		n := buf.Len()
		if err := r.execute(buf, page, name, data); err != nil {
			return fmt.Errorf("render %s/%s: %w", page, name, err)
		}
		if err := fillSlots(buf, n, data); err != nil {
			buf.Truncate(n)
			return fmt.Errorf("render %s/%s: %w", page, name, err)
		}
		return nil
	}
	var buf bytes.Buffer
	if err := r.execute(&buf, page, name, data); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	if err := fillSlots(&buf, 0, data); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// csrfSlot is what the "csrf" partial writes where the form's token goes;
// fillSlots puts the page's token there once the template has run. A page
// has a form in most sections, and a {{.CSRF}} in each cost an escaper
// call by reflection and a search of the embedded Page by name: a tenth of
// the profile page's allocations. No value a template writes can contain
// the slot: html/template escapes its "<" in every context. It is as long
// as a masked token (csrfmask.MaskedLen: a 32-byte pad and the token XOR
// the pad, unpadded base64url), so the token takes its place without
// moving the rest of the page. Every answer gets its own pad: no two
// responses carry the same token bytes, which is what makes compressing
// pages safe (BREACH).
const csrfSlot = "<csrf-token-slot: filled in by fillSlots, masked afresh each time by csrfmask.Mask...>"

// nonceSlot is what the "nonce" partial writes where a script's CSP
// nonce goes, for fillSlots to fill: as long as a nonce (18 random bytes in
// unpadded base64url), and, like csrfSlot, nothing a template writes for
// a value can contain it. The nonce is new on every request, so the render
// memo keeps pages with the slot and never with a nonce.
const nonceSlot = "<nonce-slot:fillSlots..>"

// slotPage is any page data: every page embeds Page.
type slotPage interface {
	csrfToken() string
	nonce() string
}

func (p Page) csrfToken() string { return p.CSRF }
func (p Page) nonce() string     { return p.Nonce }

// The slots as bytes, for searching.
var (
	csrfSlotBytes  = []byte(csrfSlot)
	nonceSlotBytes = []byte(nonceSlot)
)

// fillSlots puts the CSRF token and the nonce of data's Page, escaped for
// the attribute they stand in, into every csrfSlot and nonceSlot of buf
// from byte n on. A slot without a Page to take the value from is an
// error, not a form that cannot post or a script that does not run.
func fillSlots(buf *bytes.Buffer, n int, data any) error {
	return fillSlotsAt(buf, n, findSlots(buf.Bytes()[n:]), data)
}

// slot is where a slot starts in a rendered page, and which it is.
type slot struct {
	at    int
	nonce bool
}

// findSlots lists the slots of a rendered page, in order.
func findSlots(page []byte) []slot {
	var slots []slot
	for _, s := range []struct {
		b     []byte
		nonce bool
	}{{csrfSlotBytes, false}, {nonceSlotBytes, true}} {
		for at := 0; ; {
			i := bytes.Index(page[at:], s.b)
			if i < 0 {
				break
			}
			slots = append(slots, slot{at: at + i, nonce: s.nonce})
			at += i + len(s.b)
		}
	}
	slices.SortFunc(slots, func(a, b slot) int { return a.at - b.at })
	return slots
}

// fillSlotsAt fills the slots of the page in buf from byte n on, which
// are at slots (findSlots).
func fillSlotsAt(buf *bytes.Buffer, n int, slots []slot, data any) error {
	if len(slots) == 0 {
		return nil
	}
	p, ok := data.(slotPage)
	if !ok {
		return fmt.Errorf("a form's CSRF token or a script's nonce, but the data (%T) has no Page", data)
	}
	// One pad for the answer: new for every answer, the same in each of
	// its slots (a compressed page then carries 64 random bytes, not 64
	// per form).
	token, nonce := csrfmask.Mask(p.csrfToken()), html.EscapeString(p.nonce())
	if len(token) == len(csrfSlot) && len(nonce) == len(nonceSlot) {
		out := buf.Bytes()[n:]
		for _, s := range slots {
			if s.nonce {
				copy(out[s.at:], nonce)
			} else {
				// base64url: nothing to escape in any context.
				copy(out[s.at:], token)
			}
		}
		return nil
	}
	// Values of another length (only in tests) move the rest of the page.
	token = html.EscapeString(token)
	page := buf.Bytes()[n:]
	var filled []byte
	last := 0
	for _, s := range slots {
		filled = append(filled, page[last:s.at]...)
		if s.nonce {
			filled = append(filled, nonce...)
			last = s.at + len(nonceSlot)
		} else {
			filled = append(filled, token...)
			last = s.at + len(csrfSlot)
		}
	}
	filled = append(filled, page[last:]...)
	buf.Truncate(n)
	buf.Write(filled)
	return nil
}

// OutOfBand renders the named fragment of page for htmx to swap out of
// band: its first element gets hx-swap-oob, so the template needs no flag
// to say how it is sent. A fragment that renders no element (a section
// this person does not see) sends nothing.
func (r *Renderer) OutOfBand(w io.Writer, page, name string, data any) error {
	var buf bytes.Buffer
	if err := r.Fragment(&buf, page, name, data); err != nil {
		return err
	}
	b := buf.Bytes()
	start := bytes.IndexByte(b, '<')
	if start < 0 {
		return nil
	}
	end := tagEnd(b, start)
	if end < 0 {
		return fmt.Errorf("render %s/%s out of band: unclosed tag", page, name)
	}
	if b[end-1] == '/' {
		end--
	}
	if _, err := w.Write(b[:end]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, ` hx-swap-oob="true"`); err != nil {
		return err
	}
	_, err := w.Write(b[end:])
	return err
}

// tagEnd is the index of the '>' that closes the tag opened at b[start],
// skipping any inside quoted attribute values; -1 when there is none.
func tagEnd(b []byte, start int) int {
	var quote byte
	for i := start; i < len(b); i++ {
		switch {
		case quote != 0:
			if b[i] == quote {
				quote = 0
			}
		case b[i] == '"' || b[i] == '\'':
			quote = b[i]
		case b[i] == '>':
			return i
		}
	}
	return -1
}

// Toast renders an error toast fragment.
func (r *Renderer) Toast(w io.Writer, message string) error {
	return r.Fragment(w, "error.html", "toast", message)
}

var funcs = template.FuncMap{
	// Every function here must answer from its arguments alone (no clock,
	// no randomness, no state that changes): the render memo relies on it,
	// and TestFuncsAudited fails for one not listed there as checked.
	//
	// iso and datetime ignore the person's preferences: show times with
	// Page.Time ({{$.Time .At}}) instead.
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
	"roleName":      db.RoleName,
	"kindName":      db.KindName,
	"deliveryError": PlainDeliveryError,
	"mailNote":      MailNote,
	"emailStatus":   EmailStatus,
	"changeStatus":  ChangeStatus,
	"roles":         func() []string { return db.Roles },
	// static is the URL of a static file, by its name under static/:
	// fingerprinted (/static/htmx.min.<hash>.js) once the handlers set the
	// table (Renderer.UseStatic).
	"static": func(name string) string { return "/static/" + name },
	// invites is the invite badge's words for screen readers.
	"invites": func(n int) string { return Plural(int64(n), "pending invite", "pending invites") },
}

// Plural counts n things: "1 day", "3 days".
func Plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// Files exposes the embedded templates, for tests that list fragments.
func Files() fs.FS { return files }
