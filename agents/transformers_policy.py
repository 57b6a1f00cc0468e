"""The transformers + peft policy: sampling and token-level importance-sampling policy gradient on a
LoRA adapter (docs/agent.md#one-step).

Sampling is a plain KV-cached loop rather than ``generate``: it records the sampler's log-probability
of every token it draws (ρ needs them), uses its own seeded ``torch.Generator`` (a step's samples are a
function of the seed and the weights only, which makes resumed runs exact), and samples from exactly
softmax(logits / T) with no hidden warpers. Only torch, transformers, peft and safetensors are used
(they are all the GPU machine has).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from torch.distributed.tensor import DTensor


@dataclasses.dataclass
class Rollout:
    """One sampled answer: token ids (prompt and answer separately) and the sampler's log-probs."""

    prompt_ids: list[int]
    answer_ids: list[int]
    logprobs: list[float]
    text: str
    finished: bool  # ended with EOS (False: hit max_new_tokens)


@dataclasses.dataclass
class PolicySettings:
    """What the policy needs from the run's configuration (a subset of AgentConfig)."""

    lora_rank: int = 8
    lora_alpha: float = 0.0
    lora_dropout: float = 0.0
    lora_targets: str = "all-linear"
    lr: float = 1e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    adam_eps: float = 1e-8
    clip_ratio: float = 0.0
    kl_coef: float = 0.0
    token_budget: int = 4096
    logprob_chunk_tokens: int = 4096
    temperature: float = 1.0
    max_new_tokens: int = 512
    answer_prefix: str = ""
    stop: list = dataclasses.field(default_factory=list)
    share_prompt: str = "auto"
    device: str = "auto"
    trainer_parallel: str = "data"  # "fsdp": shard the decoder layers over the torch.distributed ranks
    dtype: str = "auto"
    gradient_checkpointing: str = "auto"
    threads: int = 0
    seed: int = 0

    @classmethod
    def from_config(cls, cfg: Any) -> PolicySettings:
        return cls(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls)})


def pick_device(device: str) -> str:
    """``auto`` → cuda:0 or cpu; ``cuda`` → cuda:0; ``cuda:N`` checked against the visible GPUs."""
    import torch

    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.partition(":")[2] or 0)
        if n == 0:
            raise ValueError(f"--device {device} was asked for but no CUDA GPU is visible; use --device cpu")
        if index >= n:
            raise ValueError(f"--device {device} was asked for but only cuda:0-{n - 1} are visible")
        return f"cuda:{index}"
    return device


def is_cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def pick_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        return torch.bfloat16 if is_cuda(device) else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]


class TransformersPolicy:
    """A causal LM wrapped in a fresh LoRA adapter, with an Adam optimizer over the adapter only."""

    def __init__(self, model, tokenizer, settings: PolicySettings) -> None:
        import torch
        from peft import LoraConfig, get_peft_model

        self.s = settings
        self.device = pick_device(settings.device)
        if self.device == "cpu":
            set_cpu_threads(settings.threads)
        self.cpu_threads = torch.get_num_threads() if self.device == "cpu" else None  # cores it computes on (cost)
        self.dtype = pick_dtype(settings.dtype, self.device)
        self.tokenizer = tokenizer
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        # sharded (FSDP): the model stays on the CPU until each layer's shard moves to the device
        self.sharded = _shards(settings)
        model = model.to(dtype=self.dtype) if self.sharded else model.to(device=self.device, dtype=self.dtype)
        torch.manual_seed(settings.seed)  # LoRA A matrices are random; B starts at zero
        lcfg = LoraConfig(
            r=settings.lora_rank,
            lora_alpha=settings.lora_alpha or settings.lora_rank,  # type: ignore[arg-type]  # peft: alpha / r, a float is fine
            lora_dropout=settings.lora_dropout,
            target_modules=settings.lora_targets,
            bias="none",
            task_type="CAUSAL_LM",
        )
        self.model = get_peft_model(model, lcfg)
        self.held = 1.0  # the fraction of the decoder layers' weights this process holds
        if self.sharded:
            self.held = shard_layers(self.model, self.device)
        gc = settings.gradient_checkpointing
        if gc == "on" or (gc == "auto" and is_cuda(self.device)):
            self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            self.model.enable_input_require_grads()
        self.params = [p for _, p in self.model.named_parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(
            self.params, lr=settings.lr, betas=(settings.adam_beta1, settings.adam_beta2), eps=settings.adam_eps
        )
        self.eos_ids = _eos_ids(self.model, tokenizer)
        self.version = 0  # bumps on every update (the vLLM backend keys LoRA requests on it)
        self._chunk_ok: bool | None = None  # does chunked log-prob computation reproduce the logits? (lazy)

    @classmethod
    def from_spec(cls, spec, settings: PolicySettings) -> TransformersPolicy:
        from agents import models

        device = pick_device(settings.device)
        where = "cpu" if _shards(settings) else device  # a sharded model never exists whole on the device
        model, tok = models.load(spec, dtype=pick_dtype(settings.dtype, device), device=where)
        return cls(model, tok, settings)

    # -- prompts ----------------------------------------------------------------------------
    def prompt_ids(self, prompt: str) -> list[int]:
        """The chat template's user turn plus the generation prompt (or the raw text without one),
        then the ``answer_prefix`` tokens: the assistant's answer starts with them, they are part of
        the action sent to the env, and, being prompt tokens, they are never trained."""
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
            ids = list(tok(text, add_special_tokens=False)["input_ids"])
        else:
            ids = list(tok(prompt)["input_ids"])
        if self.s.answer_prefix:
            ids += list(tok(self.s.answer_prefix, add_special_tokens=False)["input_ids"])
        return ids

    def context_length(self) -> int | None:
        """The model's context window in tokens (None when its config does not say)."""
        cfg = getattr(self.model, "config", None)
        n = getattr(cfg, "max_position_embeddings", None)
        return int(n) if n else None

    def fit_new_tokens(self, n_prompt: int, max_new_tokens: int | None = None) -> int:
        """max_new_tokens, shortened to the context left after a prompt of ``n_prompt`` tokens."""
        want = max_new_tokens or self.s.max_new_tokens
        ctx = self.context_length()
        if ctx is None:
            return want
        if n_prompt >= ctx:
            raise ValueError(
                f"the prompt has {n_prompt} tokens, which fills the model's context of {ctx} tokens; "
                "use a model with a longer context or a problem state with a shorter program"
            )
        return min(want, ctx - n_prompt)

    # -- sampling ------------------------------------------------------------------------------
    def sample(self, prompt_ids: list[int], n: int, seed: int, max_new_tokens: int | None = None) -> list[Rollout]:
        """``n`` answers to one prompt at the configured temperature, with their log-probabilities.

        The prompt is prefilled once and its KV cache repeated ``n`` times; finished answers leave
        the batch, so a step costs only the answers still running. An answer ends at EOS, at the
        first ``stop`` string (kept in the answer, as vLLM's include_stop_str_in_output), or when
        the model's context (or max_new_tokens) is used up."""
        import torch

        max_new = self.fit_new_tokens(len(prompt_ids), max_new_tokens)
        gen = torch.Generator(device=self.device)
        gen.manual_seed(int(seed) % (2**63))
        model = self.model
        model.eval()
        eos = torch.tensor(sorted(self.eos_ids), device=self.device)
        stops = [x for x in self.s.stop if x]
        toks: list[list[int]] = [[] for _ in range(n)]
        lps: list[list[float]] = [[] for _ in range(n)]
        stopped = [False] * n
        with torch.no_grad():
            out = model(input_ids=torch.tensor([prompt_ids], device=self.device), use_cache=True)
            cache = out.past_key_values
            cache.batch_repeat_interleave(n)
            logits = out.logits[:, -1, :].expand(n, -1)
            active = torch.arange(n, device=self.device)
            for step in range(max_new):
                logp = torch.log_softmax(logits.float() / self.s.temperature, dim=-1)
                nxt = torch.multinomial(logp.exp(), 1, generator=gen).squeeze(1)
                if self.sharded:  # every rank follows rank 0's tokens, so all run the same forwards
                    import torch.distributed as dist

                    dist.broadcast(nxt, src=0)
                lp = logp.gather(1, nxt[:, None]).squeeze(1)
                running = ~torch.isin(nxt, eos)
                for k, (row, t, t_lp) in enumerate(zip(active.tolist(), nxt.tolist(), lp.tolist())):
                    toks[row].append(t)
                    lps[row].append(t_lp)
                    if stops and bool(running[k]) and self._hit_stop(toks[row], stops):
                        stopped[row] = True
                        running[k] = False
                if not bool(running.all()):
                    keep = running.nonzero().squeeze(1)
                    if keep.numel() == 0:
                        break
                    active, nxt = active[keep], nxt[keep]
                    cache.batch_select_indices(keep)
                if step + 1 == max_new:
                    break
                out = model(input_ids=nxt[:, None], past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                logits = out.logits[:, -1, :]
        return [self._rollout(prompt_ids, ans, lp, stop) for ans, lp, stop in zip(toks, lps, stopped)]

    def _hit_stop(self, ids: list[int], stops: list[str]) -> bool:
        """Whether the answer's text contains a stop string (only the tail can hold a new one)."""
        tail = self.tokenizer.decode(ids[-(max(len(x) for x in stops) + 8) :], skip_special_tokens=True)
        return any(x in tail for x in stops)

    def _rollout(self, prompt_ids: list[int], ans: list[int], lp: list[float], stopped: bool) -> Rollout:
        """The action is the answer prefix plus the decoded answer, cut after the first stop string
        (a stop string can end inside a token; the token ids keep the whole token)."""
        text = self.tokenizer.decode(ans, skip_special_tokens=True)
        if stopped:
            text = cut_at_stop(text, self.s.stop)
        return Rollout(
            list(prompt_ids),
            ans,
            lp,
            self.s.answer_prefix + text,
            finished=stopped or (bool(ans) and ans[-1] in self.eos_ids),
        )

    # -- log-probabilities and the update ------------------------------------------------------
    def _shares_prompt(self) -> bool:
        """Run a group's prompt once per micro-batch and its answers on the prompt's KV cache.
        Exact (the same log-probs and gradients as whole sequences, up to float rounding) and
        k times cheaper on the prompt; off with gradient checkpointing, which cannot keep a cache, and
        when sharded, where every rank must run the same number of forwards."""
        if self.sharded:
            return False
        if self.s.share_prompt == "auto":
            return not getattr(self.model, "is_gradient_checkpointing", False)
        return self.s.share_prompt == "on"

    def _microbatches(self, items: list) -> list[list]:
        """Pack (rollout, advantage) pairs in order so each batch's padded size fits the token budget.
        With a shared prompt a batch holds one prompt, and costs the prompt once plus the answers."""
        share = self._shares_prompt()
        batches: list[list] = []
        cur: list = []
        longest = 0
        for it in items:
            r = it[0]
            n = len(r.answer_ids) if share else len(r.prompt_ids) + len(r.answer_ids)
            if cur:
                new_prompt = share and r.prompt_ids != cur[0][0].prompt_ids
                base = len(cur[0][0].prompt_ids) if share else 0
                if new_prompt or base + max(longest, n) * (len(cur) + 1) > self.s.token_budget:
                    batches.append(cur)
                    cur, longest = [], 0
            cur.append(it)
            longest = max(longest, n)
        if cur:
            batches.append(cur)
        return batches

    def _answer_logprobs(self, batch: list[Rollout]):
        """log π_θ of every answer token at the sampling temperature (padded tensor), and the answer
        mask. Dividing the logits by T makes them the sampler's own distribution, so ρ is unbiased."""
        import torch

        if len(batch) > 1 and self._shares_prompt() and all(r.prompt_ids == batch[0].prompt_ids for r in batch):
            return self._answer_logprobs_shared(batch)
        seqs = [r.prompt_ids + r.answer_ids for r in batch]
        L = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([s + [pad] * (L - len(s)) for s in seqs], device=self.device)
        att = torch.tensor([[1] * len(s) + [0] * (L - len(s)) for s in seqs], device=self.device)
        first = min(len(r.prompt_ids) for r in batch)
        keep = L - first + 1  # logits only from the earliest answer position on
        tgt = ids[:, first:]
        if self._chunking():
            hidden = self._decoder()(input_ids=ids, attention_mask=att).last_hidden_state[:, first - 1 : L - 1]
            lp = self._token_logprobs(hidden, tgt)
        else:
            logits = self.model(input_ids=ids, attention_mask=att, logits_to_keep=keep).logits[:, :-1].float()
            lp = _logprobs_of(logits / self.s.temperature, tgt)
        A = max(len(r.answer_ids) for r in batch)
        mask = torch.zeros(len(batch), A, device=self.device)
        rows = []
        for i, r in enumerate(batch):
            s = len(r.prompt_ids) - first
            a = len(r.answer_ids)
            rows.append(lp[i, s : s + a])
            mask[i, :a] = 1
        out = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
        if out.shape[1] < A:
            out = torch.nn.functional.pad(out, (0, A - out.shape[1]))
        return out, mask

    def _answer_logprobs_shared(self, batch: list[Rollout]):
        """The same as :meth:`_answer_logprobs` for rollouts of one prompt: the prompt runs once
        (with gradients), its KV cache is repeated for the k answers, and the answers run on it."""
        import torch

        k, P = len(batch), len(batch[0].prompt_ids)
        A = max(len(r.answer_ids) for r in batch)
        pad = self.tokenizer.pad_token_id
        chunked = self._chunking()
        run = self._decoder() if chunked else self.model
        pick = (lambda o: o.last_hidden_state) if chunked else (lambda o: o.logits.float())
        out = run(input_ids=torch.tensor([batch[0].prompt_ids], device=self.device), use_cache=True)
        first = pick(out)[:, -1:, :].expand(k, 1, -1)  # predicts every answer's first token
        ans = torch.tensor([r.answer_ids + [pad] * (A - len(r.answer_ids)) for r in batch], device=self.device)
        mask = torch.tensor(
            [[1.0] * len(r.answer_ids) + [0.0] * (A - len(r.answer_ids)) for r in batch], device=self.device
        )
        if A > 1:
            cache = out.past_key_values
            cache.batch_repeat_interleave(k)
            att = torch.cat([torch.ones(k, P, dtype=torch.long, device=self.device), mask[:, : A - 1].long()], dim=1)
            rest = pick(run(input_ids=ans[:, : A - 1], attention_mask=att, past_key_values=cache, use_cache=True))
            states = torch.cat([first, rest], dim=1)
        else:
            states = first
        lp = self._token_logprobs(states, ans) if chunked else _logprobs_of(states / self.s.temperature, ans)
        return lp * mask, mask

    # -- chunked log-probabilities ------------------------------------------------------------
    def _chunking(self) -> bool:
        """Whether log-probs come from the decoder's hidden states, a chunk of positions at a time
        (logprob_chunk_tokens > 0 and this model's head reproduces its logits; see _head_check)."""
        if self.s.logprob_chunk_tokens <= 0:
            return False
        if self._chunk_ok is None:
            self._chunk_ok = self._head_check()
        return self._chunk_ok

    def _decoder(self):
        return self.model.get_base_model().get_decoder()

    def _head(self, hidden):
        """The output head on hidden states, in fp32, at the sampling temperature (with the model's
        final logit soft-capping when its config has one)."""
        import torch

        logits = self.model.get_base_model().get_output_embeddings()(hidden).float()
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits / self.s.temperature

    def _head_check(self) -> bool:
        """Once per policy: the head on the decoder's last hidden state must give the model's own
        logits (a model whose forward does more, e.g. scales its logits, keeps whole-sequence logits)."""
        import torch

        ids = torch.tensor([[i % 7 + 3 for i in range(6)]], device=self.device)
        with torch.no_grad():
            want = self.model(input_ids=ids).logits.float() / self.s.temperature
            got = self._head(self._decoder()(input_ids=ids).last_hidden_state)
        ok = bool(torch.allclose(got, want, atol=1e-3, rtol=1e-3))
        if not ok:
            import warnings

            warnings.warn(
                "this model's output head is not a plain projection of its last hidden state; "
                "log-probabilities are computed on whole-sequence logits (more memory)",
                stacklevel=2,
            )
        return ok

    def _token_logprobs(self, hidden, targets):
        """log softmax(head(hidden))[targets] for hidden [B, T, H] and targets [B, T], computing the
        full-vocabulary logits for about ``logprob_chunk_tokens`` tokens at a time. With gradients each
        chunk is checkpointed: backward recomputes its logits, so a 26k-token rollout never holds
        26k × vocabulary floats, at the cost of one more pass of the output head."""
        import torch
        from torch.utils.checkpoint import checkpoint

        B, T = targets.shape
        step = max(1, self.s.logprob_chunk_tokens // max(B, 1))

        def piece(h, t):
            return _logprobs_of(self._head(h), t)

        parts = []
        for a in range(0, T, step):
            h, t = hidden[:, a : a + step], targets[:, a : a + step]
            parts.append(
                checkpoint(piece, h, t, use_reentrant=False)
                if torch.is_grad_enabled() and h.requires_grad
                else piece(h, t)
            )
        return torch.cat(parts, dim=1) if parts else hidden.new_zeros(B, 0)

    def logprob_sums(self, rollouts: list[Rollout]) -> list[float]:
        """Σ log π_θ(answer | prompt) per rollout under the current adapter (no gradient)."""
        import torch

        self.model.eval()
        res = []
        with torch.no_grad():
            for mb in self._microbatches([(r, 0.0) for r in rollouts]):
                lp, mask = self._answer_logprobs([r for r, _ in mb])
                res += (lp * mask).sum(1).tolist()
        return res

    def update(self, rollouts: list[Rollout], advantages: list[float]) -> dict[str, float]:
        """One Adam step on the token-level policy-gradient loss (:func:`pg_loss`): −(1/N) Σ_i Σ_t
        ρ_t A_i with ρ_t = π_θ/π_sampler per token, or PPO's clipped surrogate with clip_ratio > 0;
        its gradient is A_i ρ_t ∇log π_θ where not clipped. Plus a KL penalty to the base model
        (kl_coef; its gradient weights log π_θ by the constant log π_θ − log π_base). Rollouts with
        A = 0 (dropped groups) cost nothing. Gradients are accumulated over token-budget
        micro-batches, so N is the number of rollouts with A ≠ 0.

        Data-parallel: when torch.distributed is initialised with several processes (each holding the
        same adapter and optimizer state, and called with the same rollouts), rank r takes every
        world-th item from r, the gradients are summed over the ranks, and every rank takes the same
        step: the update of one process, computed in parts."""
        import torch

        items = [(r, float(a)) for r, a in zip(rollouts, advantages) if a != 0.0 and r.answer_ids]
        if not items or self.s.lr == 0:
            return {"loss": 0.0, "train_tokens": 0, "rho_mean": 1.0, "clip_frac": 0.0, "train_s": 0.0}
        t0 = time.perf_counter()
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        N = len(items)
        rank, world = _dist_rank_world()
        mine = items[rank::world]
        batches = [(mb, 1.0) for mb in self._microbatches(mine)]
        # sharded, FSDP reduces the layers' gradients as their mean over the ranks: ×world makes it the sum
        scale = float(world) if self.sharded else 1.0
        if self.sharded:
            batches += _padding(batches, items[0][0], self.device)
        total, ntok, rho_sum, clipped = 0.0, 0, 0.0, 0.0
        for mb, weight in batches:
            batch = [r for r, _ in mb]
            adv = torch.tensor([a for _, a in mb], device=self.device)
            lp, mask = self._answer_logprobs(batch)
            old = torch.zeros_like(lp)
            for i, r in enumerate(batch):
                old[i, : len(r.logprobs)] = torch.tensor(r.logprobs, device=self.device)
            per_token, rho, clip = pg_loss(lp, old, adv, mask, self.s.clip_ratio)
            loss = per_token.sum() / N
            if self.s.kl_coef > 0:
                # KL(π_θ ‖ π_base) on the sampled tokens: its score-function gradient weights each
                # token's log π_θ by (log π_θ − log π_base), a penalty that grows as the adapter drifts
                with torch.no_grad(), self.model.disable_adapter():
                    base, _ = self._answer_logprobs(batch)
                loss = loss + self.s.kl_coef * ((lp.detach() - base) * rho.detach() * lp * mask).sum() / N
            (loss * (weight * scale)).backward()
            if not weight:
                continue
            total += float(loss.detach())
            ntok += int(mask.sum())
            rho_sum += float((rho.detach() * mask).sum())
            clipped += float(clip.sum())
        if world > 1:
            import torch.distributed as dist

            for p in self.params:
                if _is_dtensor(p):
                    continue  # a sharded layer's gradient, already reduced by FSDP
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                dist.all_reduce(p.grad)
                p.grad.div_(scale)
            sums = torch.tensor([total, ntok, rho_sum, clipped], dtype=torch.float64, device=self.device)
            dist.all_reduce(sums)
            total, ntok, rho_sum, clipped = float(sums[0]), int(sums[1]), float(sums[2]), float(sums[3])
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.version += 1
        if is_cuda(self.device):
            torch.cuda.synchronize(self.device)
        return {
            "loss": total,
            "train_tokens": ntok,
            "rho_mean": rho_sum / max(ntok, 1),
            "clip_frac": clipped / max(ntok, 1),
            "train_s": time.perf_counter() - t0,
        }

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self, directory: Path, *, optimizer: bool = True) -> None:
        """The adapter (peft format: adapter_model.safetensors + adapter_config.json) and, for exact
        resume, the optimizer state and RNG states."""
        import warnings

        import torch

        directory = Path(directory)
        if self.sharded:  # every rank takes part in gathering; rank 0 writes
            whole = self._whole_adapter()
            opt_state = self._whole_optimizer() if optimizer else None
            if _dist_rank_world()[0] != 0:
                return
            state: dict[str, Any] = {"optimizer_fqn": opt_state}
        else:
            whole = None
            state = {"optimizer": self.optimizer.state_dict()} if optimizer else {}
        with warnings.catch_warnings():
            # a model loaded from GGUF has no config.json beside its weights; peft only notes it
            warnings.filterwarnings("ignore", message="Could not find a config file", category=UserWarning)
            self.model.save_pretrained(str(directory), state_dict=whole)
        if optimizer:
            state.update(version=self.version, torch_rng=torch.get_rng_state())
            torch.save(state, directory / "optimizer.pt")

    def load(self, directory: Path) -> None:
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        directory = Path(directory)
        if self.sharded:
            self._load_sharded_adapter(load_file(str(directory / "adapter_model.safetensors")), directory)
        else:
            weights = load_file(str(directory / "adapter_model.safetensors"), device=self.device)
            res = set_peft_model_state_dict(self.model, weights)
            if getattr(res, "unexpected_keys", None):
                raise ValueError(f"the adapter in {directory} does not fit this model (unexpected keys)")
        opt = directory / "optimizer.pt"
        if opt.is_file():
            st = torch.load(opt, map_location="cpu" if self.sharded else self.device, weights_only=False)
            if "optimizer_fqn" in st:  # written by a sharded run: keyed by parameter name, whole tensors
                from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

                set_optimizer_state_dict(
                    self.model, self.optimizer, st["optimizer_fqn"], options=StateDictOptions(full_state_dict=True)
                )
            elif self.sharded:
                raise ValueError(
                    f"the optimizer state in {directory} was written by an unsharded run; "
                    "resume it with trainer_parallel=data"
                )
            else:
                self.optimizer.load_state_dict(st["optimizer"])
            self.version = int(st["version"])
            torch.set_rng_state(st["torch_rng"])

    def _whole_adapter(self) -> dict[str, Any]:
        """The trainable parameters as whole tensors on the CPU, by parameter name (sharded: gathered
        from every rank, so every rank must call this together)."""
        return {
            n: (p.full_tensor() if _is_dtensor(p) else p).detach().cpu()
            for n, p in self.model.named_parameters()
            if p.requires_grad
        }

    def _whole_optimizer(self) -> dict[str, Any]:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        return get_optimizer_state_dict(
            self.model, self.optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
        )

    def _load_sharded_adapter(self, weights: dict[str, Any], directory: Path) -> None:
        """Each rank copies its shard of every adapter tensor out of the whole one (peft's file names
        a tensor without the adapter's name: ``lora_A.weight`` for ``lora_A.default.weight``)."""
        from torch.distributed.tensor import distribute_tensor

        for name, p in self.model.named_parameters():
            if not p.requires_grad:
                continue
            key = name.replace(f".{self.model.active_adapter}.", ".")
            if key not in weights:
                raise ValueError(f"the adapter in {directory} does not fit this model (it lacks {key})")
            t = weights[key].to(p.dtype)
            if _is_dtensor(p):
                p.data.copy_(distribute_tensor(t, p.device_mesh, p.placements, src_data_rank=None))
            else:
                p.data.copy_(t.to(p.device))

    def adapter_state(self) -> dict[str, Any]:
        from peft import get_peft_model_state_dict

        whole = self._whole_adapter() if self.sharded else None
        return {k: v.detach().clone() for k, v in get_peft_model_state_dict(self.model, state_dict=whole).items()}


def cut_at_stop(text: str, stops: list[str]) -> str:
    """The text up to and including the first stop string (all of it when none occurs)."""
    ends = [text.index(x) + len(x) for x in stops if x and x in text]
    return text[: min(ends)] if ends else text


def _logprobs_of(logits, targets):
    """log softmax(logits) at the target ids: logits [B, T, V] (fp32), targets [B, T]."""
    import torch

    return logits.gather(-1, targets[..., None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def pg_loss(logp, old_logp, adv, mask, clip_ratio: float = 0.0):
    """Per-token policy-gradient loss, the importance ratio and which tokens were clipped.

    ρ_t = exp(log π_θ − log π_sampler) per answer token. Without clipping the loss is −ρ_t·A (its
    gradient is A·ρ_t·∇log π_θ: importance-sampled REINFORCE). With clip_ratio = ε > 0 it is PPO's
    clipped surrogate −min(ρ_t·A, clip(ρ_t, 1−ε, 1+ε)·A): a token whose ratio has already moved
    past 1 ± ε in the direction the advantage pushes gets no gradient. Padding (mask 0) counts 0."""
    import torch

    rho = torch.exp(logp - old_logp) * mask
    a = adv[:, None]
    unclipped = rho * a
    if clip_ratio > 0:
        surrogate = torch.minimum(unclipped, rho.clamp(1 - clip_ratio, 1 + clip_ratio) * a)
        clip = ((surrogate.detach() != unclipped.detach()) & (mask > 0)).float()
    else:
        surrogate, clip = unclipped, torch.zeros_like(mask)
    return -surrogate * mask, rho, clip


def set_cpu_threads(threads: int) -> None:
    """Explicit ``threads``, else OMP_NUM_THREADS when set, else half the cores: the other half runs
    the verifier workers, and OpenMP threads competing with busy processes can be many times slower."""
    import torch

    if threads <= 0:
        if os.environ.get("OMP_NUM_THREADS"):
            return
        threads = max(1, (os.cpu_count() or 2) // 2)
    torch.set_num_threads(threads)


def shard_layers(model, device: str) -> float:
    """FSDP2 (``fully_shard``) on each decoder layer of a peft model, over all the ranks: each rank keeps
    1/world of every layer's weights (base and adapter) and gathers a layer only while it computes.
    The embeddings, final norm and output head (frozen, and tied in many models) stay whole on every
    rank and move to ``device``. Returns the fraction of the layers' weights this rank holds."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    layers = getattr(model.get_base_model().get_decoder(), "layers", None)
    if layers is None:
        raise ValueError("trainer_parallel=fsdp shards a decoder's layers, and this model's decoder has no .layers")
    _, world = _dist_rank_world()
    mesh = init_device_mesh("cuda" if is_cuda(device) else "cpu", (world,))
    for layer in layers:
        fully_shard(layer, mesh=mesh)
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if not _is_dtensor(p):
                p.data = p.data.to(device)
        for name, b in list(module.named_buffers(recurse=False)):
            if b is not None and str(b.device) != device:
                module._buffers[name] = b.to(device)
    held = whole = 0
    for layer in layers:
        for p in layer.parameters():
            held += p.to_local().numel() if _is_dtensor(p) else p.numel()
            whole += p.numel()
    return held / max(whole, 1)


def _shards(settings: PolicySettings) -> bool:
    """Whether this process holds a shard of the model (FSDP over several ranks) rather than all of it."""
    return settings.trainer_parallel == "fsdp" and _dist_rank_world()[1] > 1


def _is_dtensor(t: object) -> TypeGuard[DTensor]:
    from torch.distributed.tensor import DTensor

    return isinstance(t, DTensor)


def _padding(batches: list, rollout: Rollout, device: str) -> list:
    """Sharded training: every rank must run as many forward and backward passes as the busiest one
    (each gathers the layers together). The missing ones are weight-0 passes on a real rollout."""
    import torch
    import torch.distributed as dist

    most = torch.tensor([len(batches)], device=device)
    dist.all_reduce(most, op=dist.ReduceOp.MAX)
    return [([(rollout, 0.0)], 0.0)] * (int(most) - len(batches))


def _dist_rank_world() -> tuple[int, int]:
    """(rank, world size) of an initialised torch.distributed group, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _eos_ids(model, tokenizer) -> set[int]:
    ids = set()
    for src in (getattr(model, "generation_config", None), tokenizer):
        e = getattr(src, "eos_token_id", None)
        if isinstance(e, int):
            ids.add(e)
        elif isinstance(e, (list, tuple)):
            ids.update(int(x) for x in e)
    if not ids:
        raise ValueError("the tokenizer has no EOS token; sampling could not stop")
    return ids


def tokens_per_second(n_tokens: int, seconds: float) -> float:
    return n_tokens / seconds if seconds > 0 else math.nan
