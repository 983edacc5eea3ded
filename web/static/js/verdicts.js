/* Task page: each item's verdict is saved as soon as it is given, so a weak connection or a closed
   tab loses nothing. Keys: j/k move between items, s = sesuai, t = tidak sesuai (then type the
   reason). Without this file the "Simpan putusan halaman ini" button saves the page. */
(function () {
  "use strict";
  var form = document.getElementById("keputusan-form");
  if (!form || !form.dataset.verdictUrl) { return; }
  var token = form.querySelector("input[name=csrf_token]").value;
  var say = form.dataset;  // the page's words, in its language (data-say-*)

  function send(box) {
    var id = box.dataset.item;
    var chosen = box.querySelector("input[type=radio]:checked");
    var reason = box.querySelector("input[name=alasan_" + id + "]");
    var state = box.querySelector(".verdict-state");
    if (!chosen) { return; }
    if (chosen.value === "tidak_sesuai" && !reason.value.trim()) {
      state.textContent = say.sayReasonFirst;  // one short line: nothing moves under a finger
      reason.focus();
      return;
    }
    var body = new URLSearchParams();
    body.append("csrf_token", token);
    body.append("verdict_" + id, chosen.value);
    body.append("alasan_" + id, reason.value);
    state.textContent = say.saySaving;
    fetch(form.dataset.verdictUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
      if (!json) {
        state.textContent = say.sayReload + " (" + response.status + ")";
        return;
      }
      return response.json().then(function (data) {
        // A refusal (stale page, a claim held by someone else, a missing reason) says why.
        var first = (data.problems || [])[0];
        state.textContent = response.ok ? say.saySaved
          : say.sayRefused + ": " + data.message + (first ? ": " + first.message : "");
      });
    }).catch(function () {
      state.textContent = say.sayOffline;
    });
  }

  form.querySelectorAll("fieldset.verdict-choice").forEach(function (box) {
    box.addEventListener("change", function (event) {
      if (event.target.type === "radio") { send(box); }
    });
    var reason = box.querySelector("input[name^=alasan_]");
    reason.addEventListener("change", function () { send(box); });
  });

  // The decision's reason and the warnings' notes are kept in this tab while the task is open: a
  // session that ended, a lost connection, a colleague's claim or a move to another page of items
  // loses no typing. Kept per tab and per person (another person's page, signing out or closing the
  // tab forgets them, see app.js), and forgotten once the decision is taken (the page after it says
  // so) or the task's page shows it decided.
  var prefix = "sijosku:tugas:" + form.dataset.userId + ":" + form.dataset.taskId + ":";
  function stored(action) {
    try { return action(window.sessionStorage); } catch (e) { return null; }  // storage off: type again
  }
  if (form.dataset.taskOpen !== "1") {
    stored(function (s) {
      Object.keys(s).forEach(function (key) { if (key.indexOf(prefix) === 0) { s.removeItem(key); } });
    });
  } else {
    form.querySelectorAll("textarea[name=alasan], input[name^=ack_]").forEach(function (field) {
      var kept = stored(function (s) { return s.getItem(prefix + field.name); });
      if (kept && !field.value) { field.value = kept; }
      field.addEventListener("input", function () {
        stored(function (s) { s.setItem(prefix + field.name, field.value); });
      });
    });
  }

  var cards = Array.prototype.slice.call(document.querySelectorAll("li.card[id^=item-]"));
  var current = -1;
  function focusCard(index) {
    if (!cards.length) { return; }
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards[current].setAttribute("tabindex", "-1");
    cards[current].focus({preventScroll: true});
    cards[current].scrollIntoView({block: "start"});  // below the sticky header: its scroll margin
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" && event.target.type !== "radio" || tag === "textarea" || tag === "select") { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    // the card the keyboard is in is the one s/t decide: a Tab onward leaves the card j/k reached
    var within = event.target.closest ? event.target.closest("li.card[id^=item-]") : null;
    if (within) { current = cards.indexOf(within); }
    else if (event.key === "s" || event.key === "t") { return; }  // outside every card: not a verdict
    if (event.key === "j") { focusCard(current + 1); }
    else if (event.key === "k") { focusCard(current - 1); }
    else if ((event.key === "s" || event.key === "t") && current >= 0) {
      var radio = cards[current].querySelector("input[value=" + (event.key === "s" ? "sesuai" : "tidak_sesuai") + "]");
      if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", {bubbles: true})); }
    } else { return; }
    event.preventDefault();
  });
})();
