package views

import (
	"time"

	"github.com/rosterhq/roster/db"
)

// CardsPage is the Credit Cards page.
type CardsPage struct {
	Page
	PublishableKey string    // for Stripe.js
	JSURL          string    // where Stripe.js is loaded from
	Cards          []db.Card // this page of them
	Pager          Pager
	Now            time.Time // decides the expired and expires-soon badges
	Form           Form      // the outcome of the last card POST
}

// Expired reports whether the card no longer works.
func (p CardsPage) Expired(c db.Card) bool { return c.Expired(p.Now) }

// ExpiresSoon reports whether the card stops working within two months.
func (p CardsPage) ExpiresSoon(c db.Card) bool { return c.ExpiresSoon(p.Now) }

// BillingSection is the #billing section of the Manage console: the card
// paying for the account, and the viewing Admin's own cards to choose from.
type BillingSection struct {
	Enabled  bool // card payments are set up on this server
	Current  *db.AccountBilling
	ViewerID int64
	MyCards  []db.Card
	Now      time.Time
	Form     Form
}

// CurrentIsMine reports whether the card paying is the viewer's own.
func (b BillingSection) CurrentIsMine() bool {
	return b.Current != nil && b.Current.Card.UserID == b.ViewerID
}

// Selected reports whether the card is the one paying.
func (b BillingSection) Selected(c db.Card) bool {
	return b.Current != nil && b.Current.Card.ID == c.ID
}

// Expired reports whether the card no longer works.
func (b BillingSection) Expired(c db.Card) bool { return c.Expired(b.Now) }
