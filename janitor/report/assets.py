"""The stylesheet and script inlined into report.html. The page's Content-Security-Policy allows exactly these
texts, by their SHA-256, so they must be constants: nothing from the data is ever put into them."""

from __future__ import annotations

CSS = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--free:#d1495b;--before:#9aa5b1;--after:#2a9d8f;
--link:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink)}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;
border-bottom:1px solid var(--line)}h4{margin:14px 0 6px}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:var(--bg);padding:1px 4px;border-radius:4px}
a{color:var(--link)}
.facts-head{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 12px;margin:0 0 16px;
color:var(--muted)}.facts-head dt{font-weight:600}.facts-head dd{margin:0;min-width:0;overflow-wrap:anywhere}
code.copy{user-select:all;-webkit-user-select:all;word-break:break-all;cursor:text}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:12px 0 8px}
.card{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:0}
.card b{display:block;font-size:22px;overflow-wrap:anywhere}.card span{color:var(--muted)}
.card.remove{border-color:var(--free)}.card.pending{border-color:#d4a72c}
.alert{border:1px solid #d4a72c;background:#fff8c5;border-radius:8px;padding:10px 14px;margin:12px 0}
.alert.refused{border-color:#cf222e;background:#ffebe9}.alert ul{margin:6px 0 0;padding-left:20px}
.charts-wrap{margin-top:18px}
.switch-title{color:var(--muted);margin-right:8px}
input.measure{position:absolute;opacity:0;width:1px;height:1px}
input.measure+label{display:inline-block;border:1px solid var(--line);padding:3px 10px;cursor:pointer;
background:#fff}input.measure+label+input+label{border-left:0;border-radius:0 6px 6px 0}
#m-items+label{border-radius:6px 0 0 6px}
input.measure:checked+label{background:var(--ink);color:#fff;border-color:var(--ink)}
input.measure:focus-visible+label{outline:2px solid var(--link);outline-offset:2px}
#m-items:checked~.charts .v-bytes,#m-bytes:checked~.charts .v-items{display:none}
.charts{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(min(100%,480px),1fr));
gap:16px;margin-top:10px}
.chart{margin:0;border:1px solid var(--line);border-radius:8px;padding:12px 14px;min-width:0}
figcaption{font-weight:600;margin-bottom:8px}
.view{display:grid;grid-template-columns:minmax(0,38%) minmax(40px,1fr) minmax(0,max-content);gap:4px 8px;
align-items:center;font-size:12px}
.view .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;text-align:right}
.view .value{color:var(--muted);white-space:nowrap}
.view .pair{display:contents}.view.ba .label{grid-row:span 2}
.track{display:block;width:100%;height:14px}
.bar{fill:var(--free)}.bar.before{fill:var(--before)}.bar.after{fill:var(--after)}
.legend{grid-column:1/-1;margin:0 0 4px;color:var(--muted)}.key{display:inline-block;width:12px;height:12px;
border-radius:2px;margin:0 4px 0 8px;vertical-align:-1px}.key.before{background:var(--before)}
.key.after{background:var(--after)}
.empty{color:var(--muted);grid-column:1/-1}
.filter{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;gap:8px;align-items:center;
background:#fff;border-bottom:1px solid var(--line);padding:8px 0;margin-top:24px}
.filter input,.filter select{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;
min-width:0;max-width:100%}.filter input[type=search]{flex:1 1 180px}.filter select{flex:0 1 auto}
.filter output{color:var(--muted);flex:1 0 100%}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere}
th{background:var(--bg);cursor:pointer;user-select:none;white-space:nowrap}
th::after{content:" ↕";color:#b0b8c1}th[aria-sort=ascending]::after{content:" ▲";color:inherit}
th[aria-sort=descending]::after{content:" ▼";color:inherit}
th.num,td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tbody tr:hover{background:#f0f6ff}
a.out{text-decoration:none;margin-left:4px}
details{margin:6px 0}summary{cursor:pointer;overflow-wrap:anywhere}
details.project{border:1px solid var(--line);border-radius:8px;padding:8px 12px}
details.project>summary{font-weight:600}
.facts{margin:6px 0;padding-left:20px;color:var(--muted);overflow-wrap:anywhere}
.more{color:var(--muted);font-style:italic}
ul.paths{columns:3;font-size:13px;overflow-wrap:anywhere}
[hidden]{display:none!important}
@media (max-width:640px){
main{padding:14px 12px 32px}h1{font-size:20px}
.facts-head{grid-template-columns:minmax(0,1fr)}.facts-head dd{margin-bottom:4px}
.view{grid-template-columns:minmax(40px,1fr) minmax(0,max-content)}
.view .label,.view.ba .label{grid-column:1/-1;grid-row:auto;text-align:left;white-space:normal;
overflow-wrap:anywhere;margin-top:4px}
.view .value{white-space:normal}
.filter{position:static}
ul.paths{columns:1}
table.stack thead{display:none}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack tr{border-bottom:1px solid var(--line);padding:4px 0}
table.stack td{border:0;padding:1px 4px;text-align:left}
table.stack td.num{display:inline-block;width:auto;margin-right:6px}table.stack td:empty{display:none}
table.stack td[data-h]::before{content:attr(data-h) ": ";color:var(--muted)}
}
"""

# Sorting and filtering without network. Sorting: click (or Enter on) a header; numeric cells sort by their
# data-sort value. Filtering: every row carries data-rule / data-kind / data-project (space-separated lists
# on the per-project overview); a filter a table has no data for leaves that table alone. The filter bar is
# hidden in the markup and shown here, so without this script no dead control is shown.
JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("th");
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    return v === null ? cell.textContent.toLowerCase() : Number(v);
  }
  heads.forEach(function (th, col) {
    th.tabIndex = 0;
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending", body = table.tBodies[0];
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a.cells[col]), y = key(b.cells[col]);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      }).forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
  });
  table.setAttribute("data-sortable", "ready");
});
(function () {
  var bar = document.getElementById("filter");
  if (!bar) { return; }
  var text = document.getElementById("f-text"), rule = document.getElementById("f-rule"),
      kind = document.getElementById("f-kind"), project = document.getElementById("f-project"),
      count = document.getElementById("f-count");
  var rows = Array.from(document.querySelectorAll("[data-filter] tbody tr, ul[data-filter] li"));
  var sections = Array.from(document.querySelectorAll("details.project"));
  var folds = Array.from(document.querySelectorAll("details"));
  folds.forEach(function (d) { d.setAttribute("data-was-open", d.open ? "1" : "0"); });
  function has(row, name, wanted) {
    var v = row.getAttribute("data-" + name);
    return !wanted || v === null || v.split(" ").indexOf(wanted) >= 0;
  }
  function apply() {
    var t = text.value.trim().toLowerCase(), r = rule.value, k = kind.value, p = project.value.trim().toLowerCase();
    var active = !!(t || r || k || p), shown = 0;
    rows.forEach(function (row) {
      var path = row.getAttribute("data-project");
      var ok = (!t || row.textContent.toLowerCase().indexOf(t) >= 0) && has(row, "rule", r) && has(row, "kind", k)
        && (!p || path === null || path.toLowerCase().indexOf(p) >= 0);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (!active) { folds.forEach(function (d) { d.open = d.getAttribute("data-was-open") === "1"; }); }
    sections.forEach(function (s) {
      var path = (s.getAttribute("data-project") || "").toLowerCase();
      var visible = !active || ((!p || path.indexOf(p) >= 0) &&
        (!(t || r || k) || s.querySelector("tbody tr:not([hidden])") !== null));
      s.hidden = !visible;
      if (active && visible) {
        s.open = true;
        s.querySelectorAll("details").forEach(function (d) {
          if (d.querySelector("tbody tr:not([hidden])")) { d.open = true; }
        });
      }
    });
    count.value = active ? shown + " of " + rows.length + " rows match" : rows.length + " rows";
    bar.setAttribute("data-shown", String(shown));
  }
  [text, project].forEach(function (el) { el.addEventListener("input", apply); });
  [rule, kind].forEach(function (el) { el.addEventListener("change", apply); });
  bar.hidden = false;
  apply();
})();
"""
