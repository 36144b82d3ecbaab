/* Evidence-pack report: sortable and filterable tables. Inline, no dependency, fetches nothing.
   A header with data-sort sorts its table (click again to reverse); a cell's data-value, when present,
   is the sort key. A .table-filter input and a .status-filter select narrow the rows of the table
   named by data-table; .filter-count says how many rows are shown. */
(function () {
  "use strict";
  function units(table) {
    var bodies = table.tBodies;
    if (bodies.length > 1) { return { parent: table, rows: Array.prototype.slice.call(bodies) }; }
    var body = bodies[0];
    return { parent: body, rows: body ? Array.prototype.slice.call(body.rows) : [] };
  }
  function key(unit, index, numeric) {
    var row = unit.tagName === "TBODY" ? unit.rows[0] : unit;
    var cell = row && row.cells[index];
    if (!cell) { return numeric ? 0 : ""; }
    var value = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    return numeric ? (parseFloat(value) || 0) : value.toLowerCase();
  }
  function sortBy(table, header) {
    var index = header.cellIndex, numeric = header.getAttribute("data-sort") === "num";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var found = units(table);
    found.rows.sort(function (a, b) {
      var x = key(a, index, numeric), y = key(b, index, numeric);
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    found.rows.forEach(function (unit) { found.parent.appendChild(unit); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  function applyFilter(id) {
    var table = document.getElementById(id);
    if (!table) { return; }
    var input = document.querySelector('.table-filter[data-table="' + id + '"]');
    var select = document.querySelector('.status-filter[data-table="' + id + '"]');
    var words = input ? input.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
    var status = select ? select.value : "";
    var shown = 0, all = units(table).rows;
    all.forEach(function (unit) {
      var text = unit.textContent.toLowerCase();
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; }) &&
               (!status || unit.getAttribute("data-status") === status);
      unit.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var count = document.querySelector('.filter-count[data-table="' + id + '"]');
    if (count) { count.textContent = shown + " of " + all.length + " shown"; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable thead th[data-sort]"), function (th) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      th.addEventListener("click", function () { sortBy(th.closest("table"), th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(th.closest("table"), th); } });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".table-filter, .status-filter"), function (el) {
      el.addEventListener("input", function () { applyFilter(el.getAttribute("data-table")); });
      el.addEventListener("change", function () { applyFilter(el.getAttribute("data-table")); });
      applyFilter(el.getAttribute("data-table"));
    });
  });
}());
