// Live pages of khabar serve: the page asks the service, every few seconds, for the version
// of what it shows (data-live on <body>); when it changed, the page's <main> is replaced by
// the new one. Without JavaScript the page is complete as it is and a reload updates it.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-live");
  if (!url || !window.fetch || !window.DOMParser) return;
  var version = body.getAttribute("data-version");
  var busy = false;
  function tick() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(url, {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || data.version === version) return null;
        version = data.version;
        return fetch(location.href, {cache: "no-store", credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (!html) return;
            var fresh = new DOMParser().parseFromString(html, "text/html");
            var main = fresh.querySelector("main");
            if (main) {
              document.querySelector("main").replaceWith(document.importNode(main, true));
              body.setAttribute("data-version", version);
              body.dispatchEvent(new CustomEvent("khabar:updated"));
            }
          });
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  setInterval(tick, 2000);
})();
