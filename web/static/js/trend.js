// The trend chart of the quality dashboard: one line per source, flagged points marked in red,
// and the flags' explanations in the tooltip.
(function () {
  "use strict";
  var form = document.getElementById("trend-form");
  var canvas = document.getElementById("trend");
  var note = document.getElementById("trend-note");
  if (!form || !canvas || typeof Chart === "undefined") { return; }
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
    var count = Object.keys(flagged).length;
    note.textContent = data.labels.length ? (count + " periode ditandai untuk " + data.kategori + " di " + data.region) :
      "Belum ada angka untuk " + data.kategori + " di " + data.region + ".";
    canvas.dataset.state = "done";
  }

  function load(event) {
    if (event) { event.preventDefault(); }
    var params = new URLSearchParams(new FormData(form));
    fetch(form.dataset.url + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) { note.textContent = result.body.message || "Tren tidak dapat dimuat."; canvas.dataset.state = "error"; return; }
        draw(result.body);
      })
      .catch(function () { note.textContent = "Tren tidak dapat dimuat."; canvas.dataset.state = "error"; });
  }

  form.addEventListener("submit", load);
  load();
}());
