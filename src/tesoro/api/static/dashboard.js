/* The dashboard: volume per day and platform, posts by state and platform, and the insights KPIs. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var C = window.TesoroCharts;
  var o = T.data.overview || {};
  var platforms = {};
  Object.keys(o.daily || {}).forEach(function (day) {
    Object.keys(o.daily[day]).forEach(function (platform) {
      (platforms[platform] = platforms[platform] || []).push({ x: day, y: o.daily[day][platform] });
    });
  });
  C.line(document.getElementById("daily-chart"), Object.keys(platforms).sort().map(function (name) {
    return { name: name, points: platforms[name] };
  }), { formatX: function (day) { return T.fmtDate(day + "T12:00:00Z", false); } });
  C.bars(document.getElementById("state-chart"), Object.keys(o.by_state || {}).sort().map(function (s) {
    return { label: T.t("state." + s), value: o.by_state[s] };
  }));
  C.bars(document.getElementById("platform-chart"), Object.keys(o.by_platform || {}).sort().map(function (p) {
    return { label: p, value: o.by_platform[p] };
  }));

  function insight(name, container, options) {
    T.api("GET", T.data.endpoints[name])
      .then(function (payload) { C.auto(container, payload, options); })
      .catch(function () { T.loadFailed(container); });
  }
  var kpis = document.getElementById("kpis");
  insight("kpis", kpis, { tilesOnly: true });
  insight("ror_leaderboard", document.getElementById("advocates"));
  var charts = document.getElementById("insight-charts");
  [["chart_volume", "dashboard.chart_volume"], ["chart_sentiment", "dashboard.chart_sentiment"],
   ["chart_share_of_voice", "dashboard.chart_share_of_voice"]]
    .forEach(function (pair) {
      var figure = T.el("figure", {}, [T.el("figcaption", { text: T.t(pair[1]) })]);
      charts.appendChild(figure);
      T.chartImage(figure, T.data.endpoints[pair[0]], T.t(pair[1]));
    });
})();
