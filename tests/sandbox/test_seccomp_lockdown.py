"""The seccomp lockdown a warmed-up kernel worker may install (docs/kernels.md#one-call, optional):
no new processes or threads, no exec or ptrace, no new file opens, on every thread at once (TSYNC).
Each check runs in a fresh interpreter, since the filter is irreversible."""

import os
import subprocess
import sys

import pytest

from verifiers.sandbox import _linux

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(
    not _linux.seccomp_supported() or os.uname().machine not in ("x86_64", "aarch64"),
    reason="seccomp lockdown is built for x86_64 and aarch64 only",
)

SCRIPT = r"""
import os, sys, threading
sys.path.insert(0, REPO)
from verifiers.sandbox import _linux
r, w = os.pipe()
go, done = threading.Event(), threading.Event()
seen = {}
def older():                      # started before the lockdown: TSYNC must cover it too
    go.wait()
    try:
        open(os.devnull).close(); seen["older_open"] = "allowed"
    except OSError as e:
        seen["older_open"] = e.errno
    done.set()
t = threading.Thread(target=older); t.start()
print(_linux.install_lockdown(), flush=True)
go.set(); done.wait(); t.join()
def attempt(name, fn):
    try:
        pid = fn()
        if name == "fork" and pid == 0:
            os._exit(0)
        seen[name] = "allowed"
    except RuntimeError as e:
        seen[name] = str(e)
    except OSError as e:
        seen[name] = e.errno
attempt("thread", lambda: threading.Thread(target=lambda: None).start())
attempt("fork", os.fork)
attempt("open_read", lambda: open(sys.executable, "rb"))
attempt("open_write", lambda: open(os.path.join(TMP, "new"), "w"))
attempt("exec", lambda: os.execv("/bin/true", ["true"]))
os.write(w, b"x"); seen["pipe"] = os.read(r, 1).decode()          # existing descriptors still work
print(repr(seen), flush=True)
"""


def test_lockdown_refuses_threads_processes_exec_and_opens_on_every_thread(tmp_path):
    code = SCRIPT.replace("REPO", repr(REPO)).replace("TMP", repr(str(tmp_path)))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    first, last = p.stdout.strip().splitlines()
    assert "seccomp on all 2 threads" in first
    seen = eval(last)  # noqa: S307 - our own repr of a dict of str/int
    import errno

    assert seen == {
        "older_open": errno.EPERM,
        "thread": "can't start new thread",
        "fork": errno.EAGAIN,
        "open_read": errno.EPERM,
        "open_write": errno.EPERM,
        "exec": errno.EPERM,
        "pipe": "x",
    }
    assert not (tmp_path / "new").exists()


def test_the_same_script_without_lockdown_is_allowed_everything(tmp_path):
    """The control: the refusals above come from the filter, not from the machine."""
    code = SCRIPT.replace("REPO", repr(REPO)).replace("TMP", repr(str(tmp_path)))
    code = code.replace("print(_linux.install_lockdown(), flush=True)", "print('no lockdown', flush=True)")
    code = code.replace('attempt("exec"', '# attempt("exec"')
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    seen = eval(p.stdout.strip().splitlines()[-1])  # noqa: S307
    assert seen == {
        "older_open": "allowed",
        "thread": "allowed",
        "fork": "allowed",
        "open_read": "allowed",
        "open_write": "allowed",
        "pipe": "x",
    }
