"""`tttd submit`, `tttd board` and `tttd admin` (registered through the ``tttd.commands`` entry points).

This module is imported every time `tttd` starts, so it imports nothing heavy: the database layer,
SQLAlchemy and the verifiers load only when one of these commands runs."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from tttd_envs.cli import UserError

_DB_HELP = (
    "database: a file path, sqlite:///PATH or postgresql://USER:PASS@HOST/DB (default: "
    "$TTTD_LEADERBOARD_URL, else $XDG_DATA_HOME/tttd/leaderboard.db)"
)


def _db_errors(fn):
    """SQLAlchemy failures the user can fix become one sentence."""

    def wrapped(args):
        try:
            return fn(args)
        except Exception as e:
            try:
                from sqlalchemy.exc import SQLAlchemyError
            except ModuleNotFoundError:
                raise e from None
            if isinstance(e, SQLAlchemyError):
                first = (str(getattr(e, "orig", None) or e).strip().splitlines() or [type(e).__name__])[0]
                raise UserError(f"the leaderboard database failed: {first}") from e
            raise

    return wrapped


def _need_sqlalchemy() -> None:
    try:
        import sqlalchemy  # noqa: F401
    except ModuleNotFoundError:
        raise UserError("the leaderboard needs SQLAlchemy: pip install 'tttd[web]'") from None


# -- tttd submit ------------------------------------------------------------------------------------
def add_submit_command(sub) -> None:
    p = sub.add_parser(
        "submit",
        help="verify an artifact and store it on the local leaderboard",
        description="Verify FILE with the problem's own verifier and store the verdict on the "
        "leaderboard. Exit status 0 if accepted, 1 if rejected (stored as rejected), "
        "2 if the leaderboard refuses the request (nothing stored).",
    )
    p.add_argument("problem", metavar="ID", help="problem id (see `tttd list`)")
    p.add_argument(
        "file",
        metavar="FILE",
        help="the artifact: program, construction or raw answer ('-' = stdin); "
        "for molecule problems the run directory (config.json + items.jsonl)",
    )
    p.add_argument("--name", required=True, help="who submits (shown on the board), e.g. 'alice / puct-run-7'")
    p.add_argument("--notes", default="", help="free text kept with the entry")
    p.add_argument("--run-id", default=None, help="the agent run that produced the artifact")
    p.add_argument(
        "--run-cost",
        default=None,
        metavar="JSON",
        help="what that run cost, kept with the entry: a JSON object (or @FILE holding one) with "
        "cost_usd and optionally usage such as prompt_tokens, completion_tokens, train_tokens, "
        "sampler_device_s, trainer_device_s, eval_cpu_s; values are numbers ≥ 0 or short strings",
    )
    p.add_argument(
        "-o",
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a verifier option of the problem, e.g. -o mode=contest for AtCoder official totals",
    )
    p.add_argument("--db", default=None, help=_DB_HELP)
    p.add_argument("--json", action="store_true", help="print the stored entry as JSON")
    p.set_defaults(func=_db_errors(_cmd_submit))


def _parse_opts(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UserError(f"-o {item!r}: give KEY=VALUE")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _cmd_submit(args) -> int:
    _need_sqlalchemy()
    import leaderboards
    from leaderboards.terminal import entry_text
    from tttd_envs.cli import _read
    from tttd_envs.registration import card as get_card

    run_cost = None if args.run_cost is None else _parse_run_cost(args.run_cost)
    card = get_card(args.problem)
    if card.board.run and args.file != "-":
        text = args.file  # a run directory (or a bundle file): the API reads it
        if not os.path.isdir(args.file):
            text = _read(args.file)
    else:
        text = sys.stdin.read() if args.file == "-" else _read(args.file)
    progress = True if ("progress" in card.limits and sys.stderr.isatty() and not args.json) else None
    e = leaderboards.submit(
        card.id,
        text,
        submitter=args.name,
        notes=args.notes,
        run_id=args.run_id,
        verifier_kwargs=_parse_opts(args.opt) or None,
        db=args.db,
        progress=progress,
        run_cost=run_cost,
    )
    if args.json:
        print(json.dumps(e.to_dict(), indent=2, default=str))
    else:
        print(entry_text(card, e))
    return 0 if e.accepted else 1


def _parse_run_cost(raw: str) -> dict:
    """--run-cost JSON or @FILE: the object, checked by the leaderboard's rules (one sentence if not)."""
    from leaderboards.api import check_run_cost
    from leaderboards.errors import SubmissionRefused
    from tttd_envs.cli import _read

    where = "--run-cost"
    if raw.startswith("@"):
        where = f"--run-cost {raw}"
        raw = _read(raw[1:])
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        raise UserError(
            f"{where} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); give an object "
            "such as '{\"cost_usd\": 0.5}'"
        ) from None
    try:
        return check_run_cost(value, what=where)
    except SubmissionRefused as e:
        raise UserError(str(e)) from None


# -- tttd board -------------------------------------------------------------------------------------
def add_board_command(sub) -> None:
    p = sub.add_parser(
        "board",
        help="show the local leaderboard (one problem, or every problem)",
        description="Without ID: every problem, best entry against the best human, previous AI "
        "and TTT-Discover references. With ID: the ranked table, reference rows at "
        "their positions, per hardware and case set for timed problems.",
    )
    p.add_argument("problem", metavar="ID", nargs="?", help="problem id (see `tttd list`)")
    p.add_argument("--all", action="store_true", help="also list rejected entries")
    p.add_argument("--hardware", default=None, help="only this hardware board (timed problems)")
    p.add_argument(
        "--case-set",
        "--instance",
        dest="case_set",
        default=None,
        help="only this case set (AtCoder: public150 or official) or instance board (CVRP-v0, JSSP-v0: "
        "the instance's name, e.g. X-n101-k25 or ta01)",
    )
    p.add_argument(
        "--family",
        action="store_true",
        help="problems with instances (CVRP-v0, JSSP-v0): only the family view (mean gap to the best "
        "known, instances at or beyond it, one line per instance)",
    )
    p.add_argument("--entry", type=int, metavar="N", help="show entry #N in full (provenance, verdict history)")
    p.add_argument("--artifact", type=int, metavar="N", help="write entry #N's artifact to stdout, byte for byte")
    p.add_argument(
        "--unpack",
        metavar="DIR",
        help="with --artifact N of a molecule run: write its config.json and "
        "items.jsonl into DIR, byte for byte as submitted",
    )
    p.add_argument("--db", default=None, help=_DB_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_db_errors(_cmd_board))


def _cmd_board(args) -> int:
    _need_sqlalchemy()
    import leaderboards
    from leaderboards import terminal
    from tttd_envs.registration import card as get_card

    if args.unpack is not None and args.artifact is None:
        raise UserError("--unpack DIR needs --artifact N")
    if args.artifact is not None and args.unpack is not None:
        from leaderboards import molruns

        text = leaderboards.artifact(args.artifact, db=args.db)
        if leaderboards.entry(args.artifact, db=args.db, full=False).artifact_kind != "molecule-run":
            raise UserError(f"entry #{args.artifact} is not a molecule run; --unpack applies to molecule runs only")
        for path in molruns.unpack(text, args.unpack):
            print(path)
        return 0
    if args.artifact is not None:
        sys.stdout.buffer.write(leaderboards.artifact(args.artifact, db=args.db).encode("utf-8", "surrogatepass"))
        sys.stdout.flush()
        return 0
    if args.entry is not None:
        e = leaderboards.entry(args.entry, db=args.db)
        print(
            json.dumps(e.to_dict(), indent=2, default=str) if args.json else terminal.entry_text(get_card(e.problem), e)
        )
        return 0
    if args.problem is None:
        items = leaderboards.problems_summary(db=args.db)
        print(
            json.dumps([s.to_dict() for s in items], indent=2, default=str)
            if args.json
            else terminal.summary_text(items)
        )
        return 0
    card = get_card(args.problem)
    if args.family:
        if not card.board.instances:
            raise UserError(f"--family applies to problems with instances (CVRP-v0, JSSP-v0), not {card.id}")
        fam = leaderboards.family(card.id, db=args.db)
        print(json.dumps(fam.to_dict(), indent=2, default=str) if args.json else terminal.family_text(card, fam))
        return 0
    boards = leaderboards.boards(
        card.id, hardware=args.hardware, case_set=args.case_set, include_rejected=args.all, db=args.db
    )
    if args.json:
        print(json.dumps([b.to_dict() for b in boards], indent=2, default=str))
    else:
        if card.board.instances and args.case_set is None:  # the family view above the instance boards
            from leaderboards.family_view import family

            print(terminal.family_text(card, family(card, [b for b in boards])) + "\n")
        print(terminal.board_text(card, boards))
    return 0


# -- tttd admin -------------------------------------------------------------------------------------
def add_admin_command(sub) -> None:
    p = sub.add_parser(
        "admin",
        help="leaderboard operator commands: flag, unflag, reverify, db",
        description="Operator commands for the local leaderboard.",
    )
    asub = p.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    f = asub.add_parser("flag", help="mark an entry hacked or withdrawn (it leaves the ranking, stays visible)")
    f.add_argument("entry", type=int, metavar="ENTRY_ID")
    f.add_argument("status", choices=["hacked", "withdrawn"])
    f.add_argument("--reason", required=True)
    f.add_argument("--operator", required=True, help="who flags it (logged)")
    u = asub.add_parser("unflag", help="clear an entry's flag (logged)")
    u.add_argument("entry", type=int, metavar="ENTRY_ID")
    u.add_argument("--reason", default="")
    u.add_argument("--operator", required=True)
    r = asub.add_parser(
        "reverify",
        help="re-run the current verifier on every entry of a problem "
        "(after a verifier version bump); the history is kept",
    )
    r.add_argument("problem", metavar="ID")
    r.add_argument("--operator", default="reverify")
    d = asub.add_parser(
        "db", help="show the database URL, its schema revision and entry counts (opening it applies pending migrations)"
    )
    for q in (f, u, r, d):
        q.add_argument("--db", default=None, help=_DB_HELP)
        q.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_db_errors(_cmd_admin))


def _cmd_admin(args) -> int:
    _need_sqlalchemy()
    import leaderboards
    from leaderboards import terminal
    from tttd_envs.registration import card as get_card

    if args.admin_command in ("flag", "unflag"):
        e = leaderboards.flag(
            args.entry,
            args.status if args.admin_command == "flag" else "clear",
            args.reason,
            operator=args.operator,
            db=args.db,
        )
        print(
            json.dumps(e.to_dict(), indent=2, default=str) if args.json else terminal.entry_text(get_card(e.problem), e)
        )
        return 0
    if args.admin_command == "reverify":
        card = get_card(args.problem)

        def progress(i, n, entry_id):
            if sys.stderr.isatty():
                sys.stderr.write(f"\r  re-verified {i}/{n} (entry #{entry_id})" + ("\n" if i == n else ""))

        summary = leaderboards.reverify(card.id, db=args.db, operator=args.operator, progress=progress)
        if args.json:
            print(json.dumps(summary, indent=2, default=str))
        else:
            print(
                f"{card.id}: re-verified {summary['reverified']} of {summary['entries']} entries with "
                f"{', '.join(summary['verifiers']) or '—'}: {summary['unchanged']} unchanged, {summary['changed']} "
                f"changed ({summary['newly_rejected']} newly rejected, {summary['newly_accepted']} newly accepted), "
                f"{summary['other_hardware']} measured on other hardware (kept, not applied), "
                f"{summary['refused']} refused"
            )
            for c in summary["changes"]:
                if "refused" in c:
                    print(f"  #{c['id']}: refused: {c['refused']}")
                else:
                    print(
                        f"  #{c['id']}: {c['before']['status']} {c['before']['display'] or ''} "
                        f"({c['before']['verifier']}) -> {c['after']['status']} {c['after']['display'] or ''} "
                        f"({c['after']['verifier']})"
                    )
        return 0
    from leaderboards import db as dbmod
    from leaderboards import store
    from leaderboards.migrations import HEAD

    engine = dbmod.get_engine(args.db)
    info: dict[str, Any] = {
        "url": dbmod.describe(str(engine.url)),
        "revision": dbmod.current_revision(engine),
        "head": HEAD,
        "entries": {p: {"entries": n, "accepted": a} for p, (n, a) in sorted(store.counts(engine).items())},
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"database: {info['url']}\nschema:   revision {info['revision']} (head {info['head']})")
        for p, c in info["entries"].items():
            print(f"  {p}: {c['entries']} entries, {c['accepted']} accepted")
    return 0
