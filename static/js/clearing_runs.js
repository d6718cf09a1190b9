// Clearing runs (list and detail), without reloading while they run: every 2 s, the progress of the
// queued and running runs' jobs from the jobs page's endpoint (/jobs/progress/?ids=). When one
// finishes, the page reloads once to show its figures (they are written by the run's last step).
(function () {
  "use strict";
  var POLL_MS = 2000;
  var ACTIVE = { QUEUED: true, RUNNING: true };

  function field(row, name) { return row.querySelector("[data-field=" + name + "]"); }

  function show(row, job) {
    var status = field(row, "status");
    var pill = status && status.querySelector(".pill");
    if (pill) {
      pill.className = "pill pill-" + job.tone;
      pill.title = job.status;
      pill.textContent = job.status_label;
    }
    var bar = field(row, "bar");
    if (bar) { bar.value = job.progress; }
    var percent = field(row, "percent");
    if (percent) { percent.textContent = job.percent || Math.floor(job.progress * 100) + "%"; }
    var chunks = field(row, "chunks");
    if (chunks) { chunks.textContent = job.chunks !== undefined ? job.chunks : job.chunks_done + "/" + job.chunks_total + " chunks"; }
    var duration = field(row, "duration");
    if (duration) { duration.textContent = job.duration; }
  }

  function poll(rows, url) {
    var active = rows.filter(function (row) { return ACTIVE[row.dataset.status]; });
    if (!active.length) { return; }
    var ids = active.map(function (row) { return row.dataset.jobId; });
    fetch(url + "?ids=" + ids.join(","), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { jobs: [] }; })
      .then(function (data) {
        var finished = false;
        data.jobs.forEach(function (job) {
          active.forEach(function (row) {
            if (String(row.dataset.jobId) !== String(job.id)) { return; }
            show(row, job);
            if (!ACTIVE[job.status]) { finished = true; }
            row.dataset.status = job.status;
          });
        });
        if (finished) { window.location.reload(); return; }
        window.setTimeout(function () { poll(rows, url); }, POLL_MS);
      })
      .catch(function () { window.setTimeout(function () { poll(rows, url); }, POLL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.querySelector("[data-progress-url]");
    if (!holder) { return; }
    var rows = Array.from(document.querySelectorAll("[data-job-id][data-status]"));
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
    window.setTimeout(function () { poll(rows, holder.dataset.progressUrl); }, POLL_MS);
  });
})();
