/* Forms kept on the phone while it has no connection, and sent when the connection returns (any module).
 *
 * A form with data-offline="<what it is, e.g. a resident's name>" and data-offline-owner="<user id>" carries a
 * hidden field named by data-offline-key (default "client_key"): on load this script puts a key made on the
 * phone into it. When the form is submitted while the browser says it is offline, its fields are written to
 * IndexedDB (idb-keyval) under that key instead, the form is cleared and given a new key. Whenever the page
 * is online (on load, on the "online" event, every 30 s, or the "send now" button), every kept form of the
 * signed-in person is posted to its action with the current page's CSRF token; it is removed only when the
 * server has accepted it (a redirect to a page that is not the sign-in page). The server keeps one record per
 * key (a unique constraint), so a form sent twice - a response lost on the way back, two tabs sending at
 * once - is kept once. A form the server refuses (422, 403, 404) stays, marked with the server's message,
 * until the person discards it.
 *
 * An element with data-offline-outbox lists what waits to be sent; its data-* attributes carry the words
 * (translated by the page): data-waiting ("{n}" waiting), data-none, data-saved, data-refused, data-sign-in,
 * data-discard, data-send-now.
 */
(function () {
  "use strict";

  if (!window.idbKeyval || !window.indexedDB) { return; }
  var kv = window.idbKeyval;
  var store = kv.createStore("wgt-offline", "outbox");
  var sending = false;

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function outbox() { return document.querySelector("[data-offline-outbox]"); }

  function owner() {
    var box = outbox();
    var form = document.querySelector("form[data-offline]");
    return (box && box.getAttribute("data-owner")) || (form && form.getAttribute("data-offline-owner")) || "";
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function words(name, n) {
    var box = outbox();
    var text = (box && box.getAttribute("data-" + name)) || "";
    return text.replace("{n}", String(n));
  }

  function mine() {
    var me = owner();
    return kv.values(store).then(function (items) {
      return items.filter(function (item) { return item && item.owner === me; })
        .sort(function (a, b) { return a.savedAt < b.savedAt ? -1 : 1; });
    });
  }

  function render() {
    var box = outbox();
    if (!box) { return Promise.resolve(); }
    return mine().then(function (items) {
      var status = box.querySelector("[data-offline-status]");
      var list = box.querySelector("[data-offline-list]");
      var button = box.querySelector("[data-offline-send]");
      status.textContent = items.length ? words("waiting", items.length) : words("none", 0);
      box.classList.toggle("offline-waiting", items.length > 0);
      if (button) { button.hidden = !items.length; }
      list.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.setAttribute("data-offline-item", item.key);
        var when = new Date(item.savedAt);
        var text = item.label + " · " + words("saved", 0) + " " +
          when.toLocaleString(document.documentElement.lang || "zh-CN", { hour12: false });
        li.appendChild(document.createTextNode(text));
        if (item.state === "refused" || item.state === "sign-in") {
          var why = document.createElement("small");
          why.className = "field-error";
          why.textContent = item.state === "sign-in" ? words("sign-in", 0) : words("refused", 0) + " " + item.message;
          li.appendChild(why);
          if (item.state === "refused") {
            var discard = document.createElement("button");
            discard.type = "button";
            discard.className = "secondary outline";
            discard.textContent = words("discard", 0);
            discard.addEventListener("click", function () { kv.del(item.key, store).then(render); });
            li.appendChild(discard);
          }
        }
        list.appendChild(li);
      });
    });
  }

  function refusal(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var parts = doc.querySelectorAll("main [role=alert], main .field-error");
    var text = Array.prototype.map.call(parts, function (p) { return p.textContent.trim(); })
      .filter(Boolean).join(" ");
    return text || (doc.querySelector("main h1") || { textContent: "" }).textContent.trim();
  }

  function sendOne(item) {
    var body = new URLSearchParams();
    item.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.set("csrf_token", csrfToken());
    return fetch(item.action, { method: "POST", body: body, credentials: "same-origin", redirect: "follow" })
      .then(function (response) {
        var url = new URL(response.url, window.location.href);
        if (response.redirected && /\/login$/.test(url.pathname)) {
          item.state = "sign-in";
          return kv.set(item.key, item, store).then(function () { return false; });
        }
        if (response.ok && response.redirected) {
          return kv.del(item.key, store).then(function () { return true; });
        }
        if (response.status >= 500 || response.status === 429) { return false; }
        return response.text().then(function (html) {
          item.state = "refused";
          item.message = refusal(html);
          return kv.set(item.key, item, store).then(function () { return true; });
        });
      });
  }

  function flush() {
    if (sending || !navigator.onLine) { return Promise.resolve(); }
    sending = true;
    return mine().then(function (items) {
      var waiting = items.filter(function (item) { return item.state !== "refused"; });
      return waiting.reduce(function (chain, item) {
        return chain.then(function (go) { return go ? sendOne(item) : false; });
      }, Promise.resolve(true));
    }).catch(function () { return false; })  // a network error: everything waits for the next try
      .then(function () { sending = false; return render(); });
  }

  function keep(form) {
    var keyField = form.elements[form.getAttribute("data-offline-key") || "client_key"];
    var key = keyField.value || newKey();
    keyField.value = key;
    var data = new FormData(form);
    var fields = [];
    data.forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") { fields.push([name, value]); }
    });
    var at = form.elements.visited_at;
    if (at && !at.value) {
      // when it took place, not when it was sent: the time on the phone now, with its offset
      fields = fields.filter(function (pair) { return pair[0] !== "visited_at"; });
      fields.push(["visited_at", new Date().toISOString()]);
    }
    var item = { key: key, action: form.action, fields: fields, label: form.getAttribute("data-offline"),
      owner: form.getAttribute("data-offline-owner") || "", savedAt: new Date().toISOString(),
      state: "waiting", message: "" };
    return kv.set(key, item, store).then(function () {
      form.reset();
      keyField.value = newKey();
      var note = form.querySelector("[data-offline-kept]");
      if (note) { note.hidden = false; note.focus(); }
      return render();
    });
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.hasAttribute || !form.hasAttribute("data-offline") || navigator.onLine) { return; }
    evt.preventDefault();
    keep(form);
  });

  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest("[data-offline-send]")) { flush(); }
  });

  function start() {
    document.querySelectorAll("form[data-offline]").forEach(function (form) {
      var keyField = form.elements[form.getAttribute("data-offline-key") || "client_key"];
      if (keyField) { keyField.value = newKey(); }
    });
    render().then(flush);
  }

  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  window.setInterval(flush, 30000);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
