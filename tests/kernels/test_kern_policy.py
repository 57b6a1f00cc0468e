"""The static policy S1–S8 (docs/kernels.md#the-submission-contract)."""

import pytest

from verifiers.kernels import policy

OK_HEAD = "import torch\n"
CK = "\ndef custom_kernel(data):\n    return data[0]\n"

REJECTED = [
    ("S1", "x" * (65 << 10)),
    ("S1", "def f(:\n"),
    ("S1", "import torch\n"),
    ("S1", "a = 1\x00\n" + CK),
    ("S2", "import os" + CK),
    ("S2", "import subprocess as sp" + CK),
    ("S2", "from verifiers.kernels import trimul_op" + CK),
    ("S2", "import tttd_envs" + CK),
    ("S2", "import torch.distributed as dist" + CK),
    ("S2", "from torch import _C" + CK),
    ("S2", "import torch\nx = torch.cuda.cudart()" + CK),
    ("S2", "import torch as T\nT.profiler.profile()" + CK),
    ("S2", "import torch\ntorch.utils.data.DataLoader" + CK),
    ("S2", "import triton.testing" + CK),
    ("S2", "import cupy\ncupy.cuda.runtime.deviceSynchronize()" + CK),
    ("S2", "from . import x" + CK),
    ("S3", "import torch\nf = open('x')" + CK),
    ("S3", "import torch\neval('1')" + CK),
    ("S3", "import torch\ng = getattr(torch, 'cuda')" + CK),
    ("S3", "import torch\nb = (lambda: 0).__globals__" + CK),
    ("S3", "import torch\nc = torch.Tensor.__subclasses__()" + CK),
    ("S3", "import torch\n__import__('os')" + CK),
    ("S4", "import torch\ntorch.cuda.Event.elapsed_time = lambda *a: 0.001" + CK),
    ("S4", "from torch.cuda import Event as E\nE.record = None" + CK),
    ("S4", "import torch\ntorch.cuda.synchronize = lambda: None" + CK),
    ("S4", "import torch\ndel torch.cuda.synchronize" + CK),
    ("S4", "import torch\ntorch.cuda.current_stream, y = 1, 2" + CK),
    ("S3", "import torch\nsetattr(torch.cuda, 'synchronize', None)" + CK),
    ("S5", "import torch\nclass T(torch.Tensor):\n    pass" + CK),
    ("S5", "import torch\nfrom torch import Tensor as B\nclass T(B):\n    pass" + CK),
    ("S5", "import torch\nclass T:\n    def __torch_function__(self, *a):\n        pass" + CK),
    ("S5", "import torch\ny = torch.zeros(1).as_subclass(object)" + CK),
    ("S6", "import torch\ne = torch.cuda.Event(enable_timing=True)" + CK),
    ("S6", "import torch\nt = e0.elapsed_time(e1)" + CK),
    ("S7", 'import torch\nsrc = "cudaStreamSetAttribute(s, cudaStreamAttributeAccessPolicyWindow, &v);"' + CK),
    ("S7", 'import torch\nsrc = "asm volatile(\\"discard.global.L2 [%0], 128;\\")"' + CK),
    ("S7", 'import torch\nsrc = "std::thread t(worker);"' + CK),
    ("S7", 'import torch\nsrc = "int fd = open(\\"/proc/self/maps\\", 0);"' + CK),
    ("S7", 'import torch\nsrc = "system(\\"ls\\")"' + CK),
    ("S7", "import torch\ndef fork():\n    pass" + CK),
    ("S7", 'import torch\nsrc = "cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 1<<20);"' + CK),
    ("S7", 'import torch\nsrc = "nvmlDeviceSetApplicationsClocks"' + CK),
]


@pytest.mark.parametrize("rule,source", REJECTED, ids=[f"{r}-{i}" for i, (r, _) in enumerate(REJECTED)])
def test_rejected(rule, source):
    with pytest.raises(policy.PolicyError) as e:
        policy.check(source)
    assert e.value.rule == rule, str(e.value)
    assert str(e.value).startswith(f"static policy {rule}")


def test_rejection_names_the_line():
    with pytest.raises(policy.PolicyError) as e:
        policy.check("import torch\n\n\nf = open('x')" + CK)
    assert e.value.line == 4 and "(line 4)" in str(e.value)


def test_s8_require_triton():
    with pytest.raises(policy.PolicyError) as e:
        policy.check(OK_HEAD + CK, require_triton=True)
    assert e.value.rule == "S8"
    src = "import triton\nimport triton.language as tl\n@triton.jit\ndef k(X):\n    pass\n" + CK
    policy.check(src, require_triton=True)


LOAD_INLINE = '''
import torch
from torch.utils.cpp_extension import load_inline

CUDA = r"""
__global__ void scale(float* y, const float* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) { float v; asm("mov.f32 %0, %1;" : "=f"(v) : "f"(x[i])); y[i] = v; }
}
torch::Tensor run(torch::Tensor x) {
    auto y = torch::empty_like(x);
    scale<<<(x.numel() + 255) / 256, 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        y.data_ptr<float>(), x.data_ptr<float>(), x.numel());
    return y;
}
"""
_mod = None


def custom_kernel(data):
    global _mod
    if _mod is None:
        _mod = load_inline("k", cpp_sources="torch::Tensor run(torch::Tensor x);", cuda_sources=CUDA,
                           functions=["run"])
    return _mod.run(data[0])
'''

CUPY = '''
import cupy
import torch

_k = cupy.RawKernel(r"""
extern "C" __global__ void copy(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i];
}
""", "copy")


def custom_kernel(data):
    x = data[0]
    y = torch.empty_like(x)
    with cupy.cuda.ExternalStream(torch.cuda.current_stream().cuda_stream):
        _k(((x.numel() + 255) // 256,), (256,), (x.data_ptr(), y.data_ptr(), x.numel()))
    return y
'''

FLAGS = """
import torch
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
torch.backends.cudnn.benchmark = True
torch.set_float32_matmul_precision("medium")


def custom_kernel(data):
    return data[0] @ data[2]["to_out.weight"].new_ones(1)
"""


@pytest.mark.parametrize(
    "name,source,kind",
    [
        ("torch example", None, "torch"),
        ("triton example", None, "triton"),
        ("load_inline", LOAD_INLINE, "native"),
        ("cupy RawKernel", CUPY, "native"),
        ("tf32 flags", FLAGS, "torch"),
    ],
)
def test_accepted_legitimate_modules(name, source, kind):
    from kern_helpers import example

    if source is None:
        source = example("trimul_torch.py" if kind == "torch" else "trimul_triton.py")
    tree = policy.check(source)
    assert policy.classify(tree) == kind


def test_fixtures_that_only_dynamic_defences_see_are_rejected_statically_too():
    from kern_helpers import fixture_text

    for name, rule in (
        ("import_tttd", "S2"),
        ("gc_scan", "S2"),
        ("lazy_subclass", "S5"),
        ("forge_channel", "S2"),
        ("seed_hunt", "S2"),
        ("shadowing", "S2"),
        ("hang", "S2"),
        ("mask_ignoring", None),
        ("warmup_detect", None),
        ("cache_data_ptr", None),
    ):
        if rule is None:
            policy.check(fixture_text(name))
        else:
            with pytest.raises(policy.PolicyError) as e:
                policy.check(fixture_text(name))
            assert e.value.rule == rule, (name, str(e.value))
