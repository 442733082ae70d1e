// Package sso speaks the single sign-on protocols Roster signs people in
// with, apart from HTTP routing: OpenID Connect through go-oidc (Google,
// Slack, a generic issuer), GitHub's OAuth app through goth with GitHub's
// emails API, and the SAML 2.0 service provider of each connection through
// crewjam/saml, with its key and certificate. What a provider says about
// the person comes back as a db.External; the handlers keep the routes,
// cookies, redirects and pages, and decide what to say to people.
package sso
