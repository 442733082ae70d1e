// Verification codes of contact methods and the limits on what may be sent to them.

package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Composer writes the message that carries a verification code to m (the
// caller has the words: views).
type Composer func(m ContactMethod, code string) (Notice, error)

// SendContactCode replaces the method's code with a new one, which unlocks
// it, and queues compose's message with it.
func (s *Store) SendContactCode(ctx context.Context, userID, id int64, compose Composer) (ContactMethod, error) {
	var m ContactMethod
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if m, err = contactByID(ctx, tx, userID, id); err != nil {
			return err
		}
		if m.IsAccount || m.Verified() {
			return nil
		}
		m, err = newCode(ctx, tx, m, compose, s.now())
		return err
	})
	if err != nil {
		return ContactMethod{}, fmt.Errorf("send code to contact method %d: %w", id, err)
	}
	return m, nil
}

func newCode(ctx context.Context, tx *sql.Tx, m ContactMethod, compose Composer, now time.Time) (ContactMethod, error) {
	if err := codeLimit(ctx, tx, m, now); err != nil {
		return m, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return m, err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	m.CodeExpiresAt, m.CodeAttempts = fromUnix(unix(now.Add(CodeTTL))), 0
	if _, err := tx.ExecContext(ctx, `UPDATE contact_methods SET code_hash = ?, code_expires_at = ?, code_attempts = 0 WHERE id = ?`,
		codeHash(m.ID, code), unix(m.CodeExpiresAt), m.ID); err != nil {
		return m, err
	}
	msg, err := compose(m, code)
	if err != nil {
		return m, err
	}
	msg.Circumstance = CircumstanceVerify
	_, err = enqueueTo(ctx, tx, m, msg, now)
	return m, err
}

// codeLimit takes the slots of one more verification message to m: at
// most MaxCodesPerAddressHour an hour to its address, whoever asks, and
// MaxCodesPerUserDay a day for the user (the limiter's, db/throttle.go, in
// the caller's transaction, so a refused or rolled back message takes
// none). The refusal is ErrCodesAddress or ErrCodesUser joined with the
// *Throttled that says when to try again.
func codeLimit(ctx context.Context, tx *sql.Tx, m ContactMethod, now time.Time) error {
	address := Limit{Key: "code:addr:" + m.Kind + ":" + strings.ToLower(m.Address), Max: MaxCodesPerAddressHour, Window: time.Hour}
	user := Limit{Key: "code:user:" + strconv.FormatInt(m.UserID, 10), Max: MaxCodesPerUserDay, Window: 24 * time.Hour}
	_, err := reserve(ctx, tx, now, []Limit{address, user})
	var t *Throttled
	switch {
	case errors.As(err, &t) && t.Limit.Key == user.Key:
		return errors.Join(ErrCodesUser, t)
	case t != nil:
		return errors.Join(ErrCodesAddress, t)
	}
	return err
}

// codeHash binds a code to its method, so one code cannot verify another.
func codeHash(id int64, code string) []byte {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d:%s", id, code))
	return sum[:]
}

// VerifyContactMethod checks a code typed back. A wrong one counts, and
// stays counted: the fifth locks the code until a new one is sent.
func (s *Store) VerifyContactMethod(ctx context.Context, userID, id int64, code string, ev Event) (ContactMethod, error) {
	var m ContactMethod
	var refused error
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var stored []byte
		var err error
		if m, err = contactByID(ctx, tx, userID, id); err != nil {
			return err
		}
		if m.Verified() || m.IsAccount {
			return nil
		}
		if err := tx.QueryRowContext(ctx, `SELECT code_hash FROM contact_methods WHERE id = ?`, id).Scan(&stored); err != nil {
			return err
		}
		now := s.now()
		switch {
		case m.Locked():
			refused = ErrCodeLocked
			return nil
		case stored == nil || !now.Before(m.CodeExpiresAt):
			refused = ErrCodeExpired
			return nil
		case subtle.ConstantTimeCompare(stored, codeHash(id, strings.TrimSpace(code))) != 1:
			m.CodeAttempts++
			refused = ErrCodeWrong
			if m.Locked() {
				refused = ErrCodeLocked
			}
			// Committed although the answer is a refusal: the try counts.
			_, err := tx.ExecContext(ctx, `UPDATE contact_methods SET code_attempts = code_attempts + 1 WHERE id = ?`, id)
			return err
		}
		m.VerifiedAt = fromUnix(unix(now))
		if _, err := tx.ExecContext(ctx, `UPDATE contact_methods SET verified_at = ?, code_hash = NULL, code_expires_at = 0, code_attempts = 0
			WHERE id = ?`, unix(now), id); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(withDetail(ev.Detail, "kind", m.Kind), "address", m.Address)
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return ContactMethod{}, fmt.Errorf("verify contact method %d: %w", id, err)
	}
	return m, refused
}

// SendTest queues a test message to one verified method of the user, at
// most MaxTestsPerMethodHour an hour to one address (ErrTestsMethod).
func (s *Store) SendTest(ctx context.Context, userID, id int64, n Notice) (int64, error) {
	var queued int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		m, err := contactByID(ctx, tx, userID, id)
		if err != nil {
			return err
		}
		if !m.Verified() {
			return ErrNotVerified
		}
		now := s.now()
		// To one address, whoever asks: each SMS or call costs the operator.
		_, err = reserve(ctx, tx, now, []Limit{{Key: "test:addr:" + m.Kind + ":" + strings.ToLower(m.Address), Max: MaxTestsPerMethodHour, Window: time.Hour}})
		if errors.Is(err, ErrThrottled) {
			return errors.Join(ErrTestsMethod, err)
		}
		if err != nil {
			return err
		}
		n.Circumstance = CircumstanceTest
		queued, err = enqueueTo(ctx, tx, m, n, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("test contact method %d: %w", id, err)
	}
	return queued, nil
}
