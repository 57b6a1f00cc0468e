"""How W describes an exception raised by the submission (the line the coordinator classifies)."""

from verifiers.kernels._worker import _describe


class AcceleratorError(RuntimeError):
    """Stands in for torch.AcceleratorError (same module and name in the formatted line)."""


AcceleratorError.__module__ = "torch"


def _described(exc):
    try:
        raise exc
    except BaseException as e:  # noqa: BLE001
        return _describe(e)


def test_multi_line_cuda_error_keeps_the_line_that_names_it():
    """torch reports a sticky CUDA fault as four lines; the last is a debugging hint. On the H100 the old
    last-line rule turned an out-of-bounds write into "raised: Compile with TORCH_USE_CUDA_DSA…" (status
    `rejected`) instead of `crashed`."""
    msg = (
        "CUDA error: an illegal memory access was encountered\nCUDA kernel errors might be asynchronously "
        "reported at some other API call\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1\n"
        "Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions."
    )
    assert (
        _described(AcceleratorError(msg))
        == "torch.AcceleratorError: CUDA error: an illegal memory access was encountered"
    )


def test_single_line_and_syntax_errors():
    assert _described(ValueError("bad shape")) == "ValueError: bad shape"
    assert _described(SyntaxError("invalid syntax", ("s.py", 1, 3, "a b c\n"))) == "SyntaxError: invalid syntax"
    assert _described(KeyError("w")) == "KeyError: 'w'"
