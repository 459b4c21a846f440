/* Wanggetong's own script, loaded with defer from base.html (the CSP allows no inline script).
 *
 * Uploads: a form with data-upload-progress="<id of a <progress>>" shows how much of the file has been
 * sent, from htmx's upload progress events; once the file is sent the bar turns indeterminate and its
 * label says the server is checking. A file input with data-max-bytes refuses a file that is too large
 * before it is sent, with the message in data-too-large.
 *
 * Countdown: a button with data-wait="<seconds>" (a request refused by a rate limit) stays disabled and
 * shows data-wait-text with "{s}" replaced by the seconds left, then gets its own label back.
 *
 * Refused forms (macros.form_errors, field_errors): the error summary takes the focus, each of its links moves
 * the focus to its field, and every field with a message says aria-invalid and names the message in
 * aria-describedby, also where a template wrote the field by hand. An htmx swap gives the focus back to the
 * control the person used. Escape closes the menu; a table that scrolls sideways can be scrolled by keyboard.
 */
(function () {
  "use strict";

  function uploadForm(elt) {
    return elt && elt.closest ? elt.closest("form[data-upload-progress]") : null;
  }

  function parts(form) {
    var bar = document.getElementById(form.getAttribute("data-upload-progress"));
    var label = bar ? bar.parentNode.querySelector("[data-uploading]") : null;
    return { bar: bar, label: label };
  }

  function checking(form) {
    var p = parts(form);
    form.removeAttribute("data-sending");
    if (p.bar) { p.bar.removeAttribute("value"); }
    if (p.label) { p.label.textContent = p.label.getAttribute("data-checking"); }
  }

  document.addEventListener("htmx:beforeSend", function (evt) {
    var form = uploadForm(evt.target);
    if (!form) { return; }
    var p = parts(form);
    form.setAttribute("data-sending", "1");
    if (p.bar) { p.bar.value = 0; }
    if (p.label) { p.label.textContent = p.label.getAttribute("data-uploading"); }
  });

  // htmx fires these for the upload and then for the download; only the upload moves the bar
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = uploadForm(evt.target);
    if (!form || !form.hasAttribute("data-sending")) { return; }
    var d = evt.detail || {};
    if (!d.lengthComputable || !d.total) { return; }
    var p = parts(form);
    var percent = Math.min(100, Math.round((d.loaded / d.total) * 100));
    if (p.bar) { p.bar.value = percent; }
    if (p.label) { p.label.textContent = p.label.getAttribute("data-uploading") + " " + percent + "%"; }
    if (d.loaded >= d.total) { checking(form); }
  });

  document.addEventListener("htmx:xhr:loadend", function (evt) {
    var form = uploadForm(evt.target);
    if (form && form.hasAttribute("data-sending")) { checking(form); }
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = uploadForm(evt.target);
    if (form) { form.removeAttribute("data-sending"); }
  });

  function countDown(button) {
    if (button.hasAttribute("data-counting")) { return; }
    button.setAttribute("data-counting", "1");
    var label = button.textContent;
    var template = button.getAttribute("data-wait-text") || "{s}";
    var left = parseInt(button.getAttribute("data-wait"), 10) || 0;
    function tick() {
      if (!button.isConnected) { return; }
      if (left <= 0) {
        button.textContent = label;
        button.disabled = false;
        button.removeAttribute("data-wait");
        button.removeAttribute("data-counting");
        return;
      }
      button.disabled = true;
      button.textContent = template.replace("{s}", String(left));
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  function startCountdowns(root) {
    var buttons = (root && root.querySelectorAll ? root : document).querySelectorAll("button[data-wait]");
    Array.prototype.forEach.call(buttons, countDown);
    if (root && root.matches && root.matches("button[data-wait]")) { countDown(root); }
  }

  document.addEventListener("DOMContentLoaded", function () { startCountdowns(document); });
  document.addEventListener("htmx:load", function (evt) { startCountdowns(evt.target); });

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) { return; }
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files && input.files[0];
    input.setCustomValidity(file && file.size > max ? input.getAttribute("data-too-large") : "");
    input.reportValidity();
  });

  function fieldOf(scope, name) {
    if (!scope || !name) { return null; }
    var found = scope.querySelectorAll("input, select, textarea");
    for (var i = 0; i < found.length; i += 1) {
      if (found[i].name === name && found[i].type !== "hidden") { return found[i]; }
    }
    return null;
  }

  var nextId = 0;
  function idOf(element, wanted) {
    if (!element.id) {
      var id = wanted;
      while (document.getElementById(id)) { nextId += 1; id = wanted + "-" + nextId; }
      element.id = id;
    }
    return element.id;
  }

  function describe(element, id) {
    var ids = (element.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (ids.indexOf(id) < 0) { ids.push(id); }
    element.setAttribute("aria-describedby", ids.join(" "));
  }

  // the field a message belongs to: the one its label wraps, else the field of its name in its form
  function markField(message) {
    var label = message.closest("label");
    var field = label ? (label.control || label.querySelector("input, select, textarea")) : null;
    if (!field || field.type === "hidden") { field = fieldOf(message.closest("form"), message.getAttribute("data-field")); }
    if (!field) { return; }
    var id = idOf(message, "f-" + (field.name || "field") + "-error");
    var group = field.type === "radio" || field.type === "checkbox" ? field.closest("fieldset") : null;
    if (group) {
      describe(group, id);
      Array.prototype.forEach.call(group.querySelectorAll("input[name='" + field.name + "']"), function (f) {
        f.setAttribute("aria-invalid", "true");
      });
    } else {
      field.setAttribute("aria-invalid", "true");
      describe(field, id);
    }
  }

  // the form a summary speaks for: the one it stands in, else the next one after it
  function formOf(summary) {
    var form = summary.closest("form");
    for (var next = summary.nextElementSibling; !form && next; next = next.nextElementSibling) {
      form = next.matches("form") ? next : next.querySelector("form");
    }
    return form || document;
  }

  function linkSummary(summary) {
    var scope = formOf(summary);
    Array.prototype.forEach.call(summary.querySelectorAll("a[data-field]"), function (link) {
      var field = fieldOf(scope, link.getAttribute("data-field"));
      if (field) { link.setAttribute("href", "#" + idOf(field, "f-" + field.name)); }
    });
  }

  function refusedForms(root) {
    var scope = root && root.querySelectorAll ? root : document;
    Array.prototype.forEach.call(scope.querySelectorAll(".field-error"), markField);
    var summaries = scope.querySelectorAll(".error-summary");
    Array.prototype.forEach.call(summaries, linkSummary);
    if (summaries.length) {
      summaries[0].focus();
      summaries[0].scrollIntoView({ block: "start" });
    }
  }

  document.addEventListener("click", function (evt) {
    var link = evt.target.closest ? evt.target.closest(".error-summary a[href^='#']") : null;
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return; }
    evt.preventDefault();
    var label = field.closest("label") || field.closest("fieldset") || field;
    label.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  });

  // htmx keeps the focus only for an element with an id: any other control the person used gets it back
  var focused = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    if (!active || active === document.body) { focused = null; return; }
    focused = { id: active.id, name: active.getAttribute("name"), post: active.getAttribute("hx-post"),
                get: active.getAttribute("hx-get"), tag: active.tagName };
  });
  document.addEventListener("htmx:afterSettle", function (evt) {
    var was = focused;
    focused = null;
    if (!was || (document.activeElement && document.activeElement !== document.body)) { return; }
    var summary = evt.target.querySelector && evt.target.querySelector(".error-summary");
    if (summary) { return; }
    var again = was.id ? document.getElementById(was.id) : null;
    if (!again) {
      var candidates = document.querySelectorAll(was.tag.toLowerCase());
      for (var i = 0; i < candidates.length && !again; i += 1) {
        var c = candidates[i];
        if ((was.post && c.getAttribute("hx-post") === was.post) || (was.get && c.getAttribute("hx-get") === was.get) ||
            (!was.post && !was.get && was.name && c.getAttribute("name") === was.name)) { again = c; }
      }
    }
    // a button the swap disabled (a code just sent counts down) hands the focus to the next field of its form
    if (again && again.disabled) { again = nextField(again); }
    if (again) { again.focus(); }
  });

  function nextField(element) {
    var form = element.closest("form") || document;
    var fields = form.querySelectorAll("input:not([type=hidden]), select, textarea, button");
    for (var i = 0; i < fields.length; i += 1) {
      var following = element.compareDocumentPosition(fields[i]) & Node.DOCUMENT_POSITION_FOLLOWING;
      if (following && !fields[i].disabled) { return fields[i]; }
    }
    return null;
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") { return; }
    Array.prototype.forEach.call(document.querySelectorAll("details.dropdown[open]"), function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) { summary.focus(); }
    });
  });

  // a table wider than the phone scrolls in its box: the box is a stop for the keyboard, named by its table
  function scrollables(root) {
    var scope = root && root.querySelectorAll ? root : document;
    Array.prototype.forEach.call(scope.querySelectorAll(".overflow-auto, .chart-table"), function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        var named = box.querySelector("caption") || (box.closest("details") || {}).firstElementChild;
        if (box.tagName !== "TABLE" && named && !box.hasAttribute("role")) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", named.textContent.trim());
        }
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { refusedForms(document); scrollables(document); });
  document.addEventListener("htmx:load", function (evt) {
    if (evt.target !== document.body) { refusedForms(evt.target); scrollables(evt.target); }
  });
  window.addEventListener("resize", function () { scrollables(document); });
})();
