"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` server: Ollama, TEI, vLLM, LocalAI, OpenAI, Azure.

Requests carry up to ``max_batch_texts`` inputs and ``max_batch_tokens`` estimated
tokens; several run at once (at most ``max_concurrency`` per embedder, shared by all
calling threads). 429 and 5xx answers, timeouts and refused connections are retried
with exponential backoff, honouring ``Retry-After``, until ``max_retries`` or the
``retry_budget_s`` of one request is spent; then the call fails with a retryable
:class:`~ingestkit_core.embedding.base.EmbeddingError`. Needs ``httpx``:
``pip install 'ingestkit-core[embed-http]'``.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, SecretStr

from ingestkit_core.embedding.base import (
    EMBED_RESPONSE,
    EmbedderBase,
    EmbedderOptions,
    EmbeddingError,
    EmbeddingSpace,
    EstimateCounter,
    FloatArray,
    TokenCounter,
    TokenizerCounter,
    fit_texts,
    l2_normalise,
)
from ingestkit_core.errors import ConfigError, ErrorCode

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 409, 425, 429})


class OpenAIEmbedderOptions(EmbedderOptions):
    embedder: Literal["openai"] = "openai"
    base_url: str = Field(
        default="http://127.0.0.1:11434/v1", description="Server root; requests go to <base_url>/embeddings"
    )
    model: str = Field(description="Model name the server knows (e.g. nomic-embed-text)")
    dimension: int | None = Field(
        default=None, gt=0, description="Vector length; None = ask the server once at start-up"
    )
    revision: str = Field(default="", description="Weights version, part of the space's identity")
    normalise: bool = Field(default=True, description="Scale returned vectors to unit length")
    max_input_tokens: int = Field(default=512, gt=0, description="The model's input limit, in tokens")
    tokenizer: str | None = Field(
        default=None, description="The model's tokenizer.json for exact counts; None = conservative estimate"
    )
    token_estimate_factor: float = Field(
        default=1.3, ge=1.0, description="Safety factor of the token estimate (no tokenizer)"
    )
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the API key"
    )
    api_key_header: str = Field(
        default="Authorization",
        description="Header for the key: Authorization (Bearer) or e.g. api-key (Azure)",
    )
    query_params: dict[str, str] = Field(
        default_factory=dict, description="Added to the URL (Azure: api-version)"
    )
    max_batch_texts: int = Field(default=64, ge=1, description="Inputs per request")
    max_batch_tokens: int = Field(default=8192, ge=1, description="Estimated tokens per request")
    max_concurrency: int = Field(default=2, ge=1, description="Requests in flight per embedder")
    connect_timeout_s: float = Field(default=10.0, gt=0, description="Seconds to connect")
    read_timeout_s: float = Field(
        default=120.0, gt=0, description="Seconds to wait for an answer (models cold-start slowly)"
    )
    max_retries: int = Field(default=5, ge=0, description="Retries of one request (429, 5xx, timeouts)")
    backoff_initial_s: float = Field(default=0.5, ge=0, description="First retry delay, doubled each time")
    backoff_max_s: float = Field(default=30.0, ge=0, description="Longest delay between retries")
    retry_budget_s: float = Field(
        default=120.0, gt=0, description="Give up a request when its retries would take longer than this"
    )
    trust_env: bool = Field(default=True, description="Honour HTTP(S)_PROXY and SSL_CERT_FILE")


def _import_httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:
        raise ConfigError(
            "the openai embedder needs httpx: pip install 'ingestkit-core[embed-http]'"
        ) from exc
    return httpx


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


class OpenAIEmbedder(EmbedderBase):
    """An OpenAI-compatible embeddings server. Thread-safe; see :mod:`ingestkit_core.embedding.base`."""

    options_model: ClassVar[type[OpenAIEmbedderOptions]] = OpenAIEmbedderOptions
    name = "openai"

    def __init__(self, options: OpenAIEmbedderOptions) -> None:
        http = self._http = _import_httpx()
        self.options = options
        self.tokenizer_file = options.tokenizer
        self._api_key = self._read_key(options)
        self._counter: TokenCounter = (
            TokenizerCounter.from_file(options.tokenizer)
            if options.tokenizer
            else EstimateCounter(options.token_estimate_factor)
        )
        self.max_text_tokens = options.max_input_tokens - self._counter.count(options.document_prefix)
        if self.max_text_tokens < 16:
            raise ConfigError(
                f"embedder openai: document_prefix leaves {self.max_text_tokens} of "
                f"{options.max_input_tokens} input tokens for text"
            )
        self.batch_size = options.max_batch_texts * options.max_concurrency
        self._url = options.base_url.rstrip("/") + "/embeddings"
        self._client: httpx.Client = http.Client(
            timeout=http.Timeout(options.read_timeout_s, connect=options.connect_timeout_s),
            # One connection more than the pool's requests: a query never waits behind a bulk load.
            limits=http.Limits(max_connections=options.max_concurrency + 1),
            trust_env=options.trust_env,
        )
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        dimension = options.dimension
        if dimension is None:
            try:
                dimension = self._request(["dimension"]).shape[1]
            except EmbeddingError as exc:
                self._client.close()
                if not exc.retryable:
                    raise
                raise EmbeddingError(
                    f"{exc.message}; set the embedder's dimension to start without asking the server",
                    exc.code,
                ) from exc
            logger.info(
                "embedder openai %s: the server gives %d-dimensional vectors", options.model, dimension
            )
        self.space = EmbeddingSpace(
            provider=self.name,
            model=options.model,
            revision=options.revision,
            dimension=dimension,
            normalised=options.normalise,
            max_input_tokens=options.max_input_tokens,
            query_prefix=options.query_prefix,
            document_prefix=options.document_prefix,
        )

    @staticmethod
    def _read_key(options: OpenAIEmbedderOptions) -> SecretStr | None:
        if options.api_key_env is None:
            return None
        value = os.environ.get(options.api_key_env)
        if not value:
            raise ConfigError(
                f"embedder openai: environment variable {options.api_key_env} (api_key_env) is not set"
            )
        return SecretStr(value)

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(base_url={self.options.base_url!r}, model={self.options.model!r})"

    def count_tokens(self, text: str) -> int:
        return self._counter.count(text)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        if not texts:
            return np.empty((0, self.space.dimension), dtype=np.float32)
        fitted = fit_texts(texts, self._counter, self.max_text_tokens, self.options.truncation, who=self.name)
        prefix = self.options.document_prefix
        inputs = [prefix + text for text in fitted]
        batches = list(self._batches(inputs))
        # Every document request goes through the one pool, so callers in many threads
        # together keep at most max_concurrency requests in flight.
        parts = list(self._executor().map(self._embed_batch, batches))
        return self.check_vectors(np.concatenate(parts), len(texts))

    def embed_query(self, text: str) -> FloatArray:
        fitted = fit_texts(
            [text], self._counter, self.max_text_tokens, self.options.truncation, who=self.name
        )
        row: FloatArray = self._embed_batch([self.options.query_prefix + fitted[0]])[0]
        return row

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        self._client.close()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.options.max_concurrency, thread_name_prefix="embed-http")
            return self._pool

    def _batches(self, inputs: list[str]) -> Iterator[list[str]]:
        batch: list[str] = []
        tokens = 0
        for text in inputs:
            cost = self._counter.count(text)
            if batch and (
                len(batch) >= self.options.max_batch_texts or tokens + cost > self.options.max_batch_tokens
            ):
                yield batch
                batch, tokens = [], 0
            batch.append(text)
            tokens += cost
        if batch:
            yield batch

    def _embed_batch(self, inputs: list[str]) -> FloatArray:
        return self.check_vectors(self._request(inputs), len(inputs))

    def _headers(self) -> dict[str, str]:
        if self._api_key is None:
            return {}
        secret = self._api_key.get_secret_value()
        if self.options.api_key_header.lower() == "authorization":
            return {"Authorization": f"Bearer {secret}"}
        return {self.options.api_key_header: secret}

    def _request(self, inputs: list[str]) -> FloatArray:
        """One POST, retried on transient failures; the vectors in input order."""
        httpx = self._http
        options = self.options
        payload = {"model": options.model, "input": inputs, "encoding_format": "float"}
        deadline = time.monotonic() + options.retry_budget_s
        attempt = 0
        while True:
            wait_hint: float | None = None
            detail = ""  # the server's words: in the raised error, never in logs (it may quote input text)
            try:
                response = self._client.post(
                    self._url, json=payload, headers=self._headers(), params=options.query_params
                )
            except httpx.TimeoutException as exc:
                failure = f"no answer in time ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = f"cannot reach the server ({type(exc).__name__}: {exc})"
            else:
                status = response.status_code
                if status == 200:
                    return self._parse(response, len(inputs))
                detail = ": " + response.text[:300].strip()
                if status not in _RETRY_STATUS and status < 500:
                    raise EmbeddingError(
                        f"embedder openai: {self._url} rejected the request with HTTP {status}{detail} "
                        "(check base_url, model and the API key)",
                        ErrorCode.E_CONFIG_INVALID,
                    )
                failure = f"HTTP {status}"
                wait_hint = retry_after_s(response.headers.get("Retry-After"))
            attempt += 1
            if attempt > options.max_retries:
                raise EmbeddingError(
                    f"embedder openai: {self._url} failed {attempt} times, last: {failure}{detail}",
                    ErrorCode.E_EMBED_UNAVAILABLE,
                )
            if wait_hint is not None:
                delay = wait_hint
            else:
                # Jitter keeps concurrent requests from retrying in lock-step.
                ceiling = min(options.backoff_max_s, options.backoff_initial_s * 2 ** (attempt - 1))
                delay = random.uniform(ceiling / 2, ceiling)
            if time.monotonic() + delay > deadline:
                raise EmbeddingError(
                    f"embedder openai: {self._url} still failing after {attempt} attempts "
                    f"({failure}{detail}); waiting {delay:.1f}s more would pass the retry budget "
                    f"of {options.retry_budget_s:.0f}s",
                    ErrorCode.E_EMBED_UNAVAILABLE,
                )
            logger.warning(
                "embedder openai %s: %s; retry %d/%d in %.1fs",
                options.model,
                failure,
                attempt,
                options.max_retries,
                delay,
            )
            time.sleep(delay)

    def _parse(self, response: httpx.Response, count: int) -> FloatArray:
        try:
            body = response.json()
            data = body["data"]
            if not isinstance(data, list):
                raise TypeError("data is not a list")
            if len(data) != count:
                raise ValueError(f"sent {count} inputs, got {len(data)} embeddings")
            rows: list[FloatArray | None] = [None] * count
            for position, item in enumerate(data):
                index = item.get("index", position)
                if not isinstance(index, int) or not 0 <= index < count or rows[index] is not None:
                    raise ValueError(f"embedding index {index!r} is out of range or repeated")
                rows[index] = _vector(item["embedding"])
        except EmbeddingError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise EmbeddingError(
                f"embedder openai: {self._url} answered with an unusable body: {exc}", EMBED_RESPONSE
            ) from exc
        lengths = {row.shape[0] for row in rows if row is not None}
        if len(lengths) != 1:
            raise EmbeddingError(
                f"embedder openai: vectors of different lengths in one answer: {sorted(lengths)}",
                EMBED_RESPONSE,
            )
        vectors = np.stack([row for row in rows if row is not None])
        return l2_normalise(vectors) if self.options.normalise else vectors


def _vector(value: object) -> FloatArray:
    if isinstance(value, str):
        # A server that ignores encoding_format sends base64 little-endian float32.
        return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float32)
    if not isinstance(value, list) or not value:
        raise TypeError("an embedding is not a non-empty list of numbers")
    return np.asarray(value, dtype=np.float32)
