/* The curator's review queue. Keys: j/k move; x selects (shift+x or shift-click: a range), Esc clears;
   a approve, r reject, f feature, e archive, o reopen, n note, t tags, p product, q ask for rights act on
   the selection when there is one, else on the card under the cursor; g the duplicate group, c correct,
   u undo, l shows the posts that arrived meanwhile (merged in without moving the card under the cursor).
   The view loads a page of cards and fetches the next as the cursor or the scroll nears the last one. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var el = T.el, t = T.t;
  function byId(id) { return document.getElementById(id); }
  var list = byId("queue-list");
  var count = byId("queue-count");
  var filter = byId("state-filter");
  var dialog = byId("product-dialog");
  var productSelect = byId("product-select");
  var correctDialog = byId("correct-dialog");
  var correctProduct = byId("correct-product");
  var noteDialog = byId("note-dialog");
  var noteText = byId("note-text");
  var noteTags = byId("note-tags");
  var noteDecision = byId("note-decision");
  var noteCurrent = byId("note-current");
  var noteCurrentTags = byId("note-current-tags");
  var noteFor = byId("note-for");
  var knownTags = byId("known-tags");
  var groupDialog = byId("group-dialog");
  var groupList = byId("group-list");
  var bulkBar = byId("bulk-bar");
  var bulkCount = byId("bulk-count");
  var arrivals = byId("arrivals");
  var canReview = !!T.data.can_review;
  var items = [];
  var index = 0;
  var total = 0;
  var products = null;
  var busy = false;
  var picked = {};      // post id -> true: the selection bulk actions work on
  var anchor = null;    // the post id a shift+x range starts from
  var latestId = null;  // the largest post id of the view when it was loaded: arrivals count from it
  var pending = 0;      // posts that arrived since, announced in the bar
  var POLL_MS = 15000;
  var PAGE = 50;        // cards per request: the first page, then one more as the coordinator nears the end
  var AHEAD = 10;       // fetch the next page when the cursor comes this close to the last card
  var OVERLAP = 10;     // ask from a little before the computed offset (posts decided meanwhile shift it)
  var moreDone = true;  // the server has nothing after the cards loaded
  var fetching = null;  // the next page's request while one is out
  var stepAfter = false;  // j was pressed on the last card while the next page was coming: move on arrival
  var OPEN_REQUESTS = ["queued", "sending", "sent", "needs_review"];
  var REQUEST_STATES = ["needs_review", "no_response", "failed"];
  var dialogs = [dialog, correctDialog, noteDialog, groupDialog];

  function failed(err) { T.toast(t("common.error", { error: err.message }), "error"); }
  function indexOf(id) {
    for (var n = 0; n < items.length; n++) if (items[n].id === id) return n;
    return -1;
  }
  function current() { return items[index] || null; }
  function cards() { return list.querySelectorAll("article.card"); }
  function score(post) { return post.treasure && typeof post.treasure.score === "number" ? post.treasure.score : 0; }

  /* --- what the card shows beside posts.js: tags, the latest note, rights, the duplicate group ------- */

  function tagList(post) {
    if (!post.tags || !post.tags.length) return null;
    return el("ul", { class: "tags", "aria-label": t("queue.tags") },
      post.tags.map(function (tag) { return el("li", { text: tag }); }));
  }

  /* "key:415472f2f1fa (Ana)" reads as "Ana". */
  function who(actor) {
    var match = /^key:\S+ \((.*)\)$/.exec(actor || "");
    return match ? match[1] : actor || "";
  }

  function noteBlock(post) {
    if (!post.note || !post.note.text) return null;
    return el("p", { class: "note" }, [
      el("strong", { text: t("queue.note") + ": " }), el("span", { class: "note-text", text: post.note.text }),
      el("span", { class: "by", text: post.note.decided_at
        ? t("queue.note_by", { actor: who(post.note.actor), date: T.fmtDate(post.note.decided_at) })
        : who(post.note.actor) })
    ]);
  }

  /* The rights state a coordinator acts on: the request's where it needs them (a reply to review, no
     response, a failure), else the post's own. */
  function rightsState(post) {
    var request = post.rights_request;
    if (request && REQUEST_STATES.indexOf(request.status) >= 0 && post.rights_status !== "granted") return request.status;
    return post.rights_status;
  }
  function rightsLabel(state) {
    return REQUEST_STATES.indexOf(state) >= 0 ? t("queue.rights_" + state) : t("rights." + state);
  }

  function copy(text) {
    var done = navigator.clipboard && navigator.clipboard.writeText
      ? navigator.clipboard.writeText(text) : Promise.reject(new Error("no clipboard"));
    done.then(function () { T.toast(t("queue.copied"), "ok"); })
      .catch(function () { T.toast(t("queue.copy_failed"), "warn"); });
  }

  function rightsPanel(post) {
    var request = post.rights_request;
    var parts = [];
    if (request && request.reason && REQUEST_STATES.indexOf(request.status) >= 0) {
      parts.push(el("span", { class: "reason", text: t("queue.rights_reason", { reason: request.reason }) }));
    }
    if (canReview) {
      var open = request && OPEN_REQUESTS.indexOf(request.status) >= 0;
      if (request && request.status === "needs_review") {
        parts.push(button(t("queue.rights_grant"), null, function () { rightsDecision(post, true); }));
        parts.push(button(t("queue.rights_decline"), null, function () { rightsDecision(post, false); }));
      } else if (request && request.status === "no_response" && post.rights_status !== "granted") {
        parts.push(button(t("queue.rights_reask"), null, function () { reask(post); }));
      } else if (!open && post.rights_status !== "granted") {
        parts.push(button(t("rights.request"), "q", function () { askRights([post.id]); }));
      }
      if (open && request.channel === "manual" && request.text) {
        parts.push(el("div", { class: "paste" }, [
          el("p", { text: t("queue.paste_hint") }),
          el("code", { class: "paste-text", text: request.text }),
          button(t("queue.copy_text"), null, function () { copy(request.text); }),
          request.consent_link ? button(t("queue.copy_link"), null, function () { copy(request.consent_link); }) : null
        ]));
      }
    }
    return parts.length ? el("div", { class: "rights-panel" }, parts) : null;
  }

  function groupSize(post) {
    if (post.duplicate_of) return null;
    return post.copy_count ? post.copy_count + 1 : null;
  }

  function button(label, key, handler, extra) {
    var props = { type: "button", onclick: function (e) { e.stopPropagation(); handler(); } };
    Object.keys(extra || {}).forEach(function (name) { props[name] = extra[name]; });
    return el("button", props, key ? [el("kbd", { text: key }), " ", label] : [label]);
  }

  function footer(post) {
    function on(handler) { return function () { select(indexOf(post.id)); handler(); }; }
    var buttons = [];
    var size = groupSize(post);
    if (size || post.duplicate_of) {
      buttons.push(button(size ? T.tn("queue.group_size", size) : t("queue.group"), "g", on(openGroup), { class: "group-open" }));
    }
    if (!canReview) return buttons.length ? el("footer", { class: "actions" }, buttons) : null;
    var rights = el("select", { "aria-label": t("queue.rights"), class: "rights-select",
      onchange: function (e) { setRights(post, e.target.value); } });
    ["none", "requested", "granted", "declined", "expired", "revoked"].forEach(function (value) {
      var option = el("option", { value: value, text: t("rights." + value) });
      if (value === post.rights_status) option.selected = true;
      rights.appendChild(option);
    });
    var setAside = post.queue_state === "archived" || post.queue_state === "rejected";
    return el("footer", { class: "actions" }, [
      button(t("queue.approve"), "a", on(function () { act("approve"); })),
      button(t("queue.reject"), "r", on(function () { act("reject"); })),
      button(t("queue.feature"), "f", on(function () { act("feature"); })),
      setAside
        ? button(t("queue.reopen"), "o", on(function () { act("reopen"); }))
        : button(t("queue.archive"), "e", on(function () { act("archive"); })),
      button(t("queue.note"), "n", on(function () { openNote(false); })),
      button(t("queue.tags"), "t", on(function () { openNote(true); })),
      button(t("queue.product"), "p", on(pickProduct)),
      button(t("queue.correct"), "c", on(openCorrect))
    ].concat(buttons, [el("label", {}, [t("queue.rights") + " ", rights])]));
  }

  function cardFor(post) {
    var node = T.postCard(post, { footer: footer(post) });
    var foot = node.querySelector("footer.actions");
    function add(part) { if (part) node.insertBefore(part, foot); }
    add(tagList(post));
    add(noteBlock(post));
    add(rightsPanel(post));
    // The header's badge says the same state in the same words as the panel.
    var badge = node.querySelector("header .badge.rights");
    if (badge) {
      badge.className = "badge rights rights-" + rightsState(post);
      badge.textContent = rightsLabel(rightsState(post));
    }
    if (canReview) {
      var box = el("input", { type: "checkbox", class: "pick-box", "aria-label": t("queue.pick") });
      box.addEventListener("click", function (e) {
        e.stopPropagation();
        if (e.shiftKey) pickRange(indexOf(post.id)); else togglePick(indexOf(post.id));
      });
      node.insertBefore(el("span", { class: "pick" }, [box]), node.firstChild);
    }
    node.addEventListener("click", function (e) {
      if (e.target.closest("a, button, select, summary, input, label, textarea")) return;
      var i = indexOf(post.id);
      if (e.shiftKey && canReview) pickRange(i);
      select(i);
    });
    return node;
  }

  function render() {
    T.clear(list);
    if (!items.length) {
      list.appendChild(el("p", { class: "muted empty", text: t("queue.empty") }));
      paintPicks();
      return;
    }
    items.forEach(function (post) { list.appendChild(cardFor(post)); });
    paintPicks();
    select(Math.min(index, items.length - 1));
  }

  /* The cursor: the card the keys act on, marked and focused; aria-current tells screen readers. */
  function paint() {
    cards().forEach(function (node, n) {
      node.classList.toggle("selected", n === index);
      if (n === index) node.setAttribute("aria-current", "true"); else node.removeAttribute("aria-current");
    });
  }

  function select(i) {
    if (!items.length || i < 0) return;
    if (i >= items.length && !moreDone) stepAfter = true;
    index = Math.max(0, Math.min(i, items.length - 1));
    paint();
    var node = cards()[index];
    if (node) {
      node.focus({ preventScroll: true });
      node.scrollIntoView({ block: "nearest" });
    }
    if (index >= items.length - AHEAD) more();
  }

  function replaceCard(i) {
    var old = cards()[i];
    if (!old) return;
    var hadFocus = old.contains(document.activeElement);
    var node = cardFor(items[i]);
    old.replaceWith(node);
    paint();
    paintPicks();
    if (hadFocus) node.focus({ preventScroll: true });
  }

  /* --- the selection -------------------------------------------------------------------------------- */

  function pickedIds() {
    return items.filter(function (p) { return picked[p.id]; }).map(function (p) { return p.id; });
  }

  function paintPicks() {
    var n = 0;
    cards().forEach(function (node) {
      var on = !!picked[Number(node.getAttribute("data-id"))];
      if (on) n++;
      node.classList.toggle("picked", on);
      var box = node.querySelector("input.pick-box");
      if (box) box.checked = on;
    });
    if (!bulkBar) return;
    bulkBar.hidden = n === 0;
    bulkCount.textContent = n ? T.tn("queue.selected", n) : "";
  }

  function togglePick(i) {
    var post = items[i];
    if (!post || !canReview) return;
    if (picked[post.id]) delete picked[post.id]; else picked[post.id] = true;
    anchor = post.id;
    paintPicks();
  }

  function pickRange(i) {
    if (!items[i] || !canReview) return;
    var from = anchor === null ? index : indexOf(anchor);
    if (from < 0) from = index;
    var lo = Math.min(from, i), hi = Math.max(from, i);
    for (var n = lo; n <= hi; n++) picked[items[n].id] = true;
    anchor = items[i].id;
    paintPicks();
  }

  function clearPicks() {
    picked = {};
    anchor = null;
    paintPicks();
  }

  function hasPicks() { return pickedIds().length > 0; }

  /* --- loading, and the posts that arrive meanwhile ---------------------------------------------------- */

  var latest = 0;  // only the latest load may draw: switching views quickly must not let an older answer win

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
        failed(err);
      });
  }

  function viewUrl(limit, offset) {
    var paging = "limit=" + limit + (offset ? "&offset=" + offset : "");
    if (filter.value === "filtered") return "/api/curator/queue/filtered?" + paging;
    return "/api/curator/queue?" + paging + "&state=" + encodeURIComponent(filter.value);
  }

  /* Whether a loaded card still counts in the view on the server (a decision moves it out). */
  function inView(post) {
    if (filter.value === "filtered") return post.queue_state === "new" && !!(post.treasure && post.treasure.filtered);
    return post.queue_state === filter.value;
  }

  /* The next page of the view, appended below the last card. Its offset is how many loaded cards the
     server still counts in the view, less an overlap: posts decided meanwhile (here or by another
     coordinator) shift the server's pages, and a card already here is never shown twice. */
  function more() {
    if (moreDone || fetching || latestId === null) return fetching;
    var mine = latest;
    var offset = Math.max(0, items.filter(inView).length - OVERLAP);
    list.setAttribute("aria-busy", "true");
    fetching = T.api("GET", viewUrl(PAGE, offset) + "&until=" + latestId)
      .then(function (page) {
        if (mine !== latest) return;
        var known = {};
        items.forEach(function (p) { known[p.id] = true; });
        var fresh = page.items.filter(function (p) { return !known[p.id]; });
        moreDone = offset + page.items.length >= page.total || !page.items.length;
        fresh.forEach(function (post) {
          items.push(post);
          list.appendChild(cardFor(post));
        });
        paintPicks();
        paint();
        if (stepAfter) { stepAfter = false; select(index + 1); }
      })
      .catch(function (err) { if (mine === latest) failed(err); })
      .then(function () {
        if (mine !== latest) return;
        fetching = null;
        stepAfter = false;
        list.removeAttribute("aria-busy");
        if (!moreDone && nearEnd()) more();
      });
    return fetching;
  }

  /* Scrolling down the cards with the mouse or the touchpad fetches the next page too. */
  function nearEnd() {
    var last = cards()[Math.max(0, items.length - AHEAD)];
    return !!last && last.getBoundingClientRect().top < window.innerHeight;
  }
  window.addEventListener("scroll", function () { if (!moreDone && !fetching && nearEnd()) more(); }, { passive: true });

  function showCount() { count.textContent = T.tn("queue.count", total); }

  function load() {
    var mine = ++latest;
    pending = 0;
    fetching = null;
    stepAfter = false;
    moreDone = true;
    list.removeAttribute("aria-busy");
    showArrivalsBar();
    T.api("GET", viewUrl(PAGE, 0))
      .then(function (page) {
        if (mine !== latest) return;
        items = page.items;
        index = 0;
        total = page.total;
        moreDone = items.length >= total;
        latestId = page.latest_id || 0;
        picked = {};
        anchor = null;
        showCount();
        if (wanted !== null) openWanted(mine);
        else render();
      })
      .catch(function (err) {
        if (mine !== latest) return;
        T.clear(list);
        list.appendChild(el("p", { class: "error", text: t("common.error", { error: err.message }) }));
      });
  }

  function showArrivalsBar() {
    arrivals.hidden = pending === 0;
    arrivals.textContent = pending ? T.tn("queue.arrivals", pending) : "";
  }

  /* Polled: one count of the view's posts above the loaded page's largest id. A failed poll says
     nothing (the next one tries again); nothing on the page moves until the coordinator asks. */
  var polling = false;
  function poll() {
    if (polling || latestId === null || document.hidden) return;
    polling = true;
    var view = filter.value;
    var url = "/api/curator/queue/arrivals?after=" + latestId +
      (view === "filtered" ? "&filtered=true" : "&state=" + encodeURIComponent(view));
    var mine = latest;
    T.api("GET", url)
      .then(function (found) {
        if (mine !== latest) return;
        pending = found.count;
        showArrivalsBar();
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { polling = false; });
  }

  /* The arrivals, merged in at their rank; the card under the cursor keeps its place on the screen
     (the page scrolls by what was added above it) and keeps the focus and the cursor. */
  var ARRIVAL_PAGES = 5;  // at most 500 arrivals merged at once; a bigger wave is better read by reloading

  function fetchArrivals(after) {
    var got = [];
    var top = after;
    function more(offset) {
      var url = viewUrl(100, offset) + "&after=" + after;
      return T.api("GET", url).then(function (page) {
        got = got.concat(page.items);
        top = Math.max(top, page.latest_id || 0);
        if (page.items.length && got.length < page.total && offset / 100 + 1 < ARRIVAL_PAGES) return more(offset + 100);
        return { items: got, latest_id: top };
      });
    }
    return more(0);
  }

  function showArrivals() {
    if (!pending || latestId === null) return;
    var mine = latest;
    fetchArrivals(latestId)
      .then(function (page) {
        if (mine !== latest) return;
        var known = {};
        items.forEach(function (p) { known[p.id] = true; });
        var fresh = page.items.filter(function (p) { return !known[p.id]; });
        var keep = current();
        var keepNode = keep ? cards()[index] : null;
        var top = keepNode ? keepNode.getBoundingClientRect().top : 0;
        if (!items.length) T.clear(list);
        fresh.forEach(function (post) {
          var at = 0;
          while (at < items.length && score(items[at]) >= score(post)) at++;
          // Below the last card while more pages remain: it comes with the page it ranks in.
          if (at === items.length && !moreDone) return;
          var before = cards()[at] || null;
          items.splice(at, 0, post);
          list.insertBefore(cardFor(post), before);
        });
        latestId = Math.max(latestId, page.latest_id || 0);
        total += fresh.length;
        pending = 0;
        showArrivalsBar();
        showCount();
        if (keep) {
          index = indexOf(keep.id);
          paint();
          window.scrollBy(0, keepNode.getBoundingClientRect().top - top);
          keepNode.focus({ preventScroll: true });
        } else {
          select(0);
        }
        paintPicks();
        T.toast(T.tn("queue.arrivals_added", fresh.length), "ok");
      })
      .catch(failed);
  }

  arrivals.addEventListener("click", showArrivals);
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });

  /* --- decisions ------------------------------------------------------------------------------------ */

  function refresh(ids) {
    return Promise.all(ids.map(function (id) {
      return T.api("GET", "/api/curator/posts/" + id).then(function (fresh) {
        var i = indexOf(id);
        if (i < 0) return i;
        items[i] = fresh;
        replaceCard(i);
        return i;
      });
    }));
  }

  function readOnly() {
    if (canReview) return false;
    T.toast(t("queue.read_only"), "warn");
    return true;
  }

  var MOVES = ["approve", "reject", "feature", "archive", "reopen"];

  function act(action) {
    if (!items.length || busy || readOnly()) return;
    if (hasPicks()) { bulk(action, {}); return; }
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
      .catch(failed)
      .then(function () { busy = false; });
  }

  /* One action on the selected posts: one batch, one undo step. What was skipped is said with the
     first reason; the rest is applied. */
  function bulk(action, extra) {
    var ids = pickedIds();
    if (!ids.length || busy || readOnly()) return;
    var body = { action: action, post_ids: ids };
    Object.keys(extra).forEach(function (k) { body[k] = extra[k]; });
    busy = true;
    T.api("POST", "/api/curator/decisions/bulk", body)
      .then(function (result) {
        var applied = result.applied || [];
        var skipped = result.skipped || [];
        applied.forEach(function (o) {
          var i = indexOf(o.post_id);
          if (i >= 0 && o.to_state) items[i].queue_state = o.to_state;
        });
        var done = applied.map(function (o) { return o.post_id; });
        var next = body.note || body.add_tags || body.remove_tags || action === "assign_product"
          ? refresh(done) : Promise.resolve(done.map(function (id) { var i = indexOf(id); replaceCard(i); return i; }));
        return next.then(function () {
          if (MOVES.indexOf(action) >= 0) clearPicks();
          if (applied.length) T.toast(T.tn("queue.bulk_done", applied.length), "ok");
          if (skipped.length) T.toast(T.tn("queue.bulk_skipped", skipped.length, { reason: skipped[0].reason }), "warn");
        });
      })
      .catch(failed)
      .then(function () { busy = false; });
  }

  function setRights(post, status) {
    T.api("POST", "/api/curator/posts/" + post.id + "/rights", { status: status })
      .then(function () { return refresh([post.id]); })
      .then(function () { T.toast(t("queue.done.rights"), "ok"); })
      .catch(failed);
  }

  /* Ask the authors of these posts for usage rights (one request each); a post whose platform cannot
     post the request shows its text and consent link to copy on its card. */
  function askRights(ids) {
    if (!ids.length || readOnly()) return;
    T.api("POST", "/api/rights/requests", { post_ids: ids })
      .then(function (batch) {
        var made = batch.created.map(function (c) { return c.request.post_id; });
        return refresh(made).then(function () {
          if (batch.created.length) T.toast(T.tn("rights.requested_n", batch.created.length), "ok");
          if (batch.skipped.length) {
            T.toast(T.tn("queue.bulk_skipped", batch.skipped.length, { reason: batch.skipped[0].reason }), "warn");
          }
        });
      })
      .catch(failed);
  }

  function rightsDecision(post, grant) {
    if (readOnly()) return;
    T.api("POST", "/api/rights/requests/" + post.rights_request.id + "/decision", { grant: grant })
      .then(function () { return refresh([post.id]); })
      .then(function () { T.toast(t("queue.done.rights_decision"), "ok"); })
      .catch(failed);
  }

  function reask(post) {
    if (readOnly()) return;
    T.api("POST", "/api/rights/requests/" + post.rights_request.id + "/reask")
      .then(function (batch) {
        return refresh([post.id]).then(function () {
          if (batch.created.length) T.toast(T.tn("rights.requested_n", batch.created.length), "ok");
          else if (batch.skipped.length) T.toast(batch.skipped[0].reason, "warn");
        });
      })
      .catch(failed);
  }

  function requestRights() {
    if (hasPicks()) askRights(pickedIds());
    else if (current()) askRights([current().id]);
  }

  /* --- notes and tags ---------------------------------------------------------------------------------- */

  var tagsLoaded = false;
  function loadTags() {
    if (tagsLoaded) return;
    tagsLoaded = true;
    T.api("GET", "/api/curator/tags").then(function (page) {
      T.clear(knownTags);
      page.items.forEach(function (row) { knownTags.appendChild(el("option", { value: row.tag })); });
    }).catch(function () { tagsLoaded = false; });
  }

  var noteTargets = [];
  function openNote(focusTags) {
    if (!items.length || readOnly()) return;
    noteTargets = hasPicks() ? pickedIds() : [current().id];
    noteFor.textContent = T.tn("queue.note_for", noteTargets.length);
    noteText.value = "";
    noteTags.value = "";
    noteDecision.value = "";
    T.clear(noteCurrentTags);
    var single = noteTargets.length === 1 ? items[indexOf(noteTargets[0])] : null;
    var tags = single ? single.tags || [] : [];
    noteCurrent.hidden = !tags.length;
    tags.forEach(function (tag) {
      noteCurrentTags.appendChild(el("label", {}, [el("input", { type: "checkbox", value: tag, checked: true }), " " + tag]));
    });
    loadTags();
    noteDialog.returnValue = "";
    noteDialog.showModal();
    (focusTags ? noteTags : noteText).focus();
  }

  function tagsFrom(text) {
    return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  byId("note-off-topic").addEventListener("click", function () {
    var words = t("queue.off_topic_text");
    var text = noteText.value.trim();
    if (text.toLowerCase().indexOf(words) < 0) noteText.value = text ? text + "; " + words : words;
    if (!noteDecision.value) noteDecision.value = "reject";
    noteText.focus();
  });

  noteDialog.addEventListener("keydown", function (e) {
    var submit = e.key === "Enter" && (e.ctrlKey || e.metaKey || e.target === noteTags);
    if (submit) {
      e.preventDefault();
      noteDialog.close("save");
    }
  });

  noteDialog.addEventListener("close", function () {
    if (noteDialog.returnValue !== "save") { select(index); return; }
    var note = noteText.value.trim();
    var add = tagsFrom(noteTags.value);
    var remove = [];
    noteCurrentTags.querySelectorAll("input").forEach(function (box) { if (!box.checked) remove.push(box.value); });
    var decision = noteDecision.value;
    var body = {};
    if (note) body.note = note;
    if (add.length) body.add_tags = add;
    if (remove.length) body.remove_tags = remove;
    var action = decision || (note ? "note" : (add.length || remove.length ? "tag" : ""));
    if (!action) { T.toast(t("queue.nothing_to_save"), "warn"); select(index); return; }
    var ids = noteTargets;
    var done = action === "note" ? "queue.done.note" : action === "tag" ? "queue.done.tag" : "queue.done." + action;
    var call = ids.length > 1 || hasPicks()
      ? T.api("POST", "/api/curator/decisions/bulk", Object.assign({ action: action, post_ids: ids }, body))
      : action === "tag"
        ? T.api("POST", "/api/curator/posts/" + ids[0] + "/tags", { add: add, remove: remove })
        : T.api("POST", "/api/curator/posts/" + ids[0] + "/decision", Object.assign({ action: action }, body));
    busy = true;
    tagsLoaded = false;
    call
      .then(function (result) {
        var skipped = result.skipped || [];
        return refresh((result.applied || []).map(function (o) { return o.post_id; })).then(function () {
          var moved = MOVES.indexOf(action) >= 0 && (result.applied || []).length;
          // A decision moves on, as its key does; a note or tags stay on the card.
          if (moved && !hasPicks()) select(indexOf(ids[0]) + 1);
          else select(index);
          if (MOVES.indexOf(action) >= 0) clearPicks();
          if ((result.applied || []).length) T.toast(t(done), "ok");
          if (skipped.length) T.toast(T.tn("queue.bulk_skipped", skipped.length, { reason: skipped[0].reason }), "warn");
        });
      })
      .catch(failed)
      .then(function () { busy = false; });
  });

  /* --- the duplicate group ----------------------------------------------------------------------------- */

  var groupOriginal = null;
  function openGroup() {
    var post = current();
    if (!post) return;
    var lead = post.duplicate_of || post.id;
    T.api("GET", "/api/curator/posts/" + lead)
      .then(function (original) {
        groupOriginal = original;
        T.clear(groupList);
        var members = [{ id: original.id, platform: original.platform, author_handle: original.author.handle,
          url: original.url, created_at: original.created_at, queue_state: original.queue_state, original: true }]
          .concat(original.copies || []);
        members.forEach(function (m) {
          var label = m.platform + " @" + m.author_handle;
          groupList.appendChild(el("li", { class: m.id === post.id ? "current" : null }, [
            T.safeUrl(m.url)
              ? el("a", { href: m.url, target: "_blank", rel: "noopener noreferrer nofollow ugc", text: label })
              : el("span", { text: label }),
            el("time", { datetime: m.created_at, text: T.fmtDate(m.created_at) }),
            el("span", { class: "badge state state-" + m.queue_state, text: t("state." + m.queue_state) }),
            m.original ? el("span", { class: "badge", text: t("queue.group_original") }) : null,
            m.id === post.id ? el("span", { class: "muted", text: t("queue.group_this") }) : null
          ]));
        });
        var more = (original.copy_count || 0) - (original.copies || []).length;
        if (more > 0) groupList.appendChild(el("li", { class: "muted", text: T.tn("queue.group_more", more) }));
        groupDialog.showModal();
      })
      .catch(failed);
  }

  function decideGroup(action) {
    var original = groupOriginal;
    groupDialog.close("done");
    if (!original || readOnly()) return;
    T.api("POST", "/api/curator/posts/" + original.id + "/decision", { action: action, include_copies: true })
      .then(function (result) {
        var ids = (result.applied || []).map(function (o) { return o.post_id; });
        return refresh(ids.filter(function (id) { return indexOf(id) >= 0; })).then(function () {
          T.toast(T.tn("queue.bulk_done", ids.length), "ok");
          select(index);
        });
      })
      .catch(failed);
  }
  if (byId("group-reject")) {
    byId("group-reject").addEventListener("click", function () { decideGroup("reject"); });
    byId("group-archive").addEventListener("click", function () { decideGroup("archive"); });
  }
  groupDialog.addEventListener("close", function () { if (groupDialog.returnValue !== "done") select(index); });

  /* --- products ------------------------------------------------------------------------------------------ */

  function loadProducts() {
    if (products) return Promise.resolve(products);
    return T.api("GET", "/api/curator/products").then(function (page) { products = page.items; return products; });
  }

  var productTargets = [];
  function pickProduct() {
    if (!items.length || readOnly()) return;
    productTargets = hasPicks() ? pickedIds() : [current().id];
    var posts = productTargets.map(function (id) { return items[indexOf(id)]; });
    var brands = {};
    posts.forEach(function (p) { brands[p.brand_id] = true; });
    var mixed = Object.keys(brands).length > 1;
    loadProducts().then(function (rows) {
      T.clear(productSelect);
      productSelect.appendChild(el("option", { value: "", text: t("queue.no_product") }));
      rows.filter(function (p) { return mixed || posts[0].brand_id === null || p.brand_id === posts[0].brand_id; })
        .forEach(function (p) {
          var option = el("option", { value: String(p.id), text: mixed && p.brand ? p.brand + " · " + p.name : p.name });
          /* The assigned product, or else the suggested one: saving it confirms the suggestion. */
          if (posts.length === 1 && posts[0].product && posts[0].product.id === p.id) option.selected = true;
          productSelect.appendChild(option);
        });
      if (productSelect.selectedIndex < 0) productSelect.selectedIndex = 0;
      dialog.returnValue = "";
      dialog.showModal();
      productSelect.focus();
    }).catch(failed);
  }

  productSelect.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); dialog.close("save"); }
  });
  productSelect.addEventListener("dblclick", function () { dialog.close("save"); });
  dialog.addEventListener("close", function () {
    if (dialog.returnValue !== "save") { select(index); return; }
    var value = productSelect.value;
    var productId = value ? Number(value) : null;
    if (productTargets.length > 1 || hasPicks()) {
      bulk("assign_product", { product_id: productId });
      return;
    }
    var i = indexOf(productTargets[0]);
    var post = items[i];
    T.api("POST", "/api/curator/posts/" + post.id + "/product", { product_id: productId })
      .then(function () {
        var chosen = (products || []).filter(function (p) { return p.id === productId; })[0];
        post.product = chosen ? { id: chosen.id, name: chosen.name, assigned: true } : null;
        replaceCard(i);
        select(i);
        T.toast(t("queue.done.product"), "ok");
      })
      .catch(failed);
  });

  /* --- corrections: what the scorer read (sentiment, product, content types), as the coordinator sees
     it. The label wins at once and teaches the brand's calibration; only what changed is sent. ---------- */

  function currentProduct(post) {
    return post.product ? post.product.id : null;
  }

  function openCorrect() {
    if (!items.length || readOnly()) return;
    var post = current();
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
    }).catch(failed);
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
      .catch(failed);
  });

  /* --- undo ------------------------------------------------------------------------------------------------ */

  function undo() {
    if (busy || readOnly()) return;
    busy = true;
    T.api("POST", "/api/curator/decisions/undo")
      .then(function (result) {
        var ids = (result.restored || []).map(function (o) { return o.post_id; });
        return refresh(ids).then(function (found) {
          var shown = found.filter(function (i) { return i >= 0; });
          if (shown.length) select(Math.min.apply(null, shown));
          T.toast(t("queue.done.undo"), "ok");
        });
      })
      .catch(function (err) {
        if (err.status === 409) T.toast(t("queue.nothing_to_undo"), "warn");
        else failed(err);
      })
      .then(function () { busy = false; });
  }

  /* --- keys ------------------------------------------------------------------------------------------------ */

  var askAll = byId("ask-rights-all");
  if (askAll) askAll.addEventListener("click", function () {
    askRights(items.map(function (p) { return p.id; }).slice(0, 100));
  });

  if (bulkBar) bulkBar.addEventListener("click", function (e) {
    var target = e.target.closest("button[data-bulk]");
    if (!target) return;
    var what = target.getAttribute("data-bulk");
    if (what === "clear") { clearPicks(); select(index); return; }
    if (what === "note") openNote(false);
    else if (what === "tags") openNote(true);
    else if (what === "product") pickProduct();
    else if (what === "rights") requestRights();
    else bulk(what, {});
  });

  var TYPING = { TEXTAREA: true, SELECT: true };
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (dialogs.some(function (d) { return d.open; })) return;
    var target = e.target;
    if (target && (TYPING[target.tagName] || (target.tagName === "INPUT" && target.type !== "checkbox"))) return;
    var handlers = {
      j: function () { select(index + 1); },
      k: function () { select(index - 1); },
      x: function () { togglePick(index); },
      X: function () { pickRange(index); },
      Escape: function () { if (hasPicks()) clearPicks(); select(index); },
      a: function () { act("approve"); },
      r: function () { act("reject"); },
      f: function () { act("feature"); },
      e: function () { act("archive"); },
      o: function () { act("reopen"); },
      n: function () { openNote(false); },
      t: function () { openNote(true); },
      p: pickProduct,
      q: requestRights,
      g: function () { if (current()) openGroup(); },
      c: openCorrect,
      u: undo,
      l: showArrivals
    };
    var handler = handlers[e.key];
    if (!handler) return;
    e.preventDefault();
    handler();
  });

  filter.addEventListener("change", function () { filter.blur(); load(); });
  load();
})();
