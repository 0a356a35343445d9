/* The curator's review queue: j/k move, a approve, r reject, f feature, p assign a product,
   c correct the sentiment, product or content types the scorer read, u undo. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var el = T.el, t = T.t;
  var list = document.getElementById("queue-list");
  var count = document.getElementById("queue-count");
  var filter = document.getElementById("state-filter");
  var dialog = document.getElementById("product-dialog");
  var productSelect = document.getElementById("product-select");
  var correctDialog = document.getElementById("correct-dialog");
  var correctProduct = document.getElementById("correct-product");
  var canReview = !!T.data.can_review;
  var items = [];
  var index = 0;
  var products = null;
  var busy = false;
  var askAll = document.getElementById("ask-rights-all");
  if (askAll) askAll.addEventListener("click", function () {
    askRights(items.map(function (p) { return p.id; }).slice(0, 100));
  });

  function footer(post, i) {
    if (!canReview) return null;
    var rights = el("select", { "aria-label": t("queue.rights"), class: "rights-select",
      onchange: function (e) { setRights(i, e.target.value); } });
    ["none", "requested", "granted", "declined", "expired", "revoked"].forEach(function (value) {
      var option = el("option", { value: value, text: t("rights." + value) });
      if (value === post.rights_status) option.selected = true;
      rights.appendChild(option);
    });
    function button(label, key, handler) {
      return el("button", { type: "button", onclick: function () { select(i); handler(); } }, [
        el("kbd", { text: key }), " ", label]);
    }
    return el("footer", { class: "actions" }, [
      button(t("queue.approve"), "a", function () { act("approve"); }),
      button(t("queue.reject"), "r", function () { act("reject"); }),
      button(t("queue.feature"), "f", function () { act("feature"); }),
      button(t("queue.product"), "p", pickProduct),
      button(t("queue.correct"), "c", openCorrect),
      el("label", {}, [t("queue.rights") + " ", rights]),
      el("button", { type: "button", onclick: function () { askRights([post.id]); } }, [t("rights.request")])
    ]);
  }

  /* Ask the authors of these posts for usage rights (one request each); a post whose platform cannot
     post the request gets its text and consent link to paste, shown in the toast. */
  function askRights(ids) {
    if (!ids.length) return;
    T.api("POST", "/api/rights/requests", { post_ids: ids })
      .then(function (batch) {
        batch.created.forEach(function (made) {
          var post = items.filter(function (p) { return p.id === made.request.post_id; })[0];
          if (post) post.rights_status = "requested";
          if (made.request.channel === "manual") T.toast(made.request.text, "info");
        });
        batch.skipped.forEach(function (skip) { T.toast("#" + skip.post_id + ": " + skip.reason, "warn"); });
        if (batch.created.length) T.toast(t("rights.requested_n", { count: batch.created.length }), "ok");
        render();
      })
      .catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); });
  }

  function render() {
    T.clear(list);
    if (!items.length) {
      list.appendChild(el("p", { class: "muted empty", text: t("queue.empty") }));
      return;
    }
    items.forEach(function (post, i) {
      var node = T.postCard(post, { footer: footer(post, i), role: "option" });
      node.addEventListener("click", function (e) {
        if (e.target.closest("a, button, select, summary")) return;
        select(i);
      });
      list.appendChild(node);
    });
    select(Math.min(index, items.length - 1));
  }

  function select(i) {
    if (!items.length) return;
    index = Math.max(0, Math.min(i, items.length - 1));
    var cards = list.querySelectorAll("article.card");
    cards.forEach(function (node, n) {
      node.classList.toggle("selected", n === index);
      node.setAttribute("aria-selected", n === index ? "true" : "false");
    });
    var current = cards[index];
    if (current) {
      current.focus({ preventScroll: true });
      current.scrollIntoView({ block: "nearest" });
    }
  }

  function replaceCard(i) {
    var old = list.querySelectorAll("article.card")[i];
    if (!old) return;
    var node = T.postCard(items[i], { footer: footer(items[i], i), role: "option" });
    node.addEventListener("click", function (e) {
      if (e.target.closest("a, button, select, summary")) return;
      select(i);
    });
    old.replaceWith(node);
  }

  function indexOf(id) {
    for (var n = 0; n < items.length; n++) if (items[n].id === id) return n;
    return -1;
  }

  /* Only the latest load may draw: switching views quickly must not let an older answer win. */
  var latest = 0;

  /* A deep link, /ui/queue?post=N (Slack alerts and the API's ui_url), opens that post: selected
     where the list holds it, else fetched and shown first (decided, filtered or further down). */
  var wanted = (function () {
    var raw = new URLSearchParams(window.location.search).get("post");
    return raw && /^[1-9][0-9]{0,14}$/.test(raw) ? Number(raw) : null;
  })();

  function openWanted(mine) {
    var target = wanted;
    wanted = null;
    var found = indexOf(target);
    if (found >= 0) { index = found; render(); return; }
    T.api("GET", "/api/curator/posts/" + target)
      .then(function (post) {
        if (mine !== latest) return;
        items.unshift(post);
        index = 0;
        render();
      })
      .catch(function (err) {
        if (mine !== latest) return;
        render();
        T.toast(t("common.error", { error: err.message }), "error");
      });
  }

  function load() {
    var view = filter.value === "filtered" ? "/api/curator/queue/filtered" : "/api/curator/queue";
    var mine = ++latest;
    T.api("GET", view + "?limit=100")
      .then(function (page) {
        if (mine !== latest) return;
        items = page.items;
        index = 0;
        count.textContent = T.tn("queue.count", page.total);
        if (wanted !== null) openWanted(mine);
        else render();
      })
      .catch(function (err) {
        if (mine !== latest) return;
        T.clear(list);
        list.appendChild(el("p", { class: "error", text: t("common.error", { error: err.message }) }));
      });
  }

  function act(action) {
    if (!items.length || busy) return;
    if (!canReview) { T.toast(t("queue.read_only"), "warn"); return; }
    var i = index;
    var post = items[i];
    busy = true;
    T.api("POST", "/api/curator/posts/" + post.id + "/decision", { action: action })
      .then(function (result) {
        var applied = (result.applied || []).filter(function (o) { return o.post_id === post.id; })[0];
        if (applied && applied.to_state) post.queue_state = applied.to_state;
        replaceCard(i);
        T.toast(t("queue.done." + action), "ok");
        select(i + 1);
      })
      .catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); })
      .then(function () { busy = false; });
  }

  function setRights(i, status) {
    var post = items[i];
    T.api("POST", "/api/curator/posts/" + post.id + "/rights", { status: status })
      .then(function () {
        post.rights_status = status;
        replaceCard(i);
        T.toast(t("queue.done.rights"), "ok");
      })
      .catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); });
  }

  function loadProducts() {
    if (products) return Promise.resolve(products);
    return T.api("GET", "/api/curator/products").then(function (page) { products = page.items; return products; });
  }

  function pickProduct() {
    if (!items.length) return;
    if (!canReview) { T.toast(t("queue.read_only"), "warn"); return; }
    var post = items[index];
    loadProducts().then(function (rows) {
      T.clear(productSelect);
      productSelect.appendChild(el("option", { value: "", text: t("queue.no_product") }));
      rows.filter(function (p) { return post.brand_id === null || p.brand_id === post.brand_id; })
        .forEach(function (p) {
          var option = el("option", { value: String(p.id), text: p.name });
          /* The assigned product, or else the suggested one: saving it confirms the suggestion. */
          if (post.product && post.product.id === p.id) option.selected = true;
          productSelect.appendChild(option);
        });
      if (productSelect.selectedIndex < 0) productSelect.selectedIndex = 0;
      dialog.returnValue = "";
      dialog.showModal();
      productSelect.focus();
    }).catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); });
  }

  /* Correcting: what the scorer read (sentiment, product, content types), as the coordinator sees it.
     The label wins at once and teaches the brand's calibration; only what changed is sent. */
  function currentProduct(post) {
    return post.product ? post.product.id : null;
  }

  function openCorrect() {
    if (!items.length) return;
    if (!canReview) { T.toast(t("queue.read_only"), "warn"); return; }
    var post = items[index];
    loadProducts().then(function (rows) {
      correctDialog.querySelectorAll("input[name=correct-sentiment]").forEach(function (input) {
        input.checked = input.value === post.sentiment;
      });
      correctDialog.querySelectorAll("input[name=correct-type]").forEach(function (input) {
        input.checked = (post.content_types || []).indexOf(input.value) >= 0;
      });
      T.clear(correctProduct);
      correctProduct.appendChild(el("option", { value: "", text: t("queue.no_product") }));
      rows.filter(function (p) { return post.brand_id === null || p.brand_id === post.brand_id; })
        .forEach(function (p) {
          var option = el("option", { value: String(p.id), text: p.name });
          if (currentProduct(post) === p.id) option.selected = true;
          correctProduct.appendChild(option);
        });
      if (currentProduct(post) === null) correctProduct.selectedIndex = 0;
      correctDialog.returnValue = "";
      correctDialog.showModal();
      var checked = correctDialog.querySelector("input[name=correct-sentiment]:checked") ||
        correctDialog.querySelector("input[name=correct-sentiment]");
      checked.focus();
    }).catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); });
  }

  function correctionBody(post) {
    var body = {};
    var sentiment = correctDialog.querySelector("input[name=correct-sentiment]:checked");
    if (sentiment && sentiment.value !== post.sentiment) body.sentiment = sentiment.value;
    var productId = correctProduct.value ? Number(correctProduct.value) : null;
    if (productId !== currentProduct(post)) body.product_id = productId;
    var types = [];
    correctDialog.querySelectorAll("input[name=correct-type]:checked").forEach(function (input) {
      types.push(input.value);
    });
    var before = (post.content_types || []).slice().sort().join(",");
    if (types.length && types.slice().sort().join(",") !== before) body.content_types = types;
    return body;
  }

  correctDialog.addEventListener("keydown", function (e) {
    var pick = { "1": "negative", "2": "neutral", "3": "positive" }[e.key];
    if (pick) {
      e.preventDefault();
      var input = correctDialog.querySelector("input[name=correct-sentiment][value=" + pick + "]");
      input.checked = true;
      input.focus();
    } else if (e.key === "Enter" && e.target.tagName !== "BUTTON") {
      e.preventDefault();
      correctDialog.close("save");
    }
  });
  correctDialog.addEventListener("close", function () {
    if (correctDialog.returnValue !== "save") { select(index); return; }
    var i = index;
    var post = items[i];
    var body = correctionBody(post);
    if (!Object.keys(body).length) { T.toast(t("queue.nothing_to_correct"), "warn"); select(i); return; }
    T.api("POST", "/api/curator/posts/" + post.id + "/corrections", body)
      .then(function (result) {
        post.corrected = post.corrected || [];
        (result.items || []).forEach(function (c) {
          if (post.corrected.indexOf(c.field) < 0) post.corrected.push(c.field);
          if (c.field === "sentiment") post.sentiment = c.value;
          if (c.field === "content_type") post.content_types = c.value;
          if (c.field === "product") {
            var chosen = (products || []).filter(function (p) { return p.id === c.value; })[0];
            post.product = chosen ? { id: chosen.id, name: chosen.name, assigned: false } : null;
          }
        });
        replaceCard(i);
        select(i);
        T.toast(t("queue.done.correct"), "ok");
      })
      .catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); });
  });

  function undo() {
    if (busy) return;
    if (!canReview) { T.toast(t("queue.read_only"), "warn"); return; }
    busy = true;
    T.api("POST", "/api/curator/decisions/undo")
      .then(function (result) {
        var ids = (result.restored || []).map(function (o) { return o.post_id; });
        return Promise.all(ids.map(function (id) {
          return T.api("GET", "/api/curator/posts/" + id).then(function (fresh) {
            var i = indexOf(id);
            if (i < 0) return i;
            items[i] = fresh;
            replaceCard(i);
            return i;
          });
        })).then(function (found) {
          var shown = found.filter(function (i) { return i >= 0; });
          if (shown.length) select(Math.min.apply(null, shown));
          T.toast(t("queue.done.undo"), "ok");
        });
      })
      .catch(function (err) {
        if (err.status === 409) T.toast(t("queue.nothing_to_undo"), "warn");
        else T.toast(t("common.error", { error: err.message }), "error");
      })
      .then(function () { busy = false; });
  }

  productSelect.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); dialog.close("save"); }
  });
  productSelect.addEventListener("dblclick", function () { dialog.close("save"); });
  dialog.addEventListener("close", function () {
    if (dialog.returnValue !== "save") { select(index); return; }
    var i = index;
    var post = items[i];
    var value = productSelect.value;
    var productId = value ? Number(value) : null;
    T.api("POST", "/api/curator/posts/" + post.id + "/product", { product_id: productId })
      .then(function () {
        var chosen = (products || []).filter(function (p) { return p.id === productId; })[0];
        post.product = chosen ? { id: chosen.id, name: chosen.name, assigned: true } : null;
        replaceCard(i);
        select(i);
        T.toast(t("queue.done.product"), "ok");
      })
      .catch(function (err) { T.toast(t("common.error", { error: err.message }), "error"); });
  });

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || dialog.open || correctDialog.open) return;
    var tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var handlers = {
      j: function () { select(index + 1); },
      k: function () { select(index - 1); },
      a: function () { act("approve"); },
      r: function () { act("reject"); },
      f: function () { act("feature"); },
      p: pickProduct,
      c: openCorrect,
      u: undo
    };
    var handler = handlers[e.key];
    if (!handler) return;
    e.preventDefault();
    handler();
  });

  filter.addEventListener("change", function () { filter.blur(); load(); });
  load();
})();
