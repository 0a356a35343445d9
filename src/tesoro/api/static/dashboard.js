/* The dashboard: volume per day and platform, posts by state and platform, then the KPIs of a period
   (each a named measure with a line that says what it means), ROE, and the advocates by ROR, each
   linked to their author page. Handles, names and post text come from strangers: textContent only. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var C = window.TesoroCharts;
  var t = T.t;
  var o = T.data.overview || {};
  var SENTIMENTS = [["positive", 1], ["neutral", 5], ["negative", 4], ["unscored", 3]];

  /* --- what has been collected (the store's overview, in the page) ------------------------------ */

  var platforms = {};
  Object.keys(o.daily || {}).forEach(function (day) {
    Object.keys(o.daily[day]).forEach(function (platform) {
      (platforms[platform] = platforms[platform] || []).push({ x: day + "T00:00:00Z", y: o.daily[day][platform] });
    });
  });
  C.line(document.getElementById("daily-chart"), Object.keys(platforms).sort().map(function (name) {
    return { name: C.platformName(name), points: platforms[name] };
  }), { bucket: "day", legend: true, label: t("dashboard.daily") });
  C.bars(document.getElementById("state-chart"), Object.keys(o.by_state || {}).sort().map(function (s) {
    return { label: t("state." + s), value: o.by_state[s] };
  }), { label: t("dashboard.by_state") });
  C.bars(document.getElementById("platform-chart"), Object.keys(o.by_platform || {}).sort().map(function (p) {
    return { label: C.platformName(p), value: o.by_platform[p] };
  }), { label: t("dashboard.by_platform") });

  /* --- the KPIs of the chosen brand and period ------------------------------------------------- */

  var filters = document.getElementById("kpi-filters");
  var measures = document.getElementById("kpis");
  var windowNote = document.getElementById("kpi-window");
  var panels = ["mentions-chart", "sentiment-chart", "voice-chart", "engagement", "top-ugc", "roe", "leaderboard"]
    .map(function (id) { return document.getElementById(id); });
  var latest = 0;

  function query(extra) {
    var params = new URLSearchParams();
    var brand = filters.elements.brand.value;
    if (brand) params.set("brand", brand);
    Object.keys(extra || {}).forEach(function (k) { params.set(k, extra[k]); });
    var text = params.toString();
    return text ? "?" + text : "";
  }

  function change(value) {
    if (value === null || value === undefined) return t("chart.previous_none");
    return t("kpi.change", { change: C.signedPercent(value) });
  }

  /* A measure: its name, its value, how it moved, and one line on what it means. */
  function measure(key, value, moved, extra) {
    return T.el("div", { class: "measure", "data-kpi": key }, [
      T.el("dt", { text: t("kpi." + key) }),
      T.el("dd", { class: "value", text: value }),
      moved === undefined ? null : T.el("dd", { class: "change", text: moved }),
      extra ? T.el("dd", { class: "split", text: extra }) : null,
      T.el("dd", { class: "help muted", text: t("kpi." + key + ".help") })
    ]);
  }

  function showMeasures(report) {
    var volume = report.volume || {};
    var moved = volume.change || {};
    var sentiment = report.sentiment || {};
    T.clear(measures);
    measures.appendChild(measure("mentions", T.fmtNumber(volume.mentions), change(moved.mentions)));
    measures.appendChild(measure("unique_authors", T.fmtNumber(volume.unique_authors), change(moved.unique_authors)));
    measures.appendChild(measure("potential_reach", T.fmtNumber(volume.potential_reach), change(moved.potential_reach)));
    measures.appendChild(measure("interactions", T.fmtNumber(volume.interactions),
      "interactions" in moved ? change(moved.interactions) : undefined));
    var net = sentiment.net;
    var netMoved = sentiment.net_change === null || sentiment.net_change === undefined
      ? t("chart.previous_none")
      : t("dashboard.change_points", {
        change: new Intl.NumberFormat(T.lang, { signDisplay: "exceptZero" }).format(Math.round(sentiment.net_change * 100))
      });
    measures.appendChild(measure("net_sentiment", C.signedPercent(net), netMoved, t("kpi.sentiment_split", {
      positive: T.fmtNumber(sentiment.positive), neutral: T.fmtNumber(sentiment.neutral), negative: T.fmtNumber(sentiment.negative)
    })));
    var voice = report.share_of_voice || [];
    var own = voice.filter(function (v) { return v.is_brand; })[0];
    if (own && voice.length > 1) measures.appendChild(measure("share_of_voice", C.percent(own.share, 1)));
  }

  function showSeries(report) {
    var bucket = (report.window || {}).bucket || "day";
    var series = report.series || [];
    document.getElementById("mentions-title").textContent = t(bucket === "day" ? "kpi.mentions_chart" : "kpi.mentions_chart." + bucket);
    var counts = SENTIMENTS.map(function (pair) {
      return {
        name: t("kpi.sentiment." + pair[0]), color: pair[1],
        points: series.map(function (p) { return { x: p.start, y: (p.sentiment || {})[pair[0]] || 0 }; })
      };
    }).filter(function (s) { return s.points.some(function (p) { return p.y > 0; }); });
    if (!series.some(function (p) { return p.posts > 0; })) { C.forget(panels[0]); T.noData(panels[0]); }
    else C.line(panels[0], counts, { bucket: bucket, legend: true, label: t("kpi.mentions_chart") });
    var net = series.map(function (p) { return { x: p.start, y: (p.sentiment || {}).net }; });
    C.line(panels[1], [{ name: t("kpi.net_sentiment"), points: net, color: 0 }], {
      bucket: bucket, lo: -1, hi: 1, label: t("kpi.sentiment_chart"),
      format: function (value, digits) { return C.signedPercent(value, Math.max(0, digits - 2)); }
    });
    var voice = (report.share_of_voice || []).filter(function (v) { return v.mentions > 0; });
    C.bars(panels[2], voice.map(function (v) {
      return { label: v.name, value: v.share || 0, highlight: v.is_brand };
    }), { format: function (value) { return C.percent(value, 1); }, label: t("kpi.share_of_voice") });
  }

  function table(headers, rows) {
    return T.el("table", {}, [
      T.el("thead", {}, [T.el("tr", {}, headers.map(function (h) {
        return T.el("th", { scope: "col", class: h[1] || null, text: h[0] });
      }))]),
      T.el("tbody", {}, rows)
    ]);
  }

  function showEngagement(report) {
    var rows = (report.engagement || []).filter(function (e) { return e.posts > 0; });
    var box = panels[3];
    T.clear(box);
    if (!rows.length) { T.noData(box); return; }
    box.appendChild(table([
      [t("kpi.platform")], [t("kpi.rated"), "num part"], [t("kpi.median_rate"), "num"], [t("kpi.platform_median"), "num part"],
      [t("kpi.vs_median"), "num"]
    ], rows.map(function (e) {
      var ratio = e.vs_median === null ? "–" : t("kpi.times_median", { ratio: T.fmtNumber(e.vs_median, 1) });
      return T.el("tr", {}, [
        T.el("th", { scope: "row", text: C.platformName(e.platform) }),
        T.el("td", { class: "num part", text: T.fmtNumber(e.rated_posts) }),
        T.el("td", { class: "num", text: C.percent(e.median_rate, 2) }),
        T.el("td", { class: "num part" }, [
          C.percent(e.platform_median, 2),
          e.median_source ? T.el("span", { class: "muted note", text: " (" + t("kpi.source." + e.median_source) + ")" }) : null
        ]),
        T.el("td", { class: "num" + (e.vs_median >= 1.1 ? " up" : ""), text: ratio })
      ]);
    })));
  }

  function authorLink(id, handle) {
    return T.el("a", { class: "handle", href: "/ui/authors/" + encodeURIComponent(id), title: "@" + handle, text: "@" + handle });
  }

  function showTopUgc(report) {
    var list = panels[4];
    T.clear(list);
    var posts = report.top_ugc || [];
    if (!posts.length) { list.appendChild(T.el("li", { class: "muted no-data", text: t("common.no_data") })); return; }
    posts.forEach(function (p) {
      list.appendChild(T.el("li", { class: "post" }, [
        T.el("p", { class: "meta" }, [
          T.el("span", { class: "platform", text: C.platformName(p.platform) }),
          authorLink(p.author_id, p.handle),
          T.el("time", { datetime: p.created_at, text: T.fmtDate(p.created_at, false) }),
          T.el("span", { text: T.tn("kpi.interactions_count", p.interactions || 0) }),
          T.el("a", { href: "/ui/queue?post=" + encodeURIComponent(p.post_id), text: t("kpi.open_in_queue") }),
          T.safeUrl(p.url) ? T.el("a", { href: p.url, rel: "noopener noreferrer nofollow ugc", target: "_blank", text: t("common.open_post") }) : null
        ]),
        T.el("p", { class: "text clamp", text: p.text || "" })
      ]));
    });
  }

  function loadKpis() {
    var ticket = ++latest;
    var since = filters.elements.since.value;
    T.api("GET", T.data.endpoints.kpis + query({ since: since, top: 5 }))
      .then(function (report) {
        if (ticket !== latest) return;  /* a newer choice is on its way */
        var w = report.window || {};
        windowNote.textContent = t("dashboard.window", { since: T.fmtDate(w.since, false), until: T.fmtDate(w.until, false) });
        showMeasures(report);
        showSeries(report);
        showEngagement(report);
        showTopUgc(report);
      })
      .catch(function () {
        if (ticket !== latest) return;
        [measures, panels[0], panels[1], panels[2], panels[3], panels[4]].forEach(function (box) {
          C.forget(box);
          T.loadFailed(box);
        });
      });
  }

  /* --- ROE of the declared efforts ------------------------------------------------------------------ */

  /* An effort's target as a person names it: the brand, "#campaign", or the listening query's name. */
  function effortName(target) {
    var text = String(target || "");
    if (text.indexOf("brand:") === 0) return text.slice(6);
    if (text.indexOf("query:") === 0) return t("kpi.target_query", { name: text.slice(6) });
    return text;
  }

  function loadRoe() {
    var box = panels[5];
    T.api("GET", T.data.endpoints.roe + query())
      .then(function (payload) {
        document.getElementById("roe-help").textContent = t("kpi.roe.help", { ugc: T.fmtNumber(payload.ugc_value, 0) });
        T.clear(box);
        if (!payload.items.length) { box.appendChild(T.el("p", { class: "muted", text: t("kpi.roe_none") })); return; }
        box.appendChild(table([
          [t("kpi.target")], [t("kpi.dates")], [t("kpi.earned"), "num"], [t("kpi.per_post"), "num"],
          [t("kpi.per_hour"), "num"], [t("kpi.per_spend"), "num"], [t("kpi.trend"), "num"]
        ], payload.items.map(function (r) {
          var trend = ["per_post", "per_hour", "per_spend"].filter(function (unit) {
            return typeof (r.trend || {})[unit] === "number";
          }).map(function (unit) { return C.signedPercent(r.trend[unit]) + " " + t("kpi.trend." + unit); });
          return T.el("tr", {}, [
            T.el("th", { scope: "row", text: effortName(r.target) }),
            T.el("td", { text: C.fmtDay(r.start + "T00:00:00Z") + " – " + C.fmtDay(r.end + "T00:00:00Z") }),
            T.el("td", { class: "num", text: T.fmtNumber(r.earned.total, 0) }),
            T.el("td", { class: "num", text: T.fmtNumber(r.roe.per_post, 1) }),
            T.el("td", { class: "num", text: T.fmtNumber(r.roe.per_hour, 1) }),
            T.el("td", { class: "num", text: T.fmtNumber(r.roe.per_spend, 2) }),
            T.el("td", { class: "num", text: trend.length ? trend.join(" · ") : "–" })
          ]);
        })));
      })
      .catch(function () { T.loadFailed(box); });
  }

  /* --- the advocates: people by ROR, with its parts, each linked to their page ----------------------- */

  var PARTS = ["events", "loyalty", "advocacy", "sentiment_trend"];

  function loadLeaderboard() {
    var box = panels[6];
    var when = document.getElementById("advocates-when");
    T.api("GET", T.data.endpoints.ror_leaderboard + query({ top: 20 }))
      .then(function (board) {
        T.clear(box);
        when.textContent = board.computed_at
          ? t("dashboard.computed", { date: T.fmtDate(board.computed_at) }) : t("dashboard.not_computed");
        if (!board.items.length) { T.noData(box); return; }
        var headers = [[t("dashboard.rank"), "num"], [t("dashboard.person")], [t("dashboard.ror"), "num"]]
          .concat(PARTS.map(function (p) { return [t("ror.part." + p), "num part"]; }))
          .concat([[t("dashboard.months"), "num part"], [t("dashboard.last_event"), "part"]]);
        box.appendChild(table(headers, board.items.map(function (r) {
          var advocate = r.score >= board.advocate_min_ror;
          return T.el("tr", { "data-author-id": r.author_id }, [
            T.el("td", { class: "num", text: T.fmtNumber(r.rank) }),
            T.el("th", { scope: "row" }, [T.el("span", { class: "person" }, [
              r.display_name ? T.el("span", { class: "name", text: r.display_name }) : null,
              authorLink(r.author_id, r.handle),
              T.el("span", { class: "platform", text: C.platformName(r.platform) })
            ])]),
            T.el("td", { class: "num" }, [
              T.el("strong", { text: T.fmtNumber(r.score, 1) }),
              advocate ? T.el("span", { class: "badge advocate", title: t("ror.advocate_help", { min: T.fmtNumber(board.advocate_min_ror) }), text: t("ror.advocate") }) : null
            ])
          ].concat(PARTS.map(function (p) {
            return T.el("td", { class: "num part", text: T.fmtNumber(r.terms[p], 1) });
          })).concat([
            T.el("td", { class: "num part", text: T.fmtNumber(r.months_active) }),
            T.el("td", { class: "part", text: T.fmtDate(r.last_event_at, false) })
          ]));
        })));
      })
      .catch(function () { T.loadFailed(box); });
  }

  function loadAll() {
    loadKpis();
    loadRoe();
    loadLeaderboard();
  }
  filters.addEventListener("change", function (event) {
    if (event.target.name === "brand") loadAll();
    else loadKpis();
  });
  filters.addEventListener("submit", function (event) { event.preventDefault(); loadAll(); });
  loadAll();
})();
