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
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


PR_SET_CHILD_SUBREAPER = 36


def set_child_subreaper() -> None:
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(CHILD_SUBREAPER)")


def set_pdeathsig(sig: int) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PDEATHSIG)")


# --- seccomp ----------------------------------------------------------------------------------------
#
# A classic-BPF program over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];}. Always:
# the calls that could undo the confinement (namespaces, mounts, chroot, ptrace, kernel modules, bpf,
# keyrings …) fail with EPERM, and clone with a CLONE_NEW* flag too. Without process creation
# (cpus = 1): fork/vfork/clone-without-CLONE_THREAD fail with EAGAIN and execve/execveat with EPERM;
# threads still work. clone3 always fails with ENOSYS, so glibc falls back to clone, whose flags
# the filter can read.

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_HARDEN = (
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "ptrace",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "name_to_handle_at",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "process_vm_readv",
    "process_vm_writev",
    "io_uring_setup",
)
_NS_FLAGS = 0x7E020000 | 0x02000000  # CLONE_NEWNS/NEWCGROUP/NEWUTS/NEWIPC/NEWUSER/NEWPID/NEWNET

_ARCH = {
    # machine: (AUDIT_ARCH, {name: nr}, x32 bit or None)
    "x86_64": (
        0xC000003E,
        {
            "fork": 57,
            "vfork": 58,
            "clone": 56,
            "clone3": 435,
            "execve": 59,
            "execveat": 322,
            "unshare": 272,
            "setns": 308,
            "mount": 165,
            "umount2": 166,
            "pivot_root": 155,
            "chroot": 161,
            "ptrace": 101,
            "bpf": 321,
            "perf_event_open": 298,
            "keyctl": 250,
            "add_key": 248,
            "request_key": 249,
            "userfaultfd": 323,
            "kexec_load": 246,
            "init_module": 175,
            "finit_module": 313,
            "delete_module": 176,
            "open_by_handle_at": 304,
            "name_to_handle_at": 303,
            "open_tree": 428,
            "move_mount": 429,
            "fsopen": 430,
            "fsconfig": 431,
            "fsmount": 432,
            "fspick": 433,
            "mount_setattr": 442,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "io_uring_setup": 425,
        },
        0x40000000,
    ),
    "aarch64": (
        0xC00000B7,
        {
            "clone": 220,
            "clone3": 435,
            "execve": 221,
            "execveat": 281,
            "unshare": 97,
            "setns": 268,
            "mount": 40,
            "umount2": 39,
            "pivot_root": 41,
            "chroot": 51,
            "ptrace": 117,
            "bpf": 280,
            "perf_event_open": 241,
            "keyctl": 219,
            "add_key": 217,
            "request_key": 218,
            "userfaultfd": 282,
            "kexec_load": 104,
            "init_module": 105,
            "finit_module": 273,
            "delete_module": 106,
            "open_by_handle_at": 265,
            "name_to_handle_at": 264,
            "open_tree": 428,
            "move_mount": 429,
            "fsopen": 430,
            "fsconfig": 431,
            "fsmount": 432,
            "fspick": 433,
            "mount_setattr": 442,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "io_uring_setup": 425,
        },
        None,
    ),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_supported() -> bool:
    return platform.machine() in _ARCH and struct.pack("=I", 1) == struct.pack("<I", 1)


def _rules_program(rules: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """The common head: kill a foreign architecture, refuse the x32 ABI, then `ret` for each (nr, ret)."""
    arch, _, x32 = _ARCH[platform.machine()]
    prog: list[tuple[int, int, int, int]] = [
        (_BPF_LD_W_ABS, 0, 0, 4),  # A = arch
        (_BPF_JEQ_K, 1, 0, arch),  # native arch? skip the kill
        (_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_BPF_LD_W_ABS, 0, 0, 0),  # A = syscall nr
    ]
    if x32 is not None:  # the x32 ABI would bypass the numbers below
        prog += [(_BPF_JGE_K, 0, 1, x32), (_BPF_RET_K, 0, 0, _RET_ERRNO | errno.EPERM)]
    for nr, ret in rules:
        prog += [(_BPF_JEQ_K, 0, 1, nr), (_BPF_RET_K, 0, 0, ret)]
    return prog


def _filter_program(allow_processes: bool) -> list[tuple[int, int, int, int]]:
    _, nrs, _ = _ARCH[platform.machine()]
    deny_again = _RET_ERRNO | errno.EAGAIN
    deny_perm = _RET_ERRNO | errno.EPERM
    rules = [(nrs[name], deny_perm) for name in _HARDEN]
    rules.append((nrs["clone3"], _RET_ERRNO | errno.ENOSYS))
    if not allow_processes:
        rules += [(nrs[name], deny_again) for name in ("fork", "vfork") if name in nrs]
        rules += [(nrs["execve"], deny_perm), (nrs["execveat"], deny_perm)]
    prog = _rules_program(rules)
    prog += [
        (_BPF_JEQ_K, 1, 0, nrs["clone"]),  # clone? go inspect its flags
        (_BPF_RET_K, 0, 0, _RET_ALLOW),
        (_BPF_LD_W_ABS, 0, 0, 16),  # A = low 32 bits of args[0] (clone flags)
        (_BPF_JSET_K, 0, 1, _NS_FLAGS),  # new namespaces: refused
        (_BPF_RET_K, 0, 0, deny_perm),
    ]
    if allow_processes:
        prog += [(_BPF_RET_K, 0, 0, _RET_ALLOW)]
    else:
        prog += [
            (_BPF_JSET_K, 0, 1, CLONE_THREAD),  # a thread: allowed
            (_BPF_RET_K, 0, 0, _RET_ALLOW),
            (_BPF_RET_K, 0, 0, deny_again),  # a new process: refused
        ]
    return prog


def install_filter(allow_processes: bool) -> None:
    """Install the seccomp filter (irreversible for this process, its threads and children)."""
    prog = _filter_program(allow_processes)
    arr = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), arr)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0), "prctl(SECCOMP)")


def install_no_process_filter() -> None:
    install_filter(allow_processes=False)


# The lockdown a kernel worker may add once it is warmed up (docs/kernels.md#one-call): no new process or
# thread (clone of any kind, fork, vfork: EAGAIN), no exec or ptrace, and no new file opens (EPERM).
# Already-open descriptors (pipes, shared slots, device files, mapped libraries) keep working.
_LOCKDOWN_NRS = {
    "x86_64": {"open": 2, "creat": 85, "openat": 257, "openat2": 437, "seccomp": 317},
    "aarch64": {"openat": 56, "openat2": 437, "seccomp": 277},
}
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1


def _lockdown_program() -> list[tuple[int, int, int, int]]:
    _, nrs, _ = _ARCH[platform.machine()]
    extra = _LOCKDOWN_NRS[platform.machine()]
    again, perm = _RET_ERRNO | errno.EAGAIN, _RET_ERRNO | errno.EPERM
    rules = [(nrs[n], again) for n in ("fork", "vfork", "clone") if n in nrs]
    rules += [(nrs["clone3"], _RET_ERRNO | errno.ENOSYS)]
    rules += [(nrs[n], perm) for n in ("execve", "execveat", "ptrace")]
    rules += [(nr, perm) for n, nr in extra.items() if n != "seccomp"]
    return _rules_program(rules) + [(_BPF_RET_K, 0, 0, _RET_ALLOW)]


def install_lockdown() -> str:
    """Install the lockdown filter on every thread of this process at once (SECCOMP_FILTER_FLAG_TSYNC);
    irreversible. Returns a one-line description; raises OSError where it cannot be installed."""
    if not seccomp_supported() or platform.machine() not in _LOCKDOWN_NRS:
        raise OSError(errno.ENOSYS, f"no seccomp lockdown for {platform.machine()}")
    try:
        threads = f"all {len(os.listdir('/proc/self/task'))} threads"  # before: listing opens a directory
    except OSError:  # no /proc in this sandbox
        threads = "all threads"
    prog = _lockdown_program()
    arr = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), arr)
    set_no_new_privs()
    nr = _LOCKDOWN_NRS[platform.machine()]["seccomp"]
    ret = _syscall(
        ctypes.c_long(nr),
        ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
        ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC),
        ctypes.byref(fprog),
    )
    if ret != 0:
        e = ctypes.get_errno() if ret < 0 else 0
        raise OSError(e, f"seccomp(TSYNC) failed: {os.strerror(e) if ret < 0 else f'thread {ret} could not sync'}")
    return f"no new processes, threads or file opens, no exec or ptrace (seccomp on {threads})"


def set_no_new_privs() -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


# --- user namespaces and capabilities (the sandbox for users who are not root) -------------------

CLONE_NEWUSER = 0x10000000
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
# SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | ..._LOCKED | SECBIT_KEEP_CAPS_LOCKED
SECURE_NOROOT_ALL_LOCKED = 0x1 | 0x2 | 0x4 | 0x8 | 0x20
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def write_file(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def write_id_maps(uid: int, gid: int) -> None:
    """Map root of the new user namespace to `uid`/`gid` outside (call right after unshare)."""
    write_file("/proc/self/setgroups", "deny")
    write_file("/proc/self/uid_map", f"0 {uid} 1")
    write_file("/proc/self/gid_map", f"0 {gid} 1")


def drop_all_capabilities() -> None:
    """Give up every capability for good: bounding set, securebits (root gains nothing on exec),
    then the effective/permitted/inheritable sets."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break
    _check(_libc.prctl(PR_SET_SECUREBITS, SECURE_NOROOT_ALL_LOCKED, 0, 0, 0), "prctl(SECUREBITS)")
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(hdr), data), "capset")


# --- Landlock ---------------------------------------------------------------------------------------
#
# An unprivileged LSM (Linux 5.13+) that a process applies to itself and everything it later forks or
# execs: the filesystem rights a ruleset *handles* are refused everywhere except beneath the
# directories added as rules. Stacks with, and can never loosen, an earlier ruleset. Constants from
# include/uapi/linux/landlock.h; the three calls have the same numbers on x86_64 and aarch64 (every
# architecture but alpha numbers the calls added since Linux 5.1 alike).

_LANDLOCK_NR = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}  # create_ruleset, add_rule, restrict_self
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1

FS_WRITE_FILE = 1 << 1
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2: link or rename into another directory
FS_TRUNCATE = 1 << 14  # ABI 3: truncate(2), ftruncate(2), O_TRUNC

_WRITE_RIGHTS_ABI1 = (
    FS_WRITE_FILE
    | FS_REMOVE_DIR
    | FS_REMOVE_FILE
    | FS_MAKE_CHAR
    | FS_MAKE_DIR
    | FS_MAKE_REG
    | FS_MAKE_SOCK
    | FS_MAKE_FIFO
    | FS_MAKE_BLOCK
    | FS_MAKE_SYM
)


class _RulesetAttr(ctypes.Structure):
    # Only the first field: the kernel accepts a shorter struct (later ABIs append network and scope
    # fields, which the sandbox leaves unhandled).
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


# Looked up once, at import (in the fork server): resolving a libc symbol through ctypes in each
# forked child cost about 0.15 ms more per run (measured).
_MACHINE = platform.machine()
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _landlock_call(which: int, *args: object) -> int:
    ret: int = _syscall(ctypes.c_long(_LANDLOCK_NR[_MACHINE][which]), *args)
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"landlock: {os.strerror(e)}")
    return ret


def landlock_abi() -> int:
    """The running kernel's Landlock ABI version (1, 2, …); raises OSError when there is none
    (ENOSYS: not built in or an unknown architecture; EOPNOTSUPP: built in but disabled at boot)."""
    if _MACHINE not in _LANDLOCK_NR:
        raise OSError(errno.ENOSYS, f"no Landlock syscall numbers for {_MACHINE}")
    return _landlock_call(0, None, ctypes.c_size_t(0), ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))


def landlock_write_rights(abi: int) -> int:
    """Every write-type filesystem right this ABI knows (never read, execute, ioctl or network rights)."""
    rights = _WRITE_RIGHTS_ABI1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    return rights


def landlock_restrict(handled: int, rules: list[tuple[str, int]]) -> None:
    """Refuse the `handled` rights everywhere except, for each (directory, rights) rule, `rights`
    beneath that directory; applies to this process and every process it creates from now on.
    Sets no_new_privs (Landlock requires it of a process without CAP_SYS_ADMIN)."""
    attr = _RulesetAttr(handled)
    ruleset = _landlock_call(0, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    try:
        for path, allowed in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY)
            try:
                beneath = _PathBeneathAttr(allowed & handled, fd)
                _landlock_call(
                    1,
                    ctypes.c_int(ruleset),
                    ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH),
                    ctypes.byref(beneath),
                    ctypes.c_uint32(0),
                )
            finally:
                os.close(fd)
        set_no_new_privs()
        _landlock_call(2, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
