package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/payments"
	"github.com/rosterhq/roster/views"
)

// The Credit Cards page. Card numbers never reach Roster: Stripe.js
// collects them in Stripe's Payment Element and confirms a SetupIntent,
// and Roster keeps only the PaymentMethod's id, brand, last four digits,
// expiry and fingerprint. Every query names the signed-in user.

// cardProcessor is what Roster asks of Stripe: payments.Stripe, or a
// stateful fake in the tests.
type cardProcessor interface {
	CreateCustomer(ctx context.Context, email, name string, userID int64, idempotencyKey string) (string, error)
	CreateSetupIntent(ctx context.Context, customerID, idempotencyKey string) (clientSecret string, err error)
	PaymentMethod(ctx context.Context, id string) (payments.Card, error)
	Attach(ctx context.Context, id, customerID, idempotencyKey string) (payments.Card, error)
	Detach(ctx context.Context, id string) error
	SetDefault(ctx context.Context, customerID, id string) error
	DeleteCustomer(ctx context.Context, id string) error
}

// StripeConfig is card payments' configuration; Cards nil means they are
// not set up on this server.
type StripeConfig struct {
	Cards          cardProcessor
	PublishableKey string
	WebhookSecret  string // "" refuses every webhook
	JSURL          string // where the page loads Stripe.js from
}

// DefaultStripeJSURL is Stripe.js at Stripe.
const DefaultStripeJSURL = "https://js.stripe.com/v3/"

// stripeCSP is what the cards pages add to the CSP for Stripe.js, its
// frames and its API calls: Stripe's documented origins and the origin of
// the configured Stripe.js URL.
func (h *Handler) stripeCSP(path string) (scripts, more string) {
	sc := h.cfg.Stripe
	if sc.Cards == nil || (path != "/cards" && !strings.HasPrefix(path, "/cards/")) {
		return "", ""
	}
	scripts = " https://js.stripe.com"
	if u, err := url.Parse(sc.JSURL); err == nil && u.Host != "" && u.Scheme+"://"+u.Host != "https://js.stripe.com" {
		scripts += " " + u.Scheme + "://" + u.Host
	}
	return scripts, "; frame-src 'self' https://js.stripe.com https://hooks.stripe.com; connect-src 'self' https://api.stripe.com"
}

// idempotencyKey makes a Stripe idempotency key for what, unique to this
// installation, so two Rosters on one Stripe account never share keys.
func (h *Handler) idempotencyKey(what string) string {
	return "roster-" + hex.EncodeToString(deriveKey(h.cfg.Secret, "stripe idempotency")[:6]) + "-" + what
}

// loadCardsData builds the page's data; the GET and every answer of a POST
// use it, so the page and its fragments cannot drift apart.
func (h *Handler) loadCardsData(c echo.Context) (views.CardsPage, error) {
	u, _ := currentUser(c)
	sc := h.cfg.Stripe
	data := views.CardsPage{PublishableKey: sc.PublishableKey, JSURL: sc.JSURL, Now: time.Now()}
	if sc.Cards != nil {
		cards, err := h.store.Cards(c.Request().Context(), u.ID)
		if err != nil {
			return views.CardsPage{}, err
		}
		// A person has few cards, so they are paged here rather than in
		// SQL, like the sessions; the default stays first.
		data.Pager = h.listPage(c, "/cards", "page", "Pages of cards", len(cards))
		data.Cards = cards[min(data.Pager.Offset(), len(cards)):min(data.Pager.Offset()+data.Pager.Size, len(cards))]
	}
	data.Page = h.page(c, "Credit Cards")
	return data, nil
}

// cards is the Credit Cards page; without Stripe there is none.
func (h *Handler) cards(c echo.Context) error {
	if !h.cardsOffered() {
		return echo.ErrNotFound
	}
	data, err := h.loadCardsData(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "cards.html", "", data)
}

// cardsList is the list of cards, which every card POST answers with.
var cardsList = section[views.CardsPage]{file: "cards.html", fragment: "cards/list", load: (*Handler).loadCardsData, back: to("/cards")}

// cardsForm puts a POST's outcome above the list.
func cardsForm(form views.Form) func(*views.CardsPage) {
	return func(p *views.CardsPage) { p.Form = form }
}

// stripeFailure puts a failed Stripe call in plain words: Stripe's own for a
// refusal (a declined card), ours when Stripe did not answer. What Stripe
// said goes to the log without card data, which its errors do not carry.
func (h *Handler) stripeFailure(c echo.Context, err error, nothing string) (int, string) {
	var pe *payments.Error
	switch {
	case errors.As(err, &pe) && pe.Code == "resource_missing":
		return http.StatusUnprocessableEntity, "Stripe does not know this card. " + nothing
	case errors.As(err, &pe):
		return http.StatusUnprocessableEntity, strings.TrimSpace(pe.Message) + " " + nothing
	}
	logger(c).Warn("stripe request failed", "err", err)
	return http.StatusBadGateway, "We could not reach Stripe, which keeps the cards. " + nothing + " Try again in a moment."
}

// stripeCustomer is the user's Stripe customer, created at the first card.
// The idempotency key makes a retry after a lost answer (or a failed
// write here) get the same customer rather than a second one.
func (h *Handler) stripeCustomer(ctx context.Context, u db.User) (string, error) {
	id, err := h.store.StripeCustomerID(ctx, u.ID)
	if !errors.Is(err, db.ErrNotFound) {
		return id, err
	}
	id, err = h.cfg.Stripe.Cards.CreateCustomer(ctx, u.Email, u.Name, u.ID, h.idempotencyKey("customer-"+strconv.FormatInt(u.ID, 10)))
	if err != nil {
		return "", err
	}
	return h.store.SetStripeCustomerID(ctx, u.ID, id)
}

// cardSetup answers New +: the client secret of a new SetupIntent for the
// user's customer, as JSON for app.js; an error as {"error": "..."}.
func (h *Handler) cardSetup(c echo.Context) error {
	if h.cfg.Stripe.Cards == nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	fail := func(err error) error {
		status, msg := h.stripeFailure(c, err, "No card was added.")
		return c.JSON(status, map[string]string{"error": msg})
	}
	// Card testing: each SetupIntent lets a card be tried. The slot is
	// taken before Stripe is called, and given back if no SetupIntent came.
	slot, err := h.store.Reserve(ctx, h.throttle.cardSetups.on(strconv.FormatInt(u.ID, 10)))
	if t, ok := throttled(c, err); ok {
		return c.JSON(http.StatusTooManyRequests, map[string]string{"error": "You started adding a card " +
			strconv.Itoa(t.Limit.Max) + " times in the last hour. " + tryAgainIn(t.RetryAfter) + " No card was added."})
	}
	if err != nil {
		return err
	}
	customer, err := h.stripeCustomer(ctx, u)
	if err != nil {
		h.release(ctx, c, slot)
	}
	if errors.Is(err, payments.ErrUnavailable) || errors.As(err, new(*payments.Error)) {
		return fail(err)
	}
	if err != nil {
		return err
	}
	secret, err := h.cfg.Stripe.Cards.CreateSetupIntent(ctx, customer, h.idempotencyKey("setup-"+rand.Text()))
	if err != nil {
		h.release(ctx, c, slot)
		return fail(err)
	}
	return c.JSON(http.StatusOK, map[string]string{"client_secret": secret})
}

var paymentMethodID = regexp.MustCompile(`^pm_[A-Za-z0-9_]{1,250}$`)

// addCard saves the PaymentMethod that Stripe.js confirmed. It must belong
// to the user's customer (or to no customer yet, when it is attached to
// theirs), be a card, and not be one the user saved already.
func (h *Handler) addCard(c echo.Context) error {
	if h.cfg.Stripe.Cards == nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	stripe := h.cfg.Stripe.Cards
	pmID := strings.TrimSpace(c.FormValue("payment_method"))
	customer, err := h.store.StripeCustomerID(ctx, u.ID)
	if errors.Is(err, db.ErrNotFound) || !paymentMethodID.MatchString(pmID) {
		return answer(h, c, cardsList, http.StatusUnprocessableEntity, "", cardsForm(refused("Add the card with New + and the card form. Nothing was saved.")))
	}
	if err != nil {
		return err
	}
	const nothing = "Nothing was saved."
	card, err := stripe.PaymentMethod(ctx, pmID)
	if err == nil && card.CustomerID == "" {
		card, err = stripe.Attach(ctx, pmID, customer, h.idempotencyKey("attach-"+pmID+"-"+customer))
	}
	if err != nil {
		status, msg := h.stripeFailure(c, err, nothing)
		return answer(h, c, cardsList, status, "", cardsForm(refused(msg)))
	}
	if card.CustomerID != customer {
		return answer(h, c, cardsList, http.StatusUnprocessableEntity, "", cardsForm(refused("This card was saved by another Stripe customer, so it cannot be added to your profile. "+nothing)))
	}
	saved, err := h.store.AddCard(ctx, u.ID, db.NewCard{
		StripeID: card.ID, Brand: card.Brand, Last4: card.Last4, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear, Fingerprint: card.Fingerprint,
	}, event(c, db.EventCardAdded))
	if errors.Is(err, db.ErrCardSaved) {
		h.dropDuplicate(c, u.ID, card)
		return answer(h, c, cardsList, http.StatusConflict, "", cardsForm(refused("You have already saved this card ("+db.Card{Brand: card.Brand, Last4: card.Last4}.Label()+"). "+nothing)))
	}
	if err != nil {
		return err
	}
	msg := "Your " + saved.Label() + " is saved."
	return answer(h, c, cardsList, http.StatusOK, msg, cardsForm(views.Form{Message: msg}))
}

// dropDuplicate detaches at Stripe a second PaymentMethod for a card the
// user had saved, so their customer does not collect copies. Best effort:
// a copy left behind costs nothing.
func (h *Handler) dropDuplicate(c echo.Context, userID int64, card payments.Card) {
	ctx := c.Request().Context()
	existing, err := h.store.CardByFingerprint(ctx, userID, card.Fingerprint)
	if err == nil && existing.StripeID == card.ID {
		return // the same PaymentMethod posted twice: it is the saved one
	}
	if err := h.cfg.Stripe.Cards.Detach(ctx, card.ID); err != nil {
		logger(c).Warn("detach duplicate card", "user_id", userID, "err", err)
	}
}

// userCard reads the :id card of the signed-in user; another's is a 404.
func (h *Handler) userCard(c echo.Context) (db.Card, error) {
	if h.cfg.Stripe.Cards == nil {
		return db.Card{}, echo.ErrNotFound
	}
	u, _ := currentUser(c)
	id, err := idParam(c, "id")
	if err != nil {
		return db.Card{}, err
	}
	card, err := h.store.Card(c.Request().Context(), u.ID, id)
	if errors.Is(err, db.ErrNotFound) {
		return db.Card{}, echo.ErrNotFound
	}
	return card, err
}

// deleteCard detaches the card at Stripe, then forgets it. It is refused
// while the card pays for an account; the check runs again in the delete's
// transaction, and if an Admin picked the card in between, Stripe's
// detach event clears that account.
func (h *Handler) deleteCard(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	card, err := h.userCard(c)
	if err != nil {
		return err
	}
	if a, err := h.store.CardInUse(ctx, u.ID, card.ID); err == nil {
		return answer(h, c, cardsList, http.StatusConflict, "", cardsForm(refused(views.RuleText(db.CardInUseError{Account: a.Name}))))
	} else if !errors.Is(err, db.ErrNotFound) {
		return err
	}
	var pe *payments.Error
	if err := h.cfg.Stripe.Cards.Detach(ctx, card.StripeID); err != nil && !(errors.As(err, &pe) && pe.Code == "resource_missing") {
		status, msg := h.stripeFailure(c, err, "The card is still saved.")
		return answer(h, c, cardsList, status, "", cardsForm(refused(msg)))
	}
	_, err = h.store.DeleteCard(ctx, u.ID, card.ID, event(c, db.EventCardRemoved))
	if msg, ok := brokenRule(err); ok {
		return answer(h, c, cardsList, http.StatusConflict, "", cardsForm(refused(msg)))
	}
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	msg := "The " + card.Label() + " is deleted."
	return answer(h, c, cardsList, http.StatusOK, msg, cardsForm(views.Form{Message: msg}))
}

// defaultCard makes the card the default, at Stripe (for invoices) and here.
func (h *Handler) defaultCard(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	card, err := h.userCard(c)
	if err != nil {
		return err
	}
	customer, err := h.store.StripeCustomerID(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := h.cfg.Stripe.Cards.SetDefault(ctx, customer, card.StripeID); err != nil {
		status, msg := h.stripeFailure(c, err, "The default card is unchanged.")
		return answer(h, c, cardsList, status, "", cardsForm(refused(msg)))
	}
	if err := h.store.SetDefaultCard(ctx, u.ID, card.ID); err != nil {
		return err
	}
	msg := "The " + card.Label() + " is now your default card."
	return answer(h, c, cardsList, http.StatusOK, msg, cardsForm(views.Form{Message: msg}))
}
