/* The alerts page: each delivery's message as it was sent (loaded when its <details> opens), and the
   admins' on / off buttons for rules. Message text quotes posts by strangers: it only ever reaches the
   page through textContent (Tesoro.el), and links only when they are http(s). */
(function () {
  "use strict";
  var T = window.Tesoro;
  var endpoints = T.data.alert_endpoints || {};

  function linksOf(part) {
    if (!part.links || !part.links.length) return null;
    var row = T.el("p", { class: part.kind === "actions" ? "msg-actions" : "msg-links" });
    part.links.forEach(function (link) {
      row.appendChild(T.el("a", { href: link.url, text: link.label, rel: "noopener noreferrer", target: "_blank", title: link.url }));
    });
    return row;
  }

  function partNode(part) {
    if (part.kind === "header") return T.el("p", { class: "msg-header", text: part.text });
    if (part.kind === "quote") return T.el("blockquote", { class: "msg-quote", text: part.text });
    if (part.kind === "context") return T.el("p", { class: "msg-context", text: part.text });
    if (part.kind === "actions") return null;
    return T.el("p", { class: "msg-text", text: part.text });
  }

  function showMessage(body, payload) {
    T.clear(body);
    if (!payload.available) {
      body.appendChild(T.el("p", { class: "muted message-gone", text: T.t("alerts.message_gone") }));
      return;
    }
    var box = T.el("div", { class: "slack-message" });
    payload.parts.forEach(function (part) {
      var node = partNode(part);
      if (node && part.text) box.appendChild(node);
      var links = linksOf(part);
      if (links) box.appendChild(links);
    });
    body.appendChild(box);
    body.appendChild(
      T.el("p", { class: "msg-fallback muted" }, [
        T.el("span", { class: "label", text: T.t("alerts.message_fallback") + ": " }),
        payload.fallback
      ])
    );
    body.appendChild(T.el("p", { class: "hint", text: T.t("alerts.message_note") }));
  }

  function load(details) {
    if (details.getAttribute("data-loaded") === "true") return;
    var body = details.querySelector(".message-body");
    var id = details.getAttribute("data-delivery");
    details.setAttribute("data-loaded", "true");
    T.clear(body);
    body.appendChild(T.el("p", { class: "muted", text: T.t("alerts.message_loading") }));
    T.api("GET", endpoints.delivery_message.replace("{id}", encodeURIComponent(id)))
      .then(function (payload) { showMessage(body, payload); })
      .catch(function (error) {
        details.removeAttribute("data-loaded"); // closing and opening again tries again
        T.clear(body);
        body.appendChild(T.el("p", { class: "error-text", role: "alert", text: T.t("alerts.message_failed", { error: error.message }) }));
      });
  }

  document.querySelectorAll("details.message").forEach(function (details) {
    details.addEventListener("toggle", function () { if (details.open) load(details); });
  });

  function setRuleState(item, button, enabled) {
    var name = item.getAttribute("data-rule");
    var badge = item.querySelector("[data-role=state]");
    badge.textContent = T.t(enabled ? "alerts.rule.enabled" : "alerts.rule.disabled");
    badge.className = "badge " + (enabled ? "rule-on" : "rule-off");
    button.setAttribute("data-enabled", enabled ? "true" : "false");
    button.textContent = T.t(enabled ? "alerts.rule.disable" : "alerts.rule.enable");
    button.setAttribute("aria-label", T.t(enabled ? "alerts.rule.disable_label" : "alerts.rule.enable_label", { name: name }));
  }

  document.querySelectorAll("button.rule-toggle").forEach(function (button) {
    button.addEventListener("click", function () {
      var item = button.closest("li.rule");
      var name = item.getAttribute("data-rule");
      var wanted = button.getAttribute("data-enabled") !== "true";
      var error = item.querySelector(".rule-error");
      button.setAttribute("aria-busy", "true");
      T.api("PATCH", endpoints.alert_rule.replace("{name}", encodeURIComponent(name)), { enabled: wanted })
        .then(function (rule) {
          setRuleState(item, button, rule.enabled);
          if (error) error.textContent = "";
          T.toast(T.t(rule.enabled ? "alerts.rule.now_enabled" : "alerts.rule.now_disabled", { name: name }), "ok");
        })
        .catch(function (failure) {
          if (error) error.textContent = T.t("alerts.rule.failed", { name: name, error: failure.message });  // T.api says a 422 in words
        })
        .then(function () { button.removeAttribute("aria-busy"); });
    });
  });
})();
