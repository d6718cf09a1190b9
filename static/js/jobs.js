// The jobs page, without reloading: every 2 s, refresh the progress of the queued and running runs
// and, on the first page, put the runs started since (matching the page's filter) on top of the table.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var ACTIVE = { QUEUED: true, RUNNING: true };

  function rows(table) { return Array.from(table.tBodies[0].querySelectorAll("tr[data-job-id]")); }

  function activeIds(table) {
    return rows(table)
      .filter(function (row) { return ACTIVE[row.dataset.status]; })
      .map(function (row) { return row.dataset.jobId; });
  }

  function newestId(table) {
    return rows(table).reduce(function (newest, row) { return Math.max(newest, Number(row.dataset.jobId)); }, 0);
  }

  function field(row, name) { return row.querySelector("[data-field=" + name + "]"); }

  function show(row, job) {
    row.dataset.status = job.status;
    var pill = field(row, "status").querySelector(".pill");
    pill.className = "pill pill-" + job.tone;
    pill.title = job.status;
    pill.textContent = job.status_label;
    field(row, "bar").value = job.progress;
    field(row, "percent").textContent = job.percent;
    field(row, "chunks").textContent = job.chunks;
    field(row, "duration").textContent = job.duration;
    field(row, "rows").textContent = job.rows_affected.toLocaleString("en-US");
    field(row, "error").textContent = job.error.length > 160 ? job.error.slice(0, 159) + "…" : job.error;
    var rerun = row.querySelector("form.rerun");
    if (rerun) { rerun.hidden = job.status !== "FAILED"; }
  }

  // A new run's row comes rendered by the server (jobs/job_row.html, the page's own row): oldest
  // first, each goes on top, so the newest ends up first. The empty-state row goes with the first.
  function insert(table, job) {
    var body = table.tBodies[0];
    if (body.querySelector('tr[data-job-id="' + job.id + '"]')) { return; }
    var template = document.createElement("template");
    template.innerHTML = job.row.trim();
    var row = template.content.firstElementChild;
    body.querySelectorAll("td.empty").forEach(function (cell) { cell.parentNode.remove(); });
    body.insertBefore(row, body.firstElementChild);
  }

  // The pager counts the rows shown, those just added included, of all the runs the filter matches.
  function count(table, total) {
    var pager = document.querySelector(".pager-count");
    if (!pager) { return; }
    pager.textContent = "1–" + rows(table).length.toLocaleString("en-US") + " of " + total.toLocaleString("en-US");
  }

  function poll(table) {
    var ids = activeIds(table);
    var watchNew = table.dataset.newRuns !== undefined;
    if (!ids.length && !watchNew) { return; }  // nothing on this page can change
    var query = "?ids=" + ids.join(",");
    if (watchNew) {
      query += "&after=" + newestId(table) + (table.dataset.newRuns ? "&" + table.dataset.newRuns : "");
    }
    fetch(table.dataset.progressUrl + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { jobs: [] }; })
      .then(function (data) {
        data.jobs.forEach(function (job) {
          var row = table.querySelector('tr[data-job-id="' + job.id + '"]');
          if (row) { show(row, job); }
        });
        (data.new || []).forEach(function (job) { insert(table, job); });
        if (data.count !== undefined) { count(table, data.count); }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(function () { poll(table); }, POLL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("jobs");
    if (!table) { return; }
    // Delegated, so that the rows added later ask too.
    table.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
    window.setTimeout(function () { poll(table); }, POLL_MS);
  });
})();
