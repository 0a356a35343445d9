/* Small SVG charts drawn in the browser (no chart library, no CDN): lines over time and bars.
   Every chart is drawn at its container's width (so its 12 px text stays 12 px) and drawn again when
   that width changes. Labels are set with textContent; numbers and dates follow the page's locale
   through Intl; y-axis ticks are round numbers with as many decimals as tell them apart. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var T = window.Tesoro;
  var MIN_WIDTH = 240;

  function svg(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  /* --- drawing at the container's width, again on resize ------------------------------------------ */

  var drawn = new Map();  /* container -> {draw, width} */
  var observer = typeof ResizeObserver === "function" ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      var state = drawn.get(entry.target);
      if (!state) return;
      var width = widthOf(entry.target);
      if (Math.abs(width - state.width) >= 2) {
        state.width = width;
        state.draw(width);
      }
    });
  }) : null;

  function widthOf(container) {
    return Math.max(MIN_WIDTH, Math.floor(container.clientWidth || (container.getBoundingClientRect().width) || 640));
  }

  /* Draw `draw(width)` into `container` now and whenever its width changes. */
  function responsive(container, draw) {
    var width = widthOf(container);
    drawn.set(container, { draw: draw, width: width });
    draw(width);
    if (observer) observer.observe(container);
    else window.addEventListener("resize", function () { draw(widthOf(container)); });
  }

  /* What the box shows now is not a chart (no data, a failed load): a resize must not bring one back. */
  function forget(container) {
    drawn.delete(container);
    if (observer) observer.unobserve(container);
  }

  function frame(container, width, height, label) {
    T.clear(container);
    var root = svg("svg", {
      width: width, height: height, viewBox: "0 0 " + width + " " + height,
      class: "chart-svg", role: "img", "aria-label": label || ""
    });
    container.appendChild(root);
    return root;
  }

  /* --- numbers and dates ----------------------------------------------------------------------- */

  /* How many decimals `step` needs to be written exactly (0.25 -> 2, 5 -> 0). */
  function decimals(step) {
    for (var d = 0; d < 8; d++) {
      var scaled = step * Math.pow(10, d);
      if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
    }
    return 8;
  }

  /* Round ticks covering [lo, hi], about `count` of them: 1, 2, 2.5 or 5 times a power of ten apart.
     Returns {values, step, digits}; digits is what tells every tick label apart. */
  function ticks(lo, hi, count) {
    var n = Math.max(2, count || 5);
    if (!(hi > lo)) {
      var pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= pad;
      hi += pad;
    }
    var rough = (hi - lo) / (n - 1);
    var magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
    var step = magnitude * 10;
    [1, 2, 2.5, 5, 10].some(function (m) {
      if (m * magnitude >= rough) { step = m * magnitude; return true; }
      return false;
    });
    var first = Math.floor(lo / step + 1e-9) * step;
    var last = Math.ceil(hi / step - 1e-9) * step;
    var values = [];
    for (var v = first; v <= last + step / 2; v += step) values.push(Math.abs(v) < step / 1e6 ? 0 : v);
    return { values: values, step: step, digits: decimals(step) };
  }

  function percent(value, digits) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
    return new Intl.NumberFormat(T.lang, {
      style: "percent", minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0
    }).format(value);
  }

  /* A signed change: "+12 %" or "−3 %"; null (nothing to compare with) as an en dash. */
  function signedPercent(value, digits) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
    return new Intl.NumberFormat(T.lang, {
      style: "percent", signDisplay: "exceptZero", minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0
    }).format(value);
  }

  /* A bucket's start (ISO, UTC midnight) as the reader says it: "7 nov" / "Nov 7", "nov 2026". */
  function fmtBucket(iso, bucket) {
    var date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    var options = bucket === "month" ? { month: "short", year: "numeric", timeZone: "UTC" }
      : { day: "numeric", month: "short", timeZone: "UTC" };
    return new Intl.DateTimeFormat(T.lang, options).format(date);
  }

  /* A full date for a tooltip or a single value: "7 nov 2026" / "Nov 7, 2026". */
  function fmtDay(iso) {
    var date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    return new Intl.DateTimeFormat(T.lang, { dateStyle: "medium", timeZone: "UTC" }).format(date);
  }

  var platformName = T.platformName;

  /* --- a line chart over time ---------------------------------------------------------------- */

  /* series: [{name, points: [{x: ISO time, y: number or null}]}], every series over the same x values
     in time order. options: height, bucket ("day", "week", "month"), label (what a screen reader
     hears), format (a value as text, for ticks: format(value, digits)), lo / hi (a fixed axis, as net
     sentiment's -1..1), legend (true: name each series under the chart).
     One x value only is no line: it is written as the value and its date. */
  function line(container, series, options) {
    forget(container);
    var opts = options || {};
    var format = opts.format || function (value, digits) { return T.fmtNumber(value, digits); };
    var xs = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) { if (xs.indexOf(p.x) < 0) xs.push(p.x); });
    });
    xs.sort(function (a, b) { return new Date(a) - new Date(b); });
    var values = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) { if (typeof p.y === "number" && Number.isFinite(p.y)) values.push(p.y); });
    });
    if (!xs.length || !values.length) { T.noData(container); return; }
    if (xs.length === 1) { single(container, series, xs[0], opts, format); return; }
    responsive(container, function (width) {
      var height = opts.height || 220;
      var root = frame(container, width, height, opts.label);
      var lo = typeof opts.lo === "number" ? opts.lo : Math.min.apply(null, values.concat(opts.zero === false ? [] : [0]));
      var hi = typeof opts.hi === "number" ? opts.hi : Math.max.apply(null, values);
      var scale = ticks(lo, hi, height < 200 ? 4 : 5);
      lo = scale.values[0];
      hi = scale.values[scale.values.length - 1];
      var labels = scale.values.map(function (v) { return format(v, scale.digits); });
      var left = 12 + Math.max.apply(null, labels.map(function (l) { return l.length; })) * 7;
      var pad = { top: 10, right: 16, bottom: 26, left: left };
      var iw = width - pad.left - pad.right, ih = height - pad.top - pad.bottom;
      function px(i) { return pad.left + (i * iw) / (xs.length - 1); }
      function py(v) { return pad.top + ih - ((v - lo) / (hi - lo)) * ih; }
      scale.values.forEach(function (v, n) {
        root.appendChild(svg("line", { x1: pad.left, x2: width - pad.right, y1: py(v), y2: py(v), class: v === 0 && lo < 0 ? "zero" : "grid" }));
        root.appendChild(svg("text", { x: pad.left - 6, y: py(v) + 4, "text-anchor": "end", class: "axis tick-y" }, labels[n]));
      });
      var fitting = Math.max(2, Math.floor(iw / (opts.bucket === "month" ? 84 : 64)));
      var every = Math.max(1, Math.ceil(xs.length / fitting));
      xs.forEach(function (x, i) {
        if (i % every !== 0) return;
        var anchor = i === 0 ? "start" : (i === xs.length - 1 ? "end" : "middle");
        root.appendChild(svg("text", { x: px(i), y: height - 8, "text-anchor": anchor, class: "axis tick-x" }, fmtBucket(x, opts.bucket)));
      });
      series.forEach(function (s, n) {
        var byX = {};
        s.points.forEach(function (p) { byX[p.x] = p.y; });
        var run = [];
        function flush() {
          if (run.length > 1) root.appendChild(svg("polyline", { points: run.join(" "), class: "series s" + (s.color === undefined ? n % 6 : s.color) }));
          run = [];
        }
        xs.forEach(function (x, i) {
          var y = byX[x];
          if (typeof y !== "number" || !Number.isFinite(y)) { flush(); return; }
          run.push(px(i).toFixed(1) + "," + py(y).toFixed(1));
          if (xs.length <= 62) {
            var dot = svg("circle", { cx: px(i), cy: py(y), r: 3, class: "dot s" + (s.color === undefined ? n % 6 : s.color) });
            dot.appendChild(svg("title", {}, T.t("chart.values", { name: s.name, value: format(y, opts.digits || 0), date: fmtBucket(x, opts.bucket) })));
            root.appendChild(dot);
          }
        });
        flush();
      });
      if (opts.legend && series.length > 1) legend(container, series);
    });
  }

  /* One point in time: the value itself (large) and its date, not a lone dot on an empty axis. */
  function single(container, series, x, opts, format) {
    T.clear(container);
    var box = T.el("div", { class: "single-value" });
    series.forEach(function (s) {
      var point = s.points.filter(function (p) { return p.x === x; })[0];
      if (!point || typeof point.y !== "number") return;
      box.appendChild(T.el("p", { class: "single" }, [
        series.length > 1 ? T.el("span", { class: "name", text: s.name + " " }) : null,
        T.el("strong", { class: "value", text: format(point.y, opts.digits || 0) })
      ]));
    });
    box.appendChild(T.el("p", { class: "muted", text: T.t("chart.one_point", { date: fmtDay(x) }) }));
    container.appendChild(box);
  }

  function legend(container, series) {
    var box = T.el("ul", { class: "legend" });
    series.forEach(function (s, n) {
      box.appendChild(T.el("li", { class: "s" + (s.color === undefined ? n % 6 : s.color), text: s.name }));
    });
    container.appendChild(box);
  }

  /* --- horizontal bars --------------------------------------------------------------------------- */

  /* rows: [{label, value, highlight}]; options: format (value -> text), label (for screen readers). */
  function bars(container, rows, options) {
    forget(container);
    var opts = options || {};
    var format = opts.format || function (value) { return T.fmtNumber(value, opts.digits || 0); };
    if (!rows.length) { T.noData(container); return; }
    responsive(container, function (width) {
      var rowH = 28, height = rows.length * rowH + 6;
      var root = frame(container, width, height, opts.label);
      var longest = Math.max.apply(null, rows.map(function (r) { return String(r.label).length; }));
      var labelW = Math.min(Math.round(width * 0.4), 12 + longest * 7);
      var valueW = 12 + Math.max.apply(null, rows.map(function (r) { return format(r.value).length; })) * 7;
      var iw = Math.max(20, width - labelW - valueW - 8);
      var max = Math.max.apply(null, rows.map(function (r) { return r.value; }).concat([0])) || 1;
      var fits = Math.max(4, Math.floor((labelW - 10) / 6.5));
      rows.forEach(function (r, i) {
        var y = 3 + i * rowH;
        var text = String(r.label);
        var shown = text.length > fits ? text.slice(0, fits - 1) + "…" : text;
        var label = svg("text", { x: labelW - 8, y: y + 18, "text-anchor": "end", class: "label" }, shown);
        if (shown !== text) label.appendChild(svg("title", {}, text));
        root.appendChild(label);
        var w = Math.max(1, (Math.max(0, r.value) / max) * iw);
        root.appendChild(svg("rect", { x: labelW, y: y + 5, height: rowH - 10, width: w, rx: 2, class: "bar " + (r.highlight ? "s2" : "s0") }));
        root.appendChild(svg("text", { x: labelW + w + 6, y: y + 18, class: "value" }, format(r.value)));
      });
    });
  }

  /* --- columns: counts over a few periods (posts per month) --------------------------------------- */

  /* rows: [{label, value}] in time order, drawn as vertical bars over a round y axis; options: height,
     label (for screen readers), digits. */
  function columns(container, rows, options) {
    forget(container);
    var opts = options || {};
    if (!rows.length) { T.noData(container); return; }
    responsive(container, function (width) {
      var height = opts.height || 200;
      var root = frame(container, width, height, opts.label);
      var scale = ticks(0, Math.max.apply(null, rows.map(function (r) { return r.value; }).concat([1])), 4);
      var hi = scale.values[scale.values.length - 1];
      var labels = scale.values.map(function (v) { return T.fmtNumber(v, scale.digits); });
      var left = 12 + Math.max.apply(null, labels.map(function (l) { return l.length; })) * 7;
      var pad = { top: 10, right: 8, bottom: 26, left: left };
      var iw = width - pad.left - pad.right, ih = height - pad.top - pad.bottom;
      function py(v) { return pad.top + ih - (v / hi) * ih; }
      scale.values.forEach(function (v, n) {
        root.appendChild(svg("line", { x1: pad.left, x2: width - pad.right, y1: py(v), y2: py(v), class: "grid" }));
        root.appendChild(svg("text", { x: pad.left - 6, y: py(v) + 4, "text-anchor": "end", class: "axis tick-y" }, labels[n]));
      });
      var slot = iw / rows.length;
      var barW = Math.min(56, slot * 0.7);
      var every = Math.max(1, Math.ceil(rows.length / Math.max(1, Math.floor(iw / 70))));
      rows.forEach(function (r, i) {
        var x = pad.left + i * slot + (slot - barW) / 2;
        var bar = svg("rect", { x: x, y: py(r.value), width: barW, height: Math.max(0, py(0) - py(r.value)), rx: 2, class: "bar s0" });
        bar.appendChild(svg("title", {}, r.label + ": " + T.fmtNumber(r.value, opts.digits || 0)));
        root.appendChild(bar);
        if (i % every === 0) {
          root.appendChild(svg("text", { x: x + barW / 2, y: height - 8, "text-anchor": "middle", class: "axis tick-x" }, r.label));
        }
      });
    });
  }

  window.TesoroCharts = {
    line: line, bars: bars, columns: columns, forget: forget, ticks: ticks, percent: percent, signedPercent: signedPercent,
    fmtBucket: fmtBucket, fmtDay: fmtDay, platformName: platformName
  };
})();
