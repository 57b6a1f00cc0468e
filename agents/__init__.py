"""The reference agent: PUCT state reuse + entropic test-time training of a LoRA adapter
(TTT-Discover; docs/agent.md). ``tttd discover ID`` runs it (agents.cli).

Modules, in the order a step uses them: ``puct`` (the archive picks start states), ``transformers_policy``
(transformers + peft: sampling and the importance-sampling policy gradient; ``vllm_policy`` samples
with vLLM instead), ``executors`` (evaluation in worker processes or on Ray), ``entropic`` (group
advantages), ``rundir`` (checkpoints), ``plots``; ``loop`` ties them together, ``config`` holds every
setting, ``models`` resolves ``--model``.

It may import ``tttd_envs`` and ``verifiers``, never ``leaderboards`` (``--submit`` runs
``tttd submit`` in a subprocess). Heavy libraries (torch, transformers, peft, vllm, ray, matplotlib)
are imported inside functions only.
"""
