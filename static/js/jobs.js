// The jobs page: refresh the progress of queued and running runs every 2 s, without reloading.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var ACTIVE = { QUEUED: true, RUNNING: true };

  function activeIds(table) {
    return Array.from(table.querySelectorAll("tr[data-job-id]"))
      .filter(function (row) { return ACTIVE[row.dataset.status]; })
      .map(function (row) { return row.dataset.jobId; });
  }

  function field(row, name) { return row.querySelector("[data-field=" + name + "]"); }

  function show(row, job) {
    row.dataset.status = job.status;
    var pill = field(row, "status").querySelector(".pill");
    pill.className = "pill pill-" + job.tone;
    pill.title = job.status;
    pill.textContent = job.status_label;
    field(row, "bar").value = job.progress;
    field(row, "percent").textContent = Math.round(job.progress * 100) + "%";
    field(row, "chunks").textContent = job.chunks_done + "/" + job.chunks_total + " chunks";
    field(row, "duration").textContent = job.duration;
    field(row, "rows").textContent = job.rows_affected.toLocaleString("en-US");
    field(row, "error").textContent = job.error.length > 160 ? job.error.slice(0, 159) + "…" : job.error;
    var rerun = row.querySelector("form.rerun");
    if (rerun) { rerun.hidden = job.status !== "FAILED"; }
  }

  function poll(table) {
    var ids = activeIds(table);
    if (!ids.length) { return; }
    fetch(table.dataset.progressUrl + "?ids=" + ids.join(","), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { jobs: [] }; })
      .then(function (data) {
        data.jobs.forEach(function (job) {
          var row = table.querySelector('tr[data-job-id="' + job.id + '"]');
          if (row) { show(row, job); }
        });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(function () { poll(table); }, POLL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("jobs");
    if (!table) { return; }
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
    window.setTimeout(function () { poll(table); }, POLL_MS);
  });
})();
