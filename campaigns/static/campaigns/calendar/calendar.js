/* Schedule calendar: drag a publication to another day (month view) or hour (week view).
 *
 * Plain script, no build step. The server decides: the drop is POSTed to the item's
 * data-move-url, which calls the same service as the publication form. The item moves at
 * once and goes back if the server refuses, with the server's reasons shown in words.
 * Without this script the calendar still works: every item is a link. All words come
 * from the page (json_script "cs-calendar-strings" and the server's answers), so they
 * are translated.
 */
(function () {
  'use strict';

  var root = document.querySelector('[data-cs-calendar]');
  if (!root) {
    return;
  }
  var stringsNode = document.getElementById('cs-calendar-strings');
  var strings = stringsNode ? JSON.parse(stringsNode.textContent) : {};
  var csrfInput = root.querySelector('input[name="csrfmiddlewaretoken"]');
  var flash = root.querySelector('.cs-cal-flash');
  var dragged = null;

  function say(text, ok) {
    if (!flash) {
      return;
    }
    flash.textContent = text;
    flash.className = 'cs-cal-flash ' + (ok ? 'cs-cal-flash--ok' : 'cs-cal-flash--error');
    flash.hidden = false;
  }

  function itemsList(cell) {
    return cell.querySelector('.cs-cal-items');
  }

  // Keep a cell's items in time order after a move.
  function insertSorted(list, item) {
    var time = item.querySelector('.cs-cal-time').textContent;
    var after = Array.prototype.find.call(list.children, function (other) {
      return other !== item && other.querySelector('.cs-cal-time').textContent > time;
    });
    list.insertBefore(item, after || null);
  }

  function move(item, cell) {
    var origin = item.parentNode;
    var originNext = item.nextSibling;
    var body = new FormData();
    body.append('date', cell.dataset.dropDate);
    if (cell.dataset.dropHour !== undefined) {
      body.append('hour', cell.dataset.dropHour);
    }
    itemsList(cell).appendChild(item);
    item.classList.add('cs-cal-item--saving');
    say(strings.moving || '…', true);

    function putBack(reasons) {
      origin.insertBefore(item, originNext);
      say((strings.refused || '') + ' ' + reasons.join(' '), false);
    }

    fetch(item.dataset.moveUrl, {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      headers: {
        'X-CSRFToken': csrfInput ? csrfInput.value : '',
        'X-Requested-With': 'XMLHttpRequest',
        Accept: 'application/json',
      },
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return { ok: false, errors: [strings.failed || ''] };
          })
          .then(function (answer) {
            if (response.ok && answer.ok) {
              item.querySelector('.cs-cal-time').textContent = answer.time;
              insertSorted(itemsList(cell), item);
              say(answer.message, true);
            } else {
              putBack(answer.errors || [strings.failed || '']);
            }
          });
      })
      .catch(function () {
        putBack([strings.failed || '']);
      })
      .then(function () {
        item.classList.remove('cs-cal-item--saving');
      });
  }

  root.querySelectorAll('.cs-cal-item[data-move-url]').forEach(function (item) {
    item.draggable = true;
    // The drag starts from the item, not from the link inside it (which would drag a URL).
    item.querySelectorAll('a').forEach(function (link) {
      link.draggable = false;
    });
    item.addEventListener('dragstart', function (event) {
      dragged = item;
      item.classList.add('cs-cal-item--dragging');
      event.dataTransfer.effectAllowed = 'move';
      event.dataTransfer.setData('text/plain', item.dataset.pk);
    });
    item.addEventListener('dragend', function () {
      item.classList.remove('cs-cal-item--dragging');
      dragged = null;
    });
  });

  root.querySelectorAll('[data-drop-date]').forEach(function (cell) {
    cell.addEventListener('dragover', function (event) {
      if (dragged) {
        event.preventDefault();
        event.dataTransfer.dropEffect = 'move';
        cell.classList.add('cs-cal-drop-over');
      }
    });
    cell.addEventListener('dragleave', function () {
      cell.classList.remove('cs-cal-drop-over');
    });
    cell.addEventListener('drop', function (event) {
      event.preventDefault();
      cell.classList.remove('cs-cal-drop-over');
      var item = dragged;
      dragged = null;
      if (!item || item.parentNode === itemsList(cell)) {
        return;
      }
      move(item, cell);
    });
  });
})();
