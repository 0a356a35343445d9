/* Tesoro web UI: shared helpers. Every element is built with createElement/textContent: post text,
   names and URLs come from strangers, so nothing from the server is ever parsed as HTML. */
(function () {
  "use strict";
  var dataEl = document.getElementById("tesoro-data");
  var data = dataEl ? JSON.parse(dataEl.textContent) : {};
  var lang = data.lang || document.documentElement.lang || "en";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function t(key, values) {
    var text = (data.messages && data.messages[key]) || key;
    if (values) {
      Object.keys(values).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(values[name]));
      });
    }
    return text;
  }

  /* A counted message (KEY.one / KEY.many / KEY.other, as i18n.py stores them): the form for the
     count's CLDR plural category in this language, with {count} written in the locale ("1.234"). */
  var pluralRules = typeof Intl.PluralRules === "function" ? new Intl.PluralRules(lang) : null;
  function tn(key, count, values) {
    var messages = data.messages || {};
    var category = pluralRules ? pluralRules.select(Math.abs(Number(count))) : (Number(count) === 1 ? "one" : "other");
    var name = messages[key + "." + category] ? key + "." + category : key + ".other";
    var all = { count: fmtNumber(count) };
    Object.keys(values || {}).forEach(function (k) { all[k] = values[k]; });
    return t(name, all);
  }

  function fmtNumber(value, digits) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
    var d = digits || 0;
    return new Intl.NumberFormat(lang, { minimumFractionDigits: d, maximumFractionDigits: d, useGrouping: "always" }).format(value);
  }

  function fmtDate(iso, withTime) {
    if (!iso) return "";
    var date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    var options = withTime === false ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
    return new Intl.DateTimeFormat(lang, options).format(date);
  }

  /* Only http(s) URLs become links or image sources; javascript:, data: and the rest are dropped. */
  function safeUrl(url) {
    if (!url || typeof url !== "string") return null;
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  /* el("a", {href: url, text: "label", class: "x"}, [children]): the only way the UI makes elements. */
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      var value = props[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = String(value);
      else if (name === "class") node.className = value;
      else if (name === "href" || name === "src") {
        var safe = safeUrl(value);
        if (safe) node.setAttribute(name, safe);
      } else if (name.slice(0, 2) === "on" && typeof value === "function") {
        node.addEventListener(name.slice(2), value);
      } else node.setAttribute(name, value === true ? "" : String(value));
    });
    [].concat(children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /* An error answer's detail as a sentence: a validation error (422) lists each field and what is
     wrong with it ("end: must be after start"), never the raw JSON. */
  function problemText(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map(function (item) {
          if (!item || typeof item !== "object") return String(item);
          var loc = Array.isArray(item.loc) ? item.loc.filter(function (part) {
            return part !== "body" && part !== "query" && part !== "path";
          }) : [];
          var message = String(item.msg || "").replace(/^(Value|Assertion) error, /, "");
          // The field is named unless the message names it already ("unknown brand 'X'" for brand).
          var field = loc.length ? String(loc[loc.length - 1]) : "";
          var named = field && message.toLowerCase().indexOf(field.toLowerCase().replace(/_/g, " ")) >= 0;
          return loc.length && !named ? loc.join(".") + ": " + message : message;
        })
        .join("; ");
    }
    return JSON.stringify(detail);
  }

  /* JSON calls with the session cookie; writes carry the CSRF token the page was rendered with. */
  function api(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      if (response.ok) return response.status === 204 ? null : response.json();
      return response
        .json()
        .catch(function () { return {}; })
        .then(function (payload) {
          var detail = payload && payload.detail ? payload.detail : response.statusText;
          var error = new Error(problemText(detail));
          error.status = response.status;
          throw error;
        });
    });
  }

  var toastTimer = null;
  function toast(message, kind) {
    var node = document.getElementById("toast");
    if (!node) return;
    node.textContent = message;
    node.className = "show " + (kind || "");
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { node.className = ""; }, 2500);
  }

  /* What a panel shows when its data could not be loaded (a network error, a server error). */
  function loadFailed(container) {
    clear(container);
    container.appendChild(el("p", { class: "muted load-failed", text: t("common.load_failed") }));
  }

  /* What a chart shows when there is nothing to draw yet (no posts in the window, no events). */
  function noData(container) {
    clear(container);
    container.appendChild(el("p", { class: "muted no-data", text: t("common.no_data") }));
  }

  /* A server-rendered SVG chart (KPIs, ROR) as an image; a short note instead if it fails to load. */
  function chartImage(container, url, label) {
    var img = el("img", { src: url, alt: label, class: "insight-chart", loading: "lazy" });
    img.addEventListener("error", function () {
      var note = el("p", { class: "muted load-failed", text: label + ": " + t("common.load_failed") });
      if (img.parentNode) img.parentNode.replaceChild(note, img);
    });
    container.appendChild(img);
    return img;
  }

  /* A platform as its owner writes it: "YouTube", "TikTok", "X" (files are the importer's). */
  var PLATFORMS = {
    x: "X", reddit: "Reddit", bluesky: "Bluesky", mastodon: "Mastodon", instagram: "Instagram",
    threads: "Threads", youtube: "YouTube", tiktok: "TikTok", facebook: "Facebook"
  };
  function platformName(platform) {
    if (platform === "files") return t("platform.files");
    return PLATFORMS[platform] || String(platform || "");
  }

  window.Tesoro = {
    data: data, lang: lang, t: t, tn: tn, fmtNumber: fmtNumber, fmtDate: fmtDate, safeUrl: safeUrl,
    el: el, clear: clear, api: api, toast: toast, loadFailed: loadFailed, noData: noData, chartImage: chartImage,
    platformName: platformName
  };
})();
