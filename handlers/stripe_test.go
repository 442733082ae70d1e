package handlers_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/payments"
)

// Stripe for the tests: stripe-mock (the real stripe-go client against
// Stripe's OpenAPI mock) for the calls themselves, and fakeStripe, which
// keeps state, for what stripe-mock cannot show: it answers every request
// from fixtures, so every card has one customer (none) and one fingerprint.

// startStripeMock runs stripe-mock on free loopback ports for the test and
// returns its http base URL. `make test` installs it.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		t.Fatalf("these tests need stripe-mock on PATH: %v\n"+
			"install it with `make deps` (go install github.com/stripe/stripe-mock@v0.203.0) and put $(go env GOPATH)/bin on PATH, or run `make test`", err)
	}
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", httpAddr, time.Second)
		if err == nil {
			conn.Close()
			return "http://" + httpAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not listen on %s within 15s: %v", httpAddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// stripeMockCards is the real client pointed at stripe-mock.
func stripeMockCards(t *testing.T) *payments.Stripe {
	return payments.New(payments.Config{SecretKey: "sk_test_roster", APIBase: startStripeMock(t)})
}

// fakeStripe is a stateful stand-in for Stripe behind the same interface:
// customers, SetupIntents and PaymentMethods that remember their customer.
type fakeStripe struct {
	mu        sync.Mutex
	n         int
	customers map[string]string // id -> email
	idem      map[string]string // idempotency key -> customer id
	methods   map[string]*payments.Card
	defaults  map[string]string // customer -> payment method
	detached  []string
	deleted   []string // customers
	down      bool     // every call fails as if Stripe were unreachable
}

func newFakeStripe() *fakeStripe {
	return &fakeStripe{customers: map[string]string{}, idem: map[string]string{},
		methods: map[string]*payments.Card{}, defaults: map[string]string{}}
}

// addCard makes a PaymentMethod as Stripe.js would, attached to customer
// ("" for none), and returns its id.
func (f *fakeStripe) addCard(customer, brand, last4, fingerprint string, month, year int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := fmt.Sprintf("pm_fake%d", f.n)
	f.methods[id] = &payments.Card{ID: id, CustomerID: customer, Brand: brand, Last4: last4, ExpMonth: month, ExpYear: year, Fingerprint: fingerprint}
	return id
}

func (f *fakeStripe) unavailable() error {
	if f.down {
		return fmt.Errorf("%w: dial tcp: connection refused", payments.ErrUnavailable)
	}
	return nil
}

func (f *fakeStripe) CreateCustomer(_ context.Context, email, _ string, _ int64, key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return "", err
	}
	if id, ok := f.idem[key]; ok {
		return id, nil
	}
	f.n++
	id := fmt.Sprintf("cus_fake%d", f.n)
	f.customers[id], f.idem[key] = email, id
	return id, nil
}

func (f *fakeStripe) CreateSetupIntent(_ context.Context, customer, _ string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return "", err
	}
	if _, ok := f.customers[customer]; !ok {
		return "", &payments.Error{Code: "resource_missing", Message: "No such customer."}
	}
	f.n++
	return fmt.Sprintf("seti_fake%d_secret_x", f.n), nil
}

func (f *fakeStripe) PaymentMethod(_ context.Context, id string) (payments.Card, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return payments.Card{}, err
	}
	pm, ok := f.methods[id]
	if !ok {
		return payments.Card{}, &payments.Error{Code: "resource_missing", Message: "No such PaymentMethod."}
	}
	return *pm, nil
}

func (f *fakeStripe) Attach(_ context.Context, id, customer, _ string) (payments.Card, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return payments.Card{}, err
	}
	pm, ok := f.methods[id]
	if !ok {
		return payments.Card{}, &payments.Error{Code: "resource_missing", Message: "No such PaymentMethod."}
	}
	if pm.CustomerID != "" && pm.CustomerID != customer {
		return payments.Card{}, &payments.Error{Code: "payment_method_unexpected_state", Message: "This PaymentMethod is attached to another customer."}
	}
	pm.CustomerID = customer
	return *pm, nil
}

func (f *fakeStripe) Detach(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return err
	}
	if _, ok := f.methods[id]; !ok {
		return &payments.Error{Code: "resource_missing", Message: "No such PaymentMethod."}
	}
	delete(f.methods, id)
	f.detached = append(f.detached, id)
	return nil
}

func (f *fakeStripe) SetDefault(_ context.Context, customer, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return err
	}
	f.defaults[customer] = id
	return nil
}

func (f *fakeStripe) DeleteCustomer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return err
	}
	delete(f.customers, id)
	f.deleted = append(f.deleted, id)
	return nil
}

func (f *fakeStripe) wasDetached(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.detached {
		if d == id {
			return true
		}
	}
	return false
}

// missing returns the first of wants that s does not contain, or "".
func missing(s string, wants ...string) string {
	for _, w := range wants {
		if !strings.Contains(s, w) {
			return w
		}
	}
	return ""
}
