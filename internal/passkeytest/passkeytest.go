// Package passkeytest is a software passkey authenticator for tests: it
// answers the options Roster's begin endpoints give with the JSON a browser
// posts after navigator.credentials.create or get, made as an authenticator
// makes them (ES256 keys, "none" attestation, user present and verified).
// The browser tests use Chromium's own virtual authenticator instead.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator holds the passkeys it made for one relying party, used
// from one origin.
type Authenticator struct {
	RPID   string
	Origin string
}

// Credential is one passkey: its id, private key, the user handle it was
// made for and its signature counter.
type Credential struct {
	ID         []byte
	Key        *ecdsa.PrivateKey
	UserHandle []byte
	Counter    uint32
}

var b64 = base64.RawURLEncoding

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

type creationOptions struct {
	Challenge string `json:"challenge"`
	User      struct {
		ID string `json:"id"`
	} `json:"user"`
}

// Challenge is the challenge of creation or request options, as sent.
func Challenge(options []byte) (string, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return "", fmt.Errorf("options: %w", err)
	}
	if o.Challenge == "" {
		return "", fmt.Errorf("options without a challenge: %s", options)
	}
	return o.Challenge, nil
}

// Create makes a new passkey for the user of creation options and returns
// the registration response as a browser posts it.
func (a *Authenticator) Create(options []byte) ([]byte, *Credential, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, fmt.Errorf("creation options: %w", err)
	}
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("user id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	cred := &Credential{ID: make([]byte, 32), Key: key, UserHandle: handle}
	rand.Read(cred.ID)
	pub, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256),
		XCoord:        key.X.FillBytes(make([]byte, 32)),
		YCoord:        key.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		return nil, nil, err
	}
	auth := a.authData(flagUP|flagUV|flagAT, 0)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(cred.ID)))
	auth = append(auth, cred.ID...)
	auth = append(auth, pub...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, nil, err
	}
	body, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(cred.ID), "rawId": b64.EncodeToString(cred.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
	})
	return body, cred, err
}

// Assert signs challenge with cred, as navigator.credentials.get answers,
// its counter one higher; the response names cred's user handle.
func (a *Authenticator) Assert(cred *Credential, challenge string) ([]byte, error) {
	return a.AssertAs(cred, challenge, cred.UserHandle)
}

// AssertAs is Assert with the user handle of the response set to handle,
// as a forged response would.
func (a *Authenticator) AssertAs(cred *Credential, challenge string, handle []byte) ([]byte, error) {
	cred.Counter++
	auth := a.authData(flagUP|flagUV, cred.Counter)
	client := a.clientData("webauthn.get", challenge)
	sum := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte{}, auth...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, cred.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(cred.ID), "rawId": b64.EncodeToString(cred.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(client),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(handle),
		},
	})
}

func (a *Authenticator) authData(flags byte, counter uint32) []byte {
	rp := sha256.Sum256([]byte(a.RPID))
	out := append(rp[:], flags)
	return binary.BigEndian.AppendUint32(out, counter)
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}
