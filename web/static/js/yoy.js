// The determination page's chart: the province's figure per category, last year's beside this year's.
(function () {
  "use strict";
  var canvas = document.getElementById("yoy");
  var source = document.getElementById("yoy-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: String(data.dari), data: data.sebelum, backgroundColor: "#9a6200" },
        { label: String(data.ke), data: data.sesudah, backgroundColor: "#0b5d7a" }
      ]
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false }
  });
})();
