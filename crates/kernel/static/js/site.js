// Quartet — small behaviours every page shares. No inline scripts (the CSP forbids them).
(function () {
  'use strict';

  // The CSRF token for fetch() calls: send it as the X-CSRFToken header.
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([A-Za-z0-9]+)/);
    return match ? match[1] : '';
  }
  window.Quartet = { csrfToken: csrfToken };

  document.addEventListener('DOMContentLoaded', function () {
    // Dismissable flash messages.
    document.querySelectorAll('.messages .close').forEach(function (button) {
      button.addEventListener('click', function () {
        var item = button.closest('li');
        if (item) { item.remove(); }
      });
    });
    // The language switch submits itself when a language is picked.
    document.querySelectorAll('.language-switch').forEach(function (form) {
      var select = form.querySelector('select');
      var go = form.querySelector('button');
      if (go) { go.hidden = true; }
      if (select) { select.addEventListener('change', function () { form.submit(); }); }
    });
  });
})();
