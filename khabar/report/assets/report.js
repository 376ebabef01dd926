// khabar report: sorting and filtering of the story index. Optional: without
// JavaScript the table is still complete, in its default order.
(function () {
  "use strict";
  var table = document.querySelector("table.stories");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);

  // Arabic-aware matching: fold hamza forms, alef maqsura, taa marbuta, harakat, tatweel.
  function fold(s) {
    return s.toLowerCase()
      .replace(/[\u064B-\u065F\u0670\u0640]/g, "")
      .replace(/[\u0622\u0623\u0625\u0671]/g, "\u0627")
      .replace(/\u0649/g, "\u064A")
      .replace(/\u0629/g, "\u0647");
  }
  var texts = rows.map(function (r) { return fold(r.textContent); });

  var filter = document.getElementById("filter");
  if (filter) {
    filter.parentNode.hidden = false;
    filter.addEventListener("input", function () {
      var q = fold(filter.value.trim());
      rows.forEach(function (r, i) { r.hidden = q !== "" && texts[i].indexOf(q) < 0; });
    });
  }

  var heads = table.tHead.querySelectorAll("th[data-key]");
  Array.prototype.forEach.call(heads, function (th) {
    th.tabIndex = 0;
    function sort() {
      var key = th.getAttribute("data-key");
      var numeric = th.getAttribute("data-type") === "num";
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var order = rows.map(function (r, i) { return i; });
      order.sort(function (i, j) {
        var a = rows[i].getAttribute("data-" + key) || "";
        var b = rows[j].getAttribute("data-" + key) || "";
        var c = numeric ? (parseFloat(a) || 0) - (parseFloat(b) || 0) : a.localeCompare(b, "ar");
        return (asc ? c : -c) || i - j;
      });
      order.forEach(function (i) { body.appendChild(rows[i]); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
    });
  });
})();
