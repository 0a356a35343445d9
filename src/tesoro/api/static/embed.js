/* The iframe gallery: tells its parent page how tall it is, and counts impressions (half a tile in view),
   clicks and "shop this" clicks with the same anonymous beacon as the widget (no cookies, no visitor data). */
(function () {
  "use strict";
  function report() {
    if (window.parent === window) return;
    window.parent.postMessage({ tesoroGalleryHeight: document.documentElement.scrollHeight }, "*");
  }
  window.addEventListener("load", report);
  window.addEventListener("resize", report);

  var brand = document.body && document.body.getAttribute("data-brand");
  if (!brand || document.body.getAttribute("data-beacon") !== "on") return;
  var pending = [];
  var timer = null;
  function send() {
    timer = null;
    while (pending.length) {
      fetch("/gallery/beacon", { method: "POST", keepalive: true, credentials: "omit",
        headers: { "Content-Type": "text/plain" },
        body: JSON.stringify({ brand: brand, events: pending.splice(0, 50) }) }).catch(function () {});
    }
  }
  function record(tile, kind) {
    if (!tile) return;
    pending.push({ key: tile, kind: kind });
    if (!timer) timer = setTimeout(send, 1500);
  }
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") send(); });
  window.addEventListener("pagehide", send);
  document.addEventListener("click", function (event) {
    var a = event.target.closest ? event.target.closest("a") : null;
    var tile = a && a.closest("[data-key]");
    if (tile) record(tile.getAttribute("data-key"), a.classList.contains("shop") ? "shop" : "click");
  });
  if (typeof IntersectionObserver !== "function") return;
  var seen = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) return;
      seen.unobserve(entry.target);
      record(entry.target.getAttribute("data-key"), "impression");
    });
  }, { threshold: 0.5 });
  document.querySelectorAll("[data-key]").forEach(function (tile) { seen.observe(tile); });
})();
