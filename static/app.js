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
})();
