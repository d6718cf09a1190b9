// Small conveniences for the dashboards; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // A filter bar applies a changed drop-down at once; text fields wait for Enter or Apply.
    document.querySelectorAll("form.filters select, form.filters input[type=checkbox]").forEach(function (field) {
      field.addEventListener("change", function () { field.form.requestSubmit(); });
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
