"""The leaderboard's web page: `tttd serve` (FastAPI, server-rendered HTML, no build step).

Read-only by default; submitting over HTTP needs the operator's token (``--token`` or
``TTTD_LEADERBOARD_TOKEN``), sent as ``Authorization: Bearer <token>``.
"""

from leaderboards.web.cli import add_serve_command

__all__ = ["add_serve_command", "create_app"]


def create_app(*args, **kwargs):
    from leaderboards.web.app import create_app as _create

    return _create(*args, **kwargs)
