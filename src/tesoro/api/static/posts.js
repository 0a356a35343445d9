/* A post as a card, shared by the queue and the library. Text goes in with textContent only. */
(function () {
  "use strict";
  var T = window.Tesoro;
  var el = T.el, t = T.t;

  function media(post) {
    var items = post.media || [];
    if (!items.length) return null;
    var box = el("div", { class: "media" });
    items.slice(0, 4).forEach(function (m) {
      var original = m.type === "photo" ? m.url || m.preview_url : m.preview_url;
      // Tesoro's own thumbnail once the media pipeline made it (same origin, no metadata).
      var src = m.thumbnail_url || original;
      if ((m.blocked && !m.thumbnail_url) || !T.safeUrl(src)) {
        box.appendChild(el("span", { class: "media-blocked", text: t("queue.media_blocked") }));
        return;
      }
      var img = el("img", { src: src, alt: m.alt_text || "", loading: "lazy", referrerpolicy: "no-referrer" });
      var wrap = el("a", { href: m.url || original || src, target: "_blank", rel: "noopener noreferrer nofollow ugc",
        class: m.type === "photo" ? "thumb" : "thumb play" }, [img]);
      // A picture that cannot be loaded (expired on the platform, corrupt) says so in its own words
      // instead of the browser's broken-image icon; the link to the original stays.
      img.addEventListener("error", function () {
        wrap.classList.add("failed");
        wrap.replaceChild(el("span", { class: "media-failed", text: t("queue.media_failed") }), img);
      });
      box.appendChild(wrap);
    });
    return box;
  }

  function treasureExplanation(post) {
    var treasure = post.treasure;
    var details = el("details", { class: "why" }, [el("summary", { text: t("queue.why") })]);
    if (treasure.filtered) {
      details.appendChild(el("p", { class: "filtered-reason" }, [
        el("strong", { text: t("queue.filtered") + ": " }), el("span", { text: treasure.filtered })]));
    }
    var list = el("ul");
    var components = treasure.components || {};
    Object.keys(components).forEach(function (name) {
      var part = components[name] || {};
      var value = typeof part.value === "number" ? T.fmtNumber(part.value, 2) : "";
      var share = typeof part.contribution === "number" ? " (+" + T.fmtNumber(part.contribution, 3) + ")" : "";
      list.appendChild(el("li", { "data-component": name }, [
        el("strong", { text: t("explain." + name) }), " ",
        el("span", { class: "num", text: value + share }),
        part.detail ? el("span", { class: "muted", text: " · " + part.detail }) : null
      ]));
    });
    if (typeof treasure.learned === "number") {
      list.appendChild(el("li", {}, [el("strong", { text: t("queue.learned") }), " ",
        el("span", { class: "num", text: T.fmtNumber(treasure.learned, 2) })]));
    }
    details.appendChild(list);
    return details;
  }

  function explanation(post) {
    if (post.treasure && typeof post.treasure === "object") return treasureExplanation(post);
    if (!("explanation" in post)) return null;
    var details = el("details", { class: "why" }, [el("summary", { text: t("queue.why") })]);
    if (!post.scored) {
      details.appendChild(el("p", { class: "muted", text: t("queue.not_scored") }));
      return details;
    }
    var list = el("ul");
    post.explanation.forEach(function (part) {
      var value = part.value === null || part.value === undefined ? "" : T.fmtNumber(part.value, 2);
      list.appendChild(el("li", {}, [
        el("strong", { text: t("explain." + part.key) }), " ", value ? el("span", { class: "num", text: value }) : null,
        part.detail ? el("span", { class: "muted", text: " · " + part.detail }) : null
      ]));
    });
    details.appendChild(list);
    return details;
  }

  function duplicates(post) {
    var copies = post.copies || (post.duplicates || []).map(function (d) {
      return { platform: d.platform, author_handle: d.handle, url: d.url };
    });
    if (!copies.length) return null;
    var list = el("ul", { class: "dups" });
    copies.forEach(function (d) {
      var label = d.platform + " @" + d.author_handle;
      list.appendChild(el("li", {}, [T.safeUrl(d.url)
        ? el("a", { href: d.url, target: "_blank", rel: "noopener noreferrer nofollow", text: label })
        : el("span", { text: label })]));
    });
    var count = typeof post.copy_count === "number" ? post.copy_count : copies.length;
    return el("div", { class: "dup-box" }, [
      el("span", { class: "muted", text: t("queue.duplicates") + ": " }), list,
      el("span", { class: "badge copies", text: T.tn("queue.copies", count) })]);
  }

  function score(post) {
    if (post.treasure && typeof post.treasure.score === "number") return post.treasure.score;
    return post.treasure_score;
  }

  function product(post) {
    if (!post.product) return null;
    if (post.product.assigned === false) {
      return el("span", { class: "badge product-suggested", title: t("queue.suggested"),
        text: post.product.name + " (" + t("queue.suggested") + ")" });
    }
    return el("span", { class: "badge product", text: post.product.name });
  }

  /* Content that changed after approval: the approved words against the current ones (removed
     struck through, added marked), and how many media came and went. Text nodes only, never HTML. */
  function changed(post) {
    var c = post.change;
    if (!c) return null;
    var words = (c.diff || []).map(function (part) {
      if (part.op === "removed") return el("del", { text: part.text });
      if (part.op === "added") return el("ins", { text: part.text });
      return el("span", { text: part.text });
    });
    var added = (c.media_added || []).length;
    var removed = (c.media_removed || []).length;
    return el("section", { class: "change" }, [
      el("p", { class: "change-title", text: t("queue.changed", { approved: c.approved_version, version: c.version }) }),
      el("p", { class: "diff" }, words),
      added || removed ? el("p", { class: "muted", text: t("queue.changed_media", { added: added, removed: removed }) }) : null
    ]);
  }

  /* Why a post is in the filtered view, on the card itself (not only inside "why it ranks here"). */
  function filteredNote(post) {
    var reason = post.treasure && post.treasure.filtered;
    if (!reason) return null;
    return el("p", { class: "filtered-note", role: "note" }, [
      el("strong", { text: t("queue.filtered") + ": " }), el("span", { text: reason })]);
  }

  /* What the scorer read (sentiment, content types), marked where a coordinator corrected it: the
     detail's corrections, or the fields corrected on this page. */
  function judgement(post) {
    var types = post.content_types || [];
    if (!post.sentiment && !types.length) return null;
    var corrected = {};
    (post.corrections || []).forEach(function (c) { corrected[c.field] = true; });
    (post.corrected || []).forEach(function (field) { corrected[field] = true; });
    function mark(field) {
      return corrected[field] ? el("span", { class: "corrected", title: t("queue.corrected"), text: " ✎" }) : null;
    }
    var parts = [];
    if (post.sentiment) {
      parts.push(el("span", { class: "badge sentiment sentiment-" + post.sentiment },
        [t("sentiment." + post.sentiment), mark("sentiment")]));
    }
    types.forEach(function (type) { parts.push(el("span", { class: "badge ctype", text: t("ctype." + type) })); });
    if (types.length) parts.push(mark("content_type"));
    if (corrected.product) {
      parts.push(el("span", { class: "badge corrected", title: t("queue.corrected"), text: t("queue.product") + " ✎" }));
    }
    return el("p", { class: "judgement" }, parts);
  }

  function card(post, options) {
    var opts = options || {};
    var author = post.author || {};
    var header = el("header", { class: "meta" }, [
      el("span", { class: "platform", text: post.platform }),
      el("a", { href: "/ui/authors/" + encodeURIComponent(author.id), class: "author",
        text: (author.display_name || author.name || author.handle) + " @" + author.handle }),
      el("time", { datetime: post.created_at, text: T.fmtDate(post.created_at) }),
      el("span", { class: "badge state state-" + post.queue_state, text: t("state." + post.queue_state) }),
      el("span", { class: "badge rights rights-" + post.rights_status, text: t("rights." + post.rights_status) }),
      product(post),
      score(post) !== null && score(post) !== undefined
        ? el("span", { class: "score", title: t("queue.treasure"), text: "★ " + T.fmtNumber(score(post), 2) })
        : null,
      T.safeUrl(post.url) ? el("a", { href: post.url, target: "_blank", rel: "noopener noreferrer nofollow ugc",
        class: "open", text: t("common.open_post") }) : null
    ]);
    var body = [header];
    if (post.title) body.push(el("h3", { class: "title", text: post.title }));
    body.push(filteredNote(post));
    body.push(el("p", { class: "text", text: post.text }));
    body.push(judgement(post));
    body.push(changed(post));
    body.push(media(post));
    body.push(explanation(post));
    body.push(duplicates(post));
    if (opts.footer) body.push(opts.footer);
    return el("article", { class: "card", "data-id": post.id, tabindex: "-1", role: opts.role || null }, body);
  }

  window.Tesoro.postCard = card;
})();
