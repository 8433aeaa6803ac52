"""The one place ONNX Runtime sessions are configured: threads, quantisation handling, providers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """How a model session runs. ``intra_op_threads=0`` lets ORT pick (all cores)."""

    intra_op_threads: int = 0
    inter_op_threads: int = 1
    use_cuda: bool = True  # used only when the CUDA provider is actually available
    # int8 block-quantised graphs run ~2x faster when ORT folds the Q/DQ pairs back to float (measured).
    disable_quant_qdq: bool = True
    # Spinning idle threads starve the other sessions and replicas sharing a node's few cores (measured 2.7-6x
    # fewer faces/s with two sessions on 2 cores); a quiet dedicated machine may gain a little by enabling it.
    allow_spinning: bool = False


def providers(options: RuntimeOptions) -> list[str]:
    available = ort.get_available_providers()
    chosen = ["CUDAExecutionProvider"] if options.use_cuda and "CUDAExecutionProvider" in available else []
    return [*chosen, "CPUExecutionProvider"]


def create_session(model: Path | bytes, options: RuntimeOptions | None = None) -> ort.InferenceSession:
    options = options or RuntimeOptions()
    so = ort.SessionOptions()
    so.intra_op_num_threads = options.intra_op_threads
    so.inter_op_num_threads = options.inter_op_threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if options.allow_spinning else "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "1" if options.allow_spinning else "0")
    if options.disable_quant_qdq:
        so.add_session_config_entry("session.disable_quant_qdq", "1")
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, sess_options=so, providers=providers(options))
