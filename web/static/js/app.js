/* SIJOSKU pages: a menu that folds on phones, and a confirmation before actions that cannot be
   taken back. Everything works without this file; it only makes small screens and slips easier. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var toggle = document.getElementById("menu-toggle");
  var menu = document.getElementById("menu");
  if (toggle && menu) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("open", open);
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm-button")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  document.querySelectorAll("select[data-navigate]").forEach(function (select) {
    /* choosing a category reloads the form for it; without scripts the button next to it does */
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
