/* tallyclerk dashboard behaviour. No inline scripts (the service's CSP forbids them): pages
 * describe what they need with data attributes and this file wires it up.
 *
 *   data-chart='{"label", "unit", "labels": [...], "values": [...], "targets": [...]}'
 *       on a <canvas>: a line chart of the values with the contract's target dashed.
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

  function wire(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(drawChart);
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
