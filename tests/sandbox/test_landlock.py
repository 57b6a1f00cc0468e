"""Landlock in the sandbox (docs/kernels.md#the-submission-contract, docs/kernels.md#three-processes): files
written outside the private working directory fail where the kernel has Landlock, and the isolation report
says either way.

Inside the chroot no other place is writable anyway (a read-only tmpfs root), so Landlock is defence in
depth there. Where it is the only thing standing is a run whose chroot could not be built (a user
namespace refused, or an operator allowing degraded isolation): the program then sees the host
filesystem. These tests force that case with an ``extra_ro`` path that does not exist (``build_root``
refuses it), show with Landlock turned off that the program can then write a file in the host's /tmp,
and with it on that it cannot. Whether a file landed is checked from this test process, on the host.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import secrets
import textwrap

import pytest

from verifiers import sandbox
from verifiers.sandbox import _isolate, _linux, client

IS_ROOT = os.geteuid() == 0
MISSING = "/nonexistent-tttd-landlock-test"  # an extra_ro path build_root cannot bind


def kernel_landlock_abi() -> int:
    """The ABI straight from the kernel, with a raw syscall of our own (0 when there is none)."""
    if platform.machine() not in ("x86_64", "aarch64"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(abi, 0)


ABI = kernel_landlock_abi()
needs_landlock = pytest.mark.skipif(ABI < 2, reason=f"this kernel's Landlock ABI is {ABI}; the sandbox needs 2+")


def turn_landlock_off(mp: pytest.MonkeyPatch) -> None:
    """Send every request with Landlock turned off (the request field is for tests only)."""
    real = client._Server.submit
    mp.setattr(client._Server, "submit", lambda self, req, fds: real(self, {**req, "landlock": False}, fds))


@pytest.fixture
def landlock_off(monkeypatch):
    turn_landlock_off(monkeypatch)


@pytest.fixture
def outside():
    """A path in the host's /tmp (world-writable) that no run should be able to create."""
    path = f"/tmp/tttd-landlock-probe-{secrets.token_hex(6)}"
    yield path
    for p in (path, path + ".d"):
        if os.path.isdir(p):
            os.rmdir(p)
        elif os.path.lexists(p):
            os.unlink(p)


PROBE = """
    import errno, os
    def attempt(f):
        try:
            f()
            return "ok"
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))
    def write(path):
        with open(path, "w") as fh:
            fh.write("x")
    def run(outside):
        return {
            "outside": attempt(lambda: write(outside)),
            "outside_dir": attempt(lambda: os.mkdir(outside + ".d")),
            "work": attempt(lambda: write("mine.txt")),
            "null": attempt(lambda: write("/dev/null")),
        }
"""


def run_probe(outside: str, degraded: str | None, **kw) -> tuple[dict, dict]:
    """Run PROBE; ``degraded`` = "uid" (root, private uid, degraded isolation allowed) or "userns"
    (the user-namespace path) makes the chroot fail so the program sees the host filesystem."""
    if degraded:
        kw["extra_ro"] = [MISSING]
        kw["force_userns"] = degraded == "userns"
    res = sandbox.run(
        files={"program.py": textwrap.dedent(PROBE).encode()},
        limits=sandbox.Limits(wall_s=20),
        config={"entry": "run", "kwargs": {"outside": outside}, "convert": {"kind": "json"}},
        **kw,
    )
    assert res.status == "ok", (res.status, res.detail, res.stderr[-1000:])
    doc = json.loads(res.result)
    assert "value" in doc, doc
    return doc["value"], res.isolation


def degraded_params():
    if IS_ROOT:
        return ["uid", "userns"]
    return ["userns"]  # not root: run() always takes the user-namespace path


@needs_landlock
@pytest.mark.parametrize("degraded", degraded_params())
def test_without_a_chroot_landlock_is_what_stops_writes_outside_the_workdir(degraded, outside, monkeypatch):
    monkeypatch.setenv("TTTD_SANDBOX_ALLOW_DEGRADED", "1")
    with monkeypatch.context() as mp:  # control: with Landlock off, the run writes in the host's /tmp
        turn_landlock_off(mp)
        out, iso = run_probe(outside, degraded)
    assert iso["filesystem"] == "none" and "namespace_error" in iso, iso
    assert iso["landlock"] == "off (turned off by the caller)"
    assert out["outside"] == "ok" and os.path.isfile(outside), out
    assert out["outside_dir"] == "ok" and os.path.isdir(outside + ".d"), out
    os.unlink(outside)
    os.rmdir(outside + ".d")
    out, iso = run_probe(outside, degraded)  # as in production: Landlock on
    assert iso["filesystem"] == "none", iso
    assert out == {"outside": "EACCES", "outside_dir": "EACCES", "work": "ok", "null": "ok"}, out
    assert not os.path.lexists(outside) and not os.path.lexists(outside + ".d")
    assert iso["landlock"].startswith("writes only in /") and f"(ABI {ABI})" in iso["landlock"], iso
    assert iso["level"] != "full"


@needs_landlock
@pytest.mark.parametrize("degraded", [None] + degraded_params())
def test_exec_mode_is_confined_too(degraded, outside, monkeypatch):
    """A program that is not Python (the shell, as the C++ judge runs its binaries: mode="exec")."""
    monkeypatch.setenv("TTTD_SANDBOX_ALLOW_DEGRADED", "1")
    script = f"echo x > {outside}; echo outside=$?; echo x > mine.txt; echo work=$?; echo x > /dev/null; echo null=$?"
    kw = {"extra_ro": [MISSING], "force_userns": degraded == "userns"} if degraded else {}
    res = sandbox.run(
        mode="exec", files={"in.txt": b""}, limits=sandbox.Limits(wall_s=20), argv=["/bin/sh", "-c", script], **kw
    )
    assert res.status == "ok", (res.status, res.detail, res.stderr)
    lines = dict(line.split("=") for line in res.stdout.split())
    assert lines["work"] == "0" and lines["null"] == "0", (res.stdout, res.stderr)
    assert lines["outside"] != "0" and not os.path.lexists(outside), (res.stdout, res.stderr)
    if degraded:  # on the host filesystem: Landlock refused it, not a missing /tmp
        assert "Permission denied" in res.stderr, res.stderr
    assert f"(ABI {ABI})" in res.isolation["landlock"], res.isolation


PERMITTED = """
    import multiprocessing, os, socket
    def run():
        os.makedirs("a/b")
        with open("a/f", "w") as fh:
            fh.write("hello")
        os.replace("a/f", "a/b/f")                       # into another directory (Landlock's REFER)
        os.link("a/b/f", "a/g")
        os.truncate("a/g", 2)
        os.mkfifo("fifo")
        os.symlink("a/g", "link")
        s = socket.socket(socket.AF_UNIX)
        s.bind("sock")
        s.close()
        with open("/dev/null", "w") as fh:               # O_TRUNC on a device
            fh.write("x")
        lock = multiprocessing.Lock()                    # a POSIX semaphore, created in /dev/shm
        with lock:
            pass
        with open("/dev/shm/scratch", "wb") as fh:
            fh.write(b"y")
        os.unlink("/dev/shm/scratch")
        os.unlink("a/g")
        os.remove("a/b/f")
        os.rmdir("a/b")
        return sorted(os.listdir("."))
"""


@needs_landlock
@pytest.mark.skipif(not IS_ROOT, reason="exercised in the root sandbox (chroot, private uid)")
def test_what_programs_legitimately_do_still_works_under_landlock():
    """The write-type rights an unprivileged program can use, where the sandbox allows them: create,
    rename across directories, link, truncate, fifo, symlink, unix socket and delete in the work dir;
    /dev/null; a multiprocessing lock and a file in /dev/shm (two CPUs, as a Pool would use)."""
    res = sandbox.run(
        files={"program.py": textwrap.dedent(PERMITTED).encode()},
        limits=sandbox.Limits(wall_s=20, cpus=2),
        config={"entry": "run", "kwargs": {}, "convert": {"kind": "json"}},
    )
    assert res.status == "ok", (res.status, res.detail, res.stderr[-1000:])
    doc = json.loads(res.result)
    assert doc.get("value") == ["a", "fifo", "link", "program.py", "sock"], doc
    assert res.isolation["landlock"].startswith("writes only in /sandbox and /dev/shm"), res.isolation


def test_isolation_report_records_landlock_either_way(landlock_off):
    off = sandbox.run(
        files={"program.py": b"def run():\n    return 1\n"},
        limits=sandbox.Limits(wall_s=10),
        config={"entry": "run", "kwargs": {}, "convert": {"kind": "json"}},
    )
    assert off.isolation["landlock"] == "off (turned off by the caller)", off.isolation
    assert "landlock off" in off.isolation["summary"]
    if IS_ROOT:
        assert off.isolation["level"] == "full"  # Landlock is not required for "full" (CI kernels)


def test_isolation_report_records_landlock_in_production():
    res = sandbox.run(
        files={"program.py": b"def run():\n    return 1\n"},
        limits=sandbox.Limits(wall_s=10),
        config={"entry": "run", "kwargs": {}, "convert": {"kind": "json"}},
    )
    iso = res.isolation
    assert res.status == "ok" and "landlock" in iso, iso
    assert iso["landlock"] in iso["summary"]
    if ABI >= 2:
        where = "/sandbox" if iso["filesystem"] == "chroot" else "/"
        assert iso["landlock"].startswith(f"writes only in {where}") and iso["landlock"].endswith(f"(ABI {ABI})"), iso
    else:
        assert iso["landlock"].startswith("unavailable ("), iso
    if IS_ROOT:
        assert iso["level"] == "full", iso


@pytest.mark.parametrize(
    "failure, expected",
    [
        (OSError(errno.ENOSYS, "landlock"), "unavailable (kernel has no Landlock)"),
        (OSError(errno.EOPNOTSUPP, "landlock"), "unavailable (Landlock disabled at boot)"),
        (1, "unavailable (Landlock ABI 1 refuses renames across directories; ABI 2 needed)"),
    ],
)
def test_a_kernel_without_usable_landlock_degrades_to_a_report_line(monkeypatch, failure, expected):
    """Called in this process with the kernel's answer replaced; the restriction itself must not be
    reached (it would confine the test runner), so it is replaced by a tripwire."""

    def abi():
        if isinstance(failure, OSError):
            raise failure
        return failure

    def tripwire(*_a):
        raise AssertionError("landlock_restrict must not be called")

    monkeypatch.setattr(_linux, "landlock_abi", abi)
    monkeypatch.setattr(_linux, "landlock_restrict", tripwire)
    assert _isolate.restrict_writes({"workdir": "/nonexistent"}, chrooted=True) == expected


def test_handled_rights_follow_the_abi():
    """The uapi values (include/uapi/linux/landlock.h), written out by hand: ABI 1 knows WRITE_FILE (bit 1)
    and REMOVE_DIR..MAKE_SYM (bits 4-12); ABI 2 adds REFER (bit 13), ABI 3 TRUNCATE (bit 14). Never
    READ_FILE/READ_DIR/EXECUTE (bits 0, 3, 2) and never IOCTL_DEV (bit 15), which CUDA needs."""
    abi1 = 0b1_1111_1111_0010
    assert _linux.landlock_write_rights(1) == abi1
    assert _linux.landlock_write_rights(2) == abi1 | 1 << 13
    for abi in (3, 4, 5, 6, 7):
        assert _linux.landlock_write_rights(abi) == abi1 | 1 << 13 | 1 << 14
    assert ABI == 0 or _linux.landlock_abi() == ABI


@needs_landlock
@pytest.mark.skipif(not IS_ROOT, reason="the GPU view is built by the root sandbox only")
def test_gpu_view_keeps_proc_writable():
    """The GPU worker's view binds the host's /proc writable because the CUDA driver failed under a
    read-only one (_isolate._gpu_view); Landlock must leave writing there allowed. Here (no GPU needed):
    a thread renaming itself through /proc/thread-self/comm, which only that thread may write
    (/proc/self/comm is root's after the switch to the private uid, which makes the process undumpable)."""
    src = (
        b"def run():\n    open('/proc/thread-self/comm', 'w').write('renamed')\n"
        b"    return open('/proc/thread-self/comm').read()\n"
    )
    res = sandbox.run(
        files={"program.py": src},
        limits=sandbox.Limits(wall_s=20),
        gpu=True,
        config={"entry": "run", "kwargs": {}, "convert": {"kind": "json"}},
    )
    assert res.status == "ok", (res.status, res.detail, res.stderr[-1000:])
    assert json.loads(res.result).get("value") == "renamed\n", res.result
    assert "existing files in /dev and /proc" in res.isolation["landlock"], res.isolation
