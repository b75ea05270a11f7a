/* The dashboard's charts (admin/templates/chasqui/dashboard.html), drawn with Chart.js from the
   page's JSON blocks: the figures (backend/dashboard.py) and their translated labels. No text of
   its own, no inline code: it runs under the panel's CSP. Each chart's table stays open when a
   chart cannot be drawn. */
(function () {
  "use strict";
  var figuresBlock = document.getElementById("dashboard-figures");
  var labelsBlock = document.getElementById("dashboard-labels");
  if (!figuresBlock || !labelsBlock || typeof window.Chart === "undefined") {
    return;
  }
  var f = JSON.parse(figuresBlock.textContent);
  var L = JSON.parse(labelsBlock.textContent);
  var PALETTE = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f"];
  var GROUP_COLORS = {code: "#2ca02c", model: "#1f77b4", cache: "#17becf", apology: "#ff7f0e",
                      officer: "#9467bd", other: "#7f7f7f"};
  Chart.defaults.animation = false; // drawn once, at once: cheap phones, and a screenshot that is final

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    var box = canvas.parentElement;
    box.hidden = false;
    try {
      config.options = Object.assign({responsive: true, maintainAspectRatio: false}, config.options || {});
      new Chart(canvas, config);
      var table = document.querySelector('details[data-table-for="' + id + '"]');
      if (table) {
        table.open = false;
      }
    } catch (problem) {
      box.hidden = true; // the table stays open
      if (window.console) {
        console.warn("chart " + id + " not drawn", problem);
      }
    }
  }

  function bars(label, values, color) {
    return {label: label, data: values, backgroundColor: color, borderColor: color};
  }

  function line(label, values, color) {
    return {label: label, data: values, borderColor: color, backgroundColor: color, spanGaps: true,
            pointRadius: 2, tension: 0.2};
  }

  var stacked = {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true}}};
  var domains = Object.keys(f.messages_per_day.by_domain);
  draw("chart-messages", {
    type: "bar",
    data: {labels: f.days, datasets: domains.map(function (domain, i) {
      return bars(domain || L.no_domain, f.messages_per_day.by_domain[domain], PALETTE[i % PALETTE.length]);
    })},
    options: stacked
  });
  draw("chart-new-users", {
    type: "bar",
    data: {labels: f.days, datasets: [bars(L.new, f.new_users.new, PALETTE[0]),
                                      bars(L.onboarded, f.new_users.onboarded, PALETTE[1])]},
    options: {scales: {y: {beginAtZero: true}}}
  });
  var groups = Object.keys(f.replies_by_source.groups);
  draw("chart-sources", {
    type: "doughnut",
    data: {labels: groups.map(function (g) { return L.groups[g] || g; }),
           datasets: [{data: groups.map(function (g) { return f.replies_by_source.groups[g]; }),
                       backgroundColor: groups.map(function (g) { return GROUP_COLORS[g] || "#7f7f7f"; })}]},
    options: {plugins: {legend: {position: "right"}}}
  });
  draw("chart-reply-time", {
    type: "line",
    data: {labels: f.days, datasets: [line(L.p50, f.reply_seconds.p50, PALETTE[0]),
                                      line(L.p95, f.reply_seconds.p95, PALETTE[4])]},
    options: {scales: {y: {beginAtZero: true, title: {display: true, text: L.seconds}}}}
  });
  draw("chart-ratings", {
    type: "bar",
    data: {labels: f.days, datasets: [bars(L.good, f.ratings.good, PALETTE[1]),
                                      bars(L.bad, f.ratings.bad, PALETTE[4])]},
    options: stacked
  });
  var alertNames = ["created", "sent", "delivered", "read", "failed"];
  var alertColors = ["#7f7f7f", PALETTE[0], PALETTE[1], PALETTE[3], PALETTE[4]];
  draw("chart-alerts", {
    type: "bar", // side by side, not stacked: sent holds delivered, which holds read
    data: {labels: f.days, datasets: alertNames.map(function (name, i) {
      return bars(L.alerts[name], f.alerts.per_day[name], alertColors[i]);
    })},
    options: {scales: {y: {beginAtZero: true}}}
  });
  document.body.setAttribute("data-charts-drawn", "yes");
})();
