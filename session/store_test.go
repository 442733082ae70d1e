package session

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
)

func newStore(t *testing.T, secure bool) (*Store, *db.Store, db.User) {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(ctx, db.NewUser{Email: "a@example.com"}, db.Event{Kind: db.EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	return New(store, Config{Secure: secure, Idle: time.Hour, Absolute: 24 * time.Hour}), store, u
}

// signIn runs SignIn on a fresh request and returns the cookie it set.
func signIn(t *testing.T, s *Store, userID int64, with *http.Cookie) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest("POST", "/login", nil)
	if with != nil {
		r.AddCookie(with)
	}
	w := httptest.NewRecorder()
	if err := s.SignIn(w, r, userID); err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("got %d cookies, want 1", len(cookies))
	}
	return cookies[0]
}

func current(t *testing.T, s *Store, c *http.Cookie) (int64, bool) {
	t.Helper()
	r := httptest.NewRequest("GET", "/profile", nil)
	if c != nil {
		r.AddCookie(c)
	}
	in, ok, err := s.Current(r)
	if err != nil {
		t.Fatal(err)
	}
	return in.User.ID, ok
}

func TestCookieHoldsOnlyARandomID(t *testing.T) {
	s, store, u := newStore(t, false)
	c := signIn(t, s, u.ID, nil)
	if c.Name != "roster_session" || !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("cookie: got %+v", c)
	}
	if len(c.Value) != 43 {
		t.Fatalf("cookie value: got %d characters, want 43 (32 random bytes)", len(c.Value))
	}
	list, err := store.SessionsForUser(context.Background(), u.ID, time.Now().Add(-time.Hour))
	if err != nil || len(list) != 1 {
		t.Fatalf("sessions: got %d, %v; want 1", len(list), err)
	}
	if string(list[0].IDHash) == c.Value || len(list[0].IDHash) != 32 {
		t.Fatalf("stored id: got %x, want the SHA-256 of the cookie value", list[0].IDHash)
	}
	if id, ok := current(t, s, c); !ok || id != u.ID {
		t.Fatalf("Current: got %d, %v; want %d, true", id, ok, u.ID)
	}
}

func TestSecureCookieUsesHostPrefix(t *testing.T) {
	s, _, u := newStore(t, true)
	c := signIn(t, s, u.ID, nil)
	if c.Name != "__Host-roster_session" || !c.Secure {
		t.Fatalf("cookie: got name %q secure %v, want __Host-roster_session and Secure", c.Name, c.Secure)
	}
}

func TestSignInRotatesID(t *testing.T) {
	s, _, u := newStore(t, false)
	first := signIn(t, s, u.ID, nil)
	second := signIn(t, s, u.ID, first)
	if first.Value == second.Value {
		t.Fatal("sign-in kept the old session id")
	}
	if _, ok := current(t, s, first); ok {
		t.Fatal("the session from before sign-in still works")
	}
	if _, ok := current(t, s, second); !ok {
		t.Fatal("the new session does not work")
	}
}

func TestUnknownOrForgedCookiesAreAnonymous(t *testing.T) {
	s, _, _ := newStore(t, false)
	for _, v := range []string{"", "short", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "!!!!"} {
		if _, ok := current(t, s, &http.Cookie{Name: s.Name(), Value: v}); ok {
			t.Errorf("cookie %q: got signed in, want anonymous", v)
		}
	}
	// An anonymous session is never written to the database.
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	sess, _ := s.Get(r, s.Name())
	if err := s.Save(r, w, sess); err != nil || len(w.Result().Cookies()) != 0 {
		t.Fatalf("anonymous save: got %v and %d cookies, want nothing stored", err, len(w.Result().Cookies()))
	}
}

func TestSignOutDeletesSession(t *testing.T) {
	s, _, u := newStore(t, false)
	c := signIn(t, s, u.ID, nil)
	r := httptest.NewRequest("POST", "/logout", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	if err := s.SignOut(w, r); err != nil {
		t.Fatal(err)
	}
	cleared := w.Result().Cookies()
	if len(cleared) != 1 || cleared[0].MaxAge >= 0 {
		t.Fatalf("sign-out cookie: got %+v, want one expired cookie", cleared)
	}
	if _, ok := current(t, s, c); ok {
		t.Fatal("the cookie still works after sign-out")
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	s, store, u := newStore(t, false)
	c := signIn(t, s, u.ID, nil)
	s.idle = 0 // every session is now idle past the limit
	if _, ok := current(t, s, c); ok {
		t.Fatal("idle session still works")
	}
	s.idle = time.Hour
	id := newID()
	if _, err := store.CreateSession(context.Background(), db.Session{IDHash: hashID(id), UserID: u.ID, ExpiresAt: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := current(t, s, &http.Cookie{Name: s.Name(), Value: id}); ok {
		t.Fatal("session past its absolute expiry still works")
	}
	n, err := s.DeleteExpired(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired: got %d, %v; want 1", n, err)
	}
	if list, _ := store.SessionsForUser(context.Background(), u.ID, time.Time{}); len(list) != 1 {
		t.Fatalf("sessions left: got %d, want 1", len(list))
	}
}

// TestCurrentReadsUserAndPreferences: Current gives the session's user and
// their saved preferences, whether the session came from the cookie or was
// started by SignIn in the same request.
func TestCurrentReadsUserAndPreferences(t *testing.T) {
	s, store, u := newStore(t, false)
	ctx := context.Background()
	prefs := db.DefaultPreferences()
	prefs.Theme, prefs.PageSize = "dark", 50
	if err := store.SavePreferences(ctx, u.ID, prefs); err != nil {
		t.Fatal(err)
	}
	check := func(what string, in db.SignedIn, ok bool, err error, cookie string) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("%s: Current = %v, %v; want signed in", what, ok, err)
		}
		if in.User.ID != u.ID || in.User.Email != u.Email || in.Prefs != prefs {
			t.Errorf("%s: user %+v, preferences %+v; want user %d and %+v", what, in.User, in.Prefs, u.ID, prefs)
		}
		if string(in.IDHash) != string(hashID(cookie)) {
			t.Errorf("%s: session hash is not the cookie's", what)
		}
	}

	r := httptest.NewRequest("POST", "/login", nil)
	w := httptest.NewRecorder()
	if err := s.SignIn(w, r, u.ID); err != nil {
		t.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	in, ok, err := s.Current(r)
	check("in the request that signed in", in, ok, err, cookie.Value)

	r = httptest.NewRequest("GET", "/profile", nil)
	r.AddCookie(cookie)
	in, ok, err = s.Current(r)
	check("from the cookie", in, ok, err, cookie.Value)
}

// TestSignInThroughRecordsTheLogin: a session opened through an external
// login ends when the login goes with its SAML connection; one opened
// otherwise stays.
func TestSignInThroughRecordsTheLogin(t *testing.T) {
	ctx := context.Background()
	s, store, u := newStore(t, false)
	// Creating an account needs a confirmed email.
	if _, err := store.MarkEmailVerified(ctx, u.ID, db.Event{Kind: db.EventEmailVerified}); err != nil {
		t.Fatal(err)
	}
	acc, err := store.CreateAccount(ctx, u.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := store.CreateSAMLConnection(ctx, acc.ID, u.ID, db.NewSAMLConnection{Name: "Okta", IdPMetadataXML: "<md/>", EmailDomains: []string{"example.org"}}, db.Event{Kind: db.EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.VerifySAMLDomain(ctx, conn.ID, "example.org", db.Event{Kind: db.EventSAMLDomainVerified}); err != nil {
		t.Fatal(err)
	}
	if conn, err = store.SAMLConnection(ctx, conn.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.StartSAMLRequest(ctx, db.SAMLRequest{RelayState: "r", ConnectionID: conn.ID, RequestID: "id", BrowserHash: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	ext := db.External{Provider: "saml:" + strconv.FormatInt(conn.ID, 10), Subject: "bea", Email: "bea@example.org", EmailVerified: true}
	out, err := store.SAMLLogin(ctx, db.SAMLSignIn{Connection: conn, RelayState: "r", BrowserHash: []byte("b"), AssertionID: "a", External: ext}, db.Event{Kind: db.EventSignIn})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := s.SignInThrough(w, httptest.NewRequest("POST", "/saml/1/acs", nil), out.User.ID, out.IdentityID); err != nil {
		t.Fatal(err)
	}
	through := w.Result().Cookies()[0]
	other := signIn(t, s, out.User.ID, nil)
	if _, err := store.DeleteSAMLConnection(ctx, acc.ID, u.ID, conn.ID, db.Event{Kind: db.EventSAMLConnectionDeleted}); err != nil {
		t.Fatal(err)
	}
	if _, ok := current(t, s, through); ok {
		t.Errorf("the session opened through the deleted connection's login is still signed in")
	}
	if _, ok := current(t, s, other); !ok {
		t.Errorf("the session opened otherwise was signed out too")
	}
}

// TestUntouchedKeepsLastSeen: reading the session of an Untouched request
// (the menu badge's poll) leaves its last-seen time alone, so an open tab
// does not keep an idle session alive; an ordinary request updates it.
func TestUntouchedKeepsLastSeen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	store, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(context.Background(), db.NewUser{Email: "a@example.com"}, db.Event{Kind: db.EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	s := New(store, Config{Idle: time.Hour, Absolute: 24 * time.Hour})
	c := signIn(t, s, u.ID, nil)
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE sessions SET last_seen_at = last_seen_at - 600`); err != nil {
		t.Fatal(err)
	}
	seen := func() time.Time {
		list, err := store.SessionsForUser(context.Background(), u.ID, time.Time{})
		if err != nil || len(list) != 1 {
			t.Fatalf("sessions: %v, %d", err, len(list))
		}
		return list[0].LastSeenAt
	}
	before := seen()
	r := httptest.NewRequest("GET", "/profile/invite-badge", nil)
	r.AddCookie(c)
	if _, ok, err := s.Current(Untouched(r)); err != nil || !ok {
		t.Fatalf("Current(Untouched): ok %v, %v", ok, err)
	}
	if after := seen(); !after.Equal(before) {
		t.Errorf("an untouched read moved last seen from %v to %v", before, after)
	}
	if _, ok := current(t, s, c); !ok {
		t.Fatal("not signed in")
	}
	if after := seen(); !after.After(before) {
		t.Errorf("an ordinary read left last seen at %v", after)
	}
}
