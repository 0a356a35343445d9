/* The settings page's live preview: a listening query tried on the latest stored posts as it is typed.
   Posts come from strangers: their text reaches the page through textContent only (Tesoro.el). */
(function () {
  "use strict";
  var T = window.Tesoro;
  var url = (T.data.settings_endpoints || {}).query_preview;
  var form = document.getElementById("preview-form");
  var input = document.getElementById("preview-query");
  var recent = document.getElementById("preview-recent");
  var result = document.getElementById("preview-result");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  if (!form || !input || !result || !url) return;

  var sequence = 0; // only the answer to the latest request is shown
  var timer = null;

  function show(nodes) {
    T.clear(result);
    nodes.forEach(function (node) { result.appendChild(node); });
  }

  function postItem(post) {
    var meta = T.el("p", { class: "meta" }, [
      T.el("span", { class: "platform", text: post.platform }),
      T.el("span", { class: "handle", text: "@" + post.author_handle }),
      post.created_at ? T.el("time", { datetime: post.created_at, text: T.fmtDate(post.created_at) }) : null
    ]);
    var link = T.safeUrl(post.url)
      ? T.el("a", { href: post.url, text: T.t("common.open_post"), rel: "noopener noreferrer", target: "_blank" })
      : null;
    return T.el("li", { class: "post" }, [meta, T.el("p", { class: "text", text: post.text }), link]);
  }

  function showMatches(query, answer) {
    var nodes = [
      T.el("p", { class: "preview-count", text: T.tn("settings.preview.count", answer.matched, { tried: T.fmtNumber(answer.tried) }) }),
      T.el("p", { class: "muted preview-canonical" }, [T.t("settings.preview.read_as", { canonical: "" }), T.el("code", { text: answer.canonical })])
    ];
    if (!answer.items.length) {
      nodes.push(T.el("p", { class: "muted", text: T.t("settings.preview.none") }));
    } else {
      nodes.push(T.el("p", { class: "muted", text: T.t("settings.preview.shown") }));
      nodes.push(T.el("ul", { class: "post-list preview-posts" }, answer.items.map(postItem)));
    }
    show(nodes);
  }

  /* The parser's message, and the query with the character it stopped at marked. Positions count code
     points, as Python does, so the query is split with Array.from rather than indexed in UTF-16. */
  function showSyntaxError(query, problem) {
    var nodes = [T.el("p", { class: "error-text", text: T.t("settings.preview.bad", { message: problem.msg }) })];
    if (typeof problem.position === "number") {
      var chars = Array.from(query);
      var at = Math.max(0, Math.min(problem.position, chars.length));
      nodes.push(T.el("p", { class: "muted", text: T.t("settings.preview.where", { position: T.fmtNumber(at + 1) }) }));
      nodes.push(
        T.el("pre", { class: "query-error" }, [
          chars.slice(0, at).join(""),
          T.el("mark", { text: chars[at] || " " }),
          chars.slice(at + 1).join("")
        ])
      );
    }
    show([T.el("div", { class: "preview-error", role: "alert" }, nodes)]);
  }

  function showFailure(message) {
    show([T.el("p", { class: "error-text", role: "alert", text: T.t("settings.preview.failed", { error: message }) })]);
  }

  function run() {
    if (timer) { clearTimeout(timer); timer = null; }
    var query = input.value;
    var mine = ++sequence;
    if (!query.trim()) {
      show([T.el("p", { class: "muted", text: T.t("settings.preview.empty") })]);
      return;
    }
    result.setAttribute("aria-busy", "true");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ query: query, recent: Number(recent.value) })
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (payload) {
          return { ok: response.ok, status: response.status, statusText: response.statusText, payload: payload };
        });
      })
      .then(function (answer) {
        if (mine !== sequence) return;
        if (answer.ok) return showMatches(query, answer.payload);
        var detail = answer.payload && answer.payload.detail;
        if (answer.status === 422 && Array.isArray(detail) && detail.length && detail[0].msg) {
          return showSyntaxError(query, detail[0]);
        }
        showFailure(typeof detail === "string" ? detail : answer.status + " " + answer.statusText);
      })
      .catch(function (error) { if (mine === sequence) showFailure(error.message); })
      .then(function () { if (mine === sequence) result.removeAttribute("aria-busy"); });
  }

  input.addEventListener("input", function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, 300);
  });
  recent.addEventListener("change", run);
  form.addEventListener("submit", function (event) { event.preventDefault(); run(); });
  document.querySelectorAll("button.try-query").forEach(function (button) {
    button.addEventListener("click", function () {
      input.value = button.getAttribute("data-query") || "";
      input.focus();
      run();
    });
  });
})();
