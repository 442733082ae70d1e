package handlers

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Two-factor authentication: the profile's panel (an authenticator app
// and its recovery codes) and the sign-in's second step. db.SecondFactors
// decides who gets the second step; signIn (auth.go), where every sign-in
// ends, asks it.

// totpOpts are RFC 6238's defaults, which every authenticator app knows:
// HMAC-SHA1, 6 digits, 30-second steps.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpIssuer names Roster in authenticator apps.
const totpIssuer = "Roster"

// The secret is sealed at rest with AES-256-GCM under a key derived from
// the cookie secret (ROSTER_SECRET, or the one generated in settings), the
// user id bound as additional data so a sealed secret cannot be moved to
// another profile's row.
func (h *Handler) totpAEAD() (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, h.cfg.Secret, nil, "roster totp secret v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func totpAD(userID int64) []byte {
	return binary.BigEndian.AppendUint64([]byte("totp:"), uint64(userID))
}

func (h *Handler) sealTOTP(userID int64, secret string) ([]byte, error) {
	aead, err := h.totpAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(secret), totpAD(userID)), nil
}

func (h *Handler) openTOTP(userID int64, sealed []byte) (string, error) {
	aead, err := h.totpAEAD()
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("totp secret: too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], totpAD(userID))
	if err != nil {
		return "", fmt.Errorf("totp secret of user %d: %w (was ROSTER_SECRET changed?)", userID, err)
	}
	return string(plain), nil
}

// totpStep returns the time step of code when it is right now, one step
// early or one step late (clock skew), through pquerna/otp; ok false when
// it is none of them.
func totpStep(secret, code string, now time.Time) (step int64, ok bool) {
	period := int64(totpOpts.Period)
	current := now.Unix() / period
	for _, s := range []int64{current, current - 1, current + 1} {
		valid, err := totp.ValidateCustom(code, secret, time.Unix(s*period, 0), totpOpts)
		if err == nil && valid {
			return s, true
		}
	}
	return 0, false
}

// Recovery codes: 10 random characters of base32 (50 bits), written as
// two groups of five. Random at that length, they are stored as SHA-256
// hashes: a slow password hash protects guessable secrets, which these
// are not.
var recoveryAlphabet = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newRecoveryCodes() (codes []string, hashes [][]byte) {
	for range db.RecoveryCodeCount {
		b := make([]byte, 7)
		rand.Read(b)
		s := recoveryAlphabet.EncodeToString(b)[:10]
		codes = append(codes, s[:5]+"-"+s[5:])
		hashes = append(hashes, recoveryHash(s))
	}
	return codes, hashes
}

func recoveryHash(normal string) []byte {
	sum := sha256.Sum256([]byte("roster recovery code:" + normal))
	return sum[:]
}

// normalCode is a code as typed without spaces and dashes, lowercased.
func normalCode(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s))
}

// isTOTPCode reports whether a normal code is an authenticator code (six
// digits) rather than a recovery code.
func isTOTPCode(s string) bool {
	return len(s) == 6 && strings.Trim(s, "0123456789") == ""
}

// errWrongCode is a code that is neither the authenticator's for now nor
// a recovery code's form.
var errWrongCode = errors.New("wrong code")

// errKeyUnreadable is an app code for a key this server cannot open: it
// was sealed under another ROSTER_SECRET. Recovery codes still work.
var errKeyUnreadable = errors.New("authenticator key unreadable")

// proof checks code for userID as a second factor: an authenticator code
// against the secret (which step it is), or a recovery code (its hash,
// which db checks and uses up). errWrongCode when it is neither.
func (h *Handler) proof(c echo.Context, userID int64, code string) (db.Proof, error) {
	code = normalCode(code)
	if isTOTPCode(code) {
		t, err := h.store.TOTP(c.Request().Context(), userID)
		if errors.Is(err, db.ErrNotFound) || (err == nil && !t.Confirmed) {
			return db.Proof{}, errWrongCode
		}
		if err != nil {
			return db.Proof{}, err
		}
		secret, err := h.openTOTP(userID, t.Sealed)
		if err != nil {
			logger(c).Warn("authenticator key unreadable", "user_id", userID, "err", err)
			return db.Proof{}, errKeyUnreadable
		}
		step, ok := totpStep(secret, code, time.Now())
		if !ok {
			return db.Proof{}, errWrongCode
		}
		return db.Proof{Step: step}, nil
	}
	if len(code) != 10 || strings.Trim(code, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		return db.Proof{}, errWrongCode
	}
	return db.Proof{Recovery: recoveryHash(code)}, nil
}

// secondFactors asks db.SecondFactors about userID, passkeys of this
// server's relying party counted.
func (h *Handler) secondFactors(c echo.Context, userID int64) (db.Factors, error) {
	rp := ""
	if h.passkeys != nil {
		rp = h.passkeys.Config.RPID
	}
	return h.store.SecondFactors(c.Request().Context(), userID, rp)
}

// codeRefusal is the words for a second factor refused, or "" when err is
// not a refusal.
func codeRefusal(err error) string {
	var re db.RuleError
	switch {
	case errors.Is(err, errWrongCode):
		return "That code is not right. Enter the 6-digit code your app shows now, or a recovery code."
	case errors.Is(err, errKeyUnreadable):
		return keyUnreadableText
	case errors.As(err, &re):
		return views.RuleText(re)
	}
	return ""
}

// recoveryUsed is the audit event, with its notice, of a recovery code
// used by u; db writes it only when the proof is a recovery code.
func (h *Handler) recoveryUsed(c echo.Context, u db.User) (db.Event, error) {
	ev := event(c, db.EventRecoveryCodeUsed)
	var err error
	ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.RecoveryCodeUsed})
	return ev, err
}

// The profile's panel.

func twoFactorSection() section[views.ProfilePage] { return profileSection("profile/two-factor") }

// loadTwoFactor fills the panel for u: while enrolling in this session,
// the secret as text and as a QR code.
func (h *Handler) loadTwoFactor(c echo.Context, u db.User) (views.TwoFactorSection, error) {
	ctx := c.Request().Context()
	var s views.TwoFactorSection
	f, err := h.secondFactors(c, u.ID)
	if err != nil {
		return s, err
	}
	s.On, s.RecoveryLeft = f.TOTP, f.RecoveryCodes
	if s.On {
		return s, nil
	}
	// Only the session that started the set-up, while its
	// re-authentication is fresh, sees it; any other sees the panel as if
	// none waited (and starting one, behind sudo, replaces it).
	sealed, err := h.store.TOTPSetUp(ctx, u.ID, sessionHash(c))
	if errors.Is(err, db.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	secret, err := h.openTOTP(u.ID, sealed)
	if err != nil {
		// Sealed under another ROSTER_SECRET: the enrolment cannot go on,
		// and Set up starts a new one in its place.
		logger(c).Warn("two-factor enrolment unreadable", "user_id", u.ID, "err", err)
		return s, nil
	}
	key, err := totpKey(u, secret)
	if err != nil {
		return s, err
	}
	s.Enrolling, s.Secret = true, secret
	s.QR, err = views.QRCode(key.URL(), "QR code of the key for your authenticator app")
	return s, err
}

// totpKey is the otpauth:// key of secret for u, as apps scan it.
func totpKey(u db.User, secret string) (*otp.Key, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return nil, err
	}
	return totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Secret: raw,
		Period: totpOpts.Period, Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
}

// twoFactorSetup starts enrolment: a new secret, not on until a code from
// it is confirmed.
func (h *Handler) twoFactorSetup(c echo.Context) error {
	u, _ := currentUser(c)
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email,
		Period: totpOpts.Period, Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return err
	}
	sealed, err := h.sealTOTP(u.ID, key.Secret())
	if err != nil {
		return err
	}
	err = h.store.StartTOTP(c.Request().Context(), u.ID, sessionHash(c), sealed)
	var re db.RuleError
	if errors.As(err, &re) {
		return answer(h, c, twoFactorSection(), http.StatusConflict, "", func(p *views.ProfilePage) { p.TwoFactor.Form = refused(views.RuleText(re)) })
	}
	if err != nil {
		return err
	}
	return answer(h, c, twoFactorSection(), http.StatusOK, "Scan the QR code with your authenticator app, then enter the code it shows.", nil)
}

// twoFactorCancel drops an enrolment not confirmed.
func (h *Handler) twoFactorCancel(c echo.Context) error {
	u, _ := currentUser(c)
	if err := h.store.CancelTOTP(c.Request().Context(), u.ID, sessionHash(c)); err != nil {
		return err
	}
	return answer(h, c, twoFactorSection(), http.StatusOK, "Two-factor authentication was not turned on.", nil)
}

// twoFactorConfirm turns two-factor on once a code from the new secret is
// right, and shows the recovery codes: in this answer only.
func (h *Handler) twoFactorConfirm(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	fail := func(status int, field, message string) error {
		return answer(h, c, twoFactorSection(), status, "", func(p *views.ProfilePage) { p.TwoFactor.Form.Fail(field, message) })
	}
	// The set-up of this session only (the route is behind sudo, and
	// ConfirmTOTP asks again in its transaction).
	sealed, err := h.store.TOTPSetUp(ctx, u.ID, sessionHash(c))
	if errors.Is(err, db.ErrNotFound) {
		return fail(http.StatusConflict, "form", "There is no authenticator app waiting to be confirmed. Start again with Set up an authenticator app.")
	}
	if err != nil {
		return err
	}
	secret, err := h.openTOTP(u.ID, sealed)
	if err != nil {
		return err
	}
	code := normalCode(c.FormValue("code"))
	if code == "" {
		return fail(http.StatusUnprocessableEntity, "code", "Enter the 6-digit code your app shows.")
	}
	step, ok := totpStep(secret, code, time.Now())
	if !isTOTPCode(code) || !ok {
		return fail(http.StatusUnprocessableEntity, "code", "That code is not right. Check that your app shows Roster's code, and enter the one it shows now.")
	}
	codes, hashes := newRecoveryCodes()
	ev := event(c, db.EventTwoFactorEnabled)
	if ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.TwoFactorOn}); err != nil {
		return err
	}
	err = h.store.ConfirmTOTP(ctx, u.ID, sessionHash(c), step, hashes, ev)
	if errors.Is(err, db.ErrNotFound) {
		return fail(http.StatusConflict, "form", "There is no authenticator app waiting to be confirmed. Start again with Set up an authenticator app.")
	}
	if errors.Is(err, db.ErrFactorUnconfirmedEmail) {
		return fail(http.StatusConflict, "form", views.RuleText(err))
	}
	if err != nil {
		return err
	}
	h.queued()
	return show(h, c, twoFactorSection(), http.StatusOK, func(p *views.ProfilePage) {
		p.TwoFactor.NewCodes = codes
		p.TwoFactor.Form.Message = "Two-factor authentication is on."
	})
}

// regenerateRecoveryCodes replaces every recovery code and shows the new
// ones, in this answer only.
func (h *Handler) regenerateRecoveryCodes(c echo.Context) error {
	u, _ := currentUser(c)
	codes, hashes := newRecoveryCodes()
	ev := event(c, db.EventRecoveryCodesNew)
	var err error
	if ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.RecoveryCodesNew}); err != nil {
		return err
	}
	err = h.store.RegenerateRecoveryCodes(c.Request().Context(), u.ID, hashes, ev)
	var re db.RuleError
	if errors.As(err, &re) {
		return answer(h, c, twoFactorSection(), http.StatusConflict, "", func(p *views.ProfilePage) { p.TwoFactor.Form = refused(views.RuleText(re)) })
	}
	if err != nil {
		return err
	}
	h.queued()
	return show(h, c, twoFactorSection(), http.StatusOK, func(p *views.ProfilePage) {
		p.TwoFactor.NewCodes = codes
		p.TwoFactor.Form.Message = "New recovery codes are made; the old ones no longer work."
	})
}

// twoFactorDisable turns two-factor off, given a code from the app or a
// recovery code; wrong codes are throttled as wrong passwords are.
func (h *Handler) twoFactorDisable(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	fail := func(status int, message string) error {
		return answer(h, c, twoFactorSection(), status, "", func(p *views.ProfilePage) { p.TwoFactor.Form.Fail("disable_code", message) })
	}
	if strings.TrimSpace(c.FormValue("code")) == "" {
		return fail(http.StatusUnprocessableEntity, "Enter a code from your app, or a recovery code.")
	}
	slot, err := h.reservePassword(c, u.Email)
	if _, ok := throttled(c, err); ok {
		return fail(http.StatusTooManyRequests, throttledCodeMessage)
	}
	if err != nil {
		return err
	}
	p, err := h.proof(c, u.ID, c.FormValue("code"))
	if err == nil {
		var used, ev db.Event
		if used, err = h.recoveryUsed(c, u); err != nil {
			return err
		}
		ev = event(c, db.EventTwoFactorDisabled)
		if ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.TwoFactorOff}); err != nil {
			return err
		}
		err = h.store.DisableTwoFactor(ctx, u.ID, p, used, ev)
	}
	if errors.Is(err, db.ErrLastTwoFactorAdmin) {
		h.release(ctx, c, slot) // the code was right; nothing changed
		return fail(http.StatusConflict, views.RuleText(err))
	}
	if msg := codeRefusal(err); msg != "" {
		return fail(http.StatusUnprocessableEntity, msg) // the slot is kept
	}
	if err != nil {
		h.release(ctx, c, slot)
		return err
	}
	h.release(ctx, c, slot)
	h.queued()
	return answer(h, c, twoFactorSection(), http.StatusOK, "Two-factor authentication is off.", nil)
}

const keyUnreadableText = "This server can no longer read the key of your authenticator app (its secret was changed). Use one of your recovery codes, or ask the server's administrator to turn two-factor authentication off for you."

const throttledCodeMessage = "Too many wrong codes. Wait 15 minutes and try again."

// pausedCodeMessage refuses the second step's codes once the profile's
// daily limit of wrong ones is full (throttle.secondStepUser).
const pausedCodeMessage = "Too many wrong codes were entered for this profile today, so logging in with a code is paused for a day. " +
	"Its owner was emailed. To log in sooner, reset your password: a new password ends the pause. A passkey still works."

// The sign-in's second step.

// pendingCookie names the cookie that binds a pending sign-in to its
// browser; __Host- under https, so a sibling subdomain cannot plant one.
func (h *Handler) pendingCookie() string {
	if h.cfg.Secure() {
		return "__Host-roster_2fa"
	}
	return "roster_2fa"
}

// startSecondStep keeps f waiting for its second factor, bound to this
// browser by a fresh random cookie, for db.PendingSignInTTL.
func (h *Handler) startSecondStep(c echo.Context, f firstFactor) error {
	token := rand.Text()
	err := h.store.StartPendingSignIn(c.Request().Context(), db.PendingSignIn{
		TokenHash: tokenHash(token), UserID: f.UserID, IdentityID: f.IdentityID,
		Method: f.Method, Logged: f.Logged, Next: string(f.Next),
	})
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: h.pendingCookie(), Value: token, Path: "/", MaxAge: int(db.PendingSignInTTL / time.Second),
		HttpOnly: true, Secure: h.cfg.Secure(), SameSite: http.SameSiteLaxMode})
	return nil
}

// pendingSignIn is this browser's pending sign-in, or db.ErrPendingGone.
func (h *Handler) pendingSignIn(c echo.Context) (db.PendingSignIn, error) {
	ck, err := c.Cookie(h.pendingCookie())
	if err != nil || len(ck.Value) != len(rand.Text()) {
		return db.PendingSignIn{}, db.ErrPendingGone
	}
	return h.store.PendingSignInFor(c.Request().Context(), tokenHash(ck.Value))
}

// pendingPerson is this browser's pending sign-in and its person; the
// error is db.ErrPendingGone when there is none (or it is over).
func (h *Handler) pendingPerson(c echo.Context) (db.PendingSignIn, db.User, error) {
	p, err := h.pendingSignIn(c)
	if err != nil {
		return p, db.User{}, err
	}
	u, err := h.store.UserByID(c.Request().Context(), p.UserID)
	return p, u, err
}

func (h *Handler) clearPendingCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: h.pendingCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.Secure(), SameSite: http.SameSiteLaxMode})
}

// pendingGone answers a second step whose sign-in is over: log in again.
func (h *Handler) pendingGone(c echo.Context) error {
	h.clearPendingCookie(c)
	if isHTMX(c) {
		// The form's place is no place for a page: htmx loads it whole.
		return hxRedirect(c, "/login/two-factor", http.StatusForbidden)
	}
	return h.render(c, http.StatusForbidden, "message.html", "", views.MessagePage{Page: h.page(c, "Log in again"),
		Heading: "Log in again", Text: views.RuleText(db.ErrPendingGone), Link: "/login", LinkText: "Log in"})
}

func (h *Handler) secondStepPage(c echo.Context) error {
	if _, ok := currentUser(c); ok {
		return seeOther(c, "/profile")
	}
	p, err := h.pendingSignIn(c)
	if err != nil {
		if errors.Is(err, db.ErrPendingGone) {
			return h.pendingGone(c)
		}
		return err
	}
	f, err := h.secondFactors(c, p.UserID)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "login_two_factor.html", "", views.SecondStepPage{Page: h.page(c, "Two-factor authentication"),
		Passkey: f.PasskeyWay()})
}

// secondStep checks the code of a pending sign-in and, when it is right,
// starts the session. Wrong codes take the slots of wrong passwords for
// the person's email and the client's IP, and are in the audit log.
func (h *Handler) secondStep(c echo.Context) error {
	ctx := c.Request().Context()
	p, u, err := h.pendingPerson(c)
	if errors.Is(err, db.ErrPendingGone) {
		return h.pendingGone(c)
	}
	if err != nil {
		return err
	}
	page := func(status int, field, message string) error {
		var form views.Form
		form.Fail(field, message)
		f, err := h.secondFactors(c, u.ID)
		if err != nil {
			return err
		}
		return h.render(c, status, "login_two_factor.html", "second-step/form", views.SecondStepPage{Page: h.page(c, "Two-factor authentication"), Form: form,
			Passkey: f.PasskeyWay()})
	}
	if strings.TrimSpace(c.FormValue("code")) == "" {
		return page(http.StatusUnprocessableEntity, "code", "Enter the code from your app, or a recovery code.")
	}
	codes := h.throttle.secondStepUser.on(strconv.FormatInt(u.ID, 10))
	slot, err := h.store.Reserve(ctx, h.throttle.signinEmail.on(emailKey(u.Email)), h.throttle.signinIP.on(clientKey(c)), codes)
	if t, ok := throttled(c, err); ok {
		if t.Limit.Key == codes.Key {
			return page(http.StatusTooManyRequests, "form", pausedCodeMessage)
		}
		return page(http.StatusTooManyRequests, "form", throttledCodeMessage)
	}
	if err != nil {
		return err
	}
	proof, err := h.proof(c, u.ID, c.FormValue("code"))
	if err == nil {
		err = h.passSecondStep(c, p, u, proof)
	}
	if errors.Is(err, db.ErrPendingGone) {
		h.release(ctx, c, slot)
		return h.pendingGone(c)
	}
	if msg := codeRefusal(err); msg != "" {
		ev := event(c, db.EventSignInFailed)
		ev.UserID, ev.Detail = u.ID, map[string]any{"reason": "second_factor"}
		// The wrong code that fills the day's limit tells the owner, with
		// the failure's entry.
		n, err := h.store.Slots(ctx, codes)
		if err != nil {
			return err
		}
		if n == codes.Max {
			if ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.WrongCodes}); err != nil {
				return err
			}
		}
		if err := h.store.AddEvent(ctx, ev); err != nil {
			return err
		}
		if ev.Notice != nil {
			h.queued()
		}
		return page(http.StatusUnprocessableEntity, "code", msg) // the slot is kept
	}
	h.release(ctx, c, slot)
	if err != nil {
		return err
	}
	h.flash.set(c, "success", "You are logged in.")
	return redirect(c, safeNext(p.Next))
}

// passSecondStep ends the pending sign-in p of u with a second factor
// checked (db.Proof: an authenticator code's step, a recovery code's hash,
// or a factor checked elsewhere, such as a passkey), using it up in the
// same transaction, and starts the session; the caller answers (flash,
// redirect to p.Next). A refusal is a db.RuleError (codeRefusal words
// it); db.ErrPendingGone when p expired or was used meanwhile.
func (h *Handler) passSecondStep(c echo.Context, p db.PendingSignIn, u db.User, proof db.Proof) error {
	ctx := c.Request().Context()
	used, err := h.recoveryUsed(c, u)
	if err != nil {
		return err
	}
	if err := h.store.CompleteSecondStep(ctx, p, proof, used); err != nil {
		return err
	}
	if err := h.store.ClearThrottle(ctx, h.throttle.signinEmail.on(emailKey(u.Email)).Key); err != nil {
		return err
	}
	h.clearPendingCookie(c)
	factor := "totp"
	switch {
	case proof.Recovery != nil:
		factor = "recovery_code"
		h.queued()
	case proof.Elsewhere != "":
		factor = proof.Elsewhere
	}
	return h.finishSecondStep(c, p, factor)
}

// finishSecondStep starts the session of a pending sign-in whose second
// factor (factor, for the audit log) was right. An external login's
// sign-in is in the log already, with its notices; the second step is
// added to it.
func (h *Handler) finishSecondStep(c echo.Context, p db.PendingSignIn, factor string) error {
	detail := map[string]any{"method": p.Method, "second_factor": factor}
	if !p.Logged {
		return h.startSession(c, firstFactor{UserID: p.UserID, IdentityID: p.IdentityID, Method: p.Method}, detail)
	}
	if err := h.startSession(c, firstFactor{UserID: p.UserID, IdentityID: p.IdentityID, Logged: true}, nil); err != nil {
		return err
	}
	ev := event(c, db.EventSecondFactor)
	ev.UserID, ev.Detail = p.UserID, detail
	return h.store.AddEvent(c.Request().Context(), ev)
}
