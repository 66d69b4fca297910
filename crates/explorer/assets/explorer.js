// coinrs explorer: live updates. The server sends an event on every change of the block
// tree; when it is newer than what this page shows, the page is fetched again and its
// <main> swapped in place (no reload, scroll position kept). Nothing else runs here.
(function () {
  "use strict";
  var main = document.getElementById("live");
  var status = document.getElementById("live-status");
  var tipHeight = document.getElementById("tip-height");
  if (!main) { return; }
  // Trees are drawn oldest height first: show their newest end.
  function showNewest() {
    var trees = document.querySelectorAll(".scroll > svg.tree");
    for (var i = 0; i < trees.length; i++) {
      trees[i].parentNode.scrollLeft = trees[i].parentNode.scrollWidth;
    }
  }
  showNewest();
  if (!window.EventSource || !window.fetch) { return; }
  var fetching = false;
  var wanted = 0;

  function shown() { return Number(main.getAttribute("data-changes") || "0"); }

  function refresh() {
    if (fetching || wanted <= shown()) { return; }
    fetching = true;
    fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null) { return; }
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.getElementById("live");
        if (!fresh) { return; }
        main.innerHTML = fresh.innerHTML;
        main.setAttribute("data-changes", fresh.getAttribute("data-changes") || "0");
        showNewest();
        var h = doc.getElementById("tip-height");
        if (h && tipHeight) { tipHeight.textContent = h.textContent; }
        document.body.setAttribute("data-refreshes",
          String(Number(document.body.getAttribute("data-refreshes") || "0") + 1));
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        fetching = false;
        // Something newer arrived while fetching: fetch again.
        if (wanted > shown()) { setTimeout(refresh, 100); }
      });
  }

  var source = new EventSource("/events");
  source.addEventListener("open", function () {
    if (status) { status.textContent = "live"; status.className = "on"; }
  });
  source.addEventListener("error", function () {
    if (status) { status.textContent = "reconnecting"; status.className = ""; }
  });
  source.addEventListener("tip", function (e) {
    var news;
    try { news = JSON.parse(e.data); } catch (err) { return; }
    if (tipHeight && typeof news.height === "number" && news.hash) {
      tipHeight.textContent = String(news.height);
    }
    if (typeof news.changes === "number" && news.changes > wanted) {
      wanted = news.changes;
      refresh();
    }
  });
})();
