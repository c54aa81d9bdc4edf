// usher's pages work without this script; it only makes the admin user
// search run as the administrator types and an import's page follow the
// import. The page's Content-Security-Policy
// allows scripts from usher alone, and none inline.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-live]");
  if (!form) { return; }
  var results = document.getElementById("results");
  var timer = null;
  var seq = 0;
  function run() {
    var n = ++seq;
    var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (n !== seq) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("results");
        if (fresh) { results.replaceChildren.apply(results, Array.from(fresh.childNodes)); }
        history.replaceState(null, "", url);
      });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
});

// An import's page follows the import: it fetches itself every second
// and puts the fresh progress in place until the import has ended.
// Without script, a refresh in a noscript element reloads the page.
document.addEventListener("DOMContentLoaded", function () {
  var job = document.getElementById("job");
  if (!job || job.dataset.poll !== "running") { return; }
  function poll() {
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("job");
        if (!fresh) { return; }
        job.replaceChildren.apply(job, Array.from(fresh.childNodes));
        job.dataset.poll = fresh.dataset.poll;
        if (fresh.dataset.poll === "running") { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
});
