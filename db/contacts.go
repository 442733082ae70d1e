package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Kinds of contact methods.
const (
	KindEmail   = "email"
	KindSMS     = "sms"
	KindVoice   = "voice"
	KindSlack   = "slack"
	KindWebhook = "webhook"
)

// Providers a contact method kind may need: the server sends through them
// only when the operator configured them.
const (
	ProviderNone  = ""
	ProviderPhone = "phone" // SMS and calls: Twilio, ROSTER_TWILIO_*
)

// kindList declares the contact method kinds, in the order the add form
// offers them: how people see each, which reach a phone number, and the
// provider each needs. Kinds, KindName, KindProvider and IsPhone derive
// from it; the tables' CHECKs list the same kinds.
var kindList = []struct {
	kind, name string
	phone      bool
	provider   string
}{
	{KindEmail, "Email", false, ProviderNone},
	{KindSMS, "SMS", true, ProviderPhone},
	{KindVoice, "Voice call", true, ProviderPhone},
	{KindSlack, "Slack", false, ProviderNone},
	{KindWebhook, "Webhook", false, ProviderNone},
}

// KindProvider is the provider the kind needs, ProviderNone for none.
func KindProvider(kind string) string {
	for _, k := range kindList {
		if k.kind == kind {
			return k.provider
		}
	}
	return ProviderNone
}

// KindsOffered lists, in the add form's order, the kinds that need no
// provider or whose provider has reports configured.
func KindsOffered(has func(provider string) bool) []string {
	var list []string
	for _, k := range kindList {
		if k.provider == ProviderNone || has(k.provider) {
			list = append(list, k.kind)
		}
	}
	return list
}

// Kinds lists the contact method kinds in the order the add form offers them.
var Kinds = func() []string {
	var list []string
	for _, k := range kindList {
		list = append(list, k.kind)
	}
	return list
}()

// KindName is how a kind is shown to people.
func KindName(kind string) string {
	for _, k := range kindList {
		if k.kind == kind {
			return k.name
		}
	}
	return kind
}

// countMethodsQuery counts a user's contact methods, all and phones.
var countMethodsQuery = func() string {
	var phones []string
	for _, k := range kindList {
		if k.phone {
			phones = append(phones, "'"+k.kind+"'")
		}
	}
	return `SELECT count(*), count(*) FILTER (WHERE kind IN (` + strings.Join(phones, ", ") + `)) FROM contact_methods WHERE user_id = ?`
}()

// phoneKind reports whether kind reaches a phone number.
func phoneKind(kind string) bool {
	for _, k := range kindList {
		if k.kind == kind {
			return k.phone
		}
	}
	return false
}

// Limits of contact methods and their verification codes.
const (
	MaxContactMethods = 10
	MaxPhones         = 3
	MaxCodeAttempts   = 5
	CodeTTL           = 15 * time.Minute
	// Verification messages cost money (SMS, calls) and land in someone's
	// inbox whether or not they asked: at most this many per address an
	// hour, whoever asks, and per user a day, counted by the limiter.
	MaxCodesPerAddressHour = 5
	MaxCodesPerUserDay     = 20
	// MaxTestsPerMethodHour bounds "Send test": each SMS or call costs the
	// operator, and a number its owner verified can still be a premium one.
	MaxTestsPerMethodHour = 3
)

// The contact-method rules, as codes (rules.go).
const (
	ErrTooManyMethods = RuleError("too many contact methods")
	ErrTooManyPhones  = RuleError("too many phone numbers")
	ErrAccountMethod  = RuleError("the account email method cannot be deleted")
	ErrCodeLocked     = RuleError("code locked after wrong guesses")
	ErrCodeExpired    = RuleError("code expired")
	ErrCodeWrong      = RuleError("wrong code")
	ErrNotVerified    = RuleError("contact method not verified")
	ErrCodesAddress   = RuleError("hourly code limit of the address reached")
	ErrCodesUser      = RuleError("daily code limit of the user reached")
	ErrTestsMethod    = RuleError("hourly test limit of the method reached")
)

// ContactMethod is one way to reach a user.
type ContactMethod struct {
	ID            int64
	UserID        int64
	Kind          string
	Address       string
	Label         string
	IsAccount     bool // the account email: first, and never deleted here
	VerifiedAt    time.Time
	Secret        string // webhook signing key
	CodeExpiresAt time.Time
	CodeAttempts  int
	CreatedAt     time.Time
}

// Verified reports whether the method may be used.
func (m ContactMethod) Verified() bool { return !m.VerifiedAt.IsZero() }

// Locked reports whether the pending code took too many wrong tries.
func (m ContactMethod) Locked() bool { return m.CodeAttempts >= MaxCodeAttempts }

// IsPhone reports whether the method is a phone number.
func (m ContactMethod) IsPhone() bool { return phoneKind(m.Kind) }

// NewContactMethod is what is needed to add a method; Address is already
// normalized (E.164 for phones; AddContactMethod puts an email address in
// its NormalEmail form).
type NewContactMethod struct {
	Kind, Address, Label, Secret string
}

const contactColumns = `id, user_id, kind, address, label, is_account, verified_at, secret, code_expires_at, code_attempts, created_at`

func scanContact(row interface{ Scan(...any) error }) (ContactMethod, error) {
	var m ContactMethod
	var verified sql.NullInt64
	var expires, created int64
	err := row.Scan(&m.ID, &m.UserID, &m.Kind, &m.Address, &m.Label, &m.IsAccount, &verified, &m.Secret, &expires, &m.CodeAttempts, &created)
	if err != nil {
		return ContactMethod{}, mapErr(err)
	}
	m.VerifiedAt, m.CodeExpiresAt, m.CreatedAt = nullTime(verified), fromUnix(expires), fromUnix(created)
	return m, nil
}

// insertAccountContact gives a new user the account email as a method and
// routes every circumstance to it: the defaults.
func insertAccountContact(ctx context.Context, tx *sql.Tx, u User, now time.Time) error {
	var verified sql.NullInt64
	if u.EmailVerified() {
		verified = sql.NullInt64{Int64: unix(u.EmailVerifiedAt), Valid: true}
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO contact_methods (user_id, kind, address, label, is_account, verified_at, created_at)
		VALUES (?, 'email', ?, 'Account email', 1, ?, ?) RETURNING id`, u.ID, u.Email, verified, unix(now)).Scan(&id)
	if err != nil {
		return fmt.Errorf("account contact method: %w", err)
	}
	for _, r := range DefaultRules(id) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notification_rules (user_id, circumstance, severity, contact_method_id) VALUES (?, ?, ?, ?)`,
			u.ID, r.Circumstance, r.Severity, r.MethodID); err != nil {
			return fmt.Errorf("default rules: %w", err)
		}
	}
	return nil
}

// ContactMethods lists the user's methods: the account email first, then
// in the order they were added.
func (s *Store) ContactMethods(ctx context.Context, userID int64) ([]ContactMethod, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+contactColumns+` FROM contact_methods WHERE user_id = CAST(? AS INTEGER) ORDER BY is_account DESC, id`, userID)
	list, err := collect(rows, err, scanContact)
	if err != nil {
		return nil, fmt.Errorf("contact methods of user %d: %w", userID, err)
	}
	return list, nil
}

// ContactMethodByID returns one of the user's methods.
func (s *Store) ContactMethodByID(ctx context.Context, userID, id int64) (ContactMethod, error) {
	return contactByID(ctx, s.r, userID, id)
}

func contactByID(ctx context.Context, q queryer, userID, id int64) (ContactMethod, error) {
	return scanContact(q.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contact_methods WHERE id = ? AND user_id = ?`, id, userID))
}

// AddContactMethod adds a method within the limits, gives it a fresh
// verification code and queues compose's message with it to the new method,
// all in one transaction. The same address twice gives ErrConflict.
func (s *Store) AddContactMethod(ctx context.Context, userID int64, nm NewContactMethod, compose Composer, ev Event) (ContactMethod, error) {
	if nm.Kind == KindEmail {
		nm.Address = NormalEmail(nm.Address)
	}
	var m ContactMethod
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var total, phones int
		if err := tx.QueryRowContext(ctx, countMethodsQuery, userID).Scan(&total, &phones); err != nil {
			return err
		}
		switch {
		case total >= MaxContactMethods:
			return ErrTooManyMethods
		case phoneKind(nm.Kind) && phones >= MaxPhones:
			return ErrTooManyPhones
		}
		now := s.now()
		var err error
		m, err = scanContact(tx.QueryRowContext(ctx, `INSERT INTO contact_methods (user_id, kind, address, label, secret, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+contactColumns, userID, nm.Kind, nm.Address, strings.TrimSpace(nm.Label), nm.Secret, unix(now)))
		if err != nil {
			return err
		}
		if m, err = newCode(ctx, tx, m, compose, now); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(withDetail(ev.Detail, "kind", m.Kind), "address", m.Address)
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return ContactMethod{}, fmt.Errorf("add contact method: %w", err)
	}
	return m, nil
}

// SetContactLabel renames one of the user's methods.
func (s *Store) SetContactLabel(ctx context.Context, userID, id int64, label string) error {
	res, err := s.exec(ctx, `UPDATE contact_methods SET label = ? WHERE id = ? AND user_id = ?`, strings.TrimSpace(label), id, userID)
	if err != nil {
		return fmt.Errorf("label contact method %d: %w", id, err)
	}
	return oneRow(res)
}

// DeleteContactMethod deletes one of the user's methods with its rules;
// the account email stays.
func (s *Store) DeleteContactMethod(ctx context.Context, userID, id int64, ev Event) (ContactMethod, error) {
	var m ContactMethod
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if m, err = contactByID(ctx, tx, userID, id); err != nil {
			return err
		}
		if m.IsAccount {
			return ErrAccountMethod
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_methods WHERE id = ? AND user_id = ?`, id, userID); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(withDetail(ev.Detail, "kind", m.Kind), "address", m.Address)
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return ContactMethod{}, fmt.Errorf("delete contact method %d: %w", id, err)
	}
	return m, nil
}

// Audit event kinds of contact methods, routing and the account email.
const (
	EventContactAdded         = "contact_added"
	EventContactVerified      = "contact_verified"
	EventContactDeleted       = "contact_deleted"
	EventRoutingChanged       = "routing_changed"
	EventEmailChangeAsked     = "email_change_requested"
	EventEmailChangeCancelled = "email_change_cancelled"
	EventEmailChanged         = "email_changed"
)

// KindName is how the method's kind is shown.
func (m ContactMethod) KindName() string { return KindName(m.Kind) }

// KindName is how the delivery's kind is shown.
func (d Delivery) KindName() string { return KindName(d.Kind) }
