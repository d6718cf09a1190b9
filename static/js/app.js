// Small conveniences for the dashboards; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // A filter bar applies a changed drop-down at once; text fields wait for Enter or Apply.
    document.querySelectorAll("form.filters select, form.filters input[type=checkbox]").forEach(function (field) {
      field.addEventListener("change", function () { field.form.requestSubmit(); });
    });
    // Empty filters stay out of the URL (?account=X, not ?trade_date=&account=X&status=...), so the
    // links that carry the filters (paging, export) stay short and readable.
    document.querySelectorAll("form.filters").forEach(function (form) {
      form.addEventListener("formdata", function (event) {
        Array.from(event.formData.entries()).forEach(function (entry) {
          if (entry[1] === "") { event.formData.delete(entry[0]); }
        });
      });
    });
    // A form that works a trade asks first (data-confirm holds the question).
    document.querySelectorAll("form.trade-action[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
    // A row with data-href opens its detail page; links and selected text inside it keep working.
    document.querySelectorAll("table.grid tbody tr[data-href]").forEach(function (row) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("a, button, input, select") || String(window.getSelection())) { return; }
        if (event.ctrlKey || event.metaKey) { window.open(row.dataset.href, "_blank"); return; }
        window.location.href = row.dataset.href;
      });
    });
    // "/" jumps to the first filter field, as in most operations tools.
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (target.closest && target.closest("input, select, textarea, [contenteditable]")) { return; }
      var first = document.querySelector("form.filters input[type=text], form.filters select");
      if (first) { event.preventDefault(); first.focus(); }
    });
  });
})();
