/* The library: the curator's search over approved and featured posts (words + facet counts);
   the URL holds the whole query. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var el = T.el, t = T.t;
  var PAGE = 24;
  /* facet name in the response -> query parameter of /api/curator/library */
  var FILTERS = { state: "state", brand: "brand", product: "product", content_type: "content_type",
    platform: "platform", language: "language", sentiment: "sentiment", rights: "rights" };
  var form = document.getElementById("search-form");
  var input = document.getElementById("search-q");
  var facets = document.getElementById("facets");
  var results = document.getElementById("results");
  var counter = document.getElementById("result-count");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");

  function params() { return new URLSearchParams(window.location.search); }
  /* Searches may answer out of order (the first page load's and a typed query's, say): only the
     latest one may draw, so an older answer never replaces a newer one. */
  var latest = 0;

  function go(p) {
    window.history.pushState(null, "", "/ui/library" + (p.toString() ? "?" + p.toString() : ""));
    load();
  }

  function label(facet, value, given) {
    if (given) return given;
    if (value === "") return t("common.none");
    if (facet === "state") return t("state." + value);
    if (facet === "rights") return t("rights." + value);
    return value;
  }

  function renderFacets(data) {
    T.clear(facets);
    var current = params();
    Object.keys(FILTERS).forEach(function (facet) {
      var param = FILTERS[facet];
      var values = data.facets[facet] || [];
      if (!values.length) return;
      var box = el("fieldset", { class: "facet" }, [el("legend", { text: t("facet." + facet) })]);
      values.forEach(function (v) {
        if (v.value === "" || v.value === null || v.value === undefined) return;
        var value = String(v.value);
        var active = current.get(param) === value;
        var button = el("button", { type: "button", class: active ? "facet-value active" : "facet-value",
          "aria-pressed": active ? "true" : "false",
          onclick: function () {
            var p = params();
            if (active) p.delete(param); else p.set(param, value);
            p.delete("offset");
            go(p);
          } }, [el("span", { text: label(facet, value, v.label) }), el("span", { class: "count", text: T.fmtNumber(v.count) })]);
        box.appendChild(button);
      });
      facets.appendChild(box);
    });
  }

  function load() {
    var p = params();
    input.value = p.get("q") || "";
    var query = new URLSearchParams();
    if (p.get("q")) query.set("q", p.get("q"));
    Object.keys(FILTERS).forEach(function (facet) {
      var value = p.get(FILTERS[facet]);
      if (value) query.set(FILTERS[facet], value);
    });
    if (p.get("offset")) query.set("offset", p.get("offset"));
    query.set("limit", String(PAGE));
    var mine = ++latest;
    T.api("GET", "/api/curator/library?" + query.toString())
      .then(function (data) {
        if (mine !== latest) return;
        counter.textContent = T.tn("library.results", data.total);
        renderFacets(data);
        T.clear(results);
        if (!data.items.length) results.appendChild(el("p", { class: "muted", text: t("library.no_results") }));
        data.items.forEach(function (post) { results.appendChild(T.postCard(post)); });
        var offset = Number(p.get("offset") || 0);
        prev.disabled = offset <= 0;
        next.disabled = offset + PAGE >= data.total;
      })
      .catch(function (err) {
        if (mine !== latest) return;
        T.clear(results);
        results.appendChild(el("p", { class: "error", text: t("common.error", { error: err.message }) }));
      });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var p = params();
    if (input.value.trim()) p.set("q", input.value.trim()); else p.delete("q");
    p.delete("offset");
    go(p);
  });
  prev.addEventListener("click", function () {
    var p = params();
    p.set("offset", String(Math.max(0, Number(p.get("offset") || 0) - PAGE)));
    go(p);
  });
  next.addEventListener("click", function () {
    var p = params();
    p.set("offset", String(Number(p.get("offset") || 0) + PAGE));
    go(p);
  });
  window.addEventListener("popstate", load);
  load();
})();
