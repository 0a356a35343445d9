/* An author's page: posts per month (always), ROR history (when the insights area is installed). */
(function () {
  "use strict";
  var T = window.Tesoro;
  var author = T.data.author || {};
  var activity = document.getElementById("activity-chart");
  var ror = document.getElementById("ror-chart");
  window.TesoroCharts.bars(activity, (author.activity || []).slice(-12).map(function (m) {
    return { label: m.month, value: m.posts };
  }));
  if (!T.data.features || !T.data.features.insights) { T.notAvailable(ror); return; }
  var id = encodeURIComponent(author.author.id);
  T.chartImage(document.getElementById("ror-history"), T.data.insights.chart_ror_history.replace("{author_id}", id),
    T.t("author.ror"));
  var url = T.data.insights.ror_history.replace("{author_id}", id);
  T.api("GET", url)
    .then(function (payload) { window.TesoroCharts.auto(ror, payload); })
    .catch(function () { T.notAvailable(ror); });
})();
