/* Tesoro gallery widget.
   <script src="https://TESORO/gallery/widget.js" data-brand="andes-outdoor" data-product="cumbre-trail-runner"
           data-type="photo" data-limit="12" data-lang="es" data-analytics="off" async></script>
   Renders a responsive grid right after the script tag (or inside data-target="#css-selector"), inside a
   Shadow DOM so the host page's CSS cannot reach it and its CSS cannot leak out. Post text and names are
   set with textContent only; links and images accept http(s) URLs only. Tiles keep their size from the
   first paint (placeholders of the same size, square media boxes), so nothing below the widget moves
   when the feed or an image arrives, as long as data-limit is what the feed returns. A tile opens a
   lightbox (a modal <dialog>: Escape or the close button closes it and focus goes back to the tile).
   Impressions (half a tile in view), opens and "shop this" clicks go to /gallery/beacon without
   cookies or anything about the visitor; data-analytics="off" sends nothing. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = new URL(script.src, window.location.href);
  var attr = function (name) { return script.getAttribute("data-" + name); };
  var brand = attr("brand");
  if (!brand) {
    if (window.console) window.console.warn("Tesoro gallery: the script tag needs data-brand");
    return;
  }
  var lang = attr("lang") || document.documentElement.lang || navigator.language || "en";
  var key = attr("key");
  var track = attr("analytics") !== "off";
  var query = new URLSearchParams();
  ["product", "type", "limit"].forEach(function (name) {
    var value = attr(name);
    if (value) query.set(name, value);
  });
  var slots = Math.min(Math.max(parseInt(attr("limit"), 10) || 24, 1), 100);
  var ES = /^es\b/i.test(lang);
  var T = ES
    ? { region: "Publicaciones de clientes", open: "Abrir la publicación de ", orig: "Ver el original en ",
        shop: "Comprar: ", close: "Cerrar", by: "Publicado por " }
    : { region: "Customer posts", open: "Open the post by ", orig: "View the original on ",
        shop: "Shop this: ", close: "Close", by: "Posted by " };
  var PLATFORMS = { x: "X", reddit: "Reddit", bluesky: "Bluesky", mastodon: "Mastodon" };

  var CSS = [
    /* Host-page rules cannot reach inside the shadow root, but they do style the host element itself;
       !important here beats even the host page's !important (CSS Scoping: inner wins for important). */
    ":host{all:initial!important;display:block!important;visibility:visible!important;contain:content;",
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif!important;color:#1f2328!important;",
    "line-height:1.4!important;font-size:15px!important;text-align:left!important}",
    ".grid{list-style:none;margin:0;padding:0;display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(220px,1fr))}",
    ".card{background:#fff;border:1px solid #d8dee4;border-radius:10px;overflow:hidden;display:flex;flex-direction:column}",
    ".card.featured{border-color:#bf8700;box-shadow:0 0 0 1px #bf8700}",
    ".media{display:block;position:relative;width:100%;aspect-ratio:1/1;padding:0;border:0;margin:0;cursor:pointer;",
    "background:linear-gradient(135deg,#eaeef2,#d0d7de);overflow:hidden}",
    ".media img{position:relative;display:block;width:100%;height:100%;object-fit:cover}",
    ".media canvas{position:absolute;inset:0;width:100%;height:100%}",
    ".media:focus-visible,a:focus-visible,.close:focus-visible{outline:3px solid #0969da;outline-offset:2px}",
    ".media.play::after{content:'\\25B6';position:absolute;left:8px;bottom:8px;color:#fff;background:rgba(0,0,0,.6);",
    "border-radius:50%;width:32px;height:32px;display:flex;align-items:center;justify-content:center;font-size:14px}",
    ".body{box-sizing:border-box;height:164px;overflow:hidden;padding:10px 12px;display:flex;flex-direction:column;gap:4px}",
    ".text{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;display:-webkit-box;-webkit-line-clamp:3;",
    "-webkit-box-orient:vertical;overflow:hidden;min-height:0;flex:0 1 auto}",
    ".by{margin:0;font-size:13px;color:#57606a;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".by a{color:inherit;font-weight:600;text-decoration:none}.by a:hover{text-decoration:underline}",
    ".when{font-size:12px;color:#57606a}",
    ".shop{margin-top:auto;color:#0550ae;font-weight:600;font-size:14px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".skeleton .body::before{content:'';display:block;height:12px;width:70%;background:#eaeef2;border-radius:6px}",
    "dialog{border:0;border-radius:12px;padding:0;max-width:min(920px,94vw);max-height:92vh;color:#1f2328;background:#fff}",
    "dialog::backdrop{background:rgba(0,0,0,.7)}",
    ".box{display:flex;flex-wrap:wrap;max-height:92vh;overflow:auto}",
    ".box img{display:block;max-width:min(600px,94vw);max-height:80vh;object-fit:contain;background:#000}",
    ".info{flex:1 1 260px;padding:16px 20px;display:flex;flex-direction:column;gap:10px}",
    ".info p{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".info a{color:#0550ae;font-weight:600}",
    ".close{align-self:flex-end;font:inherit;font-size:14px;background:#f6f8fa;color:#1f2328;border:1px solid #d0d7de;",
    "border-radius:6px;padding:4px 10px;cursor:pointer}"
  ].join("");

  /* A custom element name, so the host page's `div {...}` rules do not even match the host. */
  var host = document.createElement("tesoro-gallery");
  host.className = "tesoro-gallery";
  host.setAttribute("data-brand", brand);
  var targetSelector = attr("target");
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

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = String(text);
    return el;
  }

  var region = node("section");
  region.setAttribute("aria-label", T.region);
  var grid = node("ul", "grid");
  grid.setAttribute("aria-busy", "true");
  region.appendChild(grid);
  root.appendChild(region);
  for (var i = 0; i < slots; i++) {
    var ph = node("li", "card skeleton");
    ph.setAttribute("aria-hidden", "true");
    ph.appendChild(node("div", "media"));
    ph.appendChild(node("div", "body"));
    grid.appendChild(ph);
  }

  /* --- analytics: counts only, batched, sent without credentials ----------------------------------- */
  var pending = [];
  var timer = null;
  function send() {
    timer = null;
    while (pending.length) {
      var body = JSON.stringify({ brand: brand, events: pending.splice(0, 50) });
      try {
        fetch(base.origin + "/gallery/beacon", { method: "POST", body: body, keepalive: true, mode: "no-cors",
          credentials: "omit", headers: { "Content-Type": "text/plain" } }).catch(function () {});
      } catch (e) { /* a host page without fetch, or a blocked request: analytics are best effort */ }
    }
  }
  function record(tile, kind) {
    if (!track || !tile) return;
    pending.push({ key: tile, kind: kind });
    if (!timer) timer = setTimeout(send, 1500);
  }
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") send(); });
  window.addEventListener("pagehide", send);
  var seen = typeof IntersectionObserver === "function" && track
    ? new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            seen.unobserve(entry.target);
            record(entry.target.getAttribute("data-key"), "impression");
          }
        });
      }, { threshold: 0.5 })
    : null;

  function safe(url) {
    if (!url || typeof url !== "string") return null;
    try {
      var parsed = new URL(url, base); /* kept copies come as /gallery/media/... on Tesoro itself */
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(url, className, tile, kind) {
    var a = node("a", className);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow ugc";
    a.addEventListener("click", function () { record(tile, kind); });
    return a;
  }

  function image(src, alt) {
    var img = node("img");
    img.src = src;
    img.alt = alt || "";
    img.loading = "lazy";
    img.decoding = "async";
    img.referrerPolicy = "no-referrer";
    img.addEventListener("error", function () { img.style.visibility = "hidden"; });
    return img;
  }

  /* --- blurhash placeholders (https://blurha.sh): decoded to a 32x32 canvas under the lazy image ------ */
  var B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
  function d83(s, a, b) {
    for (var v = 0, i = a; i < b; i++) v = v * 83 + B83.indexOf(s.charAt(i));
    return v;
  }
  function lin(c) { c /= 255; return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }
  function srgb(v) {
    v = Math.max(0, Math.min(1, v));
    return Math.round((v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055) * 255);
  }
  function sq(v) { return (v < 0 ? -1 : 1) * v * v; }
  function placeholder(hash) {
    if (typeof hash !== "string" || !/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{6,}$/.test(hash)) return null;
    var size = d83(hash, 0, 1), nx = size % 9 + 1, ny = Math.floor(size / 9) + 1, W = 32;
    if (hash.length !== 4 + 2 * nx * ny) return null;
    var max = (d83(hash, 1, 2) + 1) / 166, dc = d83(hash, 2, 6);
    var colors = [[lin(dc >> 16), lin((dc >> 8) & 255), lin(dc & 255)]];
    for (var n = 1; n < nx * ny; n++) {
      var v = d83(hash, 4 + n * 2, 6 + n * 2);
      colors.push([sq((Math.floor(v / 361) - 9) / 9) * max, sq((Math.floor(v / 19) % 19 - 9) / 9) * max,
        sq((v % 19 - 9) / 9) * max]);
    }
    var canvas = node("canvas");
    canvas.width = canvas.height = W;
    canvas.setAttribute("aria-hidden", "true");
    var ctx = canvas.getContext && canvas.getContext("2d");
    if (!ctx) return null;
    var img = ctx.createImageData(W, W);
    for (var y = 0; y < W; y++) {
      for (var x = 0; x < W; x++) {
        var r = 0, g = 0, b = 0;
        for (var j = 0; j < ny; j++) {
          for (var i = 0; i < nx; i++) {
            var basis = Math.cos(Math.PI * x * i / W) * Math.cos(Math.PI * y * j / W), c = colors[i + j * nx];
            r += c[0] * basis; g += c[1] * basis; b += c[2] * basis;
          }
        }
        var k = 4 * (x + y * W);
        img.data[k] = srgb(r); img.data[k + 1] = srgb(g); img.data[k + 2] = srgb(b); img.data[k + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    return canvas;
  }

  /* --- the lightbox --------------------------------------------------------------------------------- */
  var dialog = node("dialog");
  dialog.setAttribute("aria-labelledby", "tesoro-lb-credit");
  root.appendChild(dialog);
  var opener = null;
  dialog.addEventListener("close", function () {
    dialog.textContent = "";
    if (opener) opener.focus();
    opener = null;
  });
  dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });

  function open(item, button) {
    var author = item.author || {};
    var name = author.name || author.handle || "";
    var platform = PLATFORMS[item.platform] || item.platform || "";
    var medium = (item.media || [])[0] || {};
    var src = medium.type === "photo" ? safe(medium.url) || safe(medium.preview_url) : safe(medium.preview_url);
    var box = node("div", "box");
    if (src) box.appendChild(image(src, medium.alt));
    var info = node("div", "info");
    var close = node("button", "close", T.close);
    close.type = "button";
    close.addEventListener("click", function () { dialog.close(); });
    info.appendChild(close);
    var credit = node("p", "credit", T.by + name + " (@" + (author.handle || "") + ") · " + platform);
    credit.id = "tesoro-lb-credit";
    info.appendChild(credit);
    info.appendChild(node("p", "text", item.text));
    var permalink = safe(item.permalink);
    if (permalink) {
      var original = link(permalink, "", item.key, "click");
      original.textContent = T.orig + platform;
      info.appendChild(original);
    }
    var shop = item.shop && safe(item.shop.url);
    if (shop) {
      var buy = link(shop, "", item.key, "shop");
      buy.textContent = T.shop + item.shop.product;
      info.appendChild(buy);
    }
    box.appendChild(info);
    dialog.appendChild(box);
    opener = button;
    dialog.showModal();
    close.focus();
    record(item.key, "click");
  }

  /* --- the tiles ------------------------------------------------------------------------------------ */
  function card(item) {
    var li = node("li", item.featured ? "card featured" : "card");
    var author = item.author || {};
    var name = author.name || author.handle || "";
    var permalink = safe(item.permalink);
    var medium = (item.media || [])[0];
    var button = node("button", medium && medium.type !== "photo" ? "media play" : "media");
    button.type = "button";
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-label", T.open + name);
    if (medium) {
      var src = safe(medium.preview_url) || (medium.type === "photo" ? safe(medium.url) : null);
      var blur = placeholder(medium.blurhash);
      if (blur) button.appendChild(blur);
      if (src) button.appendChild(image(src, ""));
    }
    button.addEventListener("click", function () { open(item, button); });
    li.appendChild(button);
    var body = node("div", "body");
    body.appendChild(node("p", "text", item.text));
    var by = node("p", "by");
    if (permalink) {
      var a = link(permalink, "", item.key, "click");
      a.textContent = name;
      by.appendChild(a);
    } else {
      by.appendChild(node("span", "", name));
    }
    by.appendChild(document.createTextNode(" @" + (author.handle || "") + " · " + (PLATFORMS[item.platform] || item.platform || "")));
    body.appendChild(by);
    var when = new Date(item.created_at);
    if (!Number.isNaN(when.getTime())) {
      var time = node("time", "when", new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(when));
      time.setAttribute("datetime", item.created_at);
      body.appendChild(time);
    }
    var shop = item.shop && safe(item.shop.url);
    if (shop) {
      var buy = link(shop, "shop", item.key, "shop");
      buy.textContent = T.shop + item.shop.product;
      body.appendChild(buy);
    }
    li.appendChild(body);
    if (item.key) li.setAttribute("data-key", String(item.key));
    return li;
  }

  function done(count, error) {
    grid.querySelectorAll(".skeleton").forEach(function (el) { el.remove(); });
    grid.removeAttribute("aria-busy");
    if (error) host.setAttribute("data-error", error);
    else host.setAttribute("data-count", String(count));
    host.dispatchEvent(new CustomEvent("tesoro:loaded", { bubbles: true, detail: { count: count } }));
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
      var items = Array.isArray(data.items) ? data.items : [];
      var placeholders = grid.querySelectorAll(".skeleton");
      items.forEach(function (item, index) {
        var tile = card(item);
        if (placeholders[index]) grid.replaceChild(tile, placeholders[index]);
        else grid.appendChild(tile);
        if (seen && item.key) seen.observe(tile);
      });
      done(items.length);
    })
    .catch(function (error) { done(0, String(error.message)); });
})();
