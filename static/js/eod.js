// The end-of-day pages, live: every 2 s, the progress of the queued and running runs (and stages' jobs) on the
// page from the jobs page's endpoint (/jobs/progress/?ids=). When one ends, or an EOD run moves to its next
// stage, the page reloads once to show it. Forms with data-confirm ask first.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var ACTIVE = { QUEUED: true, RUNNING: true };

  function field(holder, name) { return holder.querySelector("[data-field=" + name + "]"); }

  function show(holder, job) {
    var pill = field(holder, "status") && field(holder, "status").querySelector(".pill");
    if (pill) {
      pill.className = "pill pill-" + job.tone;
      pill.title = job.status;
      pill.textContent = job.status_label;
    }
    if (field(holder, "bar")) { field(holder, "bar").value = job.progress; }
    if (field(holder, "percent")) { field(holder, "percent").textContent = job.percent; }
    if (field(holder, "chunks")) { field(holder, "chunks").textContent = job.chunks; }
    if (field(holder, "duration")) { field(holder, "duration").textContent = job.duration; }
    if (field(holder, "rows")) { field(holder, "rows").textContent = job.rows_affected.toLocaleString("en-US"); }
  }

  function changed(holder, job) {
    if (!ACTIVE[job.status]) { return true; }
    var before = holder.dataset.chunksDone;
    return before !== undefined && Number(before) !== job.chunks_done;
  }

  function poll(url) {
    var holders = Array.from(document.querySelectorAll("[data-job-id][data-status]"))
      .filter(function (holder) { return ACTIVE[holder.dataset.status]; });
    if (!holders.length) { return; }
    var ids = holders.map(function (holder) { return holder.dataset.jobId; });
    fetch(url + "?ids=" + ids.join(","), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { jobs: [] }; })
      .then(function (data) {
        var reload = false;
        data.jobs.forEach(function (job) {
          holders.forEach(function (holder) {
            if (String(holder.dataset.jobId) !== String(job.id)) { return; }
            show(holder, job);
            reload = reload || changed(holder, job);
          });
        });
        if (reload) { window.location.reload(); return; }
        window.setTimeout(function () { poll(url); }, POLL_MS);
      })
      .catch(function () { window.setTimeout(function () { poll(url); }, POLL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
    var holder = document.querySelector("[data-progress-url]");
    if (holder) { window.setTimeout(function () { poll(holder.dataset.progressUrl); }, POLL_MS); }
  });
})();
