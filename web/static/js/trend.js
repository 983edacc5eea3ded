// The trend chart of the quality dashboard: one line per source, flagged points marked in red,
// and the flags' explanations in the tooltip.
(function () {
  "use strict";
  var form = document.getElementById("trend-form");
  var canvas = document.getElementById("trend");
  var note = document.getElementById("trend-note");
  if (!form || !canvas || typeof Chart === "undefined") { return; }
  var _ = window.sijoskuSay || function (text) { return text; };  // the page's words (app.js)
  var chart = null;
  var COLOURS = ["#0b5d7a", "#9a6200", "#6b3fa0", "#1d7a3a"];

  function draw(data) {
    var flagged = data.flags || {};
    var datasets = data.datasets.map(function (set, index) {
      return {
        label: set.sumber,
        data: set.values,
        borderColor: COLOURS[index % COLOURS.length],
        spanGaps: false,
        pointRadius: data.labels.map(function (p) { return flagged[p] ? 7 : 3; }),
        pointBackgroundColor: data.labels.map(function (p) { return flagged[p] ? "#b3261e" : COLOURS[index % COLOURS.length]; })
      };
    });
    if (chart) { chart.destroy(); }
    chart = new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          tooltip: {
            callbacks: {
              footer: function (items) {
                var period = items.length ? data.labels[items[0].dataIndex] : "";
                return (flagged[period] || []).join("\n");
              }
            }
          }
        }
      }
    });
    table(data, flagged);
    var count = Object.keys(flagged).length;
    var where = { n: count, kategori: data.kategori, wilayah: data.region_kode };
    note.textContent = data.labels.length ? _("{n} periode ditandai untuk {kategori} di {wilayah}", where) :
      _("Belum ada angka untuk {kategori} di {wilayah}.", where);
    canvas.dataset.state = "done";
  }

  // The same figures as a table beside the chart, for screen readers and for reading exact values.
  function table(data, flagged) {
    var box = document.getElementById("trend-table");
    if (!box) { return; }
    box.textContent = "";
    var t = document.createElement("table");
    var caption = t.createCaption();
    caption.textContent = _("Angka {kategori} di {wilayah} per periode", { kategori: data.kategori, wilayah: data.region_kode });
    var head = t.createTHead().insertRow();
    [_("Periode")].concat(data.datasets.map(function (set) { return set.sumber; }), [_("Tanda")]).forEach(function (name) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      head.appendChild(th);
    });
    var body = t.createTBody();
    data.labels.forEach(function (period, index) {
      var row = body.insertRow();
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = period;
      row.appendChild(th);
      data.datasets.forEach(function (set) {
        row.insertCell().textContent = set.values[index] === null ? "–" : String(set.values[index]);
      });
      row.insertCell().textContent = (flagged[period] || []).join("; ");
    });
    box.appendChild(t);
  }

  var latest = 0;  // only the newest request draws: an earlier answer arriving late is dropped
  function load(event) {
    if (event) { event.preventDefault(); }
    var mine = ++latest;
    canvas.dataset.state = "loading";
    var params = new URLSearchParams(new FormData(form));
    fetch(form.dataset.url + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (mine !== latest) { return; }
        if (!result.ok) { note.textContent = result.body.message || _("Tren tidak dapat dimuat."); canvas.dataset.state = "error"; return; }
        draw(result.body);
      })
      .catch(function () { if (mine !== latest) { return; } note.textContent = _("Tren tidak dapat dimuat."); canvas.dataset.state = "error"; });
  }

  form.addEventListener("submit", load);
  load();
}());
