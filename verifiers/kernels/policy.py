"""The static policy S1–S8 of docs/kernels.md#the-submission-contract: an AST filter run by the trusted parent.

It gives fast, clear rejections; it is not the guarantee (the dynamic defences are). Each violation
names its rule and line. `classify` tells CPU dev mode which route a submission takes (docs/kernels.md#cpu-dev-mode).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

MAX_SOURCE_BYTES = 64 << 10
_ALLOWED_TOP = {
    "torch",
    "triton",
    "cupy",
    "numpy",
    "math",
    "typing",
    "functools",
    "itertools",
    "collections",
    "dataclasses",
    "enum",
    "operator",
    "__future__",
}
_TORCH_SUBTREES = ("torch.nn", "torch.cuda", "torch.backends")
DENIED = (
    "torch.multiprocessing",
    "torch.distributed",
    "torch.profiler",
    "torch._C",
    "torch._dynamo",
    "torch.cuda.cudart",
    "triton.testing",
    "cupy.cuda.runtime",
    "cupy.cuda.driver",
)
_BUILTINS = {
    "eval",
    "exec",
    "compile",
    "open",
    "__import__",
    "globals",
    "locals",
    "vars",
    "getattr",
    "setattr",
    "delattr",
    "breakpoint",
    "input",
    "exit",
    "quit",
}
_DUNDER_ATTRS = {
    "__globals__",
    "__code__",
    "__closure__",
    "__builtins__",
    "__dict__",
    "__class__",
    "__bases__",
    "__mro__",
    "__subclasses__",
    "__loader__",
    "__spec__",
    "f_back",
    "f_globals",
    "f_locals",
    "gi_frame",
    "tb_frame",
    "_getframe",
}
#: Numeric flags a submission may set (S4 exception): they only change its own arithmetic.
NUMERIC_FLAGS = {
    "torch.backends.cuda.matmul.allow_tf32",
    "torch.backends.cudnn.allow_tf32",
    "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
    "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction",
    "torch.backends.cudnn.benchmark",
    "torch.backends.cudnn.deterministic",
}
_SUBCLASS_ATTRS = {"_make_subclass", "_make_wrapper_subclass", "as_subclass"}
#: S7. CUDA API tokens (camel case or with underscores) match as substrings, since they are embedded in
#: longer API names (cudaLimitPersistingL2CacheSize, nvmlDeviceSetApplicationsClocks, pthread_create);
#: plain lower-case words match as whole words (fork, mmap, socket …), so `forkserver_like_name` in a
#: comment-free identifier is not flagged by accident; tokens with punctuation match as substrings.
_SUBSTRING_TOKENS = (
    "PersistingL2",
    "accessPolicyWindow",
    "cudaStreamSetAttribute",
    "annotated_ptr",
    "access_property",
    "createpolicy",
    "cudaDeviceSetLimit",
    "cudaLimit",
    "cudaDeviceReset",
    "cudaEventElapsedTime",
    "cudaProfiler",
    "nvml",
    "pthread",
    "execv",
    "discard.global",
    "std::thread",
    "std::async",
    "system(",
    "/proc/",
)
_WORD_TOKENS = (
    "fork",
    "popen",
    "dlopen",
    "dlsym",
    "mprotect",
    "mmap",
    "ptrace",
    "syscall",
    "getenv",
    "fopen",
    "socket",
)
_WORD_RE = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, _WORD_TOKENS)) + r")(?![A-Za-z0-9_])")


class PolicyError(Exception):
    """A static-policy violation: `rule` (S1…S8), `line` and a one-sentence message."""

    def __init__(self, rule: str, line: int | None, what: str) -> None:
        self.rule, self.line = rule, line
        where = f" (line {line})" if line else ""
        super().__init__(f"static policy {rule}{where}: {what}")


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _import_ok(module: str) -> bool:
    top = module.split(".")[0]
    if top not in _ALLOWED_TOP:
        return False
    if top == "torch" and module != "torch":
        return any(module == t or module.startswith(t + ".") for t in _TORCH_SUBTREES)
    return True


def _denied(path: str) -> str | None:
    return next((d for d in DENIED if path == d or path.startswith(d + ".")), None)


def check(source: str, require_triton: bool = False) -> ast.Module:
    """Run S1–S8; return the parsed module or raise PolicyError."""
    raw = source.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_SOURCE_BYTES:
        raise PolicyError("S1", None, f"the module is {len(raw):,} bytes; the limit is 64 KiB")
    if "\x00" in source:
        raise PolicyError("S1", None, "the module contains NUL bytes")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("S1", None, "the module is not valid UTF-8") from None
    if not source.strip():
        raise PolicyError("S1", None, "the module is empty; define custom_kernel(data)")
    try:
        tree = ast.parse(source, filename="submission.py")
    except SyntaxError as e:
        raise PolicyError("S1", e.lineno, f"syntax error: {e.msg}") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise PolicyError("S1", None, f"the module cannot be parsed ({type(e).__name__})") from None
    if not _binds_custom_kernel(tree):
        raise PolicyError("S1", None, "the module has no top-level custom_kernel; define custom_kernel(data)")

    aliases: dict[str, str] = {}  # local name -> dotted module path (or module.attr)
    full: str | None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for al in node.names:
                if not _import_ok(al.name) or _denied(al.name):
                    raise PolicyError(
                        "S2",
                        node.lineno,
                        f"import of {al.name!r} is not allowed (allowed: torch, "
                        "triton, cupy, numpy and a few stdlib modules; see the problem statement)",
                    )
                aliases[al.asname or al.name.split(".")[0]] = al.name if al.asname else al.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                raise PolicyError("S2", node.lineno, "relative imports are not allowed")
            for al in node.names:
                full = f"{mod}.{al.name}"
                if mod == "torch.utils.cpp_extension" and al.name == "load_inline":
                    pass
                elif (
                    not _import_ok(mod) or _denied(full) or _denied(mod) or al.name == "*" and mod.startswith("torch.")
                ):
                    raise PolicyError("S2", node.lineno, f"'from {mod} import {al.name}' is not allowed")
                aliases[al.asname or al.name] = full

    def resolve(node: ast.AST) -> str | None:
        path = _dotted(node)
        if path is None:
            return None
        root, _, rest = path.partition(".")
        if root in aliases:
            return aliases[root] + ("." + rest if rest else "")
        return None

    has_jit = False
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.Name) and node.id in _BUILTINS:
            raise PolicyError("S3", line, f"the builtin {node.id}() is not allowed")
        if isinstance(node, ast.Attribute):
            if node.attr in _DUNDER_ATTRS:
                raise PolicyError("S3", line, f"the attribute {node.attr} is not allowed")
            full = resolve(node)
            if full and _denied(full):
                raise PolicyError("S2", line, f"{full} is not allowed")
            if (
                full
                and full.startswith("torch.utils.")
                and not full.startswith("torch.utils.cpp_extension.load_inline")
            ):
                raise PolicyError(
                    "S2", line, f"{full} is not allowed (from torch.utils only cpp_extension.load_inline)"
                )
            if node.attr in _SUBCLASS_ATTRS:
                raise PolicyError("S5", line, f"{node.attr} is not allowed: return a plain torch.Tensor")
            if node.attr == "elapsed_time":
                raise PolicyError("S6", line, "timing APIs (elapsed_time) are not allowed: the harness times calls")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in _flatten_targets(targets):
                if isinstance(t, (ast.Attribute, ast.Subscript)):
                    base = t if isinstance(t, ast.Attribute) else t.value
                    full = resolve(base)
                    if full is not None and not (isinstance(t, ast.Attribute) and full in NUMERIC_FLAGS):
                        raise PolicyError(
                            "S4",
                            line,
                            f"assigning to or deleting {full} is not allowed "
                            "(only the numeric flags such as torch.backends.cuda.matmul.allow_tf32)",
                        )
        if isinstance(node, ast.ClassDef):
            for b in node.bases + [k.value for k in node.keywords]:
                if resolve(b) is not None:
                    raise PolicyError(
                        "S5",
                        line,
                        f"class {node.name} derives from {resolve(b)}; subclassing torch classes is not allowed",
                    )
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name in ("__torch_function__", "__torch_dispatch__"):
                raise PolicyError("S5", line, f"{node.name} is not allowed: return a plain torch.Tensor")
            for dec in node.decorator_list:
                d = dec.func if isinstance(dec, ast.Call) else dec
                p = resolve(d) or _dotted(d) or ""
                if p.split(".")[-1] in ("jit", "autotune", "heuristics") and "triton" in p:
                    has_jit = True
        if isinstance(node, ast.Call):
            fn = resolve(node.func) or _dotted(node.func) or ""
            if fn.split(".")[-1] == "Event":
                for kw in node.keywords:
                    if kw.arg == "enable_timing" and not (isinstance(kw.value, ast.Constant) and not kw.value.value):
                        raise PolicyError(
                            "S6", line, "Event(enable_timing=True) is not allowed: the harness times calls"
                        )
        for text in _texts(node):
            bad = _token(text)
            if bad:
                raise PolicyError(
                    "S7",
                    line,
                    f"the token {bad!r} is not allowed (L2/device control, threads, "
                    "processes, files and system calls are off limits)",
                )
    if require_triton and not has_jit:
        raise PolicyError("S8", None, "this env requires at least one @triton.jit kernel")
    return tree


def _flatten_targets(targets: Iterable[ast.expr]) -> Iterator[ast.expr]:
    for t in targets:
        if isinstance(t, (ast.Tuple, ast.List)):
            yield from _flatten_targets(t.elts)
        elif isinstance(t, ast.Starred):
            yield from _flatten_targets([t.value])
        else:
            yield t


def _texts(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        v = node.value
        yield v if isinstance(v, str) else v.decode("latin-1")
    elif isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, ast.alias):
        yield node.name
        if node.asname:
            yield node.asname


def _token(text: str) -> str | None:
    m = _WORD_RE.search(text)
    if m:
        return m.group(1)
    return next((t for t in _SUBSTRING_TOKENS if t in text), None)


def _binds_custom_kernel(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "custom_kernel":
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "custom_kernel" for t in targets):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((al.asname or al.name) == "custom_kernel" for al in node.names):
                return True
        if isinstance(node, (ast.If, ast.Try)):
            if any(isinstance(n, ast.FunctionDef) and n.name == "custom_kernel" for n in ast.walk(node)):
                return True
    return False


def classify(tree: ast.Module) -> str:
    """'native' (load_inline or CuPy: uncheckable on CPU), 'triton', or 'torch' (docs/kernels.md#cpu-dev-mode)."""
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module.split(".")[0])
            if node.module == "torch.utils.cpp_extension":
                mods.add("load_inline")
        elif isinstance(node, ast.Attribute) and node.attr == "load_inline":
            mods.add("load_inline")
    if "cupy" in mods or "load_inline" in mods:
        return "native"
    return "triton" if "triton" in mods else "torch"
