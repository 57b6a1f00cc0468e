"""Test helpers for the agent: a tiny random Llama with a byte-level BPE tokenizer trained on the
fly (no downloads). Needs only torch, transformers and tokenizers (the GPU machine has no gymnasium),
so the GPU tests can use it too; the test env lives in agent_envs.py."""

from __future__ import annotations

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIALS = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
CORPUS = [
    "def run(budget_s, seed):\n    import numpy as np\n    return [0.5] * 100\n",
    "```python\nimport numpy as np\nh = np.full(100, 0.5)\nprint(h.sum())\n```",
    "Find a step function h with values in [0, 1]; the overlap M(h) = max correlate(h, 1 - h).",
    "The quick brown fox jumps over the lazy dog. aaaa bbbb cccc abracadabra banana",
    '{"construction": [0.25, 0.75, 0.5, 0.5]} 0123456789 +-*/=()[]{}<>,.;:!?\'"',
]


def tiny_tokenizer(vocab_size: int = 384):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        CORPUS * 4, vocab_size=vocab_size, min_frequency=1, special_tokens=SPECIALS, show_progress=False
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token="<|pad|>",
        eos_token="<|end|>",
        additional_special_tokens=["<|user|>", "<|assistant|>", "<|system|>"],
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def tiny_model(tok, seed: int = 0, hidden: int = 64, layers: int = 2, init_std: float = 0.1, heads: int = 4):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=8192,
        bos_token_id=None,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
        initializer_range=init_std,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(cfg)


def save_tiny(path, seed: int = 0, **kw) -> str:
    """The tiny model and tokenizer as a model directory (``--model DIR``)."""
    tok = tiny_tokenizer()
    model = tiny_model(tok, seed, **kw)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def smollm2_shaped(tok, seed: int = 0):
    """A randomly initialised model with SmolLM2-135M's architecture (30 layers, hidden 576, 9 heads,
    3 KV heads, vocabulary 49152, tied embeddings): the same compute per token as SmolLM2, for speed
    measurements where its weights cannot be brought (the tiny tokenizer decodes its first 384 ids)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        rope_theta=100000.0,
        rms_norm_eps=1e-5,
        bos_token_id=None,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(cfg)
