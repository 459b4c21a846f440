/* Wanggetong's own script, loaded with defer from base.html (the CSP allows no inline script).
 *
 * Uploads: a form with data-upload-progress="<id of a <progress>>" shows how much of the file has been
 * sent, from htmx's upload progress events; once the file is sent the bar turns indeterminate and its
 * label says the server is checking. A file input with data-max-bytes refuses a file that is too large
 * before it is sent, with the message in data-too-large.
 *
 * Countdown: a button with data-wait="<seconds>" (a request refused by a rate limit) stays disabled and
 * shows data-wait-text with "{s}" replaced by the seconds left, then gets its own label back.
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
})();
