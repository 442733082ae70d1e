// Roster front-end helpers. Loaded as an external script (CSP-friendly: no inline code, no eval).
// htmx itself is configured by the <meta name="htmx-config"> tag in the layout, not here.
(function () {
  'use strict';

  var TOAST_MS = 6000;
  var MESSAGE = 'Something went wrong. Please try again.';

  function toastContainer() {
    var box = document.getElementById('toasts');
    if (!box && document.body) {
      box = document.createElement('div');
      box.id = 'toasts';
      box.setAttribute('aria-live', 'polite');
      document.body.appendChild(box);
    }
    return box;
  }

  function showToast(text) {
    var box = toastContainer();
    if (!box) {
      return;
    }
    var el = document.createElement('div');
    el.className = 'toast error';
    el.setAttribute('role', 'alert');
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () {
      if (el.parentNode) {
        el.parentNode.removeChild(el);
      }
    }, TOAST_MS);
  }

  // Server errors (5xx). The server's own error handler normally answers with a
  // toast retargeted at #toasts; only an answer without one (a proxy's 502, say)
  // needs a toast made here. 4xx answers such as 422 swap their fragment.
  document.addEventListener('htmx:responseError', function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (xhr && xhr.status >= 500 && !xhr.getResponseHeader('HX-Retarget')) {
      showToast(MESSAGE);
    }
  });

  // Network failures: the request never got an answer.
  document.addEventListener('htmx:sendError', function () {
    showToast(MESSAGE);
  });

  // Preferences. Each control saves itself with htmx when it changes; the
  // browser's time zone is only offered, and saved when the person clicks
  // "Use" (#zone-offer, a form of its own). It is offered when the browser
  // names a zone of the list that is not the saved one.
  function browserZone() {
    try {
      return (window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone) || '';
    } catch (e) {
      return '';
    }
  }
  function offerBrowserZone() {
    var note = document.getElementById('prefs-save-on-change');
    if (note) {
      note.hidden = false; // htmx runs, so the controls save themselves
    }
    var offer = document.getElementById('zone-offer');
    var list = document.getElementById('zone-list');
    if (!offer || !list) {
      return;
    }
    var zone = browserZone();
    var known = false;
    for (var i = 0; zone && i < list.options.length; i++) {
      if (list.options[i].value === zone) {
        known = true;
        break;
      }
    }
    if (!known || zone === offer.getAttribute('data-saved-zone')) {
      offer.hidden = true;
      return;
    }
    offer.elements.timezone.value = zone;
    var names = offer.querySelectorAll('.zone-offer-name');
    for (var j = 0; j < names.length; j++) {
      names[j].textContent = zone;
    }
    offer.hidden = false;
  }
  // htmx.onLoad runs once htmx has processed the page and after each swap
  // (the offer's answer is the whole section, which may offer nothing now).
  if (window.htmx) {
    window.htmx.onLoad(offerBrowserZone);
  }
  // Taking the offered zone swaps the whole section; focus goes to the
  // zone field, whose description now says "Saved", not to the page's top.
  document.addEventListener('htmx:afterSettle', function (evt) {
    var cfg = evt.detail && evt.detail.requestConfig;
    if (cfg && cfg.elt && cfg.elt.id === 'zone-offer') {
      var field = document.getElementById('pref-timezone');
      if (field) {
        field.focus();
      }
    }
  });
  // With htmx the controls have saved already: Enter in the time-zone field
  // must not post the whole form a second time.
  document.addEventListener('submit', function (evt) {
    if (window.htmx && evt.target && evt.target.id === 'preferences-form') {
      evt.preventDefault();
    }
  });

  // A saved theme applies at once; the server sets it on <html> from then on.
  // A zone typed into the field and saved is no longer worth offering.
  document.addEventListener('htmx:afterRequest', function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt || !evt.detail.successful) {
      return;
    }
    if (elt.id === 'pref-timezone') {
      var offer = document.getElementById('zone-offer');
      if (offer) {
        offer.setAttribute('data-saved-zone', elt.value);
        offerBrowserZone();
      }
      return;
    }
    if (elt.name !== 'theme') {
      return;
    }
    if (elt.value === 'light' || elt.value === 'dark') {
      document.documentElement.setAttribute('data-theme', elt.value);
    } else {
      document.documentElement.removeAttribute('data-theme');
    }
  });

  // The card form of /cards. New + asks Roster for a SetupIntent, mounts
  // Stripe's Payment Element (the card number goes from it to Stripe, never
  // to Roster), confirms the SetupIntent on Save, then posts only the
  // PaymentMethod id to POST /cards as an ordinary form.
  function initCardForm() {
    var button = document.getElementById('new-card-button');
    var form = document.getElementById('card-form');
    var errorBox = document.getElementById('card-error');
    if (!button || !form || !errorBox) {
      return;
    }
    var stripe = null;
    var elements = null;

    function showError(text) {
      errorBox.textContent = text || MESSAGE;
      errorBox.hidden = false;
    }

    if (typeof window.Stripe !== 'function') {
      button.disabled = true;
      showError('Stripe.js did not load, so cards cannot be added right now. Reload the page to try again.');
      return;
    }

    button.addEventListener('click', function () {
      button.disabled = true;
      errorBox.hidden = true;
      var token = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
      fetch('/cards/setup', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRF-Token': token, 'Accept': 'application/json' }
      }).then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok || !body.client_secret) {
            throw new Error(body.error || MESSAGE);
          }
          return body.client_secret;
        });
      }).then(function (clientSecret) {
        stripe = window.Stripe(form.getAttribute('data-stripe-key'));
        elements = stripe.elements({ clientSecret: clientSecret });
        elements.create('payment').mount('#card-element');
        form.hidden = false;
        button.hidden = true;
      }).catch(function (err) {
        button.disabled = false;
        showError(err && err.message);
      });
    });

    form.addEventListener('submit', function (evt) {
      evt.preventDefault();
      if (!stripe || !elements) {
        return;
      }
      var save = document.getElementById('card-save');
      save.disabled = true;
      errorBox.hidden = true;
      stripe.confirmSetup({
        elements: elements,
        redirect: 'if_required',
        confirmParams: { return_url: window.location.href }
      }).then(function (result) {
        if (result.error) {
          save.disabled = false;
          showError(result.error.message);
          return;
        }
        var pm = result.setupIntent && result.setupIntent.payment_method;
        form.elements.payment_method.value = typeof pm === 'string' ? pm : (pm && pm.id) || '';
        form.submit(); // a plain post: Roster answers 303 to /cards with a message
      }, function () {
        save.disabled = false;
        showError(MESSAGE);
      });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', initCardForm);
  } else {
    initCardForm();
  }

  // The user menu is a <details> drop-down, which works without JavaScript;
  // with it, Escape closes the menu and puts focus back on its summary.
  document.addEventListener('keydown', function (evt) {
    if (evt.key !== 'Escape') {
      return;
    }
    var menu = document.querySelector('#user-menu details[open]');
    if (!menu) {
      return;
    }
    menu.open = false;
    menu.querySelector('summary').focus();
  });
})();
