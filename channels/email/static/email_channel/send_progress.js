// The send panel's live progress: while the send runs, ask the server every few
// seconds for the progress block (rendered by the same template as the page) and put
// it in place. Stops when the send is no longer running, when the server says no (403,
// 404), or after repeated network failures; the page works without this script.
(function () {
  'use strict';

  var INTERVAL_MS = 3000;
  var MAX_FAILURES = 5;

  function start(box) {
    var url = box.getAttribute('data-url');
    var failures = 0;
    var timer = null;

    function schedule() {
      timer = window.setTimeout(poll, INTERVAL_MS);
    }

    function poll() {
      window
        .fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' } })
        .then(function (response) {
          if (!response.ok) {
            // Signed out or no longer allowed: stop quietly, the page stays as it is.
            return null;
          }
          return response.json();
        })
        .then(function (data) {
          if (data === null) {
            return;
          }
          failures = 0;
          box.innerHTML = data.html;
          box.setAttribute('data-running', data.running ? 'true' : 'false');
          if (data.running) {
            schedule();
          }
        })
        .catch(function () {
          // A dropped connection: try again a few times before giving up.
          failures += 1;
          if (failures < MAX_FAILURES) {
            schedule();
          }
        });
    }

    if (box.getAttribute('data-running') === 'true') {
      schedule();
    }
    return function () {
      window.clearTimeout(timer);
    };
  }

  function init() {
    var boxes = document.querySelectorAll('[data-send-progress]');
    for (var i = 0; i < boxes.length; i += 1) {
      start(boxes[i]);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
