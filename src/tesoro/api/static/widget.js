/* Tesoro gallery widget.
   <script src="https://TESORO/gallery/widget.js" data-brand="andes-outdoor" data-product="cumbre-trail-runner"
           data-type="photo" data-limit="12" data-lang="es" async></script>
   Renders a responsive grid right after the script tag (or inside data-target="#css-selector"), inside a
   Shadow DOM so the host page's CSS cannot reach it and its CSS cannot leak out. Post text and names are
   set with textContent only; links and images accept http(s) URLs only. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = new URL(script.src, window.location.href);
  var brand = script.getAttribute("data-brand");
  if (!brand) {
    if (window.console) window.console.warn("Tesoro gallery: the script tag needs data-brand");
    return;
  }
  var lang = script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en";
  var key = script.getAttribute("data-key");
  var query = new URLSearchParams();
  ["product", "type", "limit"].forEach(function (name) {
    var value = script.getAttribute("data-" + name);
    if (value) query.set(name, value);
  });

  var CSS = [
    /* Host-page rules cannot reach inside the shadow root, but they do style the host element itself;
       !important here beats even the host page's !important (CSS Scoping: inner wins for important). */
    ":host{all:initial!important;display:block!important;visibility:visible!important;contain:content;",
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif!important;color:#1f2328!important;",
    "line-height:1.4!important;font-size:15px!important;text-align:left!important}",
    ".grid{list-style:none;margin:0;padding:0;display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(220px,1fr))}",
    ".card{background:#fff;border:1px solid #d8dee4;border-radius:10px;overflow:hidden;display:flex;flex-direction:column}",
    ".card.featured{border-color:#bf8700;box-shadow:0 0 0 1px #bf8700}",
    ".media{display:block;position:relative;background:#f6f8fa}",
    ".media img{display:block;width:100%;aspect-ratio:1/1;object-fit:cover}",
    ".media.play::after{content:'\\25B6';position:absolute;inset:auto auto 8px 8px;color:#fff;background:rgba(0,0,0,.6);",
    "border-radius:50%;width:32px;height:32px;display:flex;align-items:center;justify-content:center;font-size:14px}",
    ".body{padding:10px 12px;display:flex;flex-direction:column;gap:6px}",
    ".text{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;display:-webkit-box;-webkit-line-clamp:7;",
    "-webkit-box-orient:vertical;overflow:hidden}",
    ".by{margin:0;font-size:13px;color:#57606a}.by a{color:inherit;font-weight:600;text-decoration:none}",
    ".by a:hover{text-decoration:underline}.when{font-size:12px;color:#6e7781}",
    ".empty{color:#6e7781;font-size:14px}"
  ].join("");

  /* A custom element name, so the host page's `div {...}` rules do not even match the host. */
  var host = document.createElement("tesoro-gallery");
  host.className = "tesoro-gallery";
  host.setAttribute("data-brand", brand);
  var targetSelector = script.getAttribute("data-target");
  var target = targetSelector ? document.querySelector(targetSelector) : null;
  if (target) target.appendChild(host);
  else script.parentNode.insertBefore(host, script.nextSibling);
  var root = host.attachShadow({ mode: "open" });
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    var style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
  }
  var grid = document.createElement("ul");
  grid.className = "grid";
  grid.setAttribute("aria-busy", "true");
  root.appendChild(grid);

  function safe(url) {
    if (!url || typeof url !== "string") return null;
    try {
      var parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = String(text);
    return el;
  }

  function link(url, className) {
    var a = node("a", className);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow ugc";
    return a;
  }

  function card(item) {
    var li = node("li", item.featured ? "card featured" : "card");
    var permalink = safe(item.permalink);
    var medium = (item.media || [])[0];
    if (medium) {
      var src = safe(medium.preview_url) || (medium.type === "photo" ? safe(medium.url) : null);
      if (src) {
        var wrap = link(permalink || safe(medium.url) || src, medium.type === "photo" ? "media" : "media play");
        var img = document.createElement("img");
        img.src = src;
        img.alt = medium.alt || "";
        img.loading = "lazy";
        img.referrerPolicy = "no-referrer";
        wrap.appendChild(img);
        li.appendChild(wrap);
      }
    }
    var body = node("div", "body");
    body.appendChild(node("p", "text", item.text));
    var by = node("p", "by");
    var author = item.author || {};
    if (permalink) {
      var a = link(permalink);
      a.textContent = author.name || author.handle || "";
      by.appendChild(a);
    } else {
      by.appendChild(node("span", "", author.name || author.handle || ""));
    }
    by.appendChild(document.createTextNode(" @" + (author.handle || "") + " · " + (item.platform || "")));
    body.appendChild(by);
    var when = new Date(item.created_at);
    if (!Number.isNaN(when.getTime())) {
      var time = node("time", "when", new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(when));
      time.setAttribute("datetime", item.created_at);
      body.appendChild(time);
    }
    li.appendChild(body);
    return li;
  }

  var headers = {};
  if (key) headers["X-API-Key"] = key;
  var url = base.origin + "/gallery/" + encodeURIComponent(brand) + ".json" + (query.toString() ? "?" + query : "");
  fetch(url, { mode: "cors", credentials: "omit", headers: headers })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(function (data) {
      (data.items || []).forEach(function (item) { grid.appendChild(card(item)); });
      grid.removeAttribute("aria-busy");
      host.setAttribute("data-count", String((data.items || []).length));
      host.dispatchEvent(new CustomEvent("tesoro:loaded", { bubbles: true, detail: { count: (data.items || []).length } }));
    })
    .catch(function (error) {
      grid.removeAttribute("aria-busy");
      host.setAttribute("data-error", String(error.message));
    });
})();
