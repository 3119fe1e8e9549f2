/* First-party page-view beacon: page id, referrer and landing URL. No cookies. */
(function () {
  var script = document.currentScript;
  if (!script || !script.dataset.page) return;
  if (document.visibilityState === "prerender") return;
  var data = new URLSearchParams();
  data.set("p", script.dataset.page);
  data.set("r", document.referrer || "");
  data.set("u", location.href);
  var endpoint = script.dataset.endpoint || "/a/pv";
  if (navigator.sendBeacon) {
    navigator.sendBeacon(endpoint, data);
  } else {
    fetch(endpoint, { method: "POST", body: data, keepalive: true, credentials: "omit" });
  }
})();
