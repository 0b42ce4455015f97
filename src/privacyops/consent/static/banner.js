/* privacyops consent banner: plain JavaScript, no framework.
 *
 * Embed (the service answers /consent/banner.js, /consent/banner.css, /api/v1/consent/config):
 *   <link rel="stylesheet" href="https://privacy.example.com/consent/banner.css">
 *   <script src="https://privacy.example.com/consent/banner.js" defer></script>
 * and mark every non-essential tag:
 *   <script type="text/plain" data-category="analytics" data-vendor="google-analytics" src="…">
 *   <iframe data-category="widgets" data-src="…"></iframe>
 * Nothing marked runs before consent to its category (and vendor, when data-vendor is given):
 * GDPR Art. 6(1)(a), 7; ePrivacy Directive Art. 5(3); EDPB Guidelines 05/2020.
 * API: window.privacyopsConsent.open() | .withdraw() | .allowed(category, vendor) | .state()
 */
(function () {
  "use strict";
  var w = window, d = document, me = d.currentScript;
  var base = (me && me.getAttribute("data-endpoint")) || (me ? new URL(me.src, location.href).origin : location.origin);
  var NAME = "po_consent", DAY = 864e5;
  var cfg, state, gpc = false, root, box, cats, lastFocus, reopenBtn;

  // Google Consent Mode v2: everything denied until a choice says otherwise.
  w.dataLayer = w.dataLayer || [];
  if (typeof w.gtag !== "function") w.gtag = function () { w.dataLayer.push(arguments); };
  w.gtag("consent", "default", { ad_storage: "denied", analytics_storage: "denied",
    ad_user_data: "denied", ad_personalization: "denied", wait_for_update: 500 });

  function readState() {
    var m = d.cookie.match(/(?:^|;\s*)po_consent=([^;]*)/);
    if (!m) return null;
    try { return JSON.parse(decodeURIComponent(m[1])); } catch (e) { return null; }
  }
  function writeState() {
    d.cookie = NAME + "=" + encodeURIComponent(JSON.stringify(state)) + "; Path=/; SameSite=Lax; Expires=" +
      new Date(state.x).toUTCString() + (location.protocol === "https:" ? "; Secure" : "");
  }
  function newId() {
    var a = new Uint8Array(16), s = "";
    (w.crypto || w.msCrypto).getRandomValues(a);
    for (var i = 0; i < a.length; i++) s += (a[i] + 256).toString(16).slice(1);
    return s;
  }
  function each(list, fn) { for (var i = 0; i < list.length; i++) fn(list[i], i); }
  function has(list, x) { return list.indexOf(x) >= 0; }
  function refused() { return gpc ? cfg.gpc_refuses : []; }

  function allowed(cat, vendor) {
    if (cat === "necessary") return true;
    if (!state || !has(state.c, cat) || has(refused(), cat)) return false;
    return !vendor || !has(state.d, vendor);
  }

  // Run (or load) every marked element whose category and vendor are consented.
  function unblock() {
    each(d.querySelectorAll("[data-category]"), function (el) {
      if (!allowed(el.getAttribute("data-category"), el.getAttribute("data-vendor"))) return;
      if (el.tagName === "SCRIPT") {
        if (el.type !== "text/plain") return;
        var s = d.createElement("script"), src = el.getAttribute("data-src") || el.getAttribute("src");
        each(el.attributes, function (a) { if (a.name !== "type" && a.name !== "src") s.setAttribute(a.name, a.value); });
        s.type = el.getAttribute("data-type") || "text/javascript";
        if (src) { s.src = src; s.async = false; } else s.text = el.text;
        el.parentNode.replaceChild(s, el);
      } else if (el.hasAttribute("data-src")) {
        el.setAttribute("src", el.getAttribute("data-src"));
        el.removeAttribute("data-src");
      }
    });
  }

  function signal() {
    var a = allowed("analytics") ? "granted" : "denied", ad = allowed("advertising") ? "granted" : "denied";
    w.gtag("consent", "update", { analytics_storage: a, ad_storage: ad, ad_user_data: ad, ad_personalization: ad });
  }

  // Withdrawal (Art. 7(3)): delete the cookies the manifest lists for what is no longer allowed.
  function clearCookies(prev) {
    var names = [];
    each(cfg.categories, function (c) {
      each(c.vendors, function (v) {
        if (prev && allowed(c.id, v.id) === false && (has(prev.c, c.id) && !has(prev.d, v.id))) names = names.concat(v.cookies || []);
      });
    });
    if (!names.length) return;
    var parts = location.hostname.split("."), doms = [""];
    for (var i = 0; i < parts.length - 1; i++) doms.push("; Domain=." + parts.slice(i).join("."));
    each(d.cookie.split(";"), function (kv) {
      var n = kv.split("=")[0].trim();
      var hit = names.some(function (p) { return p.slice(-1) === "*" ? n.indexOf(p.slice(0, -1)) === 0 : n === p; });
      if (hit) each(doms, function (dm) { d.cookie = n + "=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT" + dm; });
    });
  }

  function record(action, granted, refusedVendors) {
    var prev = state, now = Date.now(), gpcCats = refused();
    granted = granted.filter(function (c) { return !has(gpcCats, c) && c !== "necessary"; });
    var categories = {}, vendors = {};
    each(cfg.categories, function (c) {
      var on = c.id === "necessary" || has(granted, c.id);
      categories[c.id] = on;
      each(c.vendors, function (v) { vendors[v.id] = on && !has(refusedVendors, v.id); });
    });
    state = { v: (prev && prev.v) || newId(), r: prev && prev.r, c: granted, d: refusedVendors,
      p: cfg.policy_version, b: cfg.banner_version, x: now + cfg.lifetime_days * DAY, g: gpc ? 1 : 0,
      q: action === "gpc" ? (prev && prev.q && prev.p === cfg.policy_version ? 1 : 0) : 1 };
    writeState();
    clearCookies(prev);
    signal();
    unblock();
    if (action !== "gpc") hide();
    var body = { visitor_id: state.v, action: action, categories: categories, vendors: vendors,
      banner_version: cfg.banner_version, policy_version: cfg.policy_version, language: cfg.language,
      text_hash: cfg.text_hash, page_url: location.href, gpc: gpc, previous_record_id: (prev && prev.r) || null };
    return fetch(cfg.endpoint, { method: "POST", mode: "cors",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (j && j.record_id) { state.r = j.record_id; state.x = Date.parse(j.expires_at) || state.x; writeState(); }
        return j;
      })["catch"](function () { return null; });
  }

  // --- the dialog ------------------------------------------------------------------------
  function h(tag, attrs, kids) {
    var el = d.createElement(tag);
    for (var k in attrs) if (attrs[k] !== null) el.setAttribute(k, attrs[k]);
    each(kids || [], function (c) { el.appendChild(typeof c === "string" ? d.createTextNode(c) : c); });
    return el;
  }
  function t(key) { return cfg.texts[key]; }
  function catName(id) { return cfg.texts.categories[id].name; }
  function button(key, act, cls) { return h("button", { type: "button", "class": cls || "po-btn", "data-act": act }, [t(key)]); }

  function build() {
    if (root) root.parentNode.removeChild(root);
    var gpcCats = refused(), intro = h("p", { id: "po-intro" }, [t("intro") + " "]);
    intro.appendChild(h("a", { href: cfg.policy_url, target: "_blank", rel: "noopener" }, [t("policy_link")]));
    cats = h("div", { "class": "po-cats", id: "po-cats", hidden: "" });
    each(cfg.categories, function (c) {
      var locked = c.id === "necessary" || has(gpcCats, c.id), on = c.id === "necessary" || allowed(c.id);
      var box = h("input", { type: "checkbox", id: "po-c-" + c.id, "data-cat": c.id, "aria-describedby": "po-d-" + c.id });
      box.checked = on; box.disabled = locked;
      var list = h("ul", { "class": "po-vendors" });
      each(c.vendors, function (v) {
        var vb = h("input", { type: "checkbox", id: "po-v-" + v.id, "data-vendor": v.id, "data-of": c.id });
        vb.checked = c.id === "necessary" || allowed(c.id, v.id); vb.disabled = locked;
        var links = [];
        if (v.policy) links = [" — ", h("a", { href: v.policy, target: "_blank", rel: "noopener" }, [t("vendor_policy")])];
        list.appendChild(h("li", {}, [vb, h("label", { "for": "po-v-" + v.id }, [v.name])].concat(links)));
      });
      var head = h("div", { "class": "po-cat-head" }, [box, h("label", { "for": "po-c-" + c.id }, [catName(c.id)])]);
      if (c.id === "necessary") head.appendChild(h("span", { "class": "po-tag" }, [t("always_on")]));
      var kids = [head, h("p", { id: "po-d-" + c.id }, [cfg.texts.categories[c.id].description])];
      if (c.vendors.length) kids.push(h("details", {}, [h("summary", {}, [t("vendors") + " (" + c.vendors.length + ")"]), list]));
      cats.appendChild(h("section", { "class": "po-cat", "data-category-id": c.id }, kids));
    });
    var select = h("select", { "aria-label": t("language"), "class": "po-lang" });
    each(cfg.languages, function (l) {
      var o = h("option", { value: l }, [l.toUpperCase()]); o.selected = l === cfg.language; select.appendChild(o);
    });
    var actions = h("div", { "class": "po-actions" }, [button("reject_all", "reject"), button("accept_all", "accept"),
      button("customize", "more", "po-link"), button("save", "save", "po-btn po-second")]);
    var kids = [h("h2", { id: "po-title" }, [t("title")]), intro];
    if (gpcCats.length) {
      kids.push(h("p", { "class": "po-gpc", role: "note" }, [t("gpc_note").replace("{categories}", gpcCats.map(catName).join(", "))]));
    }
    kids.push(cats, actions);
    var tools = h("div", { "class": "po-tools" }, [select]);
    if (state && state.q && state.c.length) tools.appendChild(button("withdraw", "withdraw", "po-link"));
    tools.appendChild(button("close", "close", "po-link"));
    kids.push(tools);
    box = h("div", { "class": "po-dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "po-title",
      "aria-describedby": "po-intro", tabindex: "-1", lang: cfg.language }, kids);
    root = h("div", { id: "po-consent", "class": "po-wrap", hidden: "" }, [box]);
    root.addEventListener("click", onClick);
    root.addEventListener("change", onChange);
    box.addEventListener("keydown", onKey);
    select.addEventListener("change", function () { load(select.value, true); });
    d.body.appendChild(root);
  }

  function onChange(e) {
    var el = e.target, cat = el.getAttribute("data-cat"), of = el.getAttribute("data-of");
    if (cat) each(cats.querySelectorAll('[data-of="' + cat + '"]'), function (v) { v.checked = el.checked; });
    if (of) {
      var any = false;
      each(cats.querySelectorAll('[data-of="' + of + '"]'), function (v) { any = any || v.checked; });
      d.getElementById("po-c-" + of).checked = any;
    }
  }

  function choices() {
    var granted = [], refusedVendors = [];
    each(cats.querySelectorAll("[data-cat]"), function (b) { if (b.checked) granted.push(b.getAttribute("data-cat")); });
    each(cats.querySelectorAll("[data-vendor]"), function (b) {
      if (!b.checked && has(granted, b.getAttribute("data-of"))) refusedVendors.push(b.getAttribute("data-vendor"));
    });
    return [granted, refusedVendors];
  }

  function all() { return cfg.categories.map(function (c) { return c.id; }); }

  function onClick(e) {
    var act = e.target.getAttribute && e.target.getAttribute("data-act");
    if (act === "accept") record("accept", all(), []);
    else if (act === "reject") record("reject", [], []);
    else if (act === "withdraw") record("withdraw", [], []);
    else if (act === "close") hide();
    else if (act === "more") expand();
    else if (act === "save") { var c = choices(); record("custom", c[0], c[1]); }
  }

  function expand() {
    cats.hidden = false;
    root.className = "po-wrap po-open";
    var first = cats.querySelector("input:not([disabled])");
    if (first) first.focus();
  }

  function focusables() {
    return Array.prototype.filter.call(box.querySelectorAll("button, a[href], input, select, summary"),
      function (el) { return !el.disabled && el.offsetParent !== null; });
  }

  // Focus stays in the dialog (WAI-ARIA APG dialog pattern); Esc closes it without consent.
  function onKey(e) {
    if (e.key === "Escape") { e.preventDefault(); hide(); return; }
    if (e.key !== "Tab") return;
    var f = focusables(), i = f.indexOf(d.activeElement);
    if (!f.length) return;
    if (e.shiftKey && i <= 0) { e.preventDefault(); f[f.length - 1].focus(); }
    else if (!e.shiftKey && i === f.length - 1) { e.preventDefault(); f[0].focus(); }
  }

  function show(detailed) {
    build();
    lastFocus = d.activeElement;
    root.hidden = false;
    if (detailed) expand(); else box.focus();
  }

  function hide() {
    if (!root || root.hidden) return;
    root.hidden = true;
    if (lastFocus && lastFocus.focus) lastFocus.focus();
  }

  function showReopen() {
    if (reopenBtn) { reopenBtn.textContent = t("reopen"); return; }
    reopenBtn = h("button", { type: "button", id: "po-consent-reopen", "class": "po-reopen", "aria-haspopup": "dialog" }, [t("reopen")]);
    reopenBtn.addEventListener("click", function () { show(true); });
    d.body.appendChild(reopenBtn);
  }

  function language() {
    var l = (me && me.getAttribute("data-lang")) || d.documentElement.lang || navigator.language || "en";
    try { var s = w.localStorage.getItem("po_lang"); if (s) l = s; } catch (e) { /* storage blocked */ }
    return l;
  }

  function load(lang, reshow) {
    if (reshow) { try { w.localStorage.setItem("po_lang", lang); } catch (e) { /* storage blocked */ } }
    return fetch(base + "/api/v1/consent/config?lang=" + encodeURIComponent(lang), { mode: "cors" })
      .then(function (r) { return r.json(); })
      .then(function (c) {
        cfg = c;
        if (reshow) { var open = root && !root.hidden, more = cats && !cats.hidden; build(); if (open) show(more); showReopen(); return; }
        start();
      });
  }

  function start() {
    state = readState();
    gpc = !!(navigator.globalPrivacyControl || cfg.gpc);
    // Ask again when the policy changed or the consent aged past its lifetime.
    var valid = state && state.p === cfg.policy_version && state.x > Date.now();
    if (!valid && state) state = { v: state.v, r: state.r, c: [], d: [], p: cfg.policy_version, x: 0, q: 0 };
    signal();
    unblock();
    if (gpc && !(valid && state.g)) record("gpc", valid ? state.c : [], valid ? state.d : []);
    showReopen();
    if (!(valid && state.q)) show(false);
    if (w.MutationObserver) new MutationObserver(unblock).observe(d.documentElement, { childList: true, subtree: true });
  }

  w.privacyopsConsent = {
    open: function () { show(true); },
    withdraw: function () { return record("withdraw", [], []); },
    allowed: function (c, v) { return allowed(c, v); },
    state: function () { return state; }
  };
  d.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-po-open]")) { e.preventDefault(); show(true); }
  });
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", function () { load(language()); });
  else load(language());
})();
