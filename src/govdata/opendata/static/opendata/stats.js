// The statistics page's charts, drawn by the locally served ECharts from /open/stats.json.
(function () {
  "use strict";

  function draw(data) {
    var usage = echarts.init(document.getElementById("usage-chart"));
    usage.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 24, top: 40, bottom: 32 },
      xAxis: { type: "category", data: data.days.map(function (day) { return day.slice(5); }) },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "line", data: s.data };
      }),
    });

    var top = echarts.init(document.getElementById("top-chart"));
    var ranked = data.top.slice().reverse(); // the largest bar on top
    top.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 24, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: ranked.map(function (d) { return d.title; }) },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "uses", barMaxWidth: 28, data: ranked.map(function (d) { return d[s.kind]; }) };
      }),
    });
    top.on("click", function (params) {
      window.location.href = ranked[params.dataIndex].url;
    });
    window.addEventListener("resize", function () {
      usage.resize();
      top.resize();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chart = document.getElementById("usage-chart");
    fetch(chart.dataset.source, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(draw);
  });
})();
