"""Routes and pages of the leaderboard web app. Everything shown comes from the leaderboard's own
store (entries it verified itself) and the problem cards (reference rows)."""

from __future__ import annotations

import hmac
import io
import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

import leaderboards
from leaderboards.web import pages


def _card(env_id: str):
    from tttd_envs.registration import card

    try:
        return card(env_id)
    except KeyError:
        raise HTTPException(404, f"unknown problem {env_id}") from None


def create_app(db: str | None = None, token: str | None = None) -> FastAPI:
    app = FastAPI(title="tttd leaderboard", docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return pages.index(leaderboards.problems_summary(db=db))

    @app.get("/p/{env_id}", response_class=HTMLResponse)
    def problem(env_id: str) -> str:
        card = _card(env_id)
        boards = leaderboards.boards(env_id, include_rejected=True, db=db)
        best = next((e for b in boards if b.comparable for e in b.entries if e.rank == 1), None) or next(
            (e for b in boards for e in b.entries if e.rank == 1), None
        )
        family = None
        if card.board.instances:  # CVRP-v0, JSSP-v0: the family view above the boards
            from leaderboards.family_view import family as family_of

            family = family_of(card, boards)
        return pages.problem(card, boards, best, family)

    @app.get("/p/{env_id}/chart.json")
    def chart(env_id: str) -> Any:
        from leaderboards.web import charts

        card = _card(env_id)
        boards = leaderboards.boards(env_id, db=db)
        entries = [e for b in boards[:1] for e in b.entries if e.accepted]
        return charts.best_so_far(
            card,
            entries,
            leaderboards.references(env_id, boards[0].case_set if boards else ""),
            comparable=boards[0].comparable if boards else True,
        )

    @app.get("/static/plotly.min.js")
    def plotly_js() -> Response:
        from leaderboards.web import charts

        return Response(
            charts.plotly_js(), media_type="application/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    @app.get("/p/{env_id}/plot.png")
    def plot(env_id: str) -> Response:
        card = _card(env_id)
        png = _best_so_far_png(card, leaderboards.history(env_id, db=db), leaderboards.references(env_id))
        return Response(png, media_type="image/png")

    @app.get("/entry/{entry_id}", response_class=HTMLResponse)
    def entry(entry_id: int) -> str:
        e = _entry(entry_id)
        return pages.entry(_card(e.problem), e, leaderboards.artifact(entry_id, db=db))

    @app.get("/entry/{entry_id}/artifact", response_class=PlainTextResponse)
    def artifact(entry_id: int) -> PlainTextResponse:
        e = _entry(entry_id)
        ext = {"program": "py", "json": "json", "molecule-run": "molrun.json"}.get(str(e.artifact_kind), "txt")
        if e.problem.startswith("AHC"):
            ext = "cpp"
        return PlainTextResponse(
            leaderboards.artifact(entry_id, db=db),
            headers={"Content-Disposition": f'attachment; filename="entry-{entry_id}.{ext}"'},
        )

    @app.get("/entry/{entry_id}/picture.png")
    def picture(entry_id: int) -> Response:
        e = _entry(entry_id)
        card = _card(e.problem)
        png = _picture_png(card, e, lambda: leaderboards.artifact(entry_id, db=db))
        if png is None:
            raise HTTPException(404, "no picture for this entry")
        return Response(png, media_type="image/png")

    @app.get("/api/board/{env_id}")
    def api_board(env_id: str) -> Any:
        _card(env_id)
        return {
            "problem": env_id,
            "entries": [_public(e) for e in leaderboards.board(env_id, include_rejected=True, db=db)],
            "references": [_jsonable(r) for r in leaderboards.references(env_id)],
        }

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.post("/api/submit/{env_id}")
    async def api_submit(env_id: str, request: Request) -> Any:
        if not token:
            raise HTTPException(
                403, "this leaderboard is read-only (start `tttd serve --token ...` to accept submissions)"
            )
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise HTTPException(401, "missing or wrong bearer token")
        _card(env_id)
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            raise HTTPException(400, 'send JSON: {"artifact": "...", "submitter": "...", "notes": "..."}') from None
        if not isinstance(body, dict) or not isinstance(body.get("artifact"), str) or "submitter" not in body:
            raise HTTPException(400, 'send JSON: {"artifact": "...", "submitter": "...", "notes": "..."}')
        if _card(env_id).board.run:
            # a molecule run travels as a bundle (`tttd board --artifact N`); never a path on this server
            from leaderboards import molruns

            try:
                molruns.files_of(body["artifact"])
            except leaderboards.SubmissionRefused as e:
                raise HTTPException(400, str(e)) from None
        import asyncio

        try:
            entry = await asyncio.to_thread(
                leaderboards.submit,
                env_id,
                body["artifact"],
                submitter=str(body["submitter"]),
                notes=str(body.get("notes", ""))[:2000],
                client_score=body.get("score"),
                db=db,
            )
        except leaderboards.SubmissionRefused as e:  # a request the leaderboard does not take: say why
            from leaderboards.errors import SubmissionTooLarge

            raise HTTPException(413 if isinstance(e, SubmissionTooLarge) else 400, str(e)) from None
        return _public(entry)

    def _entry(entry_id: int):
        try:
            return leaderboards.entry(entry_id, db=db)
        except LookupError:
            raise HTTPException(404, f"no entry {entry_id}") from None

    return app


def _jsonable(obj: Any) -> Any:
    import dataclasses
    import datetime

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    return obj


def _public(e) -> dict:
    d = _jsonable(e)
    details = d.get("details") or {}
    for bulky in ("construction", "stdout", "stderr", "cases", "picture_case"):
        details.pop(bulky, None)
    return d


def _figure(w: float, h: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=100, layout="constrained")


def _best_so_far_png(card, history, refs) -> bytes:
    """Best-so-far step line of accepted entries over time, with the reference values as lines."""
    import matplotlib.dates as mdates

    fig = _figure(7.5, 3.8)
    ax = fig.add_subplot()
    better = min if card.direction == "min" else max
    times: list[Any] = []  # datetimes
    best: list[float] = []
    for t, score in history:
        if score is None:
            continue
        times.append(t)
        best.append(score if not best else better(best[-1], score))
    if times:
        # Dates read well over days; entries minutes apart read better as a sequence.
        by_date = (times[-1] - times[0]).total_seconds() > 6 * 3600
        xs = times if by_date else list(range(1, len(times) + 1))
        ax.step(xs, best, where="post", color="#1d70b8", lw=2, label="best entry so far")
        ax.plot(xs, best, "o", color="#1d70b8", ms=3)
        if by_date:
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        else:
            ax.set_xlabel("accepted submission (in order)", fontsize=8)
            ax.xaxis.get_major_locator().set_params(integer=True)
    else:
        ax.text(0.5, 0.5, "no accepted entries yet", transform=ax.transAxes, ha="center", color="0.4")
    colors = ["#d4351c", "#f47738", "#00703c", "#912b88", "#505a5f"]
    for i, r in enumerate([r for r in refs if getattr(r, "value", None) is not None]):
        ax.axhline(r.value, ls="--", lw=1, color=colors[i % len(colors)], label=f"{r.label}: {r.display or r.value}")
    ax.set_ylabel(f"{card.units} ({'lower' if card.direction == 'min' else 'higher'} is better)", fontsize=8)
    ax.set_title(f"{card.id}: best so far", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _picture_png(card, e, get_artifact) -> bytes | None:
    if not card.picture or not e.accepted:
        return None
    from tttd_envs import render

    details = dict(e.details or {})
    construction = details.get("construction")
    # Only where the card says a stored JSON construction redraws exactly with its own verifier options
    # (logistics instances are options, so a default verifier could draw another instance).
    if construction is None and card.board.redraw_from_json and e.artifact_kind == "json":
        # Recompute from the stored artifact (a JSON construction is re-verified, never trusted).
        from verifiers import get_verifier

        v = get_verifier(card.verifier, **card.verifier_kwargs).verify(get_artifact())
        construction = v.details.get("construction") if v.accepted else None
        details = {**details, **v.details}
    if card.picture not in ("ahc039", "trimul") and construction is None:  # these draw from details
        return None
    return render.png_bytes(card, construction, details, title=f"{card.id}: entry {e.id} ({e.display})")
