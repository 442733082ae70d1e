// Package session keeps sign-in sessions in the database behind the
// gorilla/sessions Store interface. The cookie holds only a random 256-bit id;
// the table holds its SHA-256, so a leaked database cannot be replayed as cookies.
package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/clip"
)

// touchEvery bounds how often a session's last-seen time is written, so a
// busy page does not turn every read into a write.
const touchEvery = time.Minute

// untouchedKey marks a request that must not count as using its session.
type untouchedKey struct{}

// Untouched returns r marked so that reading its session does not update
// the session's last-seen time: a background poll is not a person using
// the session, and must not keep an idle one alive.
func Untouched(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), untouchedKey{}, true))
}

// userKey is where the signed-in user's id sits in Session.Values.
const userKey = "user_id"

// identityKey is where SignInThrough leaves the external login that opened
// the session, for Save to record; like userKey it is never stored in the
// session's data.
const identityKey = "identity_id"

// signedInKey is where New leaves the user and preferences it read with the
// session, for Current; like userKey it is never stored in the session's
// data.
type signedInKey struct{}

// Store implements sessions.Store on the sessions table.
type Store struct {
	db       *db.Store
	name     string
	secure   bool
	idle     time.Duration
	absolute time.Duration
	clientIP func(*http.Request) string
	replica  func() bool
}

// ErrOnPrimary is what reading a session returns on a LiteFS replica when
// its last-seen time is due to be written: the request is for the primary
// (Fly-Replay), so that a session used only through a replica stays alive.
var ErrOnPrimary = errors.New("the session's last-seen time is due: the request is for the primary")

// Config sets the cookie and expiry rules.
type Config struct {
	Secure   bool          // https base URL: Secure cookie with the __Host- prefix
	Idle     time.Duration // sign out after this long unused
	Absolute time.Duration // sign out this long after sign-in, used or not
	ClientIP func(*http.Request) string
	// Replica says whether the database is a LiteFS replica, which cannot
	// write; nil means it never is.
	Replica func() bool
}

// New returns a Store on store.
func New(store *db.Store, cfg Config) *Store {
	name := "roster_session"
	if cfg.Secure {
		name = "__Host-roster_session"
	}
	return &Store{db: store, name: name, secure: cfg.Secure, idle: cfg.Idle, absolute: cfg.Absolute, clientIP: cfg.ClientIP, replica: cfg.Replica}
}

// Name is the cookie name.
func (s *Store) Name() string { return s.name }

// Get returns the request's session, cached for the rest of the request.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, or returns a new,
// empty one when there is no cookie or it names no live session.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = s.options(int(s.absolute / time.Second))
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) != 32 {
		return sess, nil
	}
	read := s.db.ActiveSession
	if writes(r) {
		read = s.db.ActiveSessionToWrite
	}
	in, err := read(r.Context(), hashID(c.Value), time.Now().Add(-s.idle))
	if errors.Is(err, db.ErrNotFound) {
		return sess, nil
	}
	if err != nil {
		return sess, fmt.Errorf("load session: %w", err)
	}
	if len(in.Data) > 0 {
		if err := gob.NewDecoder(bytes.NewReader(in.Data)).Decode(&sess.Values); err != nil {
			return sess, fmt.Errorf("decode session %d: %w", in.SessionID, err)
		}
	}
	sess.Values[userKey] = in.User.ID
	sess.Values[signedInKey{}] = in
	sess.ID = c.Value
	sess.IsNew = false
	if time.Since(in.LastSeenAt) >= touchEvery && r.Context().Value(untouchedKey{}) == nil {
		if s.replica != nil && s.replica() {
			return sess, ErrOnPrimary
		}
		if err := s.db.TouchSession(r.Context(), in.IDHash, s.ip(r)); err != nil {
			return sess, fmt.Errorf("touch session %d: %w", in.SessionID, err)
		}
	}
	return sess, nil
}

// writes says whether r is a request that will most likely write: any
// method but GET, HEAD and OPTIONS (which never change anything,
// DESIGN section 4). Its session is read on the writer connection
// (db.Store.ActiveSessionToWrite).
func writes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// Save writes the session. A session without a signed-in user is not stored
// at all: anonymous visitors cost no database rows. MaxAge < 0 deletes it.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.db.DeleteSession(r.Context(), hashID(sess.ID)); err != nil {
				return fmt.Errorf("delete session: %w", err)
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", s.options(-1)))
		return nil
	}
	userID, ok := sess.Values[userKey].(int64)
	if !ok {
		return nil
	}
	data, err := encode(sess.Values)
	if err != nil {
		return err
	}
	if sess.ID != "" {
		return s.db.SaveSessionData(r.Context(), hashID(sess.ID), data)
	}
	sess.ID = newID()
	identityID, _ := sess.Values[identityKey].(int64)
	_, err = s.db.CreateSession(r.Context(), db.Session{
		IDHash:     hashID(sess.ID),
		UserID:     userID,
		ExpiresAt:  time.Now().Add(s.absolute),
		IP:         s.ip(r),
		UserAgent:  clip.String(r.UserAgent(), 512),
		Data:       data,
		IdentityID: identityID,
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), sess.ID, s.options(int(s.absolute/time.Second))))
	return nil
}

// SignIn starts a fresh session for userID, dropping the request's old one:
// the id is rotated at every sign-in so a planted cookie is worthless.
func (s *Store) SignIn(w http.ResponseWriter, r *http.Request, userID int64) error {
	return s.SignInThrough(w, r, userID, 0)
}

// SignInThrough is SignIn for a sign-in with the external login identityID
// (0 for none), which the session records: whatever removes the login (its
// SAML connection going, the first verification of the account email)
// signs the session out. A login removed meanwhile fails the sign-in
// (db.CreateSession).
func (s *Store) SignInThrough(w http.ResponseWriter, r *http.Request, userID, identityID int64) error {
	old, err := s.Get(r, s.name)
	if err == nil && old.ID != "" {
		if err := s.db.DeleteSession(r.Context(), hashID(old.ID)); err != nil {
			return fmt.Errorf("drop old session: %w", err)
		}
	}
	sess := sessions.NewSession(s, s.name)
	sess.Options = s.options(int(s.absolute / time.Second))
	sess.Values[userKey] = userID
	if identityID != 0 {
		sess.Values[identityKey] = identityID
	}
	if err := s.Save(r, w, sess); err != nil {
		return fmt.Errorf("sign in user %d: %w", userID, err)
	}
	*old = *sess // later reads in this request see the new session
	return nil
}

// SignOut deletes the request's session and clears its cookie.
func (s *Store) SignOut(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.Get(r, s.name)
	if err != nil {
		return err
	}
	sess.Options = s.options(-1)
	return s.Save(r, w, sess)
}

// Current returns the request's session with its user and their
// preferences, or ok=false for an anonymous request (or a user who no
// longer exists).
func (s *Store) Current(r *http.Request) (in db.SignedIn, ok bool, err error) {
	sess, err := s.Get(r, s.name)
	if err != nil {
		return db.SignedIn{}, false, err
	}
	userID, ok := sess.Values[userKey].(int64)
	if !ok || sess.ID == "" {
		return db.SignedIn{}, false, nil
	}
	if in, ok := sess.Values[signedInKey{}].(db.SignedIn); ok {
		return in, true, nil
	}
	// Signed in during this request: the session was not read.
	in.User, err = s.db.UserByID(r.Context(), userID)
	if errors.Is(err, db.ErrNotFound) {
		return db.SignedIn{}, false, nil
	}
	if err == nil {
		in.Prefs, err = s.db.Preferences(r.Context(), userID)
	}
	if err != nil {
		return db.SignedIn{}, false, err
	}
	in.IDHash = hashID(sess.ID)
	return in, true, nil
}

// DeleteExpired removes sessions that can no longer be used, and other
// short-lived rows, older than their limits.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	return s.db.DeleteExpired(ctx, time.Now().Add(-s.idle))
}

// IdleSince is the last-seen time before which a session counts as expired.
func (s *Store) IdleSince() time.Time { return time.Now().Add(-s.idle) }

func (s *Store) options(maxAge int) *sessions.Options {
	return &sessions.Options{Path: "/", MaxAge: maxAge, Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

func (s *Store) ip(r *http.Request) string {
	if s.clientIP != nil {
		return s.clientIP(r)
	}
	return r.RemoteAddr
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashID is how a cookie value is looked up without storing it.
func hashID(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

func encode(values map[any]any) ([]byte, error) {
	rest := make(map[any]any, len(values))
	for k, v := range values {
		if _, read := k.(signedInKey); k != userKey && k != identityKey && !read {
			rest[k] = v
		}
	}
	if len(rest) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(rest); err != nil {
		return nil, fmt.Errorf("encode session: %w", err)
	}
	return buf.Bytes(), nil
}
