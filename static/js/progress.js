// Long requests (a large file) show that they are under way.
document.querySelectorAll("form[data-progress]").forEach(function (form) {
  form.addEventListener("submit", function () {
    var bar = form.querySelector("progress");
    var button = form.querySelector("button[type=submit]");
    if (bar) { bar.hidden = false; }
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
  });
});
