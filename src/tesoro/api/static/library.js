/* The library: the coordinator's search over approved and featured posts, by words or by meaning,
   with facets, a tag, a sort, a date range and pages. The URL holds the whole search (q or meaning,
   sort, tag, date_from, date_to, the facets, offset), so back/forward and a shared link show the
   same page. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var el = T.el, t = T.t;
  var PAGE = 24;
  /* How long a search by meaning may take before the page says the model may still be loading. */
  var WARMING_AFTER_MS = 1200;
  /* facet name in the response -> query parameter of /api/curator/library */
  var FILTERS = { state: "state", brand: "brand", product: "product", product_line: "line",
    content_type: "content_type", platform: "platform", language: "language", sentiment: "sentiment",
    rights: "rights" };
  var SORTS = ["relevance", "treasure", "date", "engagement"];
  var DAY = /^\d{4}-\d{2}-\d{2}$/;

  var form = document.getElementById("search-form");
  var input = document.getElementById("search-q");
  var hint = document.getElementById("search-hint");
  var modes = form.querySelectorAll('input[name="mode"]');
  var sortSelect = document.getElementById("sort");
  var tagSelect = document.getElementById("tag");
  var dateFrom = document.getElementById("date-from");
  var dateTo = document.getElementById("date-to");
  var formError = document.getElementById("form-error");
  var chips = document.getElementById("active-filters");
  var warming = document.getElementById("warming");
  var facetsBox = document.getElementById("facets-box");
  var facets = document.getElementById("facets");
  var results = document.getElementById("results");
  var counter = document.getElementById("result-count");
  var pageInfo = document.getElementById("page-info");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");

  var languageNames = null;
  try {
    languageNames = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames([T.lang], { type: "language" }) : null;
  } catch (e) { languageNames = null; }

  function params() { return new URLSearchParams(window.location.search); }

  /* Searches may answer out of order (the first page load's and a typed query's, say): only the
     latest one may draw, so an older answer never replaces a newer one. */
  var latest = 0;
  var warmingTimer = null;
  /* After paging, the result count takes the focus, so a keyboard user lands on the new page. */
  var focusCount = false;

  function go(p) {
    window.history.pushState(null, "", "/ui/library" + (p.toString() ? "?" + p.toString() : ""));
    load();
  }

  function mode() {
    for (var i = 0; i < modes.length; i++) if (modes[i].checked) return modes[i].value;
    return "words";
  }

  function showMode(value) {
    for (var i = 0; i < modes.length; i++) modes[i].checked = modes[i].value === value;
    input.placeholder = t("library.placeholder." + value);
    hint.textContent = t("library.hint." + value);
  }

  /* A day from the URL as the reader writes it ("12 nov 2026"), never shifted by the time zone. */
  function fmtDay(day) {
    var parts = day.split("-");
    var date = new Date(Date.UTC(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2])));
    return new Intl.DateTimeFormat(T.lang, { dateStyle: "medium", timeZone: "UTC" }).format(date);
  }

  function validDay(day) {
    if (!DAY.test(day)) return false;
    var parts = day.split("-").map(Number);
    var date = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
    return date.getUTCFullYear() === parts[0] && date.getUTCMonth() === parts[1] - 1 && date.getUTCDate() === parts[2];
  }

  function showError(message) {
    formError.textContent = message || "";
    formError.hidden = !message;
  }

  function label(facet, value, given) {
    if (given) return given;
    if (value === "") return t("common.none");
    if (facet === "state") return t("state." + value);
    if (facet === "rights") return t("rights." + value);
    if (facet === "content_type") return t("ctype." + value);
    if (facet === "sentiment") return t("sentiment." + value);
    if (facet === "platform") return T.platformName(value);
    if (facet === "language" && languageNames) {
      try { return languageNames.of(value) || value; } catch (e) { return value; }
    }
    return value;
  }

  /* The facet labels the last answer gave (brand and product names), for the active-filter chips. */
  var known = {};

  function renderFacets(data) {
    T.clear(facets);
    var current = params();
    known = {};
    Object.keys(FILTERS).forEach(function (facet) {
      var param = FILTERS[facet];
      var values = data.facets[facet] || [];
      if (!values.length) return;
      var box = el("fieldset", { class: "facet" }, [el("legend", { text: t("facet." + facet) })]);
      values.forEach(function (v) {
        if (v.value === "" || v.value === null || v.value === undefined) return;
        var value = String(v.value);
        var name = label(facet, value, v.label);
        known[param + "=" + value] = name;
        var active = current.get(param) === value;
        var button = el("button", { type: "button", class: active ? "facet-value active" : "facet-value",
          "aria-pressed": active ? "true" : "false",
          onclick: function () {
            var p = params();
            if (active) p.delete(param); else p.set(param, value);
            p.delete("offset");
            go(p);
          } }, [el("span", { text: name }), el("span", { class: "count", text: T.fmtNumber(v.count) })]);
        box.appendChild(button);
      });
      facets.appendChild(box);
    });
  }

  /* One chip per active filter, each with a button that removes it (and only it). */
  function renderChips(p) {
    T.clear(chips);
    var entries = [];
    if (p.get("q")) entries.push({ param: "q", text: t("library.chip.q", { value: p.get("q") }) });
    if (p.get("meaning")) entries.push({ param: "meaning", text: t("library.chip.meaning", { value: p.get("meaning") }) });
    if (p.get("tag")) entries.push({ param: "tag", text: t("library.chip.tag", { value: p.get("tag") }) });
    ["date_from", "date_to"].forEach(function (name) {
      var day = p.get(name);
      if (day && validDay(day)) entries.push({ param: name, text: t("library.chip." + name, { value: fmtDay(day) }) });
    });
    Object.keys(FILTERS).forEach(function (facet) {
      var param = FILTERS[facet];
      var value = p.get(param);
      if (!value) return;
      var name = known[param + "=" + value] || label(facet, value, null);
      entries.push({ param: param, text: t("facet." + facet) + ": " + name });
    });
    entries.forEach(function (entry) {
      chips.appendChild(el("li", {}, [
        el("span", { text: entry.text }),
        el("button", { type: "button", "aria-label": t("library.remove", { name: entry.text }), title: t("library.remove", { name: entry.text }), text: "×",
          onclick: function () {
            var q = params();
            q.delete(entry.param);
            q.delete("offset");
            go(q);
            input.focus();
          } })
      ]));
    });
  }

  function metrics(post) {
    var m = post.metrics || {};
    var parts = [];
    [["likes", m.likes], ["reposts", m.reposts], ["replies", m.replies]].forEach(function (pair) {
      if (typeof pair[1] === "number") parts.push(T.tn("library." + pair[0], pair[1]));
    });
    return parts.length ? el("span", { class: "muted metrics", text: parts.join(" · ") }) : null;
  }

  /* What the library adds to a post's card: where to act on it (the queue), its author, its
     duplicate group, how close it came to the meaning searched for, its engagement and tags. */
  function links(post) {
    var author = post.author || {};
    var parts = [
      el("a", { href: "/ui/queue?post=" + encodeURIComponent(post.id), class: "to-queue", text: t("library.open_queue") }),
      author.id !== undefined && author.id !== null
        ? el("a", { href: "/ui/authors/" + encodeURIComponent(author.id), class: "to-author",
          text: t("library.author", { handle: author.handle || "" }) })
        : null
    ];
    if (post.duplicate_of) {
      parts.push(el("a", { href: "/ui/queue?post=" + encodeURIComponent(post.duplicate_of), class: "to-original",
        text: t("library.copy_of", { id: post.duplicate_of }) }));
    }
    var copies = post.copies || [];
    if (copies.length) {
      var list = el("ul");
      copies.forEach(function (c) {
        list.appendChild(el("li", {}, [
          el("a", { href: "/ui/queue?post=" + encodeURIComponent(c.id), text: c.platform + " @" + c.author_handle }),
          c.queue_state ? el("span", { class: "muted", text: " · " + t("state." + c.queue_state) }) : null
        ]));
      });
      var count = typeof post.copy_count === "number" ? post.copy_count : copies.length;
      parts.push(el("details", { class: "group" }, [el("summary", { text: T.tn("library.group", count) }), list]));
    }
    if (typeof post.relevance === "number" && params().get("meaning")) {
      parts.push(el("span", { class: "muted similarity", text: t("library.similarity", { value: T.fmtNumber(post.relevance, 2) }) }));
    }
    parts.push(metrics(post));
    if (post.tags && post.tags.length) {
      parts.push(el("span", { class: "muted tags", text: t("library.tags") + " " + post.tags.join(", ") }));
    }
    return el("footer", { class: "library-links" }, parts);
  }

  /* A failed search, said plainly: a query it could not read names the field, search by meaning
     says it is unavailable, anything else says what the server said. */
  function failure(err) {
    var detail = err.message;  // T.api already made a 422's field list a sentence
    if (err.status === 422) {
      return t("library.bad_query", { error: detail });
    }
    if (err.status === 503 && params().get("meaning")) return t("library.meaning_unavailable", { error: detail });
    return t("common.error", { error: detail });
  }

  function stopWarming() {
    if (warmingTimer) clearTimeout(warmingTimer);
    warmingTimer = null;
    warming.hidden = true;
  }

  /* The tags in use, as options; one from the URL that is not among them is kept as an option too. */
  function addTag(tag) {
    for (var i = 0; i < tagSelect.options.length; i++) if (tagSelect.options[i].value === tag) return;
    tagSelect.appendChild(el("option", { value: tag, text: tag }));
  }

  function showTag(tag) {
    if (tag) addTag(tag);
    tagSelect.value = tag;
  }

  function loadTags() {
    T.api("GET", "/api/curator/tags")
      .then(function (data) {
        (data.items || []).forEach(function (item) { addTag(item.tag); });
        showTag(params().get("tag") || "");
      })
      .catch(function () { /* the filter still works for a tag in the URL; the list stays short */ });
  }

  /* The form shows what the URL says. */
  function fill(p) {
    var meaning = p.get("meaning");
    showMode(meaning ? "meaning" : (p.get("mode") === "meaning" ? "meaning" : "words"));
    input.value = meaning || p.get("q") || "";
    var hasQuery = Boolean(meaning || p.get("q"));
    sortSelect.options[0].disabled = !hasQuery;
    var sort = p.get("sort");
    sortSelect.value = SORTS.indexOf(sort) >= 0 && (sort !== "relevance" || hasQuery) ? sort : (hasQuery ? "relevance" : "treasure");
    showTag(p.get("tag") || "");
    dateFrom.value = validDay(p.get("date_from") || "") ? p.get("date_from") : "";
    dateTo.value = validDay(p.get("date_to") || "") ? p.get("date_to") : "";
  }

  function load() {
    var p = params();
    fill(p);
    renderChips(p);
    showError("");
    var query = new URLSearchParams();
    if (p.get("meaning")) query.set("meaning", p.get("meaning"));
    else if (p.get("q")) query.set("q", p.get("q"));
    var sort = p.get("sort");
    if (sort && SORTS.indexOf(sort) >= 0) query.set("sort", sort);
    var bad = null;
    ["date_from", "date_to"].forEach(function (name) {
      var day = p.get(name);
      if (!day) return;
      if (!validDay(day)) bad = bad || t("library.bad_date", { value: day });
      else query.set(name, day);
    });
    if (!bad && query.get("date_from") && query.get("date_to") && query.get("date_to") < query.get("date_from")) {
      bad = t("library.date_order");
    }
    Object.keys(FILTERS).forEach(function (facet) {
      var value = p.get(FILTERS[facet]);
      if (value) query.set(FILTERS[facet], value);
    });
    if (p.get("tag")) query.set("tag", p.get("tag"));
    var offset = Math.max(0, Math.floor(Number(p.get("offset") || 0)) || 0);
    if (offset) query.set("offset", String(offset));
    query.set("limit", String(PAGE));
    var mine = ++latest;
    stopWarming();
    if (bad) {
      showError(bad);
      T.clear(results);
      counter.textContent = "";
      pageInfo.textContent = "";
      prev.disabled = true;
      next.disabled = true;
      return;
    }
    if (p.get("meaning")) {
      warmingTimer = setTimeout(function () { if (mine === latest) warming.hidden = false; }, WARMING_AFTER_MS);
    }
    results.setAttribute("aria-busy", "true");
    T.api("GET", "/api/curator/library?" + query.toString())
      .then(function (data) {
        if (mine !== latest) return;
        stopWarming();
        results.removeAttribute("aria-busy");
        counter.textContent = T.tn("library.results", data.total);
        sortSelect.value = data.sort;
        renderFacets(data);
        renderChips(p);
        T.clear(results);
        if (!data.items.length) {
          // Nothing asked for and nothing found: the library is empty, not the search (a new brand, the demo).
          var bare = Array.from(query.keys()).every(function (k) { return k === "limit" || k === "offset" || k === "sort"; });
          var note = el("p", { class: "muted", id: "library-empty", text: t(bare ? "library.empty" : "library.no_results") });
          if (bare) {
            note.appendChild(document.createTextNode(" "));
            note.appendChild(el("a", { href: "/ui/queue", text: t("library.empty_link") }));
          }
          results.appendChild(note);
        }
        data.items.forEach(function (post) { results.appendChild(T.postCard(post, { footer: links(post) })); });
        var pages = Math.max(1, Math.ceil(data.total / PAGE));
        var page = Math.min(pages, Math.floor(offset / PAGE) + 1);
        pageInfo.textContent = t("library.page", { page: T.fmtNumber(page), pages: T.fmtNumber(pages) });
        prev.disabled = offset <= 0;
        next.disabled = offset + PAGE >= data.total;
        if (focusCount) { focusCount = false; counter.focus(); }
      })
      .catch(function (err) {
        if (mine !== latest) return;
        stopWarming();
        results.removeAttribute("aria-busy");
        T.clear(results);
        counter.textContent = "";
        pageInfo.textContent = "";
        prev.disabled = true;
        next.disabled = true;
        results.appendChild(el("p", { class: "error", role: "alert", text: failure(err) }));
      });
  }

  /* The form's state into the URL: the text goes to q or meaning by the mode; a new search starts
     at the first page. Dates are checked here too, so a bad range never reaches the server. */
  function submit(sortChosen) {
    var p = params();
    var text = input.value.trim();
    p.delete("q");
    p.delete("meaning");
    p.delete("mode");
    if (text) p.set(mode() === "meaning" ? "meaning" : "q", text);
    else if (mode() === "meaning") p.set("mode", "meaning");
    // The sort goes in the URL only once chosen: the server's default follows the search (best
    // match for words or a meaning, else treasure), and a chosen sort stays through new searches.
    if (sortChosen) p.set("sort", sortSelect.value);
    if (p.get("sort") === "relevance" && !text) p.delete("sort");
    if (tagSelect.value) p.set("tag", tagSelect.value); else p.delete("tag");
    [["date_from", dateFrom], ["date_to", dateTo]].forEach(function (pair) {
      if (pair[1].value) p.set(pair[0], pair[1].value); else p.delete(pair[0]);
    });
    if (dateFrom.validity && dateFrom.validity.badInput) { showError(t("library.bad_date", { value: "" })); return; }
    if (dateTo.validity && dateTo.validity.badInput) { showError(t("library.bad_date", { value: "" })); return; }
    if (p.get("date_from") && p.get("date_to") && p.get("date_to") < p.get("date_from")) {
      showError(t("library.date_order"));
      dateTo.focus();
      return;
    }
    p.delete("offset");
    go(p);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    submit(false);
  });
  for (var i = 0; i < modes.length; i++) {
    modes[i].addEventListener("change", function () {
      showMode(mode());
      // A search already typed runs again in the new mode; an empty box waits for words.
      if (input.value.trim()) submit(false);
      else input.focus();
    });
  }
  sortSelect.addEventListener("change", function () { submit(true); });
  tagSelect.addEventListener("change", function () { submit(false); });
  dateFrom.addEventListener("change", function () { submit(false); });
  dateTo.addEventListener("change", function () { submit(false); });
  prev.addEventListener("click", function () {
    var p = params();
    p.set("offset", String(Math.max(0, Number(p.get("offset") || 0) - PAGE)));
    if (p.get("offset") === "0") p.delete("offset");
    focusCount = true;
    go(p);
  });
  next.addEventListener("click", function () {
    var p = params();
    p.set("offset", String(Number(p.get("offset") || 0) + PAGE));
    focusCount = true;
    go(p);
  });
  /* On a phone the filters start folded, so the results come first. */
  if (window.matchMedia && window.matchMedia("(max-width: 800px)").matches) facetsBox.open = false;
  window.addEventListener("popstate", load);
  loadTags();
  load();
})();
