"""The reference agent: PUCT state reuse + entropic test-time training of a LoRA adapter.

Not implemented yet (see the agent issue); this package only reserves its place in the layering:
it may import ``tttd_envs`` and ``verifiers``, never ``leaderboards``.
"""
