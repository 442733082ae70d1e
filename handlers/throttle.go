package handlers

import (
	"context"
	"time"

	"github.com/rosterhq/roster/db"
)

// throttle limits failed password checks per account and per client IP
// over a sliding window. The counts live in the database so that several
// processes share them.
type throttle struct {
	window     time.Duration
	perAccount int
	perIP      int
}

var defaultThrottle = throttle{window: 15 * time.Minute, perAccount: 10, perIP: 50}

const throttledMessage = "Too many failed sign-in attempts. Wait 15 minutes and try again, or reset your password."

func emailKey(email string) string { return "email:" + db.NormalEmail(email) }
func ipKey(ip string) string       { return "ip:" + ip }

// blocked reports whether either key has used up its failures. It applies
// to unknown emails too, so it reveals nothing about which accounts exist.
func (h *Handler) blocked(ctx context.Context, email, ip string) (bool, error) {
	since := time.Now().Add(-h.throttle.window)
	n, err := h.store.LoginFailures(ctx, emailKey(email), since)
	if err != nil || n >= h.throttle.perAccount {
		return err == nil, err
	}
	n, err = h.store.LoginFailures(ctx, ipKey(ip), since)
	return err == nil && n >= h.throttle.perIP, err
}

func (h *Handler) recordFailure(ctx context.Context, email, ip string) error {
	return h.store.RecordLoginFailure(ctx, emailKey(email), ipKey(ip))
}
