// Confirmations and breaks (clearing/templates/clearing/confirmation*, break*): a resolution or "Match now"
// asks first (data-confirm holds the question). Every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.resolve-action[data-confirm], form.match-now-form[data-confirm]").forEach(
      function (form) {
        form.addEventListener("submit", function (event) {
          if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
        });
      });
  });
}());
