/* An author's page: posts per month, the ROR history and the events logged by hand.
   Notes and kinds are typed by people: shown with textContent only. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var t = T.t;
  var author = T.data.author || {};
  var activity = document.getElementById("activity-chart");
  var ror = document.getElementById("ror-chart");
  window.TesoroCharts.bars(activity, (author.activity || []).slice(-12).map(function (m) {
    return { label: m.month, value: m.posts };
  }));
  var id = encodeURIComponent(author.author.id);
  var canReview = !!T.data.can_review;
  var eventsUrl = T.data.endpoints.author_events.replace("{author_id}", id);
  var section = document.getElementById("logged-events");
  var list = document.getElementById("logged-list");
  var form = document.getElementById("log-event");
  T.chartImage(document.getElementById("ror-history"), T.data.endpoints.chart_ror_history.replace("{author_id}", id),
    t("author.ror"));
  var url = T.data.endpoints.ror_history.replace("{author_id}", id);

  function showLogged(events) {
    T.clear(list);
    if (!events.length) list.appendChild(T.el("li", { class: "muted", text: t("author.logged_none") }));
    events.forEach(function (e) {
      var remove = canReview
        ? T.el("button", { type: "button", class: "unlog", text: t("author.unlog"), onclick: function () { unlog(e); } })
        : null;
      list.appendChild(T.el("li", { "data-event-id": e.id }, [
        T.el("time", { datetime: e.occurred_at, text: T.fmtDate(e.occurred_at, false) }),
        T.el("span", { class: "kind", text: e.kind }),
        T.el("span", { class: "weight", text: (e.weight > 0 ? "+" : "") + T.fmtNumber(e.weight, 1) }),
        e.note ? T.el("span", { class: "note", text: e.note }) : null,
        remove
      ]));
    });
    section.hidden = false;
  }

  function load() {
    return T.api("GET", url).then(function (payload) {
      window.TesoroCharts.auto(ror, payload);
      showLogged(Array.isArray(payload.logged_events) ? payload.logged_events : []);
    });
  }

  function unlog(e) {
    T.api("DELETE", eventsUrl + "/" + encodeURIComponent(e.id))
      .then(function () { T.toast(t("author.unlogged_ok"), "ok"); return load(); })
      .catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); });
  }

  if (form && canReview) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { kind: form.elements.kind.value, weight: Number(form.elements.weight.value) };
      var day = form.elements.when.value;  /* yyyy-mm-dd; today (or nothing) means now */
      var today = new Date();
      var local = [today.getFullYear(), today.getMonth() + 1, today.getDate()].map(function (n) {
        return String(n).padStart(2, "0");
      }).join("-");
      if (day && day !== local) body.occurred_at = day + "T12:00:00Z";
      if (form.elements.note.value) body.note = form.elements.note.value;
      T.api("POST", eventsUrl, body)
        .then(function () {
          form.reset();
          T.toast(t("author.logged_ok"), "ok");
          return load();
        })
        .catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); });
    });
  }

  load().catch(function () { T.loadFailed(ror); });
})();
