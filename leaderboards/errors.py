"""Errors a leaderboard user can cause. They subclass ValueError/KeyError so `tttd` prints them as one
sentence (tttd_envs.cli.main), and carry no traceback-worthy state."""

from __future__ import annotations


class LeaderboardError(ValueError):
    """Something about the request is wrong; the message says what to do."""


class SubmissionRefused(LeaderboardError):
    """The leaderboard does not take this submission at all (nothing is stored): wrong case set,
    unknown option, artifact too large, not text…  A *rejected* artifact, by contrast, is stored."""


class SubmissionTooLarge(SubmissionRefused):
    """The artifact is over the size the leaderboard stores (HTTP 413)."""


class DatabaseUnavailable(LeaderboardError):
    """The database URL cannot be opened (bad URL, server down, missing driver)."""


class EntryNotFound(KeyError):
    """No entry has this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "entry not found"
