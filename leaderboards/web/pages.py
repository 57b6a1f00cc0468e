"""Server-rendered HTML (Jinja2 with autoescaping; no JavaScript, no build step)."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{% block title %}tttd leaderboard{% endblock %}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #0b0c0c; }
 a { color: #1d70b8; } h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
 table { border-collapse: collapse; width: 100%; font-size: .9rem; }
 th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #d8d8d8; vertical-align: top; }
 th { background: #f3f2f1; } td.num { font-variant-numeric: tabular-nums; text-align: right; white-space: nowrap; }
 tr.ref td { background: #fff7e6; font-style: italic; } tr.flagged td { color: #888; text-decoration: line-through; }
 tr.rejected td { color: #888; } .tag { font-size: .75rem; padding: .05rem .35rem; border-radius: .25rem; background: \
#eee; }
 .muted { color: #505a5f; font-size: .85rem; } pre { background: #f8f8f8; padding: 1rem; overflow: auto; max-height: \
40rem; white-space: pre-wrap; overflow-wrap: anywhere; }
 img { max-width: 100%; border: 1px solid #eee; }
</style></head><body>
<p class="muted"><a href="/">tttd leaderboard</a> — every score here was recomputed by the problem's own verifier.</p>
{% block body %}{% endblock %}
</body></html>"""

_INDEX = """{% extends "base" %}{% block body %}
<h1>Problems</h1>
<table id="problems">
<tr><th>problem</th><th>direction</th><th>units</th><th>entries</th><th>best entry</th><th>references</th></tr>
{% for p in problems %}
<tr>
 <td><a href="/p/{{ p.problem }}">{{ p.problem }}</a><br><span class="muted">{{ p.title }}</span></td>
 <td>{{ "lower is better" if p.direction == "min" else "higher is better" }}</td>
 <td>{{ p.units }}</td>
 <td class="num">{{ p.accepted }} / {{ p.entries }}</td>
 <td class="num">{% if p.best %}<a href="/entry/{{ p.best.id }}">{{ p.best.display }}</a><br><span class="muted">\
{{ p.best.submitter }}</span>{% else %}—{% endif %}</td>
 <td>{% for r in [p.best_human, p.previous_ai, p.ttt_discover] if r %}<div><span class="tag">{{ r.label }}</span> \
{{ r.display or r.published }}{% if not r.verified %} <span class="muted">(quoted)</span>{% endif %}</div>\
{% endfor %}</td>
</tr>
{% endfor %}
</table>{% endblock %}"""

_PROBLEM = """{% extends "base" %}{% block title %}{{ card.id }} — tttd leaderboard{% endblock %}{% block body %}
<h1>{{ card.id }}</h1>
<p>{{ card.title }}. {{ "Lower" if card.direction == "min" else "Higher" }} is better; units: {{ card.units }}.
{% if card.proven_bound and not family %}<span class="muted">Known: {{ card.proven_bound }}.</span>{% endif %}</p>
{% if family %}
<h2>Family view: all instances</h2>
<p id="family-summary">{% if family.with_gap %}Mean gap to the best known: {{ "%+.3f"|format(family.mean_gap_pct) }}% \
over {{ family.with_gap }} instance{{ "s" if family.with_gap != 1 }}; at or beyond the best known: \
{{ family.at_or_beyond }} of {{ family.with_gap }}.{% else %}No instance with a best known value has an entry yet.\
{% endif %}</p>
<table id="family">
<tr><th>instance</th><th>best entry</th><th>best known</th><th>gap</th><th>entries</th></tr>
{% for r in family.rows %}
<tr><td>{{ r.title or r.board }}</td>
 <td class="num"><a href="/entry/{{ r.best.id }}">{{ r.best.display }}</a><br><span class="muted">\
{{ r.best.submitter }}</span></td>
 <td class="num">{% if r.best_known %}{{ r.best_known.display or r.best_known.published }}<br><span class="muted">\
{{ "re-verified" if (r.best_known.verified or r.best_known.rechecked) else "quoted, not re-verified" }}</span>\
{% else %}—{% endif %}</td>
 <td class="num">{{ "%+.3f%%"|format(r.gap_pct) if r.gap_pct is not none else "—" }}{% if r.at_or_beyond %} \
<span class="tag">at or beyond</span>{% endif %}</td>
 <td class="num">{{ r.ranked }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% for b in boards %}
<h2>Ranking{% if b.hardware_key %} on {{ b.hardware_key }}{% endif %}{% if b.case_set %} — {{ b.case_set }}{% endif %}\
{% if not b.comparable %} <span class="tag">not comparable to the references</span>{% endif %}</h2>
{% if b.title %}<p class="board-title">{{ b.title }}</p>{% endif %}
{% set mol = card.board.run %}
<table id="ranking{{ '' if loop.first else loop.index }}" class="ranking">
<tr><th>#</th><th>{{ "headline (AUC)" if mol else "score" }}</th>{% if mol %}<th>top-10</th>{% endif %}\
<th>submitter</th><th>status</th><th>when</th><th>notes</th></tr>
{% for row in b.rows %}
 {% if row.kind == "reference" %}{% set r = row.reference %}
 <tr class="ref"><td>ref</td><td class="num">{{ r.display or r.published }}</td>{% if mol %}<td></td>{% endif %}
  <td>{{ r.label }}: {{ r.who }} ({{ r.year }})</td>
  <td>{{ "re-verified" if (r.verified or r.rechecked) else "quoted, not re-verified" }}{% if not r.comparable %} · \
<span class="tag">context only</span> {{ r.note }}{% endif %}{% if r.estimated_rank %} · est. rank \
{{ r.estimated_rank }}, perf. {{ r.estimated_performance }}{% endif %}</td><td></td><td class="muted">\
{{ r.source }}</td></tr>
 {% else %}{% set e = row.entry %}
 <tr class="{{ 'flagged' if e.flag else ('rejected' if not e.accepted else 'entry') }}">
  <td>{{ e.rank or "" }}</td>
  <td class="num"><a href="/entry/{{ e.id }}">{{ e.display if e.accepted else "—" }}</a></td>
  {% if mol %}<td class="num">\
{{ "%.4f"|format(e.details.top10) if e.accepted and e.details.top10 is not none else "—" }}</td>{% endif %}
  <td>{{ e.submitter }}</td>
  <td>{% if e.flag %}<span class="tag">{{ e.flag }}</span> {{ e.flag_reason }}{% elif e.accepted %}accepted\
{% if card.board.gap_detail and e.details[card.board.gap_detail] is number %} · gap \
{{ "%+.3f"|format(e.details[card.board.gap_detail]) }}% to the best known{% endif %}{% if e.beats %} \
<span class="tag">beats {{ e.beats|join(", ") }}</span>{% endif %}{% if e.reproduction_of %} \
<span class="tag">reproduces {{ e.reproduction_of }}</span>{% endif %}{% if e.estimated_rank %} · est. rank \
{{ e.estimated_rank }}, perf. {{ e.estimated_performance }}{% endif %}{% else %}{{ e.status }}: {{ e.message }}\
{% endif %}</td>
  <td class="muted">{{ e.created_at.strftime("%Y-%m-%d %H:%M") }}</td><td class="muted">{{ e.notes }}</td></tr>
 {% endif %}
{% endfor %}
</table>
{% if mol %}{% set top = b.entries|selectattr("rank", "equalto", 1)|first %}{% if top %}
<p class="muted">Best entry on this board (#{{ top.id }}): \
its top molecules as the leaderboard's replay scored them.</p>
<img class="board-picture" src="/entry/{{ top.id }}/picture.png" alt="top molecules of entry {{ top.id }}">{% endif %}\
{% endif %}
{% else %}
<p class="muted">No entries yet: <code>tttd submit {{ card.id }} FILE --name NAME</code>.</p>
{% endfor %}
<h2>Best so far</h2>
<div id="chart" data-src="/p/{{ card.id }}/chart.json"></div>
<noscript><img id="plot" src="/p/{{ card.id }}/plot.png" alt="best-so-far plot with reference lines"></noscript>
<p class="muted">Hover for values, drag to zoom, double-click to reset. \
<a href="/p/{{ card.id }}/plot.png">Static picture</a>.</p>
<script src="/static/plotly.min.js"></script>
<script>
fetch(document.getElementById("chart").dataset.src).then(r => r.json()).then(f =>
  Plotly.newPlot("chart", f.data, f.layout, {responsive: true, displaylogo: false}));
</script>
{% if best and card.picture and not card.board.run %}<h2>Best entry</h2>
<img id="picture" src="/entry/{{ best.id }}/picture.png" alt="picture of the best entry">{% endif %}
{% endblock %}"""

_ENTRY = """{% extends "base" %}{% block title %}entry {{ e.id }} — tttd leaderboard{% endblock %}{% block body %}
<h1>Entry {{ e.id }}: <a href="/p/{{ e.problem }}">{{ e.problem }}</a></h1>
<table id="entry">
<tr><th>score</th><td class="num">{{ e.display if e.accepted else "—" }}</td></tr>
<tr><th>status</th><td>{{ e.status }}{% if not e.message.startswith(e.status) %}: {{ e.message }}{% else %}\
{{ e.message[e.status|length:] }}{% endif %}{% if e.flag %} <span class="tag">{{ e.flag }}</span> {{ e.flag_reason }}\
{% endif %}</td></tr>
<tr><th>rank</th><td>{{ "%d among entries"|format(e.rank) if e.rank else "not ranked" }}{% if e.beats %}; beats \
{{ e.beats|join(", ") }}{% endif %}</td></tr>
{% if card.board.run and e.case_set %}<tr><th>board</th><td><code>{{ e.case_set }}</code></td></tr>{% endif %}
{% if e.accepted and e.details.top10 is defined %}<tr><th>top-10</th><td class="num">\
{{ "%.4f"|format(e.details.top10) }} after {{ e.details.calls }} calls</td></tr>{% endif %}
<tr><th>submitter</th><td>{{ e.submitter }}</td></tr>
<tr><th>submitted</th><td><time datetime="{{ e.created_at.isoformat() }}">\
{{ e.created_at.strftime("%Y-%m-%d %H:%M UTC") }}</time></td></tr>
<tr><th>artifact</th><td><code>sha256 {{ e.artifact_sha256 }}</code> — \
<a href="/entry/{{ e.id }}/artifact">download</a></td></tr>
<tr><th>verifier</th><td>{{ e.verifier }} (tttd {{ e.tttd_version }})</td></tr>
{% if e.hardware %}<tr><th>hardware</th><td>{{ e.hardware }}</td></tr>{% endif %}
{% if e.run_id %}<tr><th>run</th><td>{{ e.run_id }}</td></tr>{% endif %}
</table>
{% if card.picture and e.accepted %}<h2>Picture</h2>\
<img id="picture" src="/entry/{{ e.id }}/picture.png" alt="picture of this entry">{% endif %}
<h2>Artifact</h2>
<pre id="artifact">{{ artifact }}</pre>
{% endblock %}"""

_env = Environment(
    loader=DictLoader({"base": _BASE, "index": _INDEX, "problem": _PROBLEM, "entry": _ENTRY}),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def index(problems) -> str:
    return _env.get_template("index").render(problems=problems)


def problem(card, boards, best, family=None) -> str:
    return _env.get_template("problem").render(card=card, boards=boards, best=best, family=family)


def entry(card, e, artifact: str) -> str:
    return _env.get_template("entry").render(card=card, e=e, artifact=artifact)
