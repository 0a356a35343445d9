/* The iframe gallery tells its parent page how tall it is, so the host can size the frame. */
(function () {
  "use strict";
  function report() {
    if (window.parent === window) return;
    window.parent.postMessage({ tesoroGalleryHeight: document.documentElement.scrollHeight }, "*");
  }
  window.addEventListener("load", report);
  window.addEventListener("resize", report);
})();
