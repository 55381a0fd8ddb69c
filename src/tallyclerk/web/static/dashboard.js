/* tallyclerk dashboard behaviour. No inline scripts (the service's CSP forbids them): pages
 * describe what they need with data attributes and this file wires it up.
 *
 *   data-chart='{"label", "unit", "labels": [...], "values": [...], "targets": [...]}'
 *       on a <canvas>: a line chart of the values with the contract's target dashed.
 *   data-forecast-chart="ID" on a <canvas>: the forecast chart, its data in the
 *       <script type="application/json" id="ID"> of the page: {"labels": [days],
 *       "released", "p50", "p90", "capacity": [one value or null per day],
 *       "flagged": [[first, last] label indexes of the weeks over capacity]}.
 *   data-vetting-chart="ID" on a <canvas>: the vetting bar chart, its data in the JSON block
 *       ID: {"currency", "labels": [candidate names, ranked], "fees": [...],
 *       "risk_adjusted": [...]} (per average month).
 *   data-autosubmit on a <select> or checkbox: submit its form when it changes.
 *   <meta name="csrf-token">: sent as X-CSRF-Token with every HTMX request.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function cssColor(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function drawChart(canvas) {
    if (canvas.dataset.drawn || typeof window.Chart === "undefined") {
      return;
    }
    var spec;
    try {
      spec = JSON.parse(canvas.dataset.chart);
    } catch (err) {
      return;
    }
    canvas.dataset.drawn = "true";
    var quiet = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: [
          {
            label: spec.label,
            data: spec.values,
            borderColor: cssColor("--accent", "#2456a6"),
            backgroundColor: cssColor("--accent", "#2456a6"),
            spanGaps: false,
            tension: 0,
            pointRadius: 3,
          },
          {
            label: "target",
            data: spec.targets,
            borderColor: cssColor("--red", "#c62828"),
            borderDash: [6, 4],
            pointRadius: 2,
            stepped: "middle",
            fill: false,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: quiet ? false : { duration: 300 },
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: true, position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (item) {
                var v = item.parsed.y;
                return item.dataset.label + ": " + (v === null ? "no data" : v.toFixed(2) + " " + spec.unit);
              },
            },
          },
        },
        scales: {
          y: { ticks: { callback: function (v) { return Math.round(v * 100) / 100 + " " + spec.unit; } } },
        },
      },
    });
  }

  // Shades the weeks over capacity behind the lines of the forecast chart.
  var flaggedWeeks = {
    id: "flaggedWeeks",
    beforeDatasetsDraw: function (chart, args, options) {
      var ranges = options.ranges || [];
      var x = chart.scales.x;
      var area = chart.chartArea;
      if (!ranges.length || !x || !area) {
        return;
      }
      var step = chart.data.labels.length > 1 ? x.getPixelForValue(1) - x.getPixelForValue(0) : 0;
      var ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = options.color;
      ranges.forEach(function (range) {
        var left = Math.max(area.left, x.getPixelForValue(range[0]) - step / 2);
        var right = Math.min(area.right, x.getPixelForValue(range[1]) + step / 2);
        ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      });
      ctx.restore();
    },
  };

  function drawForecast(canvas) {
    if (canvas.dataset.drawn || typeof window.Chart === "undefined") {
      return;
    }
    var source = document.getElementById(canvas.dataset.forecastChart);
    var spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (err) {
      return;
    }
    canvas.dataset.drawn = "true";
    var quiet = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var accent = cssColor("--accent", "#2456a6");
    var red = cssColor("--red", "#c62828");
    var narrow = window.matchMedia("(max-width: 640px)").matches;
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: [
          {
            label: "orders released",
            data: spec.released,
            borderColor: cssColor("--muted", "#5d6776"),
            borderWidth: 1,
            pointRadius: 0,
            tension: 0,
          },
          {
            label: "forecast P50",
            data: spec.p50,
            borderColor: accent,
            backgroundColor: accent,
            borderWidth: 2,
            pointRadius: 0,
            tension: 0,
          },
          {
            label: "P90",
            data: spec.p90,
            borderColor: "rgba(36, 86, 166, 0.35)",
            backgroundColor: "rgba(36, 86, 166, 0.18)",
            borderWidth: 1,
            pointRadius: 0,
            tension: 0,
            fill: "-1",
          },
          {
            label: "capacity / day",
            data: spec.capacity,
            borderColor: red,
            backgroundColor: red,
            borderWidth: 2,
            pointRadius: 0,
            stepped: "middle",
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: quiet ? false : { duration: 300 },
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: true, position: "bottom", labels: { boxWidth: 12 } },
          flaggedWeeks: { ranges: spec.flagged, color: "rgba(198, 40, 40, 0.12)" },
          tooltip: {
            filter: function (item) {
              return item.parsed.y !== null;
            },
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + Math.round(item.parsed.y * 10) / 10;
              },
            },
          },
        },
        scales: {
          x: { ticks: { maxTicksLimit: narrow ? 5 : 10, maxRotation: 0 } },
          y: { beginAtZero: true },
        },
      },
      plugins: [flaggedWeeks],
    });
  }

  function money(value) {
    return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function drawVetting(canvas) {
    if (canvas.dataset.drawn || typeof window.Chart === "undefined") {
      return;
    }
    var source = document.getElementById(canvas.dataset.vettingChart);
    var spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (err) {
      return;
    }
    canvas.dataset.drawn = "true";
    var quiet = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var accent = cssColor("--accent", "#2456a6");
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [
          {
            label: "fees / month",
            data: spec.fees,
            backgroundColor: "rgba(36, 86, 166, 0.35)",
            borderColor: accent,
            borderWidth: 1,
          },
          {
            label: "risk-adjusted / month",
            data: spec.risk_adjusted,
            backgroundColor: accent,
            borderColor: accent,
            borderWidth: 1,
          },
        ],
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: quiet ? false : { duration: 300 },
        interaction: { mode: "index", axis: "y", intersect: false },
        plugins: {
          legend: { display: true, position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + money(item.parsed.x) + " " + spec.currency;
              },
            },
          },
        },
        scales: {
          x: {
            beginAtZero: true,
            ticks: { callback: function (v) { return Math.round(v).toLocaleString("en-US"); } },
          },
        },
      },
    });
  }

  function wire(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(drawChart);
    root.querySelectorAll("canvas[data-forecast-chart]").forEach(drawForecast);
    root.querySelectorAll("canvas[data-vetting-chart]").forEach(drawVetting);
    root.querySelectorAll("[data-autosubmit]").forEach(function (field) {
      if (field.dataset.wired) {
        return;
      }
      field.dataset.wired = "true";
      field.addEventListener("change", function () {
        if (field.form) {
          field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire(document);
  });

  // HTMX: send the session's CSRF token, ask for HTML, and show errors in the flash area
  // (by default HTMX would drop a 4xx or 5xx answer silently).
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
    event.detail.headers["Accept"] = "text/html";
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400) {
      var flash = document.getElementById("flash");
      if (flash) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
        event.detail.target = flash;
        event.detail.swapOverride = "innerHTML";
      }
    } else {
      var old = document.getElementById("flash");
      if (old) {
        old.innerHTML = "";
      }
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    wire(event.target);
  });
})();
