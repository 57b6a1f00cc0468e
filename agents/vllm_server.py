"""Sampling through a vLLM server (``vllm_server = "start"`` or a URL), driven over its OpenAI-compatible API.

The server can run on other GPUs, on another node, or from another Python environment than tttd's
(vLLM pins its own numpy, fastapi and torch). It must have LoRA enabled and runtime adapter loading
allowed; tttd starts it that way itself:

    VLLM_ALLOW_RUNTIME_LORA_UPDATING=True python -m vllm.entrypoints.openai.api_server --model M \\
        --enable-lora --max-lora-rank R --max-loras 1 --logprobs-mode processed_logprobs

After every update the trainer saves the adapter into ``vllm_adapter_dir`` and asks the server to load
it under a fresh name (``POST /v1/load_lora_adapter``); the old one is unloaded. The server reads the
adapter from that path, so a server on another node needs the folder on a shared filesystem.

A step's groups go to ``/v1/completions`` as concurrent requests, one per group (each has its own seed
and its own max_tokens), and the server's scheduler batches all of their sequences together. Prompts
are sent as token ids and the answers come back as token ids with the sampled tokens' log-probs, so
nothing is re-tokenized.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agents.transformers_policy import PolicySettings, TransformersPolicy, is_cuda
from agents.vllm_policy import AdapterSampler, _visible_gpus, engine_settings, trainer_and_path

log = logging.getLogger("tttd.agent")

#: engine keyword -> server flag (booleans become --flag / --no-flag)
_FLAGS = {
    "tokenizer": "--tokenizer",
    "max_lora_rank": "--max-lora-rank",
    "max_loras": "--max-loras",
    "seed": "--seed",
    "dtype": "--dtype",
    "logprobs_mode": "--logprobs-mode",
    "tensor_parallel_size": "--tensor-parallel-size",
    "gpu_memory_utilization": "--gpu-memory-utilization",
    "max_model_len": "--max-model-len",
}
_SWITCHES = {
    "enable_lora": "--enable-lora",
    "enforce_eager": "--enforce-eager",
    "enable_sleep_mode": "--enable-sleep-mode",
    "enable_prefix_caching": "--enable-prefix-caching",
}


class ServerError(RuntimeError):
    pass


def server_command(python: str, kw: dict, port: int, host: str = "127.0.0.1") -> list[str]:
    """The command line that starts a vLLM server with the engine settings ``kw``."""
    cmd = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        kw["model"],
        "--host",
        host,
        "--port",
        str(port),
        "--served-model-name",
        "base",
    ]
    for key, value in kw.items():
        if key in _FLAGS and value is not None:
            cmd += [_FLAGS[key], str(value)]
        elif key in _SWITCHES:
            flag = _SWITCHES[key]
            if value:
                cmd.append(flag)
            elif key == "enable_prefix_caching":
                cmd.append("--no-enable-prefix-caching")
        elif key not in ("model",):
            raise ValueError(f"no vLLM server flag for the engine setting {key!r}")
    return cmd


class ManagedServer:
    """A vLLM server this process starts, waits for, and stops (with its process group)."""

    def __init__(self, cmd: list[str], port: int, env: dict[str, str], log_path: Path, timeout_s: float) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")
        log.info("starting the vLLM server (log: %s): %s", log_path, " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        t0 = time.monotonic()
        next_note = t0 + 30
        while True:
            if self.proc.poll() is not None:
                self._log.close()
                raise ServerError(
                    f"the vLLM server exited with code {self.proc.returncode} while starting; "
                    f"its last line: {_last_line(log_path)!r} (whole log: {log_path})"
                )
            if _healthy(self.url):
                log.info("vLLM server ready at %s after %.0f s", self.url, time.monotonic() - t0)
                return
            if time.monotonic() - t0 > timeout_s:
                self.stop()
                raise ServerError(
                    f"the vLLM server did not answer {self.url}/health within {timeout_s:.0f} s "
                    f"(vllm_server_timeout_s); see {log_path}"
                )
            if time.monotonic() > next_note:
                log.info("waiting for the vLLM server (%.0f s so far; log: %s)", time.monotonic() - t0, log_path)
                next_note += 30
            time.sleep(1.0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not self._log.closed:
            self._log.close()


class VLLMServerPolicy(AdapterSampler):
    """Samples through a vLLM server; trains in this process with transformers + peft."""

    def __init__(
        self,
        trainer: TransformersPolicy,
        model_path: str,
        settings: PolicySettings,
        *,
        server: str,
        gpus: tuple[int, ...] = (),
        sleep: bool = False,
        adapter_dir: str = "",
        python: str = "",
        timeout_s: float = 900.0,
        log_dir: str = "",
        **engine_kwargs,
    ) -> None:
        """``server``: ``"start"`` (run one here, on ``gpus``) or the URL of a running one."""
        super().__init__(trainer, settings, adapter_dir)
        gpu = is_cuda(trainer.device)
        self.managed: ManagedServer | None = None
        if server == "start":
            kw = engine_settings(model_path, settings, gpu)
            kw.update(engine_kwargs)
            self.sleep = bool(sleep and gpu)
            if self.sleep:
                kw["enable_sleep_mode"] = True
            port = _free_port()
            env = dict(os.environ, VLLM_ALLOW_RUNTIME_LORA_UPDATING="True")
            if self.sleep:
                env["VLLM_SERVER_DEV_MODE"] = "1"  # /sleep and /wake_up are development endpoints
            if not gpu:
                env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
            if gpu:
                with _visible_gpus(gpus):  # the server sees only its own GPUs
                    if "CUDA_VISIBLE_DEVICES" in os.environ:
                        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
            cmd = server_command(python or sys.executable, kw, port)
            log_path = Path(log_dir or self._root) / "vllm-server.log"
            self.managed = ManagedServer(cmd, port, env, log_path, timeout_s)
            self.url = self.managed.url
        else:
            self.url = server.rstrip("/")
            self.sleep = bool(sleep)
            if not _healthy(self.url):
                raise ServerError(
                    f"no vLLM server answers at {self.url}/health; start one (see agents/vllm_server.py) "
                    "or use --set vllm_server=start"
                )
        self.model_name = self._base_model_name()
        #: HTTP requests made to /v1/completions (one per group, sent together)
        self.completion_requests = 0
        self._publish()

    @classmethod
    def from_spec(cls, spec, settings: PolicySettings, **kw) -> VLLMServerPolicy:
        trainer, path = trainer_and_path(spec, settings, kw.pop("make_trainer", None))
        return cls(trainer, path, settings, **kw)

    def _post(self, path: str, body: dict | None, timeout: float = 3600.0) -> bytes:
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:500]
            raise ServerError(f"the vLLM server refused {path} with HTTP {e.code}: {detail}") from None
        except urllib.error.URLError as e:
            raise ServerError(f"the vLLM server at {self.url} cannot be reached for {path} ({e.reason})") from None

    def _base_model_name(self) -> str:
        with urllib.request.urlopen(self.url + "/v1/models", timeout=30) as r:
            models = json.loads(r.read())["data"]
        return models[0]["id"]

    def _serve_adapter(self, name: str, number: int, path: str) -> None:
        try:
            self._post("/v1/load_lora_adapter", {"lora_name": name, "lora_path": path}, timeout=600)
        except ServerError as e:
            if "HTTP 404" in str(e):
                raise ServerError(
                    "the vLLM server does not load adapters at run time; start it with "
                    "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora"
                ) from None
            raise

    def _retire_adapter(self, name: str) -> None:
        self._post("/v1/unload_lora_adapter", {"lora_name": name}, timeout=600)

    def _complete(self, ids: list[int], kw: dict) -> list[tuple[list[int], list[float], str]]:
        body = dict(kw, model=self.adapter_name, prompt=ids, return_token_ids=True)
        out = json.loads(self._post("/v1/completions", body))
        return [
            (list(c["token_ids"]), [float(x) for x in c["logprobs"]["token_logprobs"]], c["finish_reason"])
            for c in sorted(out["choices"], key=lambda c: c["index"])
        ]

    def _generate(self, requests):
        self.completion_requests += len(requests)
        with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
            return list(pool.map(lambda r: self._complete(*r), requests))

    def _sleep(self) -> None:
        if self.sleep:
            self._post("/sleep?level=1", None, timeout=600)

    def _wake(self) -> None:
        if self.sleep:
            self._post("/wake_up", None, timeout=600)

    def close(self) -> None:
        if self.managed is not None:
            self.managed.stop()
        super().close()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=5) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _last_line(path: Path) -> str:
    try:
        lines = [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
    except OSError:
        return ""
    return lines[-1][-300:] if lines else ""
