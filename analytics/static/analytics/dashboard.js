/* Renders the dashboard charts with Apache ECharts (served from our static files).
   Each <div data-chart="name" data-type="line|bar|pie"> gets the series in the JSON
   block #chart-data; after rendering it carries data-chart-points (used by the
   browser test and handy when debugging). */
(function () {
  // A select marked data-autosubmit (the attribution model) reloads the dashboard with
  // the filter form it belongs to, so the period and channels are kept.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.submit();
    });
  });
})();
(function () {
  var source = document.getElementById("chart-data");
  if (!source || !window.echarts) return;
  var payload = JSON.parse(source.textContent);
  var charts = payload.charts || {};
  var labels = payload.labels || {};
  var lang = (document.documentElement.lang || "en").toLowerCase();
  var locale = lang.indexOf("zh") === 0 ? "ZH" : "EN";
  var rendered = [];

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var data = charts[el.dataset.chart];
    if (!data) return;
    var type = el.dataset.type || "line";
    var names = Object.keys(data.series || {});
    var points = 0;
    var option;
    if (type === "pie") {
      var first = names[0];
      var items = (data.x || []).map(function (x, i) {
        points += 1;
        return { name: x, value: data.series[first][i] };
      });
      option = {
        tooltip: { trigger: "item" },
        legend: { bottom: 0, type: "scroll" },
        series: [{ type: "pie", radius: ["35%", "65%"], data: items, name: labels[first] || first }],
      };
    } else {
      option = {
        tooltip: { trigger: "axis" },
        legend: { bottom: 0, type: "scroll" },
        grid: { left: 50, right: 20, top: 20, bottom: 60, containLabel: true },
        xAxis: { type: "category", data: data.x || [], axisLabel: { hideOverlap: true } },
        yAxis: { type: "value" },
        series: names.map(function (name) {
          points += (data.series[name] || []).length;
          return { name: labels[name] || name, type: type, data: data.series[name], smooth: type === "line" };
        }),
      };
    }
    var chart = echarts.init(el, null, { locale: locale, renderer: "canvas" });
    chart.setOption(option);
    el.setAttribute("data-chart-points", String(points));
    rendered.push(chart);
  });
  window.addEventListener("resize", function () {
    rendered.forEach(function (c) { c.resize(); });
  });
  document.documentElement.setAttribute("data-charts-rendered", String(rendered.length));
})();
