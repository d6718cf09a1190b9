// The alert queue: tick every alert on the page at once, and say how many are ticked. The page works without it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var all = document.getElementById("select-all");
    var boxes = Array.from(document.querySelectorAll("input.alert-pick"));
    var shown = document.getElementById("bulk-selected");
    function count() {
      var n = boxes.filter(function (box) { return box.checked; }).length;
      if (shown) { shown.textContent = n ? n + " selected" : "none selected"; }
      if (all) { all.checked = n > 0 && n === boxes.length; all.indeterminate = n > 0 && n < boxes.length; }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        count();
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", count); });
    count();
  });
})();
