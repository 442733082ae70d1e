package views

// HoldsSecret says whether the page shows a secret that is not masked per
// response: a TOTP key while enrolling, recovery codes just made, a new
// webhook's signing secret. It is the one list of them: such a page is
// never kept by the render memo (memo.go), and is sent uncompressed, so a
// compression oracle (BREACH) cannot read it next to reflected input; the
// CSRF token, on every page, is masked afresh instead (fillSlots).
func (p ProfilePage) HoldsSecret() bool {
	return p.TwoFactor.Secret != "" || len(p.TwoFactor.NewCodes) > 0 || p.Notify.NewSecret != ""
}
