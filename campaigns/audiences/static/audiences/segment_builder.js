// The segment builder: shows only the inputs a row's condition uses, adds and removes
// rows, and asks the server how many subscribers match as the rows change. The form
// works without it: every input is a plain form field the server reads.
(function () {
  "use strict";

  function syncRow(row) {
    var field = row.querySelector('[data-part="field"]').value;
    var op = row.querySelector('[data-part="op"]');
    row.querySelector("[data-op]").hidden = field === "";
    Array.prototype.forEach.call(op.querySelectorAll("optgroup"), function (group) {
      var on = group.dataset.field === field;
      group.hidden = !on;
      group.disabled = !on;
    });
    var chosen = op.selectedOptions[0];
    if (field && (!chosen || chosen.parentNode.dataset.field !== field)) {
      var first = op.querySelector('optgroup[data-field="' + field + '"] option');
      if (first) first.selected = true;
    }
    Array.prototype.forEach.call(row.querySelectorAll("[data-for]"), function (part) {
      part.hidden = part.dataset.for.split(" ").indexOf(field) === -1;
    });
    var days = row.querySelector("[data-days]");
    if (field === "engagement" && op.value === "never") days.hidden = true;
  }

  function init(builder) {
    var form = builder.closest("form");
    var rows = builder.querySelector("[data-rows]");
    var output = builder.querySelector("[data-count]");
    var name = builder.dataset.name;
    var timer = null;
    var asked = 0;

    function count() {
      var mine = ++asked;
      output.textContent = output.dataset.pending;
      fetch(builder.dataset.countUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.json();
        })
        .then(function (answer) {
          if (mine === asked) output.textContent = answer.text || answer.error;
        })
        .catch(function () {
          if (mine === asked) output.textContent = output.dataset.failed;
        });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(count, 300);
    }

    function wire(row) {
      var remove = row.querySelector("[data-remove]");
      remove.hidden = false;
      remove.addEventListener("click", function () {
        if (rows.querySelectorAll("[data-row]").length > 1) {
          row.remove();
        } else {
          row.querySelector('[data-part="field"]').value = "";
          syncRow(row);
        }
        later();
      });
      row.querySelector('[data-part="field"]').addEventListener("change", function () {
        syncRow(row);
      });
      row.querySelector('[data-part="op"]').addEventListener("change", function () {
        syncRow(row);
      });
      syncRow(row);
    }

    var all = rows.querySelectorAll("[data-row]");
    Array.prototype.forEach.call(all, wire);
    // Keep one empty row to fill in; the add button brings more.
    var empty = Array.prototype.filter.call(all, function (row) {
      return row.querySelector('[data-part="field"]').value === "";
    });
    empty.slice(1).forEach(function (row) {
      if (rows.querySelectorAll("[data-row]").length > 1) row.remove();
    });

    var add = builder.querySelector("[data-add]");
    add.hidden = false;
    add.addEventListener("click", function () {
      var last = rows.querySelector("[data-row]:last-child");
      var next = 0;
      Array.prototype.forEach.call(rows.querySelectorAll("[data-row]"), function (row) {
        next = Math.max(next, Number(row.dataset.index) + 1);
      });
      var copy = last.cloneNode(true);
      var old = name + "-" + last.dataset.index + "-";
      copy.dataset.index = String(next);
      Array.prototype.forEach.call(copy.querySelectorAll("[name]"), function (input) {
        input.name = name + "-" + next + "-" + input.name.slice(old.length);
        if (input.type === "text") input.value = "";
      });
      copy.querySelector('[data-part="field"]').value = "";
      rows.appendChild(copy);
      wire(copy);
      copy.querySelector('[data-part="field"]').focus();
    });

    form.addEventListener("change", later);
    form.addEventListener("input", later);
    count();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-segment-builder]"), init);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
