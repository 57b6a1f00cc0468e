"""The ``tttd`` command. Subcommands come from the ``tttd.commands`` entry-point group, so this
module (in the env layer) never imports the agent or leaderboard packages that add their own."""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import entry_points


class UserError(Exception):
    """A mistake the user can fix; printed as one sentence, without a traceback."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tttd", description="Test-time discovery: environments, verifiers, agent, leaderboard."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for ep in sorted(entry_points(group="tttd.commands"), key=lambda e: e.name):
        try:
            ep.load()(sub)
        except Exception as e:  # noqa: BLE001 - a broken optional package must not break `tttd list`
            print(f"tttd: warning: could not load command {ep.name!r} ({type(e).__name__}: {e})", file=sys.stderr)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserError, KeyError, FileNotFoundError, ValueError, TypeError) as e:
        if args.debug:
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"tttd: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tttd: interrupted", file=sys.stderr)
        return 130


# -- tttd list ------------------------------------------------------------------------------------
def add_list_command(sub) -> None:
    p = sub.add_parser("list", help="list the problems (ids, domain, direction, units, best reference)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_list)


def _cmd_list(args) -> int:
    import tttd_envs

    rows = []
    for card in tttd_envs.cards():
        best = card.best_reference()
        rows.append(
            {
                "id": card.id,
                "domain": card.domain,
                "direction": card.direction,
                "units": card.units,
                "target": card.target,
                "best_reference": None
                if best is None
                else {
                    "value": best.value,
                    "display": best.display,
                    "who": best.who,
                    "year": best.year,
                    "label": best.label,
                    "how": best.how,
                },
                "references": card.reference_summary(),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [("ID", "DOMAIN", "DIR", "UNITS", "BEST REFERENCE")]
    for r in rows:
        b = r["best_reference"]
        shown = (
            r["references"]
            if (b is not None or r["references"] != "—")
            else (f"{r['target']}, published" if r["target"] else "—")
        )
        table.append((r["id"], r["domain"], r["direction"], r["units"], shown))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return 0


# -- tttd eval ------------------------------------------------------------------------------------
def add_eval_command(sub) -> None:
    p = sub.add_parser("eval", help="verify one artifact (program, construction or raw answer) for a problem")
    p.add_argument("problem", metavar="ID", help="problem id, e.g. ErdosMinOverlap-v0 (see `tttd list`)")
    p.add_argument(
        "file", metavar="FILE", help="the artifact: a .py program, a .json construction or a raw answer ('-' = stdin)"
    )
    p.add_argument("--json", action="store_true", help="print the Verdict as JSON")
    p.add_argument("--budget-s", type=float, default=None, help="time budget passed to run() (default: the card's)")
    p.add_argument("--seed", type=int, default=0, help="seed passed to run() (default 0)")
    p.add_argument(
        "--parent",
        metavar="STATE_JSON",
        default=None,
        help="a state/construction JSON to hand the program as parent.json",
    )
    p.add_argument("--full", action="store_true", help="with --json, keep the construction and full logs")
    p.add_argument(
        "--picture",
        metavar="PNG",
        default=None,
        help="also save a picture of the result (the construction, the contest case, or per-shape timings)",
    )
    p.add_argument(
        "-o",
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a problem option (see `help` of the env), e.g. -o mode=contest -o case_set=lite",
    )
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args) -> int:
    from tttd_envs.registration import card as get_card
    from verifiers import get_verifier

    card = get_card(args.problem)
    text = sys.stdin.read() if args.file == "-" else _read(args.file)
    limits = dict(card.limits)
    if args.budget_s is not None:
        if not args.budget_s > 0:
            raise UserError("--budget-s must be positive")
        limits["budget_s"] = args.budget_s
    for item in args.opt:
        key, sep, raw = item.partition("=")
        if not sep:
            raise UserError(
                f"-o {item!r}: write KEY=VALUE; {card.id} takes the options {', '.join(sorted(card.limits))}"
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        try:
            limits.update(card.check_limits({key.strip(): value}))
        except ValueError as e:
            raise UserError(f"-o {item!r}: {e}") from None
    card = card.for_options(limits)  # a problem whose card depends on an option (an instance) gets its own
    if "progress" in card.limits and sys.stderr.isatty():
        limits["progress"] = True
    parent = None
    if args.parent:
        doc = json.loads(_read(args.parent))
        parent = (
            {"construction": doc.get("construction"), "value": doc.get("value")}
            if isinstance(doc, dict)
            else {"construction": doc, "value": None}
        )
    verifier = get_verifier(card.verifier, **card.verifier_kwargs, **limits)
    if card.domain == "math" and _looks_like_program(text) and sys.stderr.isatty():
        print(f"running the program in the sandbox (budget {limits.get('budget_s', 0):g} s)…", file=sys.stderr)
    verdict = verifier.verify(text, parent=parent, seed=args.seed)
    if args.picture:
        _save_picture(card, verdict, args.picture)
    if args.json:
        d = verdict.to_dict()
        if not args.full:
            d["details"].pop("construction", None)
        print(json.dumps(d, indent=2, allow_nan=False, default=str))
    else:
        print(f"problem:  {card.id} ({card.direction}imise, {card.units})")
        print(verdict.summary())
        if verdict.accepted:
            assert verdict.score is not None  # an accepted Verdict always has a score
            print(f"reward:   {card.reward(verdict.score, verdict.details)!r}")
            _compare(card, verdict.score)
        elif verdict.details.get("stderr"):
            tail = verdict.details["stderr"].strip().splitlines()[-8:]
            print("stderr (tail):\n  " + "\n  ".join(tail))
    return 0 if verdict.accepted else 1


def _save_picture(card, verdict, path: str) -> None:
    """The card's picture of this verdict (tttd_envs.render), marked when the answer was not accepted."""
    if not card.picture:
        raise UserError(
            f"{card.id} has no picture; --picture works for problems with one "
            "(circle packings, Erdős, autocorrelations, AHC039, TriMul, molecules)"
        )
    from tttd_envs import render

    details = verdict.details if verdict.accepted else {}
    title = f"{card.id}: " + (
        f"{card.score_label} {verdict.details.get('display') or f'{verdict.score:.10g}'}"
        if verdict.accepted
        else f"{verdict.status}"
    )
    try:
        with open(path, "wb") as fh:
            fh.write(render.png_bytes(card, details.get("construction"), details, title=title))
    except OSError as e:
        raise UserError(f"cannot write the picture to {path}: {e.strerror or e}") from None
    print(f"picture:  {path}", file=sys.stderr)


def _compare(card, score: float) -> None:
    for ref in card.references:
        if ref.value is None:
            continue
        mark = "beats" if card.better(score, ref.value) else ("ties" if score == ref.value else "is behind")
        print(f"  {mark:9} {ref.label}: {ref.display} ({ref.who} {ref.year})")


def _looks_like_program(text: str) -> bool:
    s = text.lstrip()
    return not s.startswith(("[", "{"))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory; give a file") from None


if __name__ == "__main__":
    sys.exit(main())
