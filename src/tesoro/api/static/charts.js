/* Small SVG charts drawn in the browser (no chart library, no CDN): lines over time and bars.
   Labels are set with textContent; numbers follow the page's locale through Intl. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 240, PAD = { top: 12, right: 12, bottom: 28, left: 48 };

  function svg(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function frame(container, height) {
    window.Tesoro.clear(container);
    var root = svg("svg", { viewBox: "0 0 " + W + " " + (height || H), class: "chart-svg", role: "img" });
    container.appendChild(root);
    return root;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * magnitude >= value) return steps[i] * magnitude;
    return 10 * magnitude;
  }

  /* series: [{name, points: [{x: "2026-11-01", y: 3}, ...]}]; x values are category labels in order. */
  function line(container, series, options) {
    var opts = options || {};
    var fmt = window.Tesoro.fmtNumber;
    var xs = [];
    series.forEach(function (s) { s.points.forEach(function (p) { if (xs.indexOf(p.x) < 0) xs.push(p.x); }); });
    xs.sort();
    if (!xs.length) { window.Tesoro.noData(container); return; }
    var maxY = niceMax(Math.max.apply(null, series.map(function (s) {
      return Math.max.apply(null, s.points.map(function (p) { return p.y; }).concat([0]));
    })));
    var root = frame(container);
    var iw = W - PAD.left - PAD.right, ih = H - PAD.top - PAD.bottom;
    function px(i) { return PAD.left + (xs.length === 1 ? iw / 2 : (i * iw) / (xs.length - 1)); }
    function py(v) { return PAD.top + ih - (v / maxY) * ih; }
    for (var g = 0; g <= 4; g++) {
      var v = (maxY * g) / 4;
      root.appendChild(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: py(v), y2: py(v), class: "grid" }));
      root.appendChild(svg("text", { x: PAD.left - 6, y: py(v) + 4, "text-anchor": "end", class: "axis" }, fmt(v, opts.digits || 0)));
    }
    var every = Math.max(1, Math.ceil(xs.length / 6));
    xs.forEach(function (x, i) {
      if (i % every !== 0 && i !== xs.length - 1) return;
      var label = opts.formatX ? opts.formatX(x) : x;
      root.appendChild(svg("text", { x: px(i), y: H - 8, "text-anchor": "middle", class: "axis" }, label));
    });
    series.forEach(function (s, n) {
      var byX = {};
      s.points.forEach(function (p) { byX[p.x] = p.y; });
      var pts = xs.map(function (x, i) { return px(i) + "," + py(byX[x] || 0); }).join(" ");
      var poly = svg("polyline", { points: pts, class: "series s" + (n % 6) });
      poly.appendChild(svg("title", {}, s.name));
      root.appendChild(poly);
      if (xs.length <= 31) {
        xs.forEach(function (x, i) {
          if (!(x in byX)) return;
          var dot = svg("circle", { cx: px(i), cy: py(byX[x]), r: 3, class: "dot s" + (n % 6) });
          dot.appendChild(svg("title", {}, s.name + " · " + x + ": " + fmt(byX[x], opts.digits || 0)));
          root.appendChild(dot);
        });
      }
    });
    if (series.length > 1) legend(container, series.map(function (s) { return s.name; }));
  }

  function legend(container, names) {
    var box = document.createElement("ul");
    box.className = "legend";
    names.forEach(function (name, n) {
      var item = document.createElement("li");
      item.className = "s" + (n % 6);
      item.textContent = name;
      box.appendChild(item);
    });
    container.appendChild(box);
  }

  /* rows: [{label, value}] as horizontal bars. */
  function bars(container, rows, options) {
    var opts = options || {};
    var fmt = window.Tesoro.fmtNumber;
    if (!rows.length) { window.Tesoro.noData(container); return; }
    var rowH = 26, height = rows.length * rowH + 8;
    var root = frame(container, height);
    var max = Math.max.apply(null, rows.map(function (r) { return r.value; }).concat([0])) || 1;
    var labelW = 150, iw = W - labelW - 70;
    rows.forEach(function (r, i) {
      var y = 4 + i * rowH;
      root.appendChild(svg("text", { x: labelW - 8, y: y + 17, "text-anchor": "end", class: "label" }, r.label));
      root.appendChild(svg("rect", { x: labelW, y: y + 4, height: rowH - 8, width: Math.max(1, (r.value / max) * iw), class: "bar s" + (i % 6) }));
      root.appendChild(svg("text", { x: labelW + (r.value / max) * iw + 6, y: y + 17, class: "value" }, fmt(r.value, opts.digits || 0)));
    });
  }

  var DATE_KEYS = ["date", "day", "month", "week", "period", "t", "time", "at"];
  var VALUE_KEYS = ["value", "count", "score", "ror", "volume", "posts", "n", "total"];
  var LABEL_KEYS = ["label", "name", "handle", "display_name", "platform", "brand", "key"];

  function pick(obj, keys, type) {
    for (var i = 0; i < keys.length; i++) if (typeof obj[keys[i]] === type) return keys[i];
    return null;
  }

  /* Render whatever numbers and series a JSON object holds, for endpoints whose exact shape may change:
     numbers become tiles, [{date, value}] lines, [{label, value}] and {name: number} bars. */
  function auto(container, payload, options) {
    var tilesOnly = !!(options && options.tilesOnly);
    var T = window.Tesoro;
    T.clear(container);
    var drew = false;
    var tiles = document.createElement("dl");
    tiles.className = "tiles";
    function walk(obj, prefix) {
      Object.keys(obj || {}).forEach(function (key) {
        var value = obj[key];
        var name = prefix ? prefix + " · " + key : key;
        if (typeof value === "number") {
          var box = document.createElement("div");
          box.appendChild(Object.assign(document.createElement("dt"), { textContent: name }));
          box.appendChild(Object.assign(document.createElement("dd"), { textContent: T.fmtNumber(value, Number.isInteger(value) ? 0 : 2) }));
          tiles.appendChild(box);
          drew = true;
        } else if (tilesOnly) {
          if (value && typeof value === "object" && !Array.isArray(value) && !prefix) walk(value, key);
        } else if (Array.isArray(value) && value.length && typeof value[0] === "object" && value[0] !== null) {
          var dateKey = pick(value[0], DATE_KEYS, "string");
          var valueKey = pick(value[0], VALUE_KEYS, "number");
          var labelKey = pick(value[0], LABEL_KEYS, "string");
          if (!valueKey) return;
          var fig = document.createElement("figure");
          fig.appendChild(Object.assign(document.createElement("figcaption"), { textContent: name }));
          var box2 = document.createElement("div");
          box2.className = "chart";
          fig.appendChild(box2);
          container.appendChild(fig);
          if (dateKey) line(box2, [{ name: name, points: value.map(function (p) { return { x: p[dateKey], y: p[valueKey] }; }) }], { digits: 1 });
          else bars(box2, value.slice(0, 20).map(function (r) { return { label: labelKey ? r[labelKey] : "", value: r[valueKey] }; }), { digits: 1 });
          drew = true;
        } else if (value && typeof value === "object" && !Array.isArray(value)) {
          var nums = Object.keys(value).filter(function (k) { return typeof value[k] === "number"; });
          if (nums.length && nums.length === Object.keys(value).length && nums.length > 1) {
            var fig2 = document.createElement("figure");
            fig2.appendChild(Object.assign(document.createElement("figcaption"), { textContent: name }));
            var box3 = document.createElement("div");
            box3.className = "chart";
            fig2.appendChild(box3);
            container.appendChild(fig2);
            bars(box3, nums.map(function (k) { return { label: k, value: value[k] }; }), { digits: 1 });
            drew = true;
          } else if (!prefix) {
            walk(value, key);
          }
        }
      });
    }
    walk(Array.isArray(payload) ? { items: payload } : payload, "");
    if (tiles.childNodes.length) container.insertBefore(tiles, container.firstChild);
    if (!drew) T.noData(container);
  }

  window.TesoroCharts = { line: line, bars: bars, auto: auto };
})();
