/* An author's page: the ROR now, its parts and history, posts per month and the events logged by hand.
   Notes and kinds are typed by people: shown with textContent only. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var t = T.t;
  var C = window.TesoroCharts;
  var author = T.data.author || {};
  var id = encodeURIComponent(author.author.id);
  var canReview = !!T.data.can_review;
  var eventsUrl = T.data.endpoints.author_events.replace("{author_id}", id);
  var section = document.getElementById("logged-events");
  var list = document.getElementById("logged-list");
  var form = document.getElementById("log-event");
  var summary = document.getElementById("ror-summary");
  var ror = document.getElementById("ror-chart");
  var kinds = document.getElementById("ror-kinds");
  var url = T.data.endpoints.ror_history.replace("{author_id}", id) + "?events=0";
  var PARTS = ["events", "loyalty", "advocacy", "sentiment_trend"];

  /* Posts per month, the months named as the reader names them ("nov 2026"). */
  C.columns(document.getElementById("activity-chart"), (author.activity || []).slice(-12).map(function (m) {
    return { label: C.fmtBucket(m.month + "-01T00:00:00Z", "month"), value: m.posts };
  }), { label: t("author.activity") });

  function score(value) { return T.fmtNumber(value, 1); }

  /* The score now, then its four parts, each named, explained and drawn as its share of the score. */
  function showSummary(payload) {
    var now = payload.ror || {};
    var terms = now.terms || {};
    var formula = payload.formula || {};
    T.clear(summary);
    var total = PARTS.reduce(function (sum, part) { return sum + Math.abs(Number(terms[part]) || 0); }, 0) || 1;
    var head = T.el("div", { class: "ror-now" }, [
      T.el("p", { class: "ror-score" }, [T.el("strong", { text: score(now.score) })]),
      T.el("p", { class: "muted", text: [
        t("ror.for_brand", { brand: payload.brand || t("chart.all_brands") }),
        t("ror.as_of", { date: T.fmtDate(now.as_of, false) }),
        T.tn("ror.months_active", now.months_active || 0)
      ].join(" · ") })
    ]);
    var parts = T.el("dl", { class: "ror-parts" });
    PARTS.forEach(function (part) {
      var value = Number(terms[part]) || 0;
      var help = t("ror.part." + part + ".help", {
        days: T.fmtNumber(part === "events" ? formula.half_life_days : formula.trend_window_days)
      });
      parts.appendChild(T.el("div", { class: "ror-part", "data-part": part }, [
        T.el("dt", { text: t("ror.part." + part) }),
        T.el("dd", { class: "value", text: score(value) }),
        T.el("dd", { class: "share", "aria-hidden": "true" }, [
          T.el("span", { class: "fill" + (value < 0 ? " negative" : ""), "data-share": Math.round((Math.abs(value) / total) * 100) })
        ]),
        T.el("dd", { class: "help muted", text: help })
      ]));
    });
    summary.appendChild(head);
    summary.appendChild(parts);
    /* Widths set from script (the page's CSP allows no inline style attribute in the markup). */
    summary.querySelectorAll(".fill").forEach(function (fill) { fill.style.width = fill.getAttribute("data-share") + "%"; });
  }

  /* What counted: each kind of event, named, with how many times and how many points. */
  function showKinds(payload) {
    var byKind = (payload.ror || {}).by_kind || {};
    var names = Object.keys(byKind).sort(function (a, b) { return byKind[b].contribution - byKind[a].contribution; });
    T.clear(kinds);
    if (!names.length) { T.noData(kinds); return; }
    var derived = (payload.formula || {}).event_values || {};
    var body = T.el("tbody", {}, names.map(function (kind) {
      var label = kind in derived ? t("event." + kind) : t("ror.logged_kind", { kind: kind });
      return T.el("tr", {}, [
        T.el("th", { scope: "row", text: label }),
        T.el("td", { class: "num", text: T.fmtNumber(byKind[kind].count) }),
        T.el("td", { class: "num", text: score(byKind[kind].contribution) })
      ]);
    }));
    kinds.appendChild(T.el("table", { class: "kinds" }, [
      T.el("thead", {}, [T.el("tr", {}, [
        T.el("th", { scope: "col", text: t("ror.kind") }),
        T.el("th", { scope: "col", class: "num", text: t("ror.count") }),
        T.el("th", { scope: "col", class: "num", text: t("ror.contribution") })
      ])]),
      body
    ]));
  }

  function showHistory(payload) {
    var history = payload.history || {};
    var points = (history.points || []).map(function (p) { return { x: p.at, y: p.score }; });
    C.line(ror, [{ name: t("ror.name"), points: points }], {
      bucket: history.every === "week" ? "day" : "month", digits: 1, zero: false, label: t("ror.history")
    });
  }

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
      showSummary(payload);
      showKinds(payload);
      showHistory(payload);
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

  load().catch(function () {
    C.forget(ror);
    [summary, ror, kinds].forEach(function (box) { T.loadFailed(box); });
  });
})();
