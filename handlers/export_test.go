package handlers

import dsig "github.com/russellhaering/goxmldsig"

// SetSAMLClock makes the SAML service providers check times against clock,
// so a test can see a response expire without waiting.
func (h *Handler) SetSAMLClock(clock *dsig.Clock) {
	h.saml.mu.Lock()
	defer h.saml.mu.Unlock()
	h.saml.clock = clock
}

// NegotiateEncoding is negotiateEncoding, for a table test.
var NegotiateEncoding = negotiateEncoding
