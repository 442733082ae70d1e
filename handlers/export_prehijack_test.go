package handlers

// SealTOTP is sealTOTP, for tests that write an authenticator secret as
// a release before the one that refuses it would have let it be written.
func (h *Handler) SealTOTP(userID int64, secret string) ([]byte, error) {
	return h.sealTOTP(userID, secret)
}
