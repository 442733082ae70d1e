package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
)

// browserStripeJS stands in for Stripe.js, test-only: Stripe() whose
// Payment Element is a dummy box and whose confirmSetup succeeds with
// pm_card_visa, the test card stripe-mock knows. Roster's own calls to
// Stripe's API go to stripe-mock.
const browserStripeJS = `window.Stripe = function (key) {
  if (key !== 'pk_test_roster') { throw new Error('unexpected publishable key ' + key); }
  return {
    elements: function (options) {
      if (!options || !options.clientSecret) { throw new Error('elements() needs the client secret'); }
      return {
        create: function (type) {
          return {
            mount: function (selector) {
              var box = document.createElement('div');
              box.id = 'stand-in-payment-element';
              box.textContent = 'Stand-in Payment Element (' + type + ')';
              document.querySelector(selector).appendChild(box);
            }
          };
        }
      };
    },
    confirmSetup: function (options) {
      if (!options || !options.elements) { return Promise.resolve({ error: { message: 'no elements' } }); }
      return Promise.resolve({ setupIntent: { id: 'seti_standin', status: 'succeeded', payment_method: 'pm_card_visa' } });
    }
  };
};
`

// TestBrowserCards drives the cards page through Chromium: New + mounts
// the (stand-in) Payment Element, Save confirms and the card is listed; the
// card is made Acme's payment method in the Manage console and shown on the
// account page; deleting it is then refused, naming Acme.
func TestBrowserCards(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	mock := startBrowserStripeMock(t)
	js := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		fmt.Fprint(w, browserStripeJS)
	}))
	t.Cleanup(js.Close)
	base, store := startBrowserApp(t, map[string]string{
		"ROSTER_STRIPE_SECRET_KEY":      "sk_test_roster",
		"ROSTER_STRIPE_PUBLISHABLE_KEY": "pk_test_roster",
		"ROSTER_STRIPE_API_BASE":        mock,
		"ROSTER_STRIPE_JS_URL":          js.URL + "/v3/",
	})
	browserCtx := startChromium(t, ctx)

	const (
		name, email, password = "Ada Lovelace", "ada@example.com", "lantern orbit velvet quarry 42"
		account               = "Acme"
		card                  = "Visa ending 4242"
	)
	createBrowserUser(t, store, name, email, password)
	ada, err := store.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	acme, err := store.CreateAccount(t.Context(), ada.ID, account, db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	tab := newBrowserTab(t, browserCtx, "Ada (Chrome)", browserUAChrome, true, true)
	tab.signIn(t, base, email, password)

	// 1. Credit Cards from the user menu; New + mounts the Payment Element.
	tab.submit(t, "open Credit Cards from the user menu", "/cards",
		openUserMenu, chromedp.Click(chromedp.Search(`//nav[@id="user-menu"]//a[normalize-space()="Credit Cards"]`)))
	tab.wantText(t, "#cards p", "No saved cards yet.")
	tab.do(t, "New +",
		chromedp.Click(chromedp.CSS("#new-card-button")),
		chromedp.WaitVisible(chromedp.CSS("#card-form #stand-in-payment-element")),
	)
	tab.submit(t, "save the card", "/cards", chromedp.Click(chromedp.CSS("#card-save")))
	tab.wantText(t, "main > .flash.success", "Your "+card+" is saved.")
	tab.wantTextAt(t, `//section[@id="cards"]//tbody/tr/td[1]`, card+" Default")
	tab.wantTextAt(t, `//section[@id="cards"]//tbody/tr/td[2]`, "08/2030")
	if dir := browserShotDir(); dir != "" {
		tab.fullScreenshot(t, 1200, base+"/cards", "section#cards table", filepath.Join(dir, "screenshot-cards.png"))
	}

	// 2. The card pays for Acme, picked in the console's #billing (htmx).
	consolePath := fmt.Sprintf("/accounts/%d/manage", acme.ID)
	tab.navigate(t, base+consolePath, "section#billing")
	tab.wantText(t, "#billing-current", "No card pays for this account.")
	tab.markPage(t)
	cards, err := store.Cards(t.Context(), ada.ID)
	if err != nil || len(cards) != 1 {
		t.Fatalf("Ada's cards: %v, %v; want 1", cards, err)
	}
	tab.do(t, "pick the card for "+account,
		chromedp.SetValue(chromedp.CSS("#billing-card"), fmt.Sprint(cards[0].ID)),
		chromedp.Click(chromedp.CSS("#billing button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#billing .flash.success")),
	)
	tab.wantText(t, "#billing .flash.success", "The "+card+" of "+name+" pays for "+account+".")
	tab.wantText(t, "#billing-current", "Paid by the "+card+" of "+name+".")
	tab.wantSamePage(t, consolePath)
	tab.navigate(t, fmt.Sprintf("%s/accounts/%d", base, acme.ID), "#account-billing")
	tab.wantText(t, "#account-billing", "Paid by the "+card+" of "+name+".")
	tab.wantCleanConsole(t) // before the refusal below, whose 409 the console reports

	// 3. Deleting the card is refused while it pays for Acme.
	tab.navigate(t, base+"/cards", "section#cards")
	tab.markPage(t)
	tab.do(t, "delete the card",
		chromedp.Click(chromedp.Search(`//section[@id="cards"]//summary[normalize-space()="Delete"]`)),
		chromedp.Click(chromedp.Search(`//section[@id="cards"]//button[normalize-space()="Delete `+card+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#cards .flash.error")),
	)
	tab.wantText(t, "#cards .flash.error", "This card pays for the account "+account+". Choose another card for "+account+" in its Manage console first.")
	tab.wantTextAt(t, `//section[@id="cards"]//tbody/tr/td[1]`, card+" Default")
	tab.wantSamePage(t, "/cards")
	t.Logf("cards browser scenario took %s", time.Since(start).Round(time.Millisecond))
}

// startBrowserStripeMock runs stripe-mock on a free loopback port for the
// test and returns its base URL. `make test` installs it.
func startBrowserStripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		t.Fatalf("the cards browser test needs stripe-mock on PATH: %v\n"+
			"install it with `make deps` and put $(go env GOPATH)/bin on PATH, or run `make test`", err)
	}
	addr := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	httpAddr := addr()
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", addr())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", httpAddr, time.Second)
		if err == nil {
			conn.Close()
			return "http://" + httpAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not listen on %s within 15s: %v", httpAddr, err)
		}
	}
}
