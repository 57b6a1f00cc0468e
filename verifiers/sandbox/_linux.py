"""Thin ctypes wrappers for the Linux calls the sandbox needs (Python 3.11 has no os.unshare/mount).

Everything here runs in the sandbox child *before* submitted code gets control.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _check(ret: int, what: str) -> None:
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def set_pdeathsig(sig: int) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PDEATHSIG)")


# --- seccomp: refuse process creation and exec while letting threads through -------------------
#
# A classic-BPF program over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];}.
# fork/vfork/clone-without-CLONE_THREAD fail with EAGAIN, clone3 with ENOSYS (glibc then falls back
# to clone for threads), execve/execveat with EPERM. Everything else is allowed.

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_ARCH = {
    # machine: (AUDIT_ARCH, {name: nr}, x32 bit or None)
    "x86_64": (0xC000003E, {"fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "execve": 59,
                            "execveat": 322}, 0x40000000),
    "aarch64": (0xC00000B7, {"clone": 220, "clone3": 435, "execve": 221, "execveat": 281}, None),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_supported() -> bool:
    return platform.machine() in _ARCH


def _no_processes_program() -> list[tuple[int, int, int, int]]:
    arch, nrs, x32 = _ARCH[platform.machine()]
    deny_again = _RET_ERRNO | errno.EAGAIN
    deny_perm = _RET_ERRNO | errno.EPERM
    deny_nosys = _RET_ERRNO | errno.ENOSYS
    # Each rule: (syscall number, return value). clone is special-cased after the table.
    rules = [(nrs[name], ret) for name, ret in
             (("fork", deny_again), ("vfork", deny_again), ("clone3", deny_nosys),
              ("execve", deny_perm), ("execveat", deny_perm)) if name in nrs]
    prog: list[tuple[int, int, int, int]] = [
        (_BPF_LD_W_ABS, 0, 0, 4),                 # A = arch
        (_BPF_JEQ_K, 1, 0, arch),                 # native arch? skip the kill
        (_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_BPF_LD_W_ABS, 0, 0, 0),                 # A = syscall nr
    ]
    if x32 is not None:                           # the x32 ABI would bypass the numbers below
        prog += [(_BPF_JGE_K, 0, 1, x32), (_BPF_RET_K, 0, 0, deny_perm)]
    for nr, ret in rules:
        prog += [(_BPF_JEQ_K, 0, 1, nr), (_BPF_RET_K, 0, 0, ret)]
    prog += [
        (_BPF_JEQ_K, 1, 0, nrs["clone"]),          # clone? go inspect its flags
        (_BPF_RET_K, 0, 0, _RET_ALLOW),
        (_BPF_LD_W_ABS, 0, 0, 16),                 # A = low 32 bits of args[0] (little endian)
        (_BPF_JSET_K, 0, 1, CLONE_THREAD),         # a thread: allowed
        (_BPF_RET_K, 0, 0, _RET_ALLOW),
        (_BPF_RET_K, 0, 0, deny_again),
    ]
    assert struct.pack("<I", 1) == b"\x01\x00\x00\x00" or platform.machine() not in _ARCH
    return prog


def install_no_process_filter() -> None:
    """Install the seccomp filter (irreversible for this process and its threads)."""
    prog = _no_processes_program()
    arr = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), arr)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0),
           "prctl(SECCOMP)")


def set_no_new_privs() -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
