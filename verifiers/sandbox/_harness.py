"""Runs one Python program inside an already-confined sandbox child.

Loads ``program.py`` from the working directory as module ``program`` (so an
``if __name__ == "__main__"`` block does not run), calls the entry function with keyword arguments,
converts the return value (``_convert``) and writes exactly one JSON document to the result
channel (fd 3). Errors are reported as ``{"error": {...}}`` records. Nothing here is trusted by
the parent: it re-parses the JSON and recomputes every score.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
import types
from collections.abc import Sequence
from typing import Any, NoReturn

from verifiers.sandbox import _convert
from verifiers.sandbox._isolate import SOLVER_PACKAGES

RESULT_FD = 3
#: Exit status meaning "the result channel was closed or broken by the program".
EXIT_CHANNEL_BROKEN = 86

_PROCESS_HINT_FUNCS = (
    "fork",
    "_launch",
    "_execute_child",
    "spawn",
    "Popen",
    "exec",
    "Pool",
    "Process(",
    "system(",
    "subprocess",
)


_ORIGINAL_PID: int | None = None


def _exit() -> NoReturn:
    if os.getpid() != _ORIGINAL_PID:
        os._exit(0)  # a process the program forked: it never reports anything
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the program may have replaced or closed them
            pass
    os._exit(0)


def _write_result(doc: dict[str, Any]) -> None:
    if os.getpid() != _ORIGINAL_PID:
        os._exit(0)  # only the original process writes the one result record
    data = json.dumps(doc, separators=(",", ":")).encode()
    try:
        view = memoryview(data)
        while view:
            n = os.write(RESULT_FD, view)
            view = view[n:]
        os.close(RESULT_FD)
    except OSError:
        os._exit(EXIT_CHANNEL_BROKEN)


def _is_process_refusal(exc: BaseException, tb: traceback.StackSummary) -> bool:
    """Did creating a process fail (seccomp with one CPU, or the task limit)? os.fork and
    os.posix_spawn are C functions with no frame of their own, so the calling lines are read too."""
    import errno

    if not isinstance(exc, OSError) or exc.errno not in (errno.EAGAIN, errno.EPERM, errno.ENOSYS):
        return False
    for fr in tb:
        text = f"{fr.name or ''} {fr.line or ''}"
        if any(h in text for h in _PROCESS_HINT_FUNCS):
            return True
    return False


def _error(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"kind": kind, "message": message[:2000], **extra}}


def _exception_record(exc: BaseException, where: str) -> dict[str, Any]:
    tb = traceback.extract_tb(exc.__traceback__)
    line = next((fr.lineno for fr in reversed(tb) if fr.filename == "program.py"), None)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    msg = f"{where} raised {text[-1] if text else type(exc).__name__}"
    if line is not None:
        msg += f" (line {line})"
    extra: dict[str, Any] = {}
    if _is_process_refusal(exc, tb):
        extra["hint"] = "processes"
    if isinstance(exc, MemoryError):
        return _error("memory", msg, line=line)
    return _error("crashed", msg, line=line, traceback="".join(traceback.format_exception(exc))[-8000:], **extra)


def _convert_value(value: Any, spec: dict[str, Any]) -> Any:
    kind = spec["kind"]
    if kind == "sequence":
        return _convert.to_sequence(value, int(spec["n_max"]))
    if kind == "tuples":
        return _convert.to_tuples(value, int(spec["n"]), int(spec["width"]))
    if kind == "int_lists":
        return _convert.to_int_lists(value, int(spec["n_max"]), spec.get("what", "list"))
    if kind == "json":
        return value
    raise ValueError(f"unknown conversion {kind!r}")


class _RefuseSolvers:
    """A meta-path finder that names the rule when a program imports a solver package. The packages'
    directories are empty in the sandbox anyway (_isolate.HIDDEN_PACKAGE_DATA); this only makes the
    refusal one clear sentence instead of a confusing half-import of an empty namespace package."""

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None) -> None:
        top = name.partition(".")[0]
        if top in SOLVER_PACKAGES:
            raise ModuleNotFoundError(
                f"No module named {name!r}: solver packages ({top}) are not available in "
                "the sandbox; write the search yourself with numpy and scipy",
                name=name,
            )
        return None


def run_program(cfg: dict[str, Any]) -> NoReturn:
    """Entry point in the child; never returns."""
    global _ORIGINAL_PID
    _ORIGINAL_PID = os.getpid()
    sys.meta_path.insert(0, _RefuseSolvers())
    signal.signal(signal.SIGTERM, lambda *_: os._exit(128 + signal.SIGTERM))
    sys.argv = ["program.py"]
    sys.stdin = open(os.devnull)
    try:
        with open(cfg.get("source", "program.py"), "rb") as fh:
            source = fh.read()
        code = compile(source, "program.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        _write_result(_error("rejected", f"the program does not compile: {e}"))
        _exit()
    mod = types.ModuleType("program")
    mod.__file__ = os.path.abspath("program.py")
    sys.modules["program"] = mod
    try:
        exec(code, mod.__dict__)
    except SystemExit:
        _write_result(_error("crashed", "the program exited at import time without returning a result"))
        _exit()
    except BaseException as e:  # noqa: BLE001 - untrusted code may raise anything
        _write_result(_exception_record(e, "importing the program"))
        _exit()
    entry = cfg.get("entry", "run")
    fn = mod.__dict__.get(entry)
    # Large arguments (a routing instance) travel as JSON files in the working directory: the request
    # to the fork server is one socket message and must stay small. They come first in run()'s signature.
    kwargs: dict[str, Any] = {}
    for name, filename in cfg.get("kwargs_files", {}).items():
        with open(filename, encoding="utf-8") as fh:
            kwargs[name] = json.load(fh)
    kwargs.update(cfg.get("kwargs", {}))
    if not callable(fn):
        _write_result(_error("rejected", f"the program defines no top-level function {entry}({', '.join(kwargs)})"))
        _exit()
    try:
        import inspect

        inspect.signature(fn).bind(**kwargs)
    except TypeError:
        _write_result(
            _error(
                "rejected",
                f"{entry}() must accept the keyword arguments {', '.join(kwargs)}: define {entry}({', '.join(kwargs)})",
            )
        )
        _exit()
    except ValueError:
        pass  # no signature available (builtins); just try the call
    try:
        value = fn(**kwargs)
    except SystemExit:
        _write_result(_error("crashed", f"{entry}() called sys.exit(): the program exited without returning a result"))
        _exit()
    except BaseException as e:  # noqa: BLE001
        _write_result(_exception_record(e, f"{entry}()"))
        _exit()
    try:
        out = _convert_value(value, cfg.get("convert", {"kind": "json"}))
        doc = {"value": out}
        _write_result(doc)
    except _convert.ConversionError as e:
        _write_result(_error("rejected", str(e)))
    except MemoryError:
        _write_result(_error("memory", "ran out of memory while converting the result"))
    except BaseException as e:  # noqa: BLE001 - e.g. a lying __float__ raising
        _write_result(_error("rejected", f"could not convert the returned value: {type(e).__name__}: {e}"[:500]))
    _exit()
