"""The local leaderboard: re-verified submissions in a database, CLI boards and a web page.

Not implemented yet (see the leaderboard issue); it may import ``tttd_envs`` and ``verifiers``,
never ``agents``.
"""
