"""Layers added after the limit suite: the user-namespace path (how users who are not root are
confined), the seccomp hardening that applies even when processes are allowed, the size-capped
private working directory, and the per-run cgroup."""

import json
import os
import textwrap

import pytest

from verifiers import sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="these layers are exercised as root here")


def _run(body: str, force_userns: bool = False, **limits):
    src = textwrap.dedent(body).encode()
    res = sandbox.run(
        files={"program.py": src, "parent.json": b'{"construction": null}'},
        limits=sandbox.Limits(wall_s=20, **limits),
        force_userns=force_userns,
        config={"entry": "run", "kwargs": {}, "convert": {"kind": "json"}},
    )
    assert res.status == "ok", (res.status, res.detail, res.stderr[-500:])
    doc = json.loads(res.result)
    assert "value" in doc, doc
    return doc["value"], res.isolation


PROBE = """
    import ctypes, errno, os, socket
    def attempt(f):
        try:
            f()
            return "ok"
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))
    def run():
        libc = ctypes.CDLL(None, use_errno=True)
        def unshare_user():
            if libc.unshare(0x10000000) != 0:
                raise OSError(ctypes.get_errno(), "unshare")
        def mount_tmpfs():
            if libc.mount(b"tmpfs", b"/sandbox", b"tmpfs", 0, None) != 0:
                raise OSError(ctypes.get_errno(), "mount")
        return {
            "uid": os.getuid(),
            "root": sorted(os.listdir("/")),
            "read_data": attempt(lambda: open("/work/shared/data/math/README.md").read()),
            "network": attempt(lambda: socket.socket().connect(("127.0.0.1", 9))),
            "chroot": attempt(lambda: os.chroot("/sandbox")),
            "unshare": attempt(unshare_user),
            "mount": attempt(mount_tmpfs),
            "write_parent": attempt(lambda: open("parent.json", "w")),
            "own_file": attempt(lambda: open("mine.txt", "w").write("x")),
        }
"""


@pytest.mark.parametrize("cpus", [1, 2])
def test_user_namespace_path_confines_like_the_root_path(cpus):
    out, iso = _run(PROBE, force_userns=True, cpus=cpus)
    assert iso["network"] == "netns" and iso["filesystem"] == "chroot", iso
    assert "user namespace" in iso["user"] and "no capabilities" in iso["user"]
    assert "/work" in out["root"] or out["root"]  # only the Python installation is mounted
    assert "shared" not in str(out["root"])
    assert out["read_data"] == "ENOENT"
    assert out["network"] == "ENETUNREACH"
    assert out["chroot"] == "EPERM" and out["unshare"] == "EPERM" and out["mount"] == "EPERM"
    assert out["write_parent"] in ("EACCES", "EPERM") and out["own_file"] == "ok"


@pytest.mark.parametrize("cpus", [1, 2])
def test_seccomp_hardening_on_the_root_path(cpus):
    out, iso = _run(PROBE, cpus=cpus)
    assert iso["level"] == "full" and "no namespaces" in iso["seccomp"]
    assert out["unshare"] == "EPERM" and out["mount"] == "EPERM" and out["chroot"] == "EPERM"
    assert out["read_data"] == "ENOENT" and out["network"] == "ENETUNREACH"


def test_working_directory_has_a_size_cap():
    out, _ = _run(
        """
        import errno
        def run():
            written = 0
            try:
                with open("big.bin", "wb") as fh:
                    for _ in range(64):
                        fh.write(b"x" * (1 << 20))
                        fh.flush()
                        written += 1
            except OSError as e:
                return [written, errno.errorcode[e.errno]]
            return [written, "ok"]
    """,
        workdir_bytes=8 << 20,
        file_size_bytes=1 << 30,
    )
    assert out[1] == "ENOSPC" and out[0] <= 8


def test_clone_with_a_new_namespace_is_refused_even_with_processes_allowed():
    out, _ = _run(
        """
        import os
        def run():
            pid = os.fork()                  # a plain process is fine with cpus=2
            if pid == 0:
                os._exit(7)
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    """,
        cpus=2,
    )
    assert out == 7
