// Long requests show that they are under way. A file upload reports how
// much has been sent; then the bar waits for the server's answer. Without
// script the forms work the same, only without the bar.
(function () {
  "use strict";

  function show(form) {
    var bar = form.querySelector("progress");
    var button = form.querySelector("button[type=submit]");
    if (bar) { bar.hidden = false; bar.removeAttribute("value"); }
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
    return bar;
  }

  function replacePage(xhr) {
    if (xhr.responseURL && xhr.responseURL !== window.location.href) {
      window.history.pushState(null, "", xhr.responseURL);
    }
    document.open();
    document.write(xhr.responseText);
    document.close();
  }

  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var bar = show(form);
      var hasFile = form.querySelector("input[type=file]");
      if (!hasFile || !window.FormData || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open(form.method || "POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (bar && e.lengthComputable) {
          bar.max = e.total;
          bar.value = e.loaded;
          if (e.loaded >= e.total) { bar.removeAttribute("value"); }
        }
      });
      xhr.addEventListener("load", function () { replacePage(xhr); });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  });
})();
