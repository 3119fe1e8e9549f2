{% autoescape off %}/* Conversion tracking for one goal of the content hub. Put it on every page of your site
 * (it keeps the click id a tracked link added, in this site's own storage), and with
 * data-convert on the page that reaches the goal, e.g. the order confirmation:
 * <script src="{{ pixel_url }}.js" data-convert data-value="99.00" data-currency="CNY"
 *         data-order="A1234" async></script>
 * Or call window.hubConversion({value: "99.00", currency: "CNY", order: "A1234"}). */
(function () {
  "use strict";
  var PIXEL = "{{ pixel_url|escapejs }}";
  var STORE = "hub_ch_clicks";
  var WINDOW_MS = {{ window_days|add:0 }} * 86400000;
  var script = document.currentScript;

  function stored() {
    var list = [];
    try {
      list = JSON.parse(window.localStorage.getItem(STORE) || "[]");
    } catch (e) {
      list = [];
    }
    var now = Date.now();
    return Array.isArray(list)
      ? list.filter(function (c) {
          return c && typeof c.id === "string" && now - c.t < WINDOW_MS;
        })
      : [];
  }

  function keep() {
    var id = new URLSearchParams(window.location.search).get("ch_click");
    if (!id || id.length !== 49) return;
    var list = stored().filter(function (c) {
      return c.id !== id;
    });
    list.push({ id: id, t: Date.now() });
    try {
      window.localStorage.setItem(STORE, JSON.stringify(list.slice(-4)));
    } catch (e) {
      /* storage refused (private mode): the conversion goes unattributed */
    }
  }

  function convert(data) {
    data = data || {};
    var query = new URLSearchParams();
    if (data.value != null && data.value !== "") query.set("value", String(data.value));
    if (data.currency) query.set("currency", String(data.currency));
    if (data.order) query.set("order", String(data.order));
    stored().forEach(function (c) {
      query.append("ch_click", c.id);
    });
    var image = new Image(1, 1);
    image.src = PIXEL + "?" + query.toString();
  }

  keep();
  window.hubConversion = convert;
  if (script && script.hasAttribute("data-convert")) {
    convert({
      value: script.getAttribute("data-value"),
      currency: script.getAttribute("data-currency"),
      order: script.getAttribute("data-order"),
    });
  }
})();
{% endautoescape %}
