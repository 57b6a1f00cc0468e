"""Return-value conversion inside the sandbox child (docs/math.md#the-action).

A convenience only: the child is untrusted, so the parent re-parses and re-checks everything. The
rules are strict and exact: exact types (no bool, no float subclasses), exact float64 conversion,
nothing consumed lazily. Raising ``ConversionError`` turns into a one-line rejection.
"""

from __future__ import annotations

from typing import Any, cast

try:  # numpy is optional for the harness, but always present in practice
    import numpy as _np
except ImportError:  # pragma: no cover
    _np = None  # type: ignore[assignment]  # optional import: every use is guarded by `_np is not None`


class ConversionError(Exception):
    """The returned value cannot be turned into a construction; the message says why and how to fix it."""


_OK_ARRAY_KINDS = "fiu"  # float, signed int, unsigned int
_OK_FLOAT_DTYPES = ("float64", "float32", "float16")


def _describe(x: Any) -> str:
    t = type(x)
    mod = t.__module__
    return t.__qualname__ if mod == "builtins" else f"{mod}.{t.__qualname__}"


def _number(x: Any, where: str) -> float:
    t = type(x)
    if t is float:
        return cast(float, x)
    if t is int:
        try:
            f = float(x)
        except OverflowError:
            raise ConversionError(f"{where} is an integer too large for float64") from None
        if int(f) != x:
            raise ConversionError(f"{where} = {x} is not exactly representable in float64")
        return f
    if t is bool or (_np is not None and t is _np.bool_):
        raise ConversionError(f"{where} is a boolean; booleans are not numbers here")
    if _np is not None and isinstance(x, _np.generic) and t.__module__ == "numpy":
        if t is _np.longdouble and _np.dtype(_np.longdouble).itemsize > 8:
            raise ConversionError(
                f"{where} is numpy.longdouble (unsupported type: it would have to round); use float64"
            )
        if x.dtype.kind == "f" and x.dtype.name in _OK_FLOAT_DTYPES:
            return float(x)
        if x.dtype.kind in "iu":
            return _number(int(x), where)
    raise ConversionError(f"{where} has unsupported type {_describe(x)}; use float")


def _array(x: Any, ndim: int, what: str) -> list[Any]:
    if x.dtype.kind == "b":
        raise ConversionError(f"{what} is a boolean array; booleans are not numbers here")
    if x.dtype.kind not in _OK_ARRAY_KINDS or (x.dtype.kind == "f" and x.dtype.name not in _OK_FLOAT_DTYPES):
        raise ConversionError(f"{what} has unsupported dtype {x.dtype}; use float64")
    if x.ndim != ndim:
        raise ConversionError(f"{what} has {x.ndim} dimensions; expected {ndim}")
    if x.dtype.kind in "iu":
        out = x.tolist()
        flat = out if ndim == 1 else [v for row in out for v in row]
        for i, v in enumerate(flat):
            _number(v, f"element {i}")
        return [[float(v) for v in row] for row in out] if ndim == 2 else [float(v) for v in out]
    floats: list[Any] = x.astype(_np.float64).tolist()
    return floats


def _refuse_common(value: Any) -> None:
    if value is None:
        raise ConversionError("run() returned None; did you forget `return`?")
    import types

    if isinstance(value, (types.GeneratorType, map, filter, zip, range)) or (
        hasattr(value, "__next__") and not isinstance(value, (list, tuple))
    ):
        raise ConversionError(
            f"run() returned a {_describe(value) if not isinstance(value, types.GeneratorType) else 'generator'}"
            "; return a list"
        )


def to_sequence(value: Any, n_max: int) -> list[float]:
    """A flat list of finite-or-not floats (finiteness is judged by the parent, with the index)."""
    _refuse_common(value)
    if _np is not None and type(value) is _np.ndarray:
        if value.ndim == 1 and value.size > n_max:
            raise ConversionError(f"run() returned {value.size} values; the limit is n ≤ {n_max}")
        return _array(value, 1, "the returned array")
    if type(value) not in (list, tuple):
        raise ConversionError(f"run() returned {_describe(value)}; return a list of floats")
    if (
        type(value) is tuple
        and len(value) in (2, 3)
        and any(type(v) in (list, tuple) or (_np is not None and type(v) is _np.ndarray) for v in value)
    ):
        raise ConversionError(f"run() returned a {len(value)}-tuple; return only the construction")
    if len(value) > n_max:
        raise ConversionError(f"run() returned {len(value)} values; the limit is n ≤ {n_max}")
    out = []
    for i, v in enumerate(value):
        if type(v) in (list, tuple) or (_np is not None and type(v) is _np.ndarray):
            raise ConversionError(f"element {i} is a {_describe(v)}; expected a flat list of numbers")
        out.append(_number(v, f"element {i}"))
    return out


def to_tuples(value: Any, n: int, width: int) -> list[list[float]]:
    """Exactly n items of `width` numbers each (circle packing: [x, y, r])."""
    _refuse_common(value)
    if _np is not None and type(value) is _np.ndarray:
        if value.ndim != 2 or value.shape[1:] != (width,):
            raise ConversionError(f"the returned array has shape {value.shape}; expected ({n}, {width})")
        return _array(value, 2, "the returned array")
    if type(value) not in (list, tuple):
        raise ConversionError(f"run() returned {_describe(value)}; return a list of [x, y, r] triples")
    if type(value) is tuple and len(value) in (2, 3) and len(value) != n:
        raise ConversionError(
            f"run() returned a {len(value)}-tuple; return only the construction (a list of {n} [x, y, r] triples)"
        )
    if len(value) > 4 * n + 16:
        raise ConversionError(f"run() returned {len(value)} items; expected {n}")
    out = []
    for i, item in enumerate(value):
        if _np is not None and type(item) is _np.ndarray:
            if item.ndim != 1:
                raise ConversionError(f"item {i} has shape {item.shape}; expected {width} numbers")
            item = _array(item, 1, f"item {i}")
        elif type(item) not in (list, tuple):
            raise ConversionError(f"item {i} is {_describe(item)}; each circle needs exactly {width} numbers")
        if len(item) != width:
            raise ConversionError(f"item {i} has {len(item)} numbers; each circle needs exactly {width} numbers")
        out.append([_number(v, f"item {i} [{j}]") for j, v in enumerate(item)])
    return out


def _integer(x: Any, where: str) -> int:
    t = type(x)
    if t is int:
        return cast(int, x)
    if t is bool or (_np is not None and t is _np.bool_):
        raise ConversionError(f"{where} is a boolean ({x}); expected an integer")
    if _np is not None and isinstance(x, _np.generic) and t.__module__ == "numpy" and x.dtype.kind in "iu":
        return int(x)
    if t is float or (_np is not None and isinstance(x, _np.floating)):
        raise ConversionError(f"{where} is a float ({x!r}); expected an integer (no floats, even whole ones)")
    raise ConversionError(f"{where} has unsupported type {_describe(x)}; expected an integer")


def to_int_lists(value: Any, n_max: int, what: str = "list") -> list[list[int]]:
    """A list of lists of integers (routes of customers, machine sequences), at most n_max integers in
    all. numpy integer arrays and scalars become ints; floats and booleans are refused, never rounded."""
    _refuse_common(value)
    if _np is not None and type(value) is _np.ndarray:
        value = list(value)
    if type(value) not in (list, tuple):
        raise ConversionError(f"run() returned {_describe(value)}; return a list of {what}s (lists of integers)")
    out, total = [], 0
    for i, item in enumerate(value):
        if _np is not None and type(item) is _np.ndarray:
            if item.ndim != 1 or item.dtype.kind not in "iu":
                raise ConversionError(
                    f"{what} index {i} is an array of shape {item.shape} and dtype {item.dtype}; "
                    "expected a flat integer array"
                )
            item = item.tolist()
        elif type(item) not in (list, tuple):
            raise ConversionError(f"{what} index {i} is {_describe(item)}; expected a list of integers")
        total += len(item)
        if total > n_max:
            raise ConversionError(f"run() returned more than {n_max} integers in all; the limit is {n_max}")
        out.append([_integer(v, f"{what} index {i}, position {j}") for j, v in enumerate(item)])
    return out
