/* SIJOSKU pages: a menu that folds on phones, and a confirmation before actions that cannot be
   taken back. Everything works without this file; it only makes small screens and slips easier. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  /* The texts of a page's own scripts in the reader's language: the page gives each Indonesian text its
     scripts ask for (found by `make translations`, as in the templates) as JSON in #sj-words, and a
     script says one with `window.sijoskuSay(text, {name: value})`. */
  var words = null;  // read at the first text asked: the page's scripts and their words come after this file
  function pageWords() {
    var node = document.getElementById("sj-words");
    try {
      return node ? JSON.parse(node.textContent) : {};
    } catch (ignored) {
      return {};
    }
  }
  window.sijoskuSay = function (text, values) {
    words = words || pageWords();
    var said = words[text] || text;
    return values ? said.replace(/\{(\w+)\}/g, function (whole, key) {
      return values[key] !== undefined && values[key] !== null ? String(values[key]) : whole;
    }) : said;
  };
  /* What a person typed on a task (kept by verdicts.js) outlives an ended session or a refused
     decision, so that signing in again or the page again finds it; it is left for no one else at a
     shared computer. A signed-in page forgets other people's typing, and the person's typing on a
     task whose decision was taken (the page after it names the task); signing out forgets all. */
  function forgetTyping(keep) {
    try {
      Object.keys(window.sessionStorage).forEach(function (key) {
        var parts = key.split(":");  // sijosku:tugas:<person>:<task>:<field>
        if (parts[0] === "sijosku" && parts[1] === "tugas" && !keep(parts)) { window.sessionStorage.removeItem(key); }
      });
    } catch (ignored) { /* storage off: nothing kept */ }
  }
  var me = document.body.dataset.userId;
  var SENT = "sijosku-entry-sent";  // an entry on its way, kept until the page after it (see keepSent)
  var decided = document.body.dataset.decidedTask;
  if (me) {
    forgetTyping(function (parts) { return parts[2] === me && parts[3] !== decided; });
  }
  var signOut = document.getElementById("form-keluar");
  if (signOut) {
    signOut.addEventListener("submit", function () {
      forgetTyping(function () { return false; });
      try { window.sessionStorage.removeItem(SENT); } catch (ignored) { /* storage off: nothing kept */ }
    });
  }
  /* the sticky header's height, for what is jumped or moved to to come out below it */
  var header = document.querySelector("header.top");
  function measureHeader() {
    if (header) { document.documentElement.style.setProperty("--header-height", (header.offsetHeight + 8) + "px"); }
  }
  measureHeader();
  window.addEventListener("resize", measureHeader);
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
  /* a table wider than the phone says so above it: its last columns (often the actions) are off-screen */
  function hintWideTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var hint = wrap.previousElementSibling;
      var has = hint && hint.classList.contains("scroll-hint");
      var wide = wrap.scrollWidth > wrap.clientWidth + 2;
      if (wide && !has) {
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.setAttribute("aria-hidden", "true");  // the table's region already says it scrolls
        hint.textContent = document.body.getAttribute("data-say-scroll") || "";
        wrap.parentNode.insertBefore(hint, wrap);
      } else if (!wide && has) {
        hint.remove();
      }
    });
  }
  hintWideTables();
  /* A form sent back with errors: the keyboard (and a screen reader) starts at the first field to fix,
     whose name, error and hint are read together, not at the top of the page. A field the page
     focuses itself (autofocus) or a place the address jumps to comes first. */
  var wrong = document.querySelector("main [aria-invalid=true]");
  if (wrong && !location.hash && (document.activeElement === document.body || !document.activeElement)) {
    wrong.focus();
  }
  /* a file over its limit is said when it is chosen, not after minutes of uploading it */
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var tooBig = file && file.size > Number(input.getAttribute("data-max-bytes"));
      input.setCustomValidity(tooBig ? input.getAttribute("data-say-too-big") || "" : "");
      if (tooBig) { input.reportValidity(); }
    });
  });
  window.addEventListener("resize", hintWideTables);
  /* a long check done a slice per page goes on by itself; without scripts its button does */
  var goesOn = document.querySelector("form[data-submit-on-load]");
  if (goesOn) { window.setTimeout(function () { goesOn.requestSubmit(); }, 50); }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    /* a button that needs a field another button does not (a return's reason) says so before asking
       for confirmation, at the field, and nothing chosen on the page is lost to a refusal */
    var needed = button && button.getAttribute("data-needs") && document.getElementById(button.getAttribute("data-needs"));
    if (needed && !needed.value.trim()) {
      event.preventDefault();
      needed.setAttribute("aria-invalid", "true");
      needed.setCustomValidity(button.getAttribute("data-needs-message") || "");
      needed.reportValidity();
      needed.focus();
      needed.addEventListener("input", function () { needed.removeAttribute("aria-invalid"); }, { once: true });
      /* said once: the form's other buttons (claim, approve) are not held back by it */
      form.addEventListener("click", function () { needed.setCustomValidity(""); }, { capture: true, once: true });
      return;
    }
    var question = (button && button.getAttribute("data-confirm-button")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    /* a second click while the page is on its way sends nothing twice (a slow connection invites it) */
    if (form.method.toLowerCase() === "post") {
      if (form.dataset.sending) { event.preventDefault(); return; }
      /* offline, the browser would put its own page where the form was and what was typed would be
         gone: the form stays, says so, and goes when tapped again on a line */
      if (navigator.onLine === false) {
        event.preventDefault();
        sayOffline(form);
        return;
      }
      form.dataset.sending = "1";
      if (form.hasAttribute("data-keep-entry")) { keepSent(form); }
      if (form.enctype === "multipart/form-data") {
        /* an upload on a slow line takes minutes: say it is going, and never start it again meanwhile */
        var going = document.createElement("p");
        going.className = "upload-state";
        going.setAttribute("role", "status");
        going.textContent = document.body.getAttribute("data-say-uploading") || "";
        form.appendChild(going);
        return;
      }
      // a form whose answer is a download leaves the page where it is: it may be sent again later
      setTimeout(function () { delete form.dataset.sending; }, 10000);
    }
  });
  function sayOffline(form) {
    var said = form.querySelector(".offline-state");
    if (!said) {
      said = document.createElement("p");
      said.className = "offline-state";
      said.setAttribute("role", "alert");
      form.appendChild(said);
    }
    said.textContent = document.body.getAttribute("data-say-offline") || "";
  }
  window.addEventListener("online", function () {
    document.querySelectorAll(".offline-state").forEach(function (said) { said.remove(); });
  });
  /* back to a page kept by the browser: its forms may be sent again */
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sending]").forEach(function (form) { delete form.dataset.sending; });
    document.querySelectorAll(".upload-state").forEach(function (said) { said.remove(); });
  });
  /* What was typed on an entry form outlives the reload that another category brings: it waits in
     this tab's sessionStorage (never in the address, where a NIK would reach history and logs) and
     fills the same fields of the new form, once. */
  var entry = document.querySelector("form[data-keep-entry]");
  var kept = "sijosku-entry:" + location.pathname;
  function typed(field) {
    return field.name && field.name !== "csrf_token" && field.name !== "kategori" && field.type !== "hidden";
  }
  function typedValues(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (typed(field)) { values[field.name] = field.value; }
    });
    return values;
  }
  function fill(form, values) {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (typed(field) && Object.prototype.hasOwnProperty.call(values, field.name)) { field.value = values[field.name]; }
    });
  }
  if (entry) {
    var saved = sessionStorage.getItem(kept);
    sessionStorage.removeItem(kept);
    if (saved) { fill(entry, JSON.parse(saved)); }
  }
  /* An entry sent from a session that had ended (signed out in another tab, or unused too long) is
     refused and leads to sign-in: what was typed waits here and fills the form again once the same
     person has signed in and is back on it. Any other signed-in page forgets it: the entry was then
     saved, or refused with what was typed shown beside its fields. */
  function keepSent(form) {
    try {
      sessionStorage.setItem(SENT, JSON.stringify({ path: location.pathname, person: me, values: typedValues(form) }));
    } catch (ignored) { /* storage off: nothing kept */ }
  }
  var sent = null;
  try { sent = JSON.parse(sessionStorage.getItem(SENT) || "null"); } catch (ignored) { sent = null; }
  var signIn = document.getElementById("form-masuk");
  if (sent && signIn) {
    signIn.addEventListener("submit", function () {
      sent.afterSignIn = true;
      sessionStorage.setItem(SENT, JSON.stringify(sent));
    });
  } else if (sent && me) {
    sessionStorage.removeItem(SENT);
    if (entry && sent.afterSignIn && sent.person === me && sent.path === location.pathname) { fill(entry, sent.values); }
  }
  document.querySelectorAll("select[data-navigate]").forEach(function (select) {
    /* choosing a category reloads the form for it; without scripts the button next to it does.
       A keyboard walks the list with its arrows without a reload per step: Enter, or leaving the
       list, goes to the one chosen. */
    var was = select.value;
    var byKeys = false;
    function go() {
      if (select.value === was) { return; }
      if (entry) { sessionStorage.setItem(kept, JSON.stringify(typedValues(entry))); }
      was = select.value;
      select.form.submit();
    }
    select.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        byKeys = false;
        if (select.value !== was) { event.preventDefault(); go(); }
        return;
      }
      if (event.key !== "Tab") { byKeys = true; }  /* Tab leaves the list: blur still goes */
    });
    select.addEventListener("change", function () { if (!byKeys) { go(); } });
    select.addEventListener("blur", function () { if (byKeys) { byKeys = false; go(); } });
  });
  /* An import's progress asks the server every second: when an answer does not come, the page says so
     instead of "updating itself" while nothing arrives; the next answer replaces the whole box. */
  /* ... and says, once, when its status changes (waiting, running, done, refused), with the outcome's
     message: not every row counted, which would talk over everything else each second. */
  document.addEventListener("htmx:afterSwap", function () {
    var box = document.getElementById("import-progress");
    var said = document.getElementById("impor-kabar");
    if (!box || !said || box.dataset.status === said.dataset.status) { return; }
    said.dataset.status = box.dataset.status;
    var status = box.querySelector("strong");
    var message = box.querySelector(".flash:not([hidden])");
    said.textContent = [status ? status.parentNode.textContent.trim() : "", message ? message.textContent.trim() : ""]
      .filter(Boolean).join(". ");
  });
  ["htmx:sendError", "htmx:responseError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var note = document.getElementById("impor-terputus");
      if (note && event.target && event.target.id === "import-progress") { note.hidden = false; }
    });
  });
})();
