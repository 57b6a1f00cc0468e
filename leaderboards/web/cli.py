"""`tttd serve`: the leaderboard as a local web page."""

from __future__ import annotations

import os


def add_serve_command(sub) -> None:
    p = sub.add_parser(
        "serve", help="serve the leaderboard as a web page on localhost (read-only unless a token is set)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--db", default=None, help="database URL (default: TTTD_LEADERBOARD_URL or the local SQLite file)")
    p.add_argument(
        "--token",
        default=None,
        help="enable submissions over HTTP with this bearer token (default: TTTD_LEADERBOARD_TOKEN; none = read-only)",
    )
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args) -> int:
    try:
        import uvicorn
    except ImportError:
        from tttd_envs.cli import UserError

        raise UserError("the web page needs the web extra: pip install 'tttd[web]'") from None
    import socket

    try:  # refuse before announcing a URL nobody will answer on
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as e:
        from tttd_envs.cli import UserError

        raise UserError(
            f"cannot listen on {args.host}:{args.port} ({e.strerror or e}); another program uses the port, "
            f"so pick another with --port"
        ) from None
    from leaderboards.web.app import create_app

    token = args.token or os.environ.get("TTTD_LEADERBOARD_TOKEN") or None
    app = create_app(db=args.db, token=token)
    mode = "submissions enabled (token set)" if token else "read-only"
    print(f"tttd leaderboard on http://{args.host}:{args.port}/  ({mode}; Ctrl-C to stop)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
