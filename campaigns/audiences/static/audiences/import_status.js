// While an import is being checked or applied, follow its progress and show the
// report when it is ready.
(function () {
  "use strict";
  var bar = document.getElementById("import-progress");
  var count = document.getElementById("import-count");
  function poll() {
    fetch("?format=json", { credentials: "same-origin" })
      .then(function (response) {
        return response.json();
      })
      .then(function (p) {
        count.textContent = p.processed;
        bar.value = p.processed;
        if (p.status === "pending" || p.status === "checking" || p.status === "running") {
          setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        setTimeout(poll, 5000);
      });
  }
  setTimeout(poll, 1000);
})();
