"""A plain PyTorch TriMul submission (docs/kernels.md#the-problem-and-its-cases): fp16 projections and contraction with
fp32 accumulation and fp32 LayerNorms, the mask applied as the operator defines.

Run it: `tttd eval TriMul-H100-v0 examples/trimul_torch.py` (CPU dev mode where there is no GPU).
"""

import torch
import torch.nn.functional as F


def custom_kernel(data):
    x, mask, weights, config = data
    dim = config["dim"]
    hidden = config["hidden_dim"]
    half = torch.float16 if x.is_cuda else torch.float32  # CPU matmuls in fp16 are slow and imprecise
    xn = F.layer_norm(x, (dim,), weights["norm.weight"], weights["norm.bias"], 1e-5).to(half)
    # One fused matmul for the five C -> H projections.
    w_all = torch.cat(
        [
            weights["left_proj.weight"],
            weights["right_proj.weight"],
            weights["left_gate.weight"],
            weights["right_gate.weight"],
            weights["out_gate.weight"],
        ],
        dim=0,
    ).to(half)
    proj = (xn @ w_all.t()).float()
    lp, rp, lg, rg, og = proj.split(hidden, dim=-1)
    m = mask.to(torch.float32).unsqueeze(-1)
    left = lp * m * torch.sigmoid(lg)
    right = rp * m * torch.sigmoid(rg)
    # O[b,i,j,d] = sum_k L[b,i,k,d] R[b,j,k,d]: batched over (b, d).
    B, N = x.shape[0], x.shape[1]
    lt = left.to(half).permute(0, 3, 1, 2).reshape(B * hidden, N, N)
    rt = right.to(half).permute(0, 3, 2, 1).reshape(B * hidden, N, N)
    o = torch.bmm(lt, rt).float().reshape(B, hidden, N, N).permute(0, 2, 3, 1)
    o = F.layer_norm(o, (hidden,), weights["to_out_norm.weight"], weights["to_out_norm.bias"], 1e-5)
    y = (o * torch.sigmoid(og)).to(half) @ weights["to_out.weight"].t().to(half)
    return y.float().contiguous()
