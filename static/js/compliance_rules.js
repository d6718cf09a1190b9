// The compliance rule editor: the threshold's unit and the kind's parameters follow the kind chosen.
(function () {
  "use strict";
  var data = document.getElementById("rule-kind-hints");
  var form = document.getElementById("rule-form");
  if (!data || !form) { return; }
  var hints = JSON.parse(data.textContent);
  var select = document.getElementById("rule-kind");
  var fixed = document.getElementById("rule-kind-fixed");
  var unit = document.getElementById("threshold-unit");
  var threshold = document.getElementById("rule-threshold");
  var paramsHint = document.getElementById("params-hint");
  var params = document.getElementById("rule-params");

  function kind() { return select ? select.value : (fixed ? fixed.getAttribute("data-kind") : ""); }

  function update() {
    var hint = hints[kind()];
    if (!hint) { return; }
    if (unit) { unit.textContent = hint.threshold ? "(" + hint.unit + ")" : "(none for this kind)"; }
    if (threshold) {
      threshold.disabled = !hint.threshold;
      threshold.placeholder = hint.threshold ? "" : "none";
      if (!hint.threshold) { threshold.value = ""; }
    }
    var names = Object.keys(hint.params);
    if (paramsHint) {
      paramsHint.textContent = "";
      var lead = document.createElement("div");
      lead.textContent = hint.stage + ": " + hint.checks + " Actions: " + hint.actions.join(", ") + ".";
      paramsHint.appendChild(lead);
      names.forEach(function (name) {
        var line = document.createElement("div");
        line.textContent = name + " (default " + JSON.stringify(hint.params[name]) + "): " + hint.params_help[name];
        paramsHint.appendChild(line);
      });
      if (!names.length) {
        var none = document.createElement("div");
        none.textContent = "This kind takes no parameters: leave it empty.";
        paramsHint.appendChild(none);
      }
    }
    if (params) {
      params.placeholder = names.length ? JSON.stringify(hint.params) : "{}";
      params.disabled = !names.length;
    }
  }
  if (select) { select.addEventListener("change", update); }
  update();
})();
