// Package totptest turns an authenticator app on for a test as a person
// does: an app set-up belongs to the session that started it, with its
// re-authentication fresh (db.Store.StartTOTP), so Start and Confirm work
// in a session of the person's own that re-authenticated and ends once the
// app is on (the confirmed secret outlives it). The db package's own tests
// keep a copy (they cannot import this package, which imports db).
package totptest

import (
	"context"
	"crypto/sha256"
	"strconv"
	"time"

	"github.com/rosterhq/roster/db"
)

// session is the set-up session's id hash for userID.
func session(userID int64) []byte {
	sum := sha256.Sum256([]byte("test set-up session of user " + strconv.FormatInt(userID, 10)))
	return sum[:]
}

// Start begins userID's set-up with the sealed secret, in the set-up
// session (made if need be) after re-authenticating it.
func Start(ctx context.Context, s *db.Store, userID int64, sealed []byte) error {
	hash := session(userID)
	s.CreateSession(ctx, db.Session{IDHash: hash, UserID: userID, ExpiresAt: time.Now().Add(time.Hour)}) // there already, or made
	if err := s.Reauthenticate(ctx, userID, hash, db.Event{Kind: db.EventSudo}); err != nil {
		return err
	}
	return s.StartTOTP(ctx, userID, hash, sealed)
}

// Confirm turns the app on with the code of step, stores codes as the
// recovery codes, writes ev, and ends the set-up session.
func Confirm(ctx context.Context, s *db.Store, userID, step int64, codes [][]byte, ev db.Event) error {
	hash := session(userID)
	err := s.ConfirmTOTP(ctx, userID, hash, step, codes, ev)
	if derr := s.DeleteSession(ctx, hash); err == nil {
		err = derr
	}
	return err
}
