package handlers

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// OpenID Connect discovery and ID token signatures. goth's openidConnect
// provider checks an ID token's issuer, audience and expiry but not its
// signature or nonce; verifyIDToken adds both.

// discoveryTimeout bounds one fetch of a discovery document or key set.
const discoveryTimeout = 10 * time.Second

// oidcMetadata is the part of an issuer's discovery document Roster uses.
type oidcMetadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// discover fetches issuer's /.well-known/openid-configuration. The document
// must name the same issuer, as OpenID Connect Discovery 1.0 section 4.3
// requires, or a token from elsewhere could pass as this issuer's.
func discover(ctx context.Context, client *http.Client, issuer string) (oidcMetadata, error) {
	var md oidcMetadata
	if err := getJSON(ctx, client, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &md); err != nil {
		return md, fmt.Errorf("discover %s: %w", issuer, err)
	}
	if strings.TrimSuffix(md.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
		return md, fmt.Errorf("discover %s: the document names issuer %q", issuer, md.Issuer)
	}
	if md.AuthorizationEndpoint == "" || md.TokenEndpoint == "" || md.JWKSURI == "" {
		return md, fmt.Errorf("discover %s: authorization_endpoint, token_endpoint or jwks_uri missing", issuer)
	}
	return md, nil
}

// getJSON decodes the JSON document at url, with a timeout and a size limit.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}

// keySet is an issuer's signing keys, fetched on first use and again when a
// token names a key not seen yet (the issuer rotated its keys), at most once
// a minute.
type keySet struct {
	uri    string
	client *http.Client

	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	fetched time.Time
}

func (ks *keySet) key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if k, ok := ks.lookup(kid); ok {
		return k, nil
	}
	if time.Since(ks.fetched) < time.Minute {
		return nil, fmt.Errorf("no signing key %q", kid)
	}
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := getJSON(ctx, ks.client, ks.uri, &doc); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	ks.keys, ks.fetched = map[string]crypto.PublicKey{}, time.Now()
	for _, k := range doc.Keys {
		if pub, err := k.publicKey(); err == nil && (k.Use == "" || k.Use == "sig") {
			ks.keys[k.Kid] = pub
		}
	}
	if k, ok := ks.lookup(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("no signing key %q", kid)
}

// lookup finds the key kid; a token without a kid matches a set of one key.
func (ks *keySet) lookup(kid string) (crypto.PublicKey, bool) {
	if k, ok := ks.keys[kid]; ok {
		return k, true
	}
	if kid == "" && len(ks.keys) == 1 {
		for _, k := range ks.keys {
			return k, true
		}
	}
	return nil, false
}

// jwk is one JSON Web Key: RSA, or EC on P-256.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (k jwk) publicKey() (crypto.PublicKey, error) {
	b64 := base64.RawURLEncoding
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA key")
		}
		exp := 0
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
	case "EC":
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err := errors.Join(err1, err2); err != nil || k.Crv != "P-256" || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("bad EC key")
		}
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	}
	return nil, fmt.Errorf("key type %q not supported", k.Kty)
}

// verifyIDToken checks the signature of a compact JWS ID token (RS256 or
// ES256) against the issuer's keys, and that it carries the nonce this
// sign-in sent.
func verifyIDToken(ctx context.Context, ks *keySet, token, nonce string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("id token: not a signed JWT")
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims struct {
		Nonce string `json:"nonce"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return fmt.Errorf("id token header: %w", err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("id token claims: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("id token signature: %w", err)
	}
	key, err := ks.key(ctx, header.Kid)
	if err != nil {
		return fmt.Errorf("id token: %w", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch pub := key.(type) {
	case *rsa.PublicKey:
		if header.Alg != "RS256" || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			return fmt.Errorf("id token: bad %s signature", header.Alg)
		}
	case *ecdsa.PublicKey:
		if header.Alg != "ES256" || len(sig) != 64 ||
			!ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return fmt.Errorf("id token: bad %s signature", header.Alg)
		}
	default:
		return errors.New("id token: unsupported key")
	}
	if subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(nonce)) != 1 {
		return errors.New("id token: nonce does not match this sign-in")
	}
	return nil
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
