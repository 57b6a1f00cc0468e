"""Run untrusted code in a confined child process (docs/architecture.md#trusted-and-untrusted-code).

Each run: a fresh child forked from a clean, pre-warmed server; its own session and process group,
killed as a whole; wall and CPU limits; address-space, task, file-size and open-file limits; a
private working directory (deleted afterwards) as the only writable place; a scrubbed environment;
a private network namespace with no interfaces up; a minimal read-only root (the Python
installation only); a private uid; Landlock, where the kernel has it, refusing writes outside the
working directory and /dev/shm (defence in depth behind the read-only root); and a seccomp filter
(no namespaces, mounts or ptrace; with one CPU, no fork or exec either).
Results come back as bytes on a separate channel (JSON, parsed by the caller), never pickle.
``SandboxResult.isolation`` says which layers were actually in force on this machine.
"""

from verifiers.sandbox.client import Limits, SandboxError, SandboxResult, run, warm_up

__all__ = ["Limits", "SandboxError", "SandboxResult", "run", "warm_up"]
