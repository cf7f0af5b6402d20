"""Self-contained HTML pages: escaped tables, sortable and filterable in the browser, embedded plots.

One machinery for every page cama writes (the leaderboard; reports). A page is a single file
with its CSS, a small hand-written script and its images as ``data:`` URIs: it opens from disk
with no server, no CDN and no network access.

Interactive tables (:func:`data_table`) carry each cell's sort key in ``data-v`` (numbers sort
numerically, empty cells last); clicking a header sorts, a select per filter column narrows the
rows. The page state can also be given in the URL fragment, which is what the browser test and
shareable links use: ``page.html#sort=asr&dir=desc&dataset=MUTAG`` sorts by the column whose
``data-key`` is ``asr`` and shows MUTAG rows only.
"""
from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence

import pandas as pd

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right;white-space:nowrap}
th{background:#f3f3f3;position:sticky;top:0}td.t,th.t{text-align:left}
table.interactive th{cursor:pointer;user-select:none}table.interactive th.asc:after{content:" ▲"}
table.interactive th.desc:after{content:" ▼"}tr:nth-child(even) td{background:#fafafa}
.filters{margin:.5em 0}.filters label{margin-right:1em}.note{color:#555;font-size:.9em}
img{max-width:100%;border:1px solid #eee;margin:.3em 0}nav a{margin-right:.8em}
"""

SCRIPT = r"""
(function(){
function key(td){var v=td.getAttribute('data-v');if(v===null)v=td.textContent;
  var n=parseFloat(v);return (v!==''&&!isNaN(n)&&/^-?[0-9.eE+-]+$/.test(v.trim()))?n:v;}
function cmp(a,b){if(a===''&&b!=='')return 1;if(b===''&&a!=='')return -1;
  if(typeof a==='number'&&typeof b==='number')return a-b;return String(a).localeCompare(String(b));}
function sortBy(table,idx,dir){var tb=table.tBodies[0];var rows=Array.prototype.slice.call(tb.rows);
  rows.sort(function(r1,r2){var c=cmp(key(r1.cells[idx]),key(r2.cells[idx]));return dir==='desc'?-c:c;});
  rows.forEach(function(r){tb.appendChild(r);});
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){th.classList.remove('asc','desc');
    if(i===idx)th.classList.add(dir);});table.setAttribute('data-sorted',table.tHead.rows[0].cells[idx].getAttribute('data-key')+':'+dir);}
function applyFilters(table){var sels=document.querySelectorAll('select[data-table="'+table.id+'"]');var shown=0;
  Array.prototype.forEach.call(table.tBodies[0].rows,function(r){var ok=true;
    Array.prototype.forEach.call(sels,function(s){if(s.value!==''&&r.cells[+s.getAttribute('data-col')].textContent!==s.value)ok=false;});
    r.style.display=ok?'':'none';if(ok)shown++;});
  var c=document.getElementById(table.id+'-count');if(c)c.textContent=shown+' of '+table.tBodies[0].rows.length+' rows';}
function init(table){var heads=table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads,function(th,i){th.addEventListener('click',function(){
    var dir=th.classList.contains('desc')?'asc':'desc';sortBy(table,i,dir);});});
  var box=document.getElementById(table.id+'-filters');
  (table.getAttribute('data-filters')||'').split(',').filter(Boolean).forEach(function(k){
    var idx=-1;Array.prototype.forEach.call(heads,function(th,i){if(th.getAttribute('data-key')===k)idx=i;});if(idx<0)return;
    var vals={};Array.prototype.forEach.call(table.tBodies[0].rows,function(r){vals[r.cells[idx].textContent]=1;});
    var lab=document.createElement('label');lab.textContent=heads[idx].textContent+' ';var s=document.createElement('select');
    s.setAttribute('data-table',table.id);s.setAttribute('data-col',idx);s.setAttribute('data-key',k);
    var o=document.createElement('option');o.value='';o.textContent='all';s.appendChild(o);
    Object.keys(vals).sort().forEach(function(v){var o=document.createElement('option');o.value=v;o.textContent=v;s.appendChild(o);});
    s.addEventListener('change',function(){applyFilters(table);});lab.appendChild(s);box.appendChild(lab);});
  var h={};location.hash.replace(/^#/,'').split('&').forEach(function(p){var kv=p.split('=');if(kv[0])h[decodeURIComponent(kv[0])]=decodeURIComponent(kv[1]||'');});
  Array.prototype.forEach.call(document.querySelectorAll('select[data-table="'+table.id+'"]'),function(s){
    if(h[s.getAttribute('data-key')]!==undefined)s.value=h[s.getAttribute('data-key')];});
  if(h.sort){Array.prototype.forEach.call(heads,function(th,i){if(th.getAttribute('data-key')===h.sort)sortBy(table,i,h.dir||'desc');});}
  applyFilters(table);table.setAttribute('data-ready','1');}
document.addEventListener('DOMContentLoaded',function(){
  Array.prototype.forEach.call(document.querySelectorAll('table.interactive'),init);});
})();
"""


def esc(value) -> str:
    return html.escape(str(value))


def inline_markdown(text: str) -> str:
    """Escaped text with markdown code spans (`…`) as ``<code>`` and ``**…**`` as ``<b>``."""
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(text))
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)


def static_table(frame: pd.DataFrame, index: bool = False, float_format: str = "{:.2f}") -> str:
    """A plain table: text escaped, markdown bold as ``<b>``, floats formatted."""
    cols = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    rows = []
    for idx, row in frame.iterrows():
        vals = ([idx] if index else []) + list(row)
        cells = []
        for v in vals:
            text = float_format.format(v) if isinstance(v, float) else str(v)
            cells.append(f'<td class="{"t" if not _is_number(text) else ""}">{inline_markdown(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _is_number(text: str) -> bool:
    try:
        float(text.strip("*"))
        return True
    except ValueError:
        return False


def data_table(table_id: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence], filters: Sequence[str] = (),
               bold: Iterable[Sequence[bool]] | None = None) -> str:
    """An interactive table. ``columns``: (key, title) pairs; ``rows``: per row, one value per column
    — a float is shown with 2–4 decimals and sorts by its value, anything else as escaped text;
    ``filters``: column keys that get a select box; ``bold``: per row, per column, whether bold."""
    head = "".join(f'<th data-key="{esc(k)}" class="{"t" if k in filters else ""}">{esc(t)}</th>' for k, t in columns)
    body = []
    bold_rows = iter(bold) if bold is not None else None
    for row in rows:
        flags = next(bold_rows) if bold_rows is not None else [False] * len(row)
        cells = []
        for (key, _), v, b in zip(columns, row, flags):
            if isinstance(v, int) and not isinstance(v, bool):
                text, attr, cls = str(v), f' data-v="{v}"', ""
            elif isinstance(v, float):
                text = "" if pd.isna(v) else (f"{v:.4f}" if key.startswith("s_") else f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}")
                attr, cls = f' data-v="{"" if pd.isna(v) else repr(float(v))}"', ""
            else:
                text, attr, cls = str(v), "", ' class="t"'
            text = f"<b>{esc(text)}</b>" if b else esc(text)
            cells.append(f"<td{cls}{attr}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="filters" id="{table_id}-filters"></div><p class="note" id="{table_id}-count"></p>'
            f'<table class="interactive" id="{table_id}" data-filters="{",".join(filters)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def page(title: str, body: Sequence[str]) -> str:
    """A complete HTML document: ``body`` fragments, the CSS and the table script inline."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style><script>{SCRIPT}</script></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
