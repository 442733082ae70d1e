// Roster passkeys: the browser's part of adding a passkey (the profile's
// Passkeys panel) and of logging in with one (the login page's button and
// the email field's autofill). Loaded only by those pages, as an external
// script (CSP: no inline code, no eval).
//
// A form with data-passkey="register" (navigator.credentials.create),
// "login" or "check" (get) is not posted as is: its submit asks the
// server to begin a ceremony (JSON options; the URL is the form's
// data-passkey-begin, or BEGIN's for its kind), hands them to
// navigator.credentials, puts the credential the browser made, as JSON,
// in the form's hidden "credential" field and posts the form (with htmx
// when the form has hx-post). What goes wrong is said in the form's
// [data-passkey-error] element. Listening on window keeps it working for
// forms htmx swapped in after the page loaded.
(function () {
  'use strict';

  var BEGIN = { register: '/profile/passkeys/begin', login: '/login/passkey/begin' };
  var FAILED = 'The passkey did not work. Try again.';

  function toBytes(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) {
      s += '=';
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toText(buf) {
    var bytes = new Uint8Array(buf);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function ids(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: toBytes(d.id), transports: d.transports };
    });
  }

  function creationOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    o.excludeCredentials = ids(o.excludeCredentials);
    return o;
  }

  function requestOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = ids(o.allowCredentials);
    return o;
  }

  // credentialJSON is the credential as go-webauthn parses it.
  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toText(r.userHandle);
      }
    }
    return JSON.stringify(out);
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  // begin asks the server for a ceremony's options; a refusal's sentence
  // becomes the error.
  function begin(kind, form) {
    return fetch(form.getAttribute('data-passkey-begin') || BEGIN[kind], {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrfToken(), Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) {
          throw new Error(body.error || FAILED);
        }
        return body;
      }, function () {
        throw new Error(FAILED);
      });
    });
  }

  function showError(form, text) {
    var el = form.querySelector('[data-passkey-error]');
    if (el) {
      el.textContent = text;
      el.hidden = !text;
    }
  }

  // message words what the browser said. Its DOMExceptions are named by
  // the Web Authentication spec.
  function message(err) {
    switch (err && err.name) {
      case 'NotAllowedError':
        return 'The browser did not use a passkey: it was cancelled, timed out, or no passkey for this site was chosen.';
      case 'InvalidStateError':
        return 'This device already holds a passkey for your profile.';
      case 'SecurityError':
        return 'Passkeys do not work at this address of the site.';
      case 'NotSupportedError':
        return 'This browser or device cannot make a passkey of the kind needed.';
    }
    return (err && err.message) || FAILED;
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  // The autofill request waiting on the login page, if any: a click on
  // the button ends it first (a browser runs one request at a time).
  var waiting = null;

  function post(form, cred) {
    form.elements.credential.value = credentialJSON(cred);
    form.requestSubmit();
  }

  function run(form, kind) {
    showError(form, '');
    if (!supported()) {
      showError(form, 'This browser cannot use passkeys.');
      return;
    }
    if (waiting) {
      waiting.abort();
      waiting = null;
    }
    var button = form.querySelector('button[type="submit"]');
    if (button) {
      button.disabled = true;
    }
    begin(kind, form).then(function (options) {
      if (kind === 'register') {
        return navigator.credentials.create({ publicKey: creationOptions(options) });
      }
      return navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (cred) {
      if (button) {
        button.disabled = false;
      }
      if (!cred) {
        throw new Error(FAILED);
      }
      post(form, cred);
    }).catch(function (err) {
      if (button) {
        button.disabled = false;
      }
      showError(form, message(err));
    });
  }

  window.addEventListener('submit', function (evt) {
    var form = evt.target;
    var kind = form && form.getAttribute && form.getAttribute('data-passkey');
    if (!kind || !(BEGIN[kind] || form.getAttribute('data-passkey-begin')) || form.elements.credential.value) {
      return; // not ours, or the credential is in: post it
    }
    evt.preventDefault();
    evt.stopImmediatePropagation();
    run(form, kind);
  }, true);

  // Autofill (conditional mediation): where the browser offers passkeys in
  // the email field's suggestions (autocomplete="username webauthn"), ask
  // for one quietly when the login page opens. Not after a refused
  // passkey: the page says why, and the person chooses what next.
  function offerAutofill() {
    var form = document.getElementById('passkey-login');
    var field = document.querySelector('input[autocomplete~="webauthn"]');
    var error = form && form.querySelector('[data-passkey-error]');
    if (!form || !field || (error && !error.hidden) || !supported() ||
        !PublicKeyCredential.isConditionalMediationAvailable) {
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      if (!ok) {
        return null;
      }
      return begin('login', form).then(function (options) {
        var ctl = new AbortController();
        waiting = ctl;
        return navigator.credentials.get({ mediation: 'conditional', publicKey: requestOptions(options), signal: ctl.signal });
      });
    }).then(function (cred) {
      if (cred) {
        waiting = null;
        post(form, cred);
      }
    }).catch(function () {
      // Aborted by the button, or nothing chosen: the button still works.
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', offerAutofill);
  } else {
    offerAutofill();
  }
})();
