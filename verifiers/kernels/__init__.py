"""GPU kernel problems (docs/kernels.md): TriMul, its verifier and the processes that run it.

Modules, trusted side first:

* `trimul_op`  — cases, seeded generation, the fp32 reference, the docs/kernels.md#the-problem-and-its-cases check,
                 canaries, seeds.
* `policy`     — the static policy S1–S8 and the route (torch / triton / native) of a submission.
* `timing`     — floors, stop rule, the envelope/fence/staging checks, geomean and reward (pure numbers).
* `reference`  — R: owns private inputs and expected outputs; its own CUDA process on a GPU.
* `coordinator`— P: the secret, the seeds, the clocks, the per-trial protocol; never imports the submission.
* `links`      — P's links to W (sandbox, pipes, message schema) and R, and the shared host memory.
* `_worker`    — W's harness, copied into the sandbox as program.py (imports nothing from tttd; it binds
                 the sandbox's own seccomp helper, already loaded in its process, for the lockdown).
* `verifier`   — TriMulVerifier: extraction, policy, mode choice, hardware binding, the Verdict.
* `seam`       — the test seam: switches only tests turn (`seam.hooks(...)`), never a verifier argument.

Differences from the spec's design, on purpose (recorded in each Verdict's details where they matter):
inputs reach W through two shared host slots (memfds) that W copies into its own two device buffers
(addresses recur across calls), instead of CUDA IPC mappings of R's allocations; R flushes L2 after
that copy, and W writes the canaries when it loads the inputs (outside P's clock). This keeps every
property the spec relies on (W never sees a seed or an expected output, fresh inputs at recurring
addresses, cold L2, canaries) without depending on CUDA IPC across the sandbox's namespaces. The
envelope and fence are calibrated with the spec's null kernel *and* a ladder of trusted busy kernels
(timing.Ladder), because on a virtualised H100 the wake-up after a long kernel cost honest kernels
more than the null kernel's round trip. Optional, off by default: ``seccomp_after_warmup`` (docs/kernels.md#one-call).
Landlock comes with the sandbox (ABI 2+). Not implemented yet: the nsys audit, KernelGuard.

Heavy libraries (torch, triton) are imported inside functions only, so importing this package is cheap.
"""
