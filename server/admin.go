package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/payments"
	"github.com/rosterhq/roster/views"
)

var errHelp = flag.ErrHelp

// admin runs the maintenance commands: migrate, backup, user, saml and
// account.
func admin(ctx context.Context, cmd string, args []string, cfg config, stdin io.Reader, stdout io.Writer) error {
	if cmd == "backup" {
		if len(args) != 1 || args[0] == "" {
			return errors.New("usage: roster backup FILE")
		}
		if _, err := os.Stat(args[0]); err == nil {
			return fmt.Errorf("backup: %s already exists; pick a new file name", args[0])
		}
	}
	open, closeStore := OpenStore, (*db.Store).Close
	if primary, replica := newRole(cfg, slog.New(slog.DiscardHandler)).current(); replica {
		// A LiteFS replica cannot write: only a backup, which reads, runs
		// here, on the schema the primary has.
		if cmd != "backup" {
			return fmt.Errorf("ROSTER_LITEFS: this machine is a LiteFS replica; run `roster %s` on the primary (%s)", cmd, primary)
		}
		open, closeStore = db.Open, (*db.Store).CloseReadOnly
	}
	store, err := open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer closeStore(store)
	switch cmd {
	case "migrate":
		fmt.Fprintf(stdout, "%s is up to date\n", cfg.DB)
		return nil
	case "backup":
		if err := store.Backup(ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote a consistent copy of %s to %s\n", cfg.DB, args[0])
		return nil
	}
	if cmd == "saml" {
		return samlCommand(ctx, store, args, stdout)
	}
	if cmd == "account" {
		return accountCommand(ctx, store, args, stdout)
	}
	if len(args) == 0 {
		return errors.New("usage: roster user create|reset-password|verify-email|delete|reset-2fa -email ADDRESS")
	}
	var stripe customerDeleter
	if cfg.StripeSecretKey != "" {
		stripe = payments.New(payments.Config{SecretKey: cfg.StripeSecretKey, APIBase: cfg.StripeAPIBase})
	}
	return userCommand(ctx, store, stripe, strings.TrimRight(cfg.BaseURL, "/"), args[0], args[1:], stdin, stdout)
}

// customerDeleter deletes a Stripe customer (payments.Stripe); nil when
// Stripe is not configured.
type customerDeleter interface {
	DeleteCustomer(ctx context.Context, id string) error
}

func userCommand(ctx context.Context, store *db.Store, stripe customerDeleter, base, sub string, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the caller prints the error once
	email := fs.String("email", "", "the user's email (required)")
	name := fs.String("name", "", "display name (create)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input instead of generating one")
	verified := fs.Bool("verified", false, "mark the email verified (create)")
	passkeys := fs.Bool("passkeys", false, "remove the person's passkeys too (reset-2fa)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return fmt.Errorf("user %s: -email is required", sub)
	}
	// password reads or generates the new password and hashes it; printed
	// is the text to show afterwards (the generated password), if any.
	password := func() (hash, printed string, err error) {
		pw := generatePassword()
		printed = "password: " + pw + "\n"
		if *fromStdin {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return "", "", fmt.Errorf("read password: %w", err)
			}
			pw, printed = strings.TrimRight(line, "\r\n"), ""
			if err := password.Check(pw); err != nil {
				return "", "", fmt.Errorf("password: %v", err)
			}
		}
		hash, err = password.NewHasher(runtime.NumCPU(), 0).Hash(ctx, pw)
		return hash, printed, err
	}
	ev := db.Event{IP: "cli", UserAgent: "roster " + sub}
	switch sub {
	case "create":
		if a, err := mail.ParseAddress(*email); err != nil || a.Address != *email || !db.PlainEmail(*email) {
			return fmt.Errorf("user create: %q is not an email address in ASCII letters such as ann@example.com", *email)
		}
		hash, printed, err := password()
		if err != nil {
			return err
		}
		ev.Kind = db.EventSignUp
		u, err := store.CreateUser(ctx, db.NewUser{Email: *email, Name: *name, PasswordHash: hash, Verified: *verified}, ev)
		if errors.Is(err, db.ErrConflict) {
			return fmt.Errorf("user create: a user with email %s already exists", *email)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %d <%s>\n%s", u.ID, u.Email, printed)
		return nil
	case "reset-password":
		u, err := userByEmail(ctx, store, *email)
		if err != nil {
			return err
		}
		hash, printed, err := password()
		if err != nil {
			return err
		}
		ev.Kind = db.EventPasswordReset
		n, err := store.ChangePassword(ctx, u.ID, hash, nil, ev)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "reset the password of <%s>; %d sessions signed out\n%s", u.Email, n, printed)
		return nil
	case "verify-email":
		u, err := userByEmail(ctx, store, *email)
		if err != nil {
			return err
		}
		ev.Kind = db.EventEmailVerified
		v, err := store.MarkEmailVerified(ctx, u.ID, ev)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "marked <%s> as verified\n", u.Email)
		// A first verification ends what was attached before it.
		for _, i := range v.Removed {
			fmt.Fprintf(stdout, "removed the %s login %q (%s): it was linked before the email was verified\n", i.Provider, i.Subject, i.Email)
		}
		if v.SignedOut > 0 {
			fmt.Fprintf(stdout, "%d sessions signed out\n", v.SignedOut)
		}
		return nil
	case "delete":
		u, err := userByEmail(ctx, store, *email)
		if err != nil {
			return err
		}
		return deleteUser(ctx, store, stripe, u, stdout)
	case "reset-2fa":
		u, err := userByEmail(ctx, store, *email)
		if err != nil {
			return err
		}
		return resetTwoFactor(ctx, store, base, u, *passkeys, ev, stdout)
	}
	return fmt.Errorf("unknown command: user %s (want create, reset-password, verify-email, delete or reset-2fa)", sub)
}

func userByEmail(ctx context.Context, store *db.Store, email string) (db.User, error) {
	u, err := store.UserByEmail(ctx, email)
	if errors.Is(err, db.ErrNotFound) {
		return u, fmt.Errorf("no user has the email %s", email)
	}
	return u, err
}

// generatePassword makes a 26-character random password (130 bits).
func generatePassword() string { return strings.ToLower(rand.Text()) }

// seedDemo creates a demo user in an empty database and prints its
// credentials once.
func seedDemo(ctx context.Context, store *db.Store, stdout io.Writer) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw := generatePassword()
	hash, err := password.NewHasher(1, 0).Hash(ctx, pw)
	if err != nil {
		return err
	}
	u, err := store.CreateUser(ctx, db.NewUser{Email: "demo@example.com", Name: "Demo User", PasswordHash: hash, Verified: true},
		db.Event{Kind: db.EventSignUp, IP: "demo", UserAgent: "roster demo seed"})
	if err != nil {
		return fmt.Errorf("seed demo user: %w", err)
	}
	fmt.Fprintf(stdout, "Demo user created. Log in as %s with the password %s (shown only this once).\n", u.Email, pw)
	return nil
}

// samlCommand is `roster saml verify-domain`: the operator, having checked
// that the account behind a SAML connection controls an email domain (by
// whatever means they trust), makes emails at that domain count as
// verified when the connection asserts them.
func samlCommand(ctx context.Context, store *db.Store, args []string, stdout io.Writer) error {
	const usage = "usage: roster saml verify-domain -connection ID -domain example.com"
	if len(args) == 0 || args[0] != "verify-domain" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("saml verify-domain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	connID := fs.Int64("connection", 0, "the SAML connection's id, as shown in its URLs (/saml/ID/...)")
	domain := fs.String("domain", "", "an email domain the connection lists")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *connID <= 0 || *domain == "" {
		return errors.New(usage)
	}
	err := store.VerifySAMLDomain(ctx, *connID, *domain, db.Event{Kind: db.EventSAMLDomainVerified, IP: "cli", UserAgent: "roster saml verify-domain"})
	switch {
	case errors.Is(err, db.ErrNotFound):
		return fmt.Errorf("saml verify-domain: there is no SAML connection %d", *connID)
	case errors.Is(err, db.ErrDomainNotServed):
		return fmt.Errorf("saml verify-domain: connection %d does not list %s among its email domains; an Admin of its account adds it there first", *connID, *domain)
	case errors.Is(err, db.ErrDomainTaken):
		return fmt.Errorf("saml verify-domain: %s is already verified for another SAML connection", *domain)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "emails at %s from SAML connection %d now count as verified\n", strings.ToLower(strings.TrimSpace(*domain)), *connID)
	return nil
}

// accountCommand is `roster account require-2fa -account ID -off`: the way
// out of an account that requires two-factor once every Admin turned
// theirs off, when nobody can open its Manage console to lift it. Turning
// the requirement on stays in the console, where the Admin doing it must
// have a second factor.
func accountCommand(ctx context.Context, store *db.Store, args []string, stdout io.Writer) error {
	const usage = "usage: roster account require-2fa -account ID -off"
	if len(args) == 0 || args[0] != "require-2fa" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("account require-2fa", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	accountID := fs.Int64("account", 0, "the account's id, as shown in its URLs (/accounts/ID)")
	off := fs.Bool("off", false, "stop requiring two-factor authentication of the account's members")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *accountID <= 0 || !*off {
		return errors.New(usage + " (turning the requirement on is done by an Admin in the Manage console)")
	}
	a, changed, err := store.StopRequiringTwoFactor(ctx, *accountID, db.Event{Kind: db.EventTwoFactorRequired, IP: "cli", UserAgent: "roster account require-2fa"})
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("account require-2fa: there is no account %d", *accountID)
	}
	if err != nil {
		return err
	}
	if !changed {
		fmt.Fprintf(stdout, "%s (account %d) does not require two-factor authentication; nothing changed\n", a.Name, a.ID)
		return nil
	}
	fmt.Fprintf(stdout, "%s (account %d) no longer requires two-factor authentication of its members; its Admins can turn it on again in the Manage console once they have two-factor on\n", a.Name, a.ID)
	return nil
}

// deleteUser is `roster user delete`: what Delete my profile does
// (handlers/leaving.go), for an operator. The Stripe customer goes first,
// so no card of a deleted profile can still be charged; an owner of
// accounts is refused, with them named.
func deleteUser(ctx context.Context, store *db.Store, stripe customerDeleter, u db.User, stdout io.Writer) error {
	owned, err := store.OwnedAccounts(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(owned) > 0 {
		var names []string
		for _, a := range owned {
			names = append(names, fmt.Sprintf("%s (id %d)", a.Name, a.ID))
		}
		return fmt.Errorf("user delete: <%s> owns %s: transfer the ownership or delete the accounts first", u.Email, strings.Join(names, ", "))
	}
	customer, err := store.StripeCustomerID(ctx, u.ID)
	switch {
	case errors.Is(err, db.ErrNotFound):
	case err != nil:
		return err
	case stripe == nil:
		fmt.Fprintf(stdout, "Stripe is not configured: delete the customer %s at Stripe yourself\n", customer)
	default:
		if err := stripe.DeleteCustomer(ctx, customer); err != nil {
			return fmt.Errorf("user delete: Stripe customer %s: %w", customer, err)
		}
		fmt.Fprintf(stdout, "deleted the Stripe customer %s\n", customer)
	}
	if _, err := store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted the profile of <%s> (user %d); its activity entries are kept without it\n", u.Email, u.ID)
	return nil
}

// resetTwoFactor is `roster user reset-2fa`: for someone who lost every
// second factor, the authenticator app and the recovery codes are turned
// off (and, with -passkeys, the passkeys removed), every session and
// sign-in waiting for a second step of the person ended with them (the
// device may be in other hands), audited, and the person gets a security
// notice through their routing. It says what it did.
func resetTwoFactor(ctx context.Context, store *db.Store, base string, u db.User, passkeys bool, ev db.Event, stdout io.Writer) error {
	v, err := views.New()
	if err != nil {
		return err
	}
	m := views.SecurityMail{Change: views.TwoFactorReset, Name: u.DisplayName(), When: time.Now(),
		IP: "none (the server's command line)", Device: "roster user reset-2fa",
		ResetLink: base + "/password/forgot", ProfileLink: base + "/profile"}
	if passkeys {
		m.Login = "your passkeys were removed"
	}
	ev.Kind = db.EventTwoFactorReset
	if ev.Notice, err = v.Notice(db.CircumstanceSecurity, m); err != nil {
		return err
	}
	r, err := store.ResetTwoFactor(ctx, u.ID, passkeys, ev)
	if errors.Is(err, db.ErrLastLogin) {
		return fmt.Errorf("user reset-2fa: <%s> has no password and no linked login: the passkeys are the only way in, so they stay (run it without -passkeys)", u.Email)
	}
	if err != nil {
		return err
	}
	if !r.TOTP && r.RecoveryCodes == 0 && r.Passkeys == 0 {
		fmt.Fprintf(stdout, "<%s> had no two-factor authentication to reset; nothing changed\n", u.Email)
		return nil
	}
	fmt.Fprintf(stdout, "turned off two-factor authentication for <%s>: ", u.Email)
	if r.TOTP {
		fmt.Fprint(stdout, "the authenticator app and ")
	}
	fmt.Fprintf(stdout, "%d unused recovery codes removed", r.RecoveryCodes)
	if passkeys {
		fmt.Fprintf(stdout, "; %d passkeys removed", r.Passkeys)
	} else if n, err := store.CountAllPasskeys(ctx, u.ID); err == nil && n > 0 {
		fmt.Fprintf(stdout, "; %d passkeys kept (add -passkeys to remove them)", n)
	}
	fmt.Fprintf(stdout, "; %s signed out, %s ended", views.Plural(r.Sessions, "session", "sessions"),
		views.Plural(r.PendingSignIns, "sign-in waiting for its second step", "sign-ins waiting for their second step"))
	fmt.Fprintf(stdout, "\na security notice to <%s> is queued\n", u.Email)
	return nil
}
