package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/payments"
	"github.com/stripe/stripe-go/v76/webhook"
)

const (
	testWebhookSecret = "whsec_roster_test"
	stripeJSURL       = "https://js.stripe.com/v3/"
)

// withCards configures card payments with cards as Stripe.
func withCards(cards interface {
	CreateCustomer(context.Context, string, string, int64, string) (string, error)
	CreateSetupIntent(context.Context, string, string) (string, error)
	PaymentMethod(context.Context, string) (payments.Card, error)
	Attach(context.Context, string, string, string) (payments.Card, error)
	Detach(context.Context, string) error
	SetDefault(context.Context, string, string) error
	DeleteCustomer(context.Context, string) error
}) func(*appConfig) {
	return func(ac *appConfig) {
		ac.Stripe = handlers.StripeConfig{Cards: cards, PublishableKey: "pk_test_roster", WebhookSecret: testWebhookSecret, JSURL: stripeJSURL}
	}
}

// cardsClient is Ann, signed in, on an app whose Stripe is cards.
func cardsClient(t *testing.T, opt func(*appConfig)) (*app, *client, db.User) {
	t.Helper()
	a := newApp(t, opt)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	return a, c, ann
}

// setup is New +: POST /cards/setup as app.js sends it.
func (c *client) setup() (*response, map[string]string) {
	c.t.Helper()
	res := c.do(http.MethodPost, "/cards/setup", url.Values{}, http.Header{"X-Csrf-Token": {c.csrf()}, "Accept": {"application/json"}})
	var body map[string]string
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		c.t.Fatalf("POST /cards/setup: got %d %q, want JSON", res.status, res.body)
	}
	return res, body
}

func wantStatus(t *testing.T, what string, res *response, want int) {
	t.Helper()
	if res.status != want {
		t.Fatalf("%s: got status %d, want %d; body:\n%s", what, res.status, want, res.body)
	}
}

// TestCardsNotConfigured: without Stripe there are no Credit Cards at all:
// no menu entry, no page, no billing section in the Manage console.
func TestCardsNotConfigured(t *testing.T) {
	t.Parallel()
	a, c, ann := cardsClient(t, func(*appConfig) {})
	acme := a.seedAccount(t, ann, "Acme")
	res := c.get("/cards")
	wantStatus(t, "GET /cards", res, http.StatusNotFound)
	for _, unwanted := range []string{`id="card-form"`, "New +", "js.stripe.com", "ROSTER_"} {
		if strings.Contains(res.body, unwanted) {
			t.Errorf("GET /cards without Stripe: the page has %q", unwanted)
		}
	}
	if csp := res.header.Get("Content-Security-Policy"); strings.Contains(csp, "stripe") {
		t.Errorf("CSP without Stripe names Stripe: %s", csp)
	}
	profile := c.get("/profile")
	wantStatus(t, "GET /profile", profile, http.StatusOK)
	if strings.Contains(profile.body, `href="/cards"`) || strings.Contains(profile.body, "Credit Cards") {
		t.Errorf("GET /profile without Stripe offers Credit Cards:\n%s", profile.body)
	}
	manage := c.get(fmt.Sprintf("/accounts/%d/manage", acme.ID))
	wantStatus(t, "GET manage", manage, http.StatusOK)
	for _, unwanted := range []string{`id="billing"`, "Billing", "Card payments", `href="/cards"`} {
		if strings.Contains(manage.body, unwanted) {
			t.Errorf("Manage console without Stripe has %q", unwanted)
		}
	}
	wantStatus(t, "POST billing", c.postForm(fmt.Sprintf("/accounts/%d/billing", acme.ID), url.Values{"payment_method_id": {""}}), http.StatusNotFound)
	wantStatus(t, "POST /cards/setup", c.postForm("/cards/setup", nil), http.StatusNotFound)
	wantStatus(t, "POST /stripe/webhook", c.do(http.MethodPost, "/stripe/webhook", url.Values{}, nil), http.StatusNotFound)
}

// TestCardsOffered: with Stripe, the menu, the page and the Manage
// console's billing section are there.
func TestCardsOffered(t *testing.T) {
	t.Parallel()
	a, c, ann := cardsClient(t, withCards(newFakeStripe()))
	acme := a.seedAccount(t, ann, "Acme")
	wantStatus(t, "GET /cards", c.get("/cards"), http.StatusOK)
	profile := c.get("/profile")
	if !strings.Contains(profile.body, `<a href="/cards">Credit Cards</a>`) {
		t.Errorf("GET /profile with Stripe: no Credit Cards in the menu:\n%s", profile.body)
	}
	manage := c.get(fmt.Sprintf("/accounts/%d/manage", acme.ID))
	if w := missing(manage.body, `<section id="billing">`, "No card pays for this account.", `href="/cards"`); w != "" {
		t.Errorf("Manage console with Stripe: %q missing from\n%s", w, manage.body)
	}
}

// TestCardsStripeMock runs New +, save, default and delete with the real
// stripe-go client against stripe-mock.
func TestCardsStripeMock(t *testing.T) {
	t.Parallel()
	a, c, ann := cardsClient(t, withCards(stripeMockCards(t)))
	ctx := context.Background()

	page := c.get("/cards")
	wantStatus(t, "GET /cards", page, http.StatusOK)
	if w := missing(page.body, `id="new-card-button"`, `data-stripe-key="pk_test_roster"`, `<script src="`+stripeJSURL+`" nonce="`, "No saved cards yet."); w != "" {
		t.Fatalf("GET /cards: %q missing from\n%s", w, page.body)
	}
	csp := page.header.Get("Content-Security-Policy")
	if w := missing(csp, "script-src 'nonce-", "https://js.stripe.com", "frame-src 'self' https://js.stripe.com https://hooks.stripe.com", "connect-src 'self' https://api.stripe.com"); w != "" {
		t.Errorf("CSP of /cards: %q missing from %s", w, csp)
	}
	if other := c.get("/profile").header.Get("Content-Security-Policy"); strings.Contains(other, "stripe") {
		t.Errorf("CSP of /profile names Stripe: %s", other)
	}

	// New +: the customer is created once, a SetupIntent each time.
	res, body := c.setup()
	wantStatus(t, "POST /cards/setup", res, http.StatusOK)
	if !strings.Contains(body["client_secret"], "_secret_") {
		t.Errorf("POST /cards/setup: client_secret %q, want a SetupIntent's", body["client_secret"])
	}
	customer, err := a.store.StripeCustomerID(ctx, ann.ID)
	if err != nil || !strings.HasPrefix(customer, "cus_") {
		t.Fatalf("Stripe customer of Ann: %q, %v; want cus_...", customer, err)
	}
	if res, _ := c.setup(); res.status != http.StatusOK {
		t.Fatalf("second POST /cards/setup: got %d", res.status)
	}
	if again, _ := a.store.StripeCustomerID(ctx, ann.ID); again != customer {
		t.Errorf("customer after a second New +: %q, want %q kept", again, customer)
	}

	// Save pm_card_visa: stripe-mock's PaymentMethod has no customer, so
	// Roster attaches it to Ann's.
	res = c.postForm("/cards", url.Values{"payment_method": {"pm_card_visa"}})
	wantStatus(t, "POST /cards", res, http.StatusSeeOther)
	checkFlash(t, c, res, "Your Visa ending 4242 is saved.")
	cards, err := a.store.Cards(ctx, ann.ID)
	if err != nil || len(cards) != 1 {
		t.Fatalf("Ann's cards: %v, %v; want 1", cards, err)
	}
	got := cards[0]
	if got.StripeID != "pm_card_visa" || got.Brand != "visa" || got.Last4 != "4242" || got.Expiry() != "08/2030" || got.Fingerprint == "" || !got.IsDefault {
		t.Errorf("saved card %+v, want pm_card_visa, visa 4242 08/2030 with a fingerprint, the default", got)
	}
	page = c.get("/cards")
	if w := missing(page.body, "Visa ending 4242", "08/2030", `<mark class="default">Default</mark>`); w != "" {
		t.Errorf("GET /cards: %q missing from\n%s", w, page.body)
	}

	// Set default (Stripe's invoice default too), then delete (detached at Stripe).
	id := fmt.Sprint(got.ID)
	res = c.postForm("/cards/"+id+"/default", nil)
	wantStatus(t, "POST /cards/{id}/default", res, http.StatusSeeOther)
	checkFlash(t, c, res, "The Visa ending 4242 is now your default card.")
	res = c.postHTMX("/cards/"+id+"/delete", nil)
	wantStatus(t, "POST /cards/{id}/delete (htmx)", res, http.StatusOK)
	if w := missing(res.body, `<section id="cards">`, "The Visa ending 4242 is deleted.", "No saved cards yet."); w != "" {
		t.Errorf("delete with htmx: %q missing from\n%s", w, res.body)
	}
	if cards, _ := a.store.Cards(ctx, ann.ID); len(cards) != 0 {
		t.Errorf("cards after delete: %v, want none", cards)
	}
	if strings.Contains(a.logs.String(), "4242") {
		t.Errorf("the log has card data:\n%s", a.logs.String())
	}
}

func TestCardsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a card of another customer", func(t *testing.T) {
		t.Parallel()
		fake := newFakeStripe()
		a, c, ann := cardsClient(t, withCards(fake))
		c.setup()
		pm := fake.addCard("cus_someone_else", "visa", "1881", "fp-other", 12, 2031)
		res := c.postForm("/cards", url.Values{"payment_method": {pm}})
		wantStatus(t, "POST /cards", res, http.StatusUnprocessableEntity)
		if w := missing(res.body, "This card was saved by another Stripe customer", "Nothing was saved."); w != "" {
			t.Errorf("POST /cards: %q missing from\n%s", w, res.body)
		}
		if cards, _ := a.store.Cards(ctx, ann.ID); len(cards) != 0 {
			t.Errorf("cards: %v, want none", cards)
		}
	})

	t.Run("a card saved already", func(t *testing.T) {
		t.Parallel()
		fake := newFakeStripe()
		a, c, ann := cardsClient(t, withCards(fake))
		c.setup()
		customer, _ := a.store.StripeCustomerID(ctx, ann.ID)
		first := fake.addCard(customer, "mastercard", "4444", "fp-same", 1, 2032)
		wantStatus(t, "POST /cards", c.postForm("/cards", url.Values{"payment_method": {first}}), http.StatusSeeOther)
		second := fake.addCard(customer, "mastercard", "4444", "fp-same", 1, 2032)
		res := c.postHTMX("/cards", url.Values{"payment_method": {second}})
		wantStatus(t, "POST /cards with the same card", res, http.StatusConflict)
		if w := missing(res.body, "You have already saved this card (Mastercard ending 4444). Nothing was saved."); w != "" {
			t.Errorf("POST /cards: %q missing from\n%s", w, res.body)
		}
		if cards, _ := a.store.Cards(ctx, ann.ID); len(cards) != 1 || cards[0].StripeID != first {
			t.Errorf("cards: %+v, want only %s", cards, first)
		}
		if !fake.wasDetached(second) || fake.wasDetached(first) {
			t.Errorf("detached at Stripe: %v, want the copy %s only", fake.detached, second)
		}
		// The same PaymentMethod posted twice is refused and kept.
		wantStatus(t, "POST /cards again", c.postForm("/cards", url.Values{"payment_method": {first}}), http.StatusConflict)
		if fake.wasDetached(first) {
			t.Errorf("the saved card was detached at Stripe")
		}
	})

	t.Run("a forged id, and another user's card id", func(t *testing.T) {
		t.Parallel()
		fake := newFakeStripe()
		a, c, ann := cardsClient(t, withCards(fake))
		c.setup()
		wantStatus(t, "POST /cards bad id", c.postForm("/cards", url.Values{"payment_method": {"4242424242424242"}}), http.StatusUnprocessableEntity)
		bob := a.seedUser(t, "Bob", bobEmail, bobPassword)
		bc := a.client(t)
		bc.adopt(bob.ID)
		bc.setup()
		bobCustomer, _ := a.store.StripeCustomerID(ctx, bob.ID)
		pm := fake.addCard(bobCustomer, "visa", "0005", "fp-bob", 3, 2033)
		wantStatus(t, "Bob saves a card", bc.postForm("/cards", url.Values{"payment_method": {pm}}), http.StatusSeeOther)
		bobCards, _ := a.store.Cards(ctx, bob.ID)
		id := fmt.Sprint(bobCards[0].ID)
		wantStatus(t, "Ann deletes Bob's card", c.postForm("/cards/"+id+"/delete", nil), http.StatusNotFound)
		wantStatus(t, "Ann makes Bob's card her default", c.postForm("/cards/"+id+"/default", nil), http.StatusNotFound)
		wantStatus(t, "Ann posts Bob's card", c.postForm("/cards", url.Values{"payment_method": {pm}}), http.StatusUnprocessableEntity)
		if cards, _ := a.store.Cards(ctx, ann.ID); len(cards) != 0 {
			t.Errorf("Ann's cards: %v, want none", cards)
		}
	})
}

func TestCardsStripeUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	closed := "http://" + freeAddr(t) // nothing listens there
	a, c, ann := cardsClient(t, withCards(payments.New(payments.Config{SecretKey: "sk_test_roster", APIBase: closed})))
	res, body := c.setup()
	wantStatus(t, "POST /cards/setup", res, http.StatusBadGateway)
	if want := "We could not reach Stripe, which keeps the cards. No card was added. Try again in a moment."; body["error"] != want {
		t.Errorf("POST /cards/setup: error %q, want %q", body["error"], want)
	}
	if _, err := a.store.StripeCustomerID(ctx, ann.ID); err == nil {
		t.Errorf("a Stripe customer was stored though Stripe was unreachable")
	}

	// With a customer already, saving a card fails the same way.
	if _, err := a.store.SetStripeCustomerID(ctx, ann.ID, "cus_known"); err != nil {
		t.Fatal(err)
	}
	res = c.postForm("/cards", url.Values{"payment_method": {"pm_card_visa"}})
	wantStatus(t, "POST /cards", res, http.StatusBadGateway)
	if w := missing(res.body, "We could not reach Stripe, which keeps the cards. Nothing was saved. Try again in a moment."); w != "" {
		t.Errorf("POST /cards: %q missing from\n%s", w, res.body)
	}
	if cards, _ := a.store.Cards(ctx, ann.ID); len(cards) != 0 {
		t.Errorf("cards: %v, want none", cards)
	}
}

// TestCardsDefault switches the default between two cards; deleting the
// default passes it on.
func TestCardsDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := newFakeStripe()
	a, c, ann := cardsClient(t, withCards(fake))
	c.setup()
	customer, _ := a.store.StripeCustomerID(ctx, ann.ID)
	visa := fake.addCard(customer, "visa", "4242", "fp-1", 8, 2030)
	amex := fake.addCard(customer, "amex", "0005", "fp-2", 9, 2031)
	c.postForm("/cards", url.Values{"payment_method": {visa}})
	c.postForm("/cards", url.Values{"payment_method": {amex}})
	cards, _ := a.store.Cards(ctx, ann.ID)
	if len(cards) != 2 || cards[0].StripeID != visa || !cards[0].IsDefault || cards[1].IsDefault {
		t.Fatalf("cards %+v, want the first one saved as the default", cards)
	}
	res := c.postHTMX(fmt.Sprintf("/cards/%d/default", cards[1].ID), nil)
	wantStatus(t, "set default", res, http.StatusOK)
	if w := missing(res.body, "The American Express ending 0005 is now your default card."); w != "" {
		t.Errorf("set default: %q missing from\n%s", w, res.body)
	}
	if fake.defaults[customer] != amex {
		t.Errorf("Stripe's default for %s: %q, want %s", customer, fake.defaults[customer], amex)
	}
	cards, _ = a.store.Cards(ctx, ann.ID)
	if cards[0].StripeID != amex || !cards[0].IsDefault || cards[1].IsDefault {
		t.Fatalf("cards %+v, want American Express the only default", cards)
	}
	wantStatus(t, "delete the default", c.postForm(fmt.Sprintf("/cards/%d/delete", cards[0].ID), nil), http.StatusSeeOther)
	if cards, _ = a.store.Cards(ctx, ann.ID); len(cards) != 1 || !cards[0].IsDefault {
		t.Errorf("cards after deleting the default: %+v, want Visa the default", cards)
	}
}

// billingFixture: Ann owns Acme and pays for it with her Visa; Bob is an
// Admin of Acme with a card of his own.
type billingFixture struct {
	a        *app
	ann, bob *client
	annU     db.User
	bobU     db.User
	acme     db.Account
	fake     *fakeStripe
	visa     db.Card // Ann's
	bobCard  db.Card
}

func newBillingFixture(t *testing.T) billingFixture {
	t.Helper()
	ctx := context.Background()
	f := billingFixture{fake: newFakeStripe()}
	f.a, f.ann, f.annU = cardsClient(t, withCards(f.fake))
	f.annU = f.a.verify(t, f.annU) // notices go to verified addresses
	f.acme = f.a.seedAccount(t, f.annU, "Acme")
	f.bobU = f.a.seedUser(t, "Bob Example", bobEmail, bobPassword)
	f.a.join(t, f.acme, f.annU, f.bobU, db.RoleAdmin)
	f.bob = f.a.client(t)
	f.bob.adopt(f.bobU.ID)
	save := func(c *client, u db.User, last4, fp string) db.Card {
		c.setup()
		customer, _ := f.a.store.StripeCustomerID(ctx, u.ID)
		pm := f.fake.addCard(customer, "visa", last4, fp, 8, time.Now().Year()+3)
		wantStatus(t, "save a card", c.postForm("/cards", url.Values{"payment_method": {pm}}), http.StatusSeeOther)
		card, err := f.a.store.CardByFingerprint(ctx, u.ID, fp)
		if err != nil {
			t.Fatal(err)
		}
		return card
	}
	f.visa = save(f.ann, f.annU, "4242", "fp-ann")
	f.bobCard = save(f.bob, f.bobU, "1111", "fp-bob")
	res := f.ann.postForm(fmt.Sprintf("/accounts/%d/billing", f.acme.ID), url.Values{"payment_method_id": {fmt.Sprint(f.visa.ID)}})
	wantStatus(t, "Ann picks her Visa for Acme", res, http.StatusSeeOther)
	checkFlash(t, f.ann, res, "The Visa ending 4242 of Ann Example pays for Acme.")
	return f
}

func (f billingFixture) billing(t *testing.T) *db.AccountBilling {
	t.Helper()
	b, err := f.a.store.AccountBilling(context.Background(), f.acme.ID)
	if err != nil {
		return nil
	}
	return &b
}

// wantBillingNotice checks the billing_cleared entry in each Admin's log.
func (f billingFixture) wantBillingNotice(t *testing.T, users ...db.User) {
	t.Helper()
	for _, u := range users {
		page, err := f.a.store.EventsForUser(context.Background(), u.ID, db.EventKey{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range page.Events {
			if ev.Kind == db.EventBillingCleared && ev.AccountID == f.acme.ID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d billing_cleared events for Acme, want 1", u.Email, n)
		}
		deliveries, err := f.a.store.RecentDeliveries(context.Background(), u.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, d := range deliveries {
			found = found || (d.Circumstance == db.CircumstanceBilling && strings.Contains(d.Subject, "Acme"))
		}
		if !found {
			t.Errorf("%s got no billing notice about Acme in the outbox: %+v", u.Email, deliveries)
		}
	}
}

func TestAccountBilling(t *testing.T) {
	t.Parallel()

	t.Run("shown, kept, and refused for another's card", func(t *testing.T) {
		t.Parallel()
		f := newBillingFixture(t)
		acme := fmt.Sprintf("/accounts/%d", f.acme.ID)
		page := f.bob.get(acme)
		if w := missing(page.body, `<p id="account-billing">Paid by the Visa ending 4242 of Ann Example.</p>`); w != "" {
			t.Errorf("account page: %q missing from\n%s", w, page.body)
		}
		console := f.bob.get(acme + "/manage")
		if w := missing(console.body, `<section id="billing">`, `<option value="`+fmt.Sprint(f.visa.ID)+`" selected>Visa ending 4242 of Ann Example</option>`, "Your Visa ending 1111"); w != "" {
			t.Errorf("Bob's console: %q missing from\n%s", w, console.body)
		}
		// Bob cannot pick Ann's card, nor one that is not his; keeping the
		// current card changes nothing.
		res := f.bob.postHTMX(acme+"/billing", url.Values{"payment_method_id": {fmt.Sprint(f.visa.ID)}})
		wantStatus(t, "keep the current card", res, http.StatusOK)
		if b := f.billing(t); b == nil || b.Card.ID != f.visa.ID {
			t.Errorf("billing after keeping: %+v, want Ann's Visa", b)
		}
		f.a.store.SetAccountBilling(context.Background(), f.acme.ID, f.annU.ID, 0, db.Event{Kind: db.EventBillingSet})
		res = f.bob.postHTMX(acme+"/billing", url.Values{"payment_method_id": {fmt.Sprint(f.visa.ID)}})
		wantStatus(t, "Bob picks Ann's card", res, http.StatusConflict)
		if w := missing(res.body, `<section id="billing">`, "Choose one of your own saved cards."); w != "" {
			t.Errorf("Bob picks Ann's card: %q missing from\n%s", w, res.body)
		}
		wantStatus(t, "a bad id", f.bob.postHTMX(acme+"/billing", url.Values{"payment_method_id": {"x"}}), http.StatusUnprocessableEntity)
		// Clearing with an empty value.
		f.bob.postForm(acme+"/billing", url.Values{"payment_method_id": {fmt.Sprint(f.bobCard.ID)}})
		if b := f.billing(t); b == nil || b.Card.ID != f.bobCard.ID {
			t.Fatalf("billing: %+v, want Bob's card", b)
		}
		res = f.bob.postForm(acme+"/billing", url.Values{"payment_method_id": {""}})
		checkFlash(t, f.bob, res, "No card pays for Acme now.")
		if b := f.billing(t); b != nil {
			t.Errorf("billing after clearing: %+v, want none", b)
		}
	})

	t.Run("delete refused while in use", func(t *testing.T) {
		t.Parallel()
		f := newBillingFixture(t)
		res := f.ann.postHTMX(fmt.Sprintf("/cards/%d/delete", f.visa.ID), nil)
		wantStatus(t, "delete the card in use", res, http.StatusConflict)
		if w := missing(res.body, "This card pays for the account Acme. Choose another card for Acme in its Manage console first."); w != "" {
			t.Errorf("delete: %q missing from\n%s", w, res.body)
		}
		if f.fake.wasDetached(f.visa.StripeID) {
			t.Errorf("the card in use was detached at Stripe")
		}
		if b := f.billing(t); b == nil {
			t.Errorf("the account lost its card")
		}
	})

	t.Run("cleared when its owner is removed", func(t *testing.T) {
		t.Parallel()
		f := newBillingFixture(t)
		acme := fmt.Sprintf("/accounts/%d", f.acme.ID)
		wantStatus(t, "Bob picks his card", f.bob.postForm(acme+"/billing", url.Values{"payment_method_id": {fmt.Sprint(f.bobCard.ID)}}), http.StatusSeeOther)
		wantStatus(t, "Ann removes Bob", f.ann.postForm(fmt.Sprintf("%s/members/%d/remove", acme, f.bobU.ID), nil), http.StatusSeeOther)
		if b := f.billing(t); b != nil {
			t.Errorf("billing after Bob left: %+v, want none", b)
		}
		f.wantBillingNotice(t, f.annU)
	})

	t.Run("cleared when its owner leaves", func(t *testing.T) {
		t.Parallel()
		f := newBillingFixture(t)
		acme := fmt.Sprintf("/accounts/%d", f.acme.ID)
		f.bob.postForm(acme+"/billing", url.Values{"payment_method_id": {fmt.Sprint(f.bobCard.ID)}})
		wantStatus(t, "Bob leaves", f.bob.postForm(acme+"/leave", nil), http.StatusSeeOther)
		if b := f.billing(t); b != nil {
			t.Errorf("billing after Bob left: %+v, want none", b)
		}
		f.wantBillingNotice(t, f.annU)
	})

	t.Run("cleared when it expires", func(t *testing.T) {
		t.Parallel()
		f := newBillingFixture(t)
		cleared, err := f.a.store.ClearExpiredBilling(context.Background(), time.Now().AddDate(4, 0, 0))
		if err != nil || len(cleared) != 1 || cleared[0].Reason != db.ClearedExpired {
			t.Fatalf("ClearExpiredBilling: %+v, %v; want Acme cleared", cleared, err)
		}
		if again, _ := f.a.store.ClearExpiredBilling(context.Background(), time.Now().AddDate(4, 0, 0)); len(again) != 0 {
			t.Errorf("a second sweep cleared %+v, want nothing", again)
		}
		if b := f.billing(t); b != nil {
			t.Errorf("billing after expiry: %+v, want none", b)
		}
		f.wantBillingNotice(t, f.annU, f.bobU)
	})
}

// postWebhook sends a Stripe event signed with secret at at.
func (c *client) postWebhook(payload []byte, secret string, at time.Time) *response {
	c.t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	return c.postSigned(payload, signed.Header)
}

// postSigned posts body to the webhook with a Stripe-Signature header.
func (c *client) postSigned(body []byte, signature string) *response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.app.server.URL+"/stripe/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signature)
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// stripeEvent is a PaymentMethod event as Stripe sends it.
func stripeEvent(id, kind, pm string, month, year int) []byte {
	return []byte(fmt.Sprintf(`{"id": %q, "object": "event", "type": %q, "api_version": "2020-08-27", "created": %d,
		"data": {"object": {"id": %q, "object": "payment_method", "type": "card", "customer": null,
		"card": {"brand": "visa", "last4": "4242", "exp_month": %d, "exp_year": %d, "fingerprint": "fp-ann"}}}}`,
		id, kind, time.Now().Unix(), pm, month, year))
}

func TestStripeWebhook(t *testing.T) {
	t.Parallel()
	f := newBillingFixture(t)
	hook := f.a.client(t) // Stripe: no cookies, no CSRF token
	ctx := context.Background()
	expiry := func() string {
		c, err := f.a.store.Card(ctx, f.annU.ID, f.visa.ID)
		if err != nil {
			return "gone"
		}
		return c.Expiry()
	}

	// A bad signature: 400, nothing changes.
	bad := stripeEvent("evt_bad", "payment_method.automatically_updated", f.visa.StripeID, 11, 2040)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: bad, Secret: testWebhookSecret})
	before := expiry()
	for name, res := range map[string]*response{
		"wrong secret": hook.postWebhook(bad, "whsec_wrong", time.Now()),
		"too old":      hook.postWebhook(bad, testWebhookSecret, time.Now().Add(-6*time.Minute)),
		"tampered":     hook.postSigned(bytes.Replace(bad, []byte("2040"), []byte("2050"), 1), signed.Header),
		"unsigned":     hook.postSigned(bad, ""),
	} {
		if res.status != http.StatusBadRequest {
			t.Errorf("%s: got %d, want 400", name, res.status)
		}
	}
	if got := expiry(); got != before {
		t.Fatalf("expiry after refused events: %s, want %s unchanged", got, before)
	}

	// automatically_updated: Stripe's card updater's new expiry.
	if res := hook.postWebhook(bad, testWebhookSecret, time.Now()); res.status != http.StatusOK {
		t.Fatalf("valid automatically_updated: got %d %s", res.status, res.body)
	}
	if got := expiry(); got != "11/2040" {
		t.Fatalf("expiry after a valid automatically_updated: %s, want 11/2040", got)
	}

	// A valid update, then its replay: processed once.
	first := stripeEvent("evt_1", "payment_method.updated", f.visa.StripeID, 5, 2041)
	if res := hook.postWebhook(first, testWebhookSecret, time.Now()); res.status != http.StatusOK {
		t.Fatalf("valid event: got %d %s", res.status, res.body)
	}
	hook.postWebhook(stripeEvent("evt_2", "payment_method.updated", f.visa.StripeID, 6, 2042), testWebhookSecret, time.Now())
	replay := hook.postWebhook(first, testWebhookSecret, time.Now())
	if replay.status != http.StatusOK || !strings.Contains(replay.body, "already processed") {
		t.Errorf("replay: got %d %q, want 200 already processed", replay.status, replay.body)
	}
	if got := expiry(); got != "06/2042" {
		t.Errorf("expiry after the replay of evt_1: %s, want 06/2042 from evt_2", got)
	}
	if page := f.ann.get("/cards"); !strings.Contains(page.body, "06/2042") {
		t.Errorf("/cards does not show the new expiry 06/2042:\n%s", page.body)
	}

	// Detached at Stripe: the card goes, Acme's billing is cleared, the
	// Admins are told once, even when Stripe sends it twice.
	detached := stripeEvent("evt_3", "payment_method.detached", f.visa.StripeID, 6, 2042)
	for range 2 {
		if res := hook.postWebhook(detached, testWebhookSecret, time.Now()); res.status != http.StatusOK {
			t.Fatalf("detached: got %d %s", res.status, res.body)
		}
	}
	if got := expiry(); got != "gone" {
		t.Errorf("the detached card is still saved, expiring %s", got)
	}
	if b := f.billing(t); b != nil {
		t.Errorf("billing after detach: %+v, want none", b)
	}
	f.wantBillingNotice(t, f.annU, f.bobU)
}

// TestCardsCSP: Stripe's origins and the configured Stripe.js origin on
// the cards pages only.
func TestCardsCSP(t *testing.T) {
	t.Parallel()
	_, c, _ := cardsClient(t, func(ac *appConfig) {
		withCards(newFakeStripe())(ac)
		ac.Stripe.JSURL = "http://127.0.0.1:9999/v3/"
	})
	page := c.get("/cards")
	csp := page.header.Get("Content-Security-Policy")
	if w := missing(csp, "script-src 'nonce-", "'strict-dynamic' https://js.stripe.com http://127.0.0.1:9999;"); w != "" {
		t.Errorf("CSP of /cards: %s, want script-src with the nonce, Stripe's and the stand-in's origins", csp)
	}
	if !strings.Contains(page.body, `<script src="http://127.0.0.1:9999/v3/" nonce="`) {
		t.Errorf("/cards does not load Stripe.js from the configured URL with the nonce:\n%s", page.body)
	}
	for _, path := range []string{"/profile", "/accounts/new", "/login"} {
		if csp := c.get(path).header.Get("Content-Security-Policy"); strings.Contains(csp, "stripe") || strings.Contains(csp, "9999") {
			t.Errorf("CSP of %s names Stripe: %s", path, csp)
		}
	}
}
