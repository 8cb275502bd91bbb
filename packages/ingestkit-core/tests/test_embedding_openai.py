"""The OpenAI-compatible embedder against a real HTTP server on 127.0.0.1.

The server speaks the ``/v1/embeddings`` protocol and serves the testkit's hashed
bag-of-words vectors, so every answer can be checked against the same function. Tests
script its misbehaviour: status codes with ``Retry-After``, shuffled ``index`` order,
wrong dimensions, slow answers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from ingestkit_core.embedding import EmbeddingError, create_embedder
from ingestkit_core.embedding.base import (
    EMBED_RESPONSE,
    EstimateCounter,
)
from ingestkit_core.embedding.openai import OpenAIEmbedder, OpenAIEmbedderOptions, retry_after_s
from ingestkit_core.errors import ConfigError, ErrorCode
from ingestkit_testkit.embedder import hashed_vectors

DIM = 32


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay_s: float = 0.0


@dataclass
class Script:
    """What the server does; tests change it and read what it saw."""

    dimension: int = DIM
    shuffle: bool = False
    delay_s: float = 0.0
    planned: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def inputs(self) -> list[list[str]]:
        return [request["body"]["input"] for request in self.requests]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_POST(self) -> None:
        script = self.server.script
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with script.lock:
            script.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
            script.arrivals.append(time.monotonic())
            script.in_flight += 1
            script.max_in_flight = max(script.max_in_flight, script.in_flight)
            reply = script.planned.pop(0) if script.planned else None
        time.sleep(reply.delay_s if reply else script.delay_s)
        # A request stops counting as in flight before its answer goes out: once the client
        # has read the answer it may send the next one on that slot, possibly before this
        # thread would get to count the answer as done.
        with script.lock:
            script.in_flight -= 1
        if reply is not None and reply.body is None:
            self._send(reply.status, {"error": {"message": f"scripted {reply.status}"}}, reply.headers)
        elif reply is not None:
            self._send(reply.status, reply.body, reply.headers)
        else:
            self._send(200, self._embeddings(body, script))

    def _embeddings(self, body: dict[str, Any], script: Script) -> dict[str, Any]:
        inputs = body["input"]
        vectors = hashed_vectors(inputs, script.dimension)
        data = [
            {"object": "embedding", "index": i, "embedding": vector.tolist()}
            for i, vector in enumerate(vectors)
        ]
        if script.shuffle:
            random.Random(len(inputs)).shuffle(data)
        return {"object": "list", "model": body["model"], "data": data}

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up on it
            self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.script = Script()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def url(server: Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def embedder(server: Server, **fields: Any) -> OpenAIEmbedder:
    options = {
        "base_url": url(server),
        "model": "hashing",
        "dimension": DIM,
        "backoff_initial_s": 0.01,
        "trust_env": False,
        **fields,
    }
    return OpenAIEmbedder(OpenAIEmbedderOptions(**options))


TEXTS = [f"document {i} about topic {i % 3} with words {i * 7}" for i in range(10)]


def test_vectors_are_the_servers_in_input_order(server: Server) -> None:
    with embedder(server) as client:
        vectors = client.embed_documents(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (10, DIM)
    np.testing.assert_allclose(vectors, hashed_vectors(TEXTS, DIM), atol=1e-6)
    request = server.script.requests[0]
    assert request["path"] == "/v1/embeddings"
    assert request["body"]["encoding_format"] == "float"
    assert request["body"]["model"] == "hashing"


def test_dimension_is_asked_once_when_not_configured(server: Server) -> None:
    server.script.dimension = 24
    with embedder(server, dimension=None) as client:
        assert client.space.dimension == 24
        assert len(server.script.requests) == 1
        assert client.embed_documents(["one text"]).shape == (1, 24)


def test_unreachable_server_without_dimension_fails_at_start_with_a_hint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = OpenAIEmbedderOptions(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=0, trust_env=False
    )
    with pytest.raises(EmbeddingError) as caught:
        OpenAIEmbedder(options)
    assert caught.value.code == ErrorCode.E_EMBED_UNAVAILABLE
    assert caught.value.retryable
    assert "set the embedder's dimension" in caught.value.message


def test_an_unknown_model_at_start_is_a_config_error(server: Server) -> None:
    server.script.planned = [Reply(404, body={"error": {"message": "model 'nope' not found"}})]
    with pytest.raises(EmbeddingError) as caught:
        embedder(server, dimension=None, model="nope")
    assert caught.value.code == ErrorCode.E_CONFIG_INVALID
    assert "model 'nope' not found" in caught.value.message
    assert "set the embedder's dimension" not in caught.value.message


def test_empty_input_sends_nothing(server: Server) -> None:
    with embedder(server) as client:
        assert client.embed_documents([]).shape == (0, DIM)
    assert server.script.requests == []


def test_requests_are_limited_by_count(server: Server) -> None:
    with embedder(server, max_batch_texts=3) as client:
        vectors = client.embed_documents(TEXTS)
    assert sorted(len(batch) for batch in server.script.inputs()) == [1, 3, 3, 3]
    np.testing.assert_allclose(vectors, hashed_vectors(TEXTS, DIM), atol=1e-6)


def test_requests_are_limited_by_tokens(server: Server) -> None:
    texts = ["alpha beta gamma", "delta epsilon zeta", "eta theta iota", "kappa lambda mu", "nu"]
    counter = EstimateCounter(1.0)
    assert [counter.count(t) for t in texts] == [3, 3, 3, 3, 1]
    with embedder(server, token_estimate_factor=1.0, max_batch_tokens=6, max_concurrency=1) as client:
        vectors = client.embed_documents(texts)
    batches = server.script.inputs()
    assert batches == [texts[0:2], texts[2:4], texts[4:5]]
    assert all(sum(counter.count(t) for t in batch) <= 6 for batch in batches)
    np.testing.assert_allclose(vectors, hashed_vectors(texts, DIM), atol=1e-6)


def test_shuffled_index_order_is_restored(server: Server) -> None:
    server.script.shuffle = True
    with embedder(server) as client:
        vectors = client.embed_documents(TEXTS)
    np.testing.assert_allclose(vectors, hashed_vectors(TEXTS, DIM), atol=1e-6)


def test_concurrent_requests_are_bounded(server: Server) -> None:
    server.script.delay_s = 0.2
    with embedder(server, max_batch_texts=1, max_concurrency=2) as client:
        vectors = client.embed_documents(TEXTS[:6])
    assert len(server.script.requests) == 6
    assert server.script.max_in_flight == 2
    np.testing.assert_allclose(vectors, hashed_vectors(TEXTS[:6], DIM), atol=1e-6)


def test_429_waits_as_long_as_retry_after_says(server: Server) -> None:
    server.script.planned = [Reply(429, {"Retry-After": "1"})]
    with embedder(server) as client:
        vectors = client.embed_documents(TEXTS[:2])
    first, second = server.script.arrivals
    assert second - first >= 0.95  # the backoff alone would have waited 0.01 s
    np.testing.assert_allclose(vectors, hashed_vectors(TEXTS[:2], DIM), atol=1e-6)


def test_a_retry_after_past_the_budget_fails_at_once(server: Server) -> None:
    server.script.planned = [Reply(429, {"Retry-After": "3600"})]
    started = time.monotonic()
    with embedder(server, retry_budget_s=5) as client, pytest.raises(EmbeddingError) as caught:
        client.embed_documents(TEXTS[:2])
    assert time.monotonic() - started < 3
    assert caught.value.code == ErrorCode.E_EMBED_UNAVAILABLE
    assert "retry budget" in caught.value.message
    assert len(server.script.requests) == 1


def test_a_5xx_is_retried(server: Server) -> None:
    server.script.planned = [Reply(503), Reply(502)]
    with embedder(server) as client:
        vectors = client.embed_documents(TEXTS[:3])
    assert len(server.script.requests) == 3
    np.testing.assert_allclose(vectors, hashed_vectors(TEXTS[:3], DIM), atol=1e-6)


def test_persistent_5xx_is_a_retryable_outage(server: Server) -> None:
    server.script.planned = [Reply(500), Reply(500), Reply(500), Reply(500)]
    with embedder(server, max_retries=2) as client, pytest.raises(EmbeddingError) as caught:
        client.embed_documents(TEXTS[:3])
    assert len(server.script.requests) == 3  # the first try and two retries
    assert caught.value.code == ErrorCode.E_EMBED_UNAVAILABLE
    assert caught.value.retryable
    assert "HTTP 500" in caught.value.message


def test_server_messages_reach_the_error_but_not_the_logs(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"error": {"message": "cannot embed 'confidential salary table'"}}
    server.script.planned = [Reply(500, body=echo), Reply(500, body=echo)]
    caplog.set_level(logging.DEBUG)
    with embedder(server, max_retries=1) as client, pytest.raises(EmbeddingError) as caught:
        client.embed_documents(["confidential salary table"])
    assert "retry 1/1" in caplog.text
    assert "confidential" not in caplog.text
    assert "confidential salary table" in caught.value.message


def test_a_client_error_is_not_retried(server: Server) -> None:
    server.script.planned = [Reply(404, body={"error": {"message": "model 'hashing' not found"}})]
    with embedder(server) as client, pytest.raises(EmbeddingError) as caught:
        client.embed_documents(TEXTS[:3])
    assert len(server.script.requests) == 1
    assert caught.value.code == ErrorCode.E_CONFIG_INVALID
    assert not caught.value.retryable
    assert "not found" in caught.value.message


def test_wrong_dimension_is_a_clear_error(server: Server) -> None:
    server.script.dimension = 16
    with embedder(server, dimension=DIM) as client, pytest.raises(EmbeddingError) as caught:
        client.embed_documents(TEXTS[:3])
    assert caught.value.code == ErrorCode.E_EMBED_DIMENSION
    assert "16-dimensional" in caught.value.message
    assert "32" in caught.value.message


def test_wrong_count_or_index_is_a_clear_error(server: Server) -> None:
    one = {"index": 0, "embedding": [1.0] * DIM}
    server.script.planned = [
        Reply(200, body={"data": [one]}),
        Reply(200, body={"data": [one, one]}),
        Reply(200, body={"no": "data"}),
    ]
    with embedder(server) as client:
        for expected in ("sent 2 inputs, got 1", "repeated", "data"):
            with pytest.raises(EmbeddingError) as caught:
                client.embed_documents(["a", "b"])
            assert caught.value.code == EMBED_RESPONSE
            assert expected in caught.value.message


def test_a_slow_server_times_out(server: Server) -> None:
    server.script.delay_s = 3
    started = time.monotonic()
    with (
        embedder(server, read_timeout_s=0.3, max_retries=1) as client,
        pytest.raises(EmbeddingError) as caught,
    ):
        client.embed_documents(TEXTS[:1])
    assert time.monotonic() - started < 2.5
    assert caught.value.code == ErrorCode.E_EMBED_UNAVAILABLE
    assert "no answer in time" in caught.value.message
    assert len(server.script.requests) == 2


def test_api_key_is_sent_but_never_shown(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-5f1c0ffee"
    monkeypatch.setenv("TEST_EMBED_KEY", secret)
    caplog.set_level(logging.DEBUG)
    server.script.planned = [Reply(500), Reply(401, body={"error": {"message": "bad key"}})]
    client = embedder(server, api_key_env="TEST_EMBED_KEY")
    with client, pytest.raises(EmbeddingError) as caught:
        client.embed_documents(TEXTS[:2])
    assert all(r["headers"]["Authorization"] == f"Bearer {secret}" for r in server.script.requests)
    assert len(server.script.requests) == 2
    assert "retry 1/5" in caplog.text  # the retry was logged …
    shown = [
        caplog.text,
        repr(client),
        str(client),
        str(caught.value),
        repr(client.options),
        str(vars(client)),
    ]
    assert all(secret not in text for text in shown)  # … without the key


def test_azure_style_key_header_and_query(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_EMBED_KEY", "azure-key")
    with embedder(
        server,
        api_key_env="TEST_EMBED_KEY",
        api_key_header="api-key",
        query_params={"api-version": "2024-02-01"},
    ) as client:
        client.embed_query("hello")
    request = server.script.requests[0]
    assert request["headers"]["api-key"] == "azure-key"
    assert "Authorization" not in request["headers"]
    assert request["path"] == "/v1/embeddings?api-version=2024-02-01"


def test_missing_key_variable_is_a_config_error(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_EMBED_KEY", raising=False)
    with pytest.raises(ConfigError, match="TEST_EMBED_KEY"):
        embedder(server, api_key_env="TEST_EMBED_KEY")


def test_too_long_input_fails_before_sending(server: Server) -> None:
    long_text = " ".join(f"w{i}" for i in range(50))
    with embedder(server, max_input_tokens=20, token_estimate_factor=1.0) as client:
        assert client.max_text_tokens == 20
        with pytest.raises(EmbeddingError) as caught:
            client.embed_documents(["short", long_text])
    assert caught.value.code == ErrorCode.E_EMBED_INPUT_TOO_LONG
    assert "input 1 has 50 tokens" in caught.value.message
    assert server.script.requests == []


def test_truncate_policy_cuts_to_the_limit_and_says_so(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    words = [f"w{i}" for i in range(50)]
    with embedder(server, max_input_tokens=20, token_estimate_factor=1.0, truncation="truncate") as client:
        vectors = client.embed_documents([" ".join(words)])
    sent = server.script.inputs()[0][0]
    assert sent == " ".join(words[:20])
    np.testing.assert_allclose(vectors, hashed_vectors([sent], DIM), atol=1e-6)
    assert "truncated 1 of 1 inputs to 20 tokens" in caplog.text


def test_prefixes_reach_the_server_and_shrink_the_budget(server: Server) -> None:
    with embedder(
        server,
        query_prefix="search_query: ",
        document_prefix="search_document: ",
        max_input_tokens=100,
        token_estimate_factor=1.0,
    ) as client:
        assert client.max_text_tokens == 100 - 5  # "search_document" counts 4 (a long word), ":" 1
        query = client.embed_query("how to reset")
        client.embed_documents(["reset by holding the button"])
    assert server.script.inputs() == [
        ["search_query: how to reset"],
        ["search_document: reset by holding the button"],
    ]
    np.testing.assert_allclose(query, hashed_vectors(["search_query: how to reset"], DIM)[0], atol=1e-6)
    assert client.space.query_prefix == "search_query: "


def test_calls_from_several_threads_share_one_bounded_pool(server: Server) -> None:
    server.script.delay_s = 0.05
    results: dict[int, np.ndarray] = {}
    with embedder(server, max_batch_texts=2, max_concurrency=2) as client:

        def work(n: int) -> None:
            results[n] = client.embed_documents(TEXTS[n:])

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for n, vectors in results.items():
        np.testing.assert_allclose(vectors, hashed_vectors(TEXTS[n:], DIM), atol=1e-6)
    assert len(server.script.requests) == 5 + 5 + 4 + 4
    assert server.script.max_in_flight <= 2  # four callers, one pool of two


def test_registry_builds_it_by_name(server: Server) -> None:
    client = create_embedder("openai", {"base_url": url(server), "model": "hashing", "trust_env": False})
    with client:
        assert isinstance(client, OpenAIEmbedder)
        assert client.space.provider == "openai"
        assert client.space.dimension == DIM
        assert client.tokenizer_file is None
        rebuilt = create_embedder(client.space.provider, client.options.model_dump(mode="json"))
        with rebuilt:
            assert rebuilt.space.key == client.space.key
    with pytest.raises(ConfigError, match="invalid options"):
        create_embedder("openai", {"base_url": url(server), "model": "m", "colour": "blue"})
    with pytest.raises(ConfigError, match="no embedder named 'nope'"):
        create_embedder("nope")


def test_retry_after_parsing() -> None:
    assert retry_after_s("7") == 7.0
    assert retry_after_s(" 0.5 ") == 0.5
    assert retry_after_s(None) is None
    assert retry_after_s("soon") is None
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
