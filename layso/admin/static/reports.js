/* Lấy Số reports page: the charts a leader reads at a glance, drawn by Chart.js (served by
   the app) from the same API the files come from; numbers the Vietnamese way (4,8). */
(function () {
  'use strict';
  var box = document.getElementById('report-charts');
  var printBtn = document.getElementById('print-report');
  if (printBtn) printBtn.addEventListener('click', function () { window.print(); });
  if (!box || !window.Chart) return;
  var F = window.LaysoFormat;
  var period = 'from=' + encodeURIComponent(box.dataset.from) + '&to=' + encodeURIComponent(box.dataset.to);
  var status = document.getElementById('chart-status');
  var charts = [];
  // one colour per weekday, Monday first; the levels and scores from unsatisfied red to green
  var WEEKDAY_COLOURS = ['#1f4e9a', '#2f7fc1', '#0b6e4f', '#62a83a', '#d6a500', '#e07a1f', '#b5121b'];
  var SCORE_COLOURS = ['#c62828', '#e07a1f', '#d6a500', '#62a83a', '#1f8a4c'];
  // every word of a chart in both languages, Vietnamese first, as on the rest of the page
  var LEVELS = [['very_satisfied', 'Rất hài lòng / Very satisfied', '#1f8a4c'],
                ['satisfied', 'Hài lòng / Satisfied', '#62a83a'],
                ['unsatisfied', 'Không hài lòng / Unsatisfied', '#c62828']];
  // a name on an axis: its Vietnamese over its English (once, when they are the same)
  function both(name) { return name.en && name.en !== name.vi ? [name.vi, name.en] : name.vi; }

  Chart.defaults.font.family = 'system-ui, "DejaVu Sans", "Noto Sans", sans-serif';
  Chart.defaults.font.size = 13;
  Chart.defaults.color = '#14213d';
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;  // a report is read, not watched; printing needs it drawn
  Chart.defaults.locale = 'vi-VN';  // the axes' ticks: 4,8 and 1.250

  function get(path) {
    return fetch('/api/v1' + path, {credentials: 'same-origin'}).then(function (r) {
      if (!r.ok) throw new Error(path + ': ' + r.status);
      return r.json();
    });
  }
  function label(ctx) {
    var v = typeof ctx.parsed === 'number' ? ctx.parsed
      : (ctx.chart.options.indexAxis === 'y' ? ctx.parsed.x : ctx.parsed.y);
    return ctx.dataset.label ? ctx.dataset.label + ': ' + F.number(v, 2) : F.number(v, 2);
  }
  function make(id, config) {
    config.options = config.options || {};
    config.options.plugins = config.options.plugins || {};
    config.options.plugins.tooltip = {callbacks: {label: label}};
    var c = new Chart(document.getElementById(id), config);
    charts.push(c);
    return c;
  }
  function empty(id, vi, en) {
    var canvas = document.getElementById(id);
    var p = document.createElement('p');
    p.className = 'empty';
    p.textContent = vi;
    var e = document.createElement('span'); e.className = 'en'; e.textContent = en; p.appendChild(e);
    canvas.parentNode.replaceChild(p, canvas);
  }
  var NO_DATA = ['Chưa có số liệu trong kỳ này.', 'No figures in this period.'];

  function arrivals(data) {
    if (!data.weekdays.length) return empty('chart-arrivals', NO_DATA[0], NO_DATA[1]);
    var hours = {};
    data.weekdays.forEach(function (w) { Object.keys(w.hours).forEach(function (h) { hours[h] = true; }); });
    var first = Math.min.apply(null, Object.keys(hours).map(Number));
    var last = Math.max.apply(null, Object.keys(hours).map(Number));
    var labels = [];
    for (var h = first; h <= last; h++) labels.push((h < 10 ? '0' : '') + h + 'h');
    make('chart-arrivals', {type: 'bar', data: {labels: labels, datasets: data.weekdays.map(function (w) {
      return {label: w.name.en ? w.name.vi + ' / ' + w.name.en : w.name.vi, backgroundColor: WEEKDAY_COLOURS[w.key],
              data: labels.map(function (l) { var x = w.hours[l.slice(0, 2)]; return x ? x.mean : 0; })};
    })}, options: {scales: {y: {beginAtZero: true, title: {display: true, text: ['Số lượt trung bình mỗi ngày', 'mean per day']}}}}});
  }

  function waits(rep, services) {
    var targets = {};
    services.items.forEach(function (s) { targets[s.code] = s.target_wait_minutes; });
    var items = rep.items.filter(function (i) { return i.issued || i.served; });
    if (!items.length) return empty('chart-waits', NO_DATA[0], NO_DATA[1]);
    make('chart-waits', {type: 'bar', data: {labels: items.map(function (i) { return both(i.name); }), datasets: [
      {label: 'Chờ trung bình / Mean wait', backgroundColor: '#2f7fc1', order: 1, data: items.map(function (i) { return i.mean_wait_minutes; })},
      {label: 'Chờ P90 / P90 wait', backgroundColor: '#1f4e9a', order: 1, data: items.map(function (i) { return i.p90_wait_minutes; })},
      // a mark across each service's bars, not a line from one service to the next: a line
      // joins nothing when one service had citizens, and targets differ per service
      {label: 'Mục tiêu / Target', type: 'line', showLine: false, pointStyle: 'line', pointRadius: 30,
       pointHoverRadius: 30, pointBorderWidth: 4, order: 0, borderColor: '#b5121b', backgroundColor: '#b5121b',
       data: items.map(function (i) { return targets[i.key]; })}
    ]}, options: {scales: {y: {beginAtZero: true, grace: '10%',  // the targets' marks whole, not on the edge
                                 title: {display: true, text: 'phút / min'}}}}});
  }

  function officials(rep) {
    var items = rep.items.filter(function (i) { return i.served; })
      .sort(function (a, b) { return b.served - a.served; });
    if (!items.length) return empty('chart-officials', NO_DATA[0], NO_DATA[1]);
    make('chart-officials', {type: 'bar', data: {labels: items.map(function (i) { return both(i.name); }), datasets: [
      {label: 'Đã phục vụ / Served', backgroundColor: '#0b6e4f', data: items.map(function (i) { return i.served; })},
      {label: 'Vắng mặt / Absent', backgroundColor: '#d6a500', data: items.map(function (i) { return i.no_show; })}
    ]}, options: {indexAxis: 'y', scales: {x: {beginAtZero: true, ticks: {precision: 0}}}}});
  }

  function ratings(rep) {
    var r = rep.totals.ratings;
    if (!r.count) {
      empty('chart-scores', NO_DATA[0], NO_DATA[1]);
      return empty('chart-levels', 'Chưa có đánh giá.', 'No ratings yet.');
    }
    make('chart-scores', {type: 'bar', data: {labels: ['1', '2', '3', '4', '5'], datasets: [
      {label: 'Số lượt / Ratings', backgroundColor: SCORE_COLOURS,
       data: [1, 2, 3, 4, 5].map(function (s) { return r.by_score[String(s)]; })}]},
      options: {plugins: {legend: {display: false}, title: {display: true,
        text: ['Năm mức điểm · điểm trung bình ' + F.fixed(r.mean, 2),
               'Five scores · mean ' + r.mean.toFixed(2)]}},
        scales: {y: {beginAtZero: true, ticks: {precision: 0}}}}});
    make('chart-levels', {type: 'doughnut', data: {labels: LEVELS.map(function (l) { return l[1]; }), datasets: [
      {backgroundColor: LEVELS.map(function (l) { return l[2]; }),
       data: LEVELS.map(function (l) { return r.by_level[l[0]]; })}]},
      options: {plugins: {title: {display: true, text: ['Ba mức hài lòng (' + F.number(r.count, 0) + ' lượt)',
                                                                  'Three levels (' + r.count + ' ratings)']},
                          legend: {position: 'bottom'}}}});
  }

  function trend(rep) {
    var items = rep.items.filter(function (i) { return i.ratings.count; });
    if (!items.length) return empty('chart-trend', 'Chưa có đánh giá.', 'No ratings yet.');
    var share = function (i) { return 100 * i.ratings.by_level.very_satisfied / i.ratings.count; };
    make('chart-trend', {type: 'line', data: {labels: items.map(function (i) { return i.key.slice(8, 10) + '/' + i.key.slice(5, 7); }), datasets: [
      {label: 'Điểm trung bình (1–5) / Mean score', borderColor: '#0b6e4f', backgroundColor: '#0b6e4f', yAxisID: 'y',
       data: items.map(function (i) { return i.ratings.mean; })},
      {label: 'Rất hài lòng (%) / Very satisfied (%)', borderColor: '#2f7fc1', backgroundColor: '#2f7fc1', yAxisID: 'pct',
       data: items.map(share)}
    ]}, options: {scales: {y: {min: 1, max: 5, title: {display: true, text: 'điểm / score'}},
                           pct: {position: 'right', min: 0, max: 100, grid: {drawOnChartArea: false},
                                 title: {display: true, text: '%'}}}}});
  }

  // A4 on paper: each chart is redrawn at the printed size, then back
  window.addEventListener('beforeprint', function () { charts.forEach(function (c) { c.resize(); }); });
  window.addEventListener('afterprint', function () { charts.forEach(function (c) { c.resize(); }); });

  Promise.all([get('/reports/arrivals?' + period), get('/reports?by=service&' + period),
               get('/services?all=1'), get('/reports?by=officer&' + period),
               get('/reports?by=day&' + period)]).then(function (res) {
    arrivals(res[0]);
    waits(res[1], res[2]);
    officials(res[3]);
    ratings(res[1]);
    trend(res[4]);
    box.dataset.charts = String(charts.length);
    document.body.dataset.chartsReady = '1';
  }).catch(function () {
    status.textContent = 'Không tải được biểu đồ. Vui lòng tải lại trang. / The charts could not be loaded.';
    document.body.dataset.chartsReady = 'error';
  });
})();
