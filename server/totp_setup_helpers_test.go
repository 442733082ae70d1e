package server

import (
	"context"
	"crypto/sha256"
	"strconv"
	"time"

	"github.com/rosterhq/roster/db"
)

// An authenticator-app set-up belongs to the session that started it,
// with its re-authentication fresh (db.StartTOTP): testStartTOTP and
// testConfirmTOTP turn an app on for a test as a person does, in a
// session of their own that re-authenticated, which ends once the app is
// on (the confirmed secret outlives it).

func testSetUpSession(userID int64) []byte {
	sum := sha256.Sum256([]byte("test set-up session of user " + strconv.FormatInt(userID, 10)))
	return sum[:]
}

func testStartTOTP(s *db.Store, ctx context.Context, userID int64, sealed []byte) error {
	hash := testSetUpSession(userID)
	s.CreateSession(ctx, db.Session{IDHash: hash, UserID: userID, ExpiresAt: time.Now().Add(time.Hour)}) // there already, or made
	if err := s.Reauthenticate(ctx, userID, hash, db.Event{Kind: db.EventSudo}); err != nil {
		return err
	}
	return s.StartTOTP(ctx, userID, hash, sealed)
}

func testConfirmTOTP(s *db.Store, ctx context.Context, userID, step int64, codes [][]byte, ev db.Event) error {
	hash := testSetUpSession(userID)
	err := s.ConfirmTOTP(ctx, userID, hash, step, codes, ev)
	if derr := s.DeleteSession(ctx, hash); err == nil {
		err = derr
	}
	return err
}
