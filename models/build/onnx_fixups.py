"""Graph edits that make the OpenCV Zoo YuNet and SFace files load and batch in ONNX Runtime.

The shipped files were exported for OpenCV's DNN module, which tolerates what ORT rejects: SFace lists its
weights as graph inputs (so ORT demands them at run time and cannot fold them), both graphs pin the batch
size to 1, and YuNet's per-tensor bias DequantizeLinear nodes carry a ``block_size`` ORT refuses to run.
Every edit is a pure function of the source file and ``*_RECIPE``, and the result is serialised
deterministically, so the artifact cache key (source sha256 + recipe) names exactly one byte string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import onnx
from onnx import numpy_helper

from models.build.cache import artifact_path, ensure_artifact
from models.registry import model_file

# Bump a recipe whenever its edits change: the new key forces a rebuild instead of serving a stale graph.
SFACE_RECIPE = "sface-fixups-1"
YUNET_RECIPE = "yunet-fixups-1"

Fixup = Callable[[onnx.ModelProto], None]


def build_sface(cache_dir: Path) -> Path:
    """Return the cached SFace graph with a dynamic batch dimension, building it if needed."""
    return _build(cache_dir, "sface", SFACE_RECIPE, fix_sface)


def build_yunet(cache_dir: Path) -> Path:
    """Return the cached YuNet graph that ORT can run, with dynamic batch, height and width."""
    return _build(cache_dir, "yunet", YUNET_RECIPE, fix_yunet)


def fix_sface(model: onnx.ModelProto) -> None:
    graph = model.graph
    _prune(graph)
    _set_dims(graph.input, {"data": ["N", 3, 112, 112]})
    _set_dims(graph.output, {"fc1": ["N", 128]})
    del graph.value_info[:]  # recorded shapes say batch 1 and would contradict the dynamic dimension


def fix_yunet(model: onnx.ModelProto) -> None:
    graph = model.graph
    _per_tensor_dequantize(graph)
    _batch_agnostic_reshapes(graph)
    _prune(graph)
    _set_dims(graph.input, {"input": ["N", 3, "H", "W"]})
    _set_dims(
        graph.output,
        {
            f"{head}_{stride}": ["N", f"anchors_{stride}", width]
            for stride in (8, 16, 32)
            for head, width in (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10))
        },
    )
    del graph.value_info[:]  # recorded shapes are for 640x640 and would contradict the dynamic sides


def _build(cache_dir: Path, key: str, recipe: str, fix: Fixup) -> Path:
    spec = model_file(key)
    target = artifact_path(cache_dir, key, spec.sha256, recipe)

    def build(tmp: Path) -> None:
        model = onnx.load(spec.resolve())
        fix(model)
        onnx.helper.set_model_props(model, {"rollcall.source_sha256": spec.sha256, "rollcall.recipe": recipe})
        onnx.checker.check_model(model)
        tmp.write_bytes(model.SerializeToString(deterministic=True))

    return ensure_artifact(target, build)


def _prune(graph: onnx.GraphProto) -> None:
    """Keep only real inputs (read by a node, not weights) and the initializers some node reads.

    Weights listed as inputs are both demanded by ORT at run time and excluded from constant folding.
    """
    read = {name for node in graph.node for name in node.input}
    weights = {init.name for init in graph.initializer}
    inputs = [value for value in graph.input if value.name in read and value.name not in weights]
    initializers = [init for init in graph.initializer if init.name in read]
    del graph.input[:]
    graph.input.extend(inputs)
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def _set_dims(values: Iterable[onnx.ValueInfoProto], dims_by_name: dict[str, list[int | str]]) -> None:
    """Rewrite each named value's shape; strings become symbolic (dynamic) dimensions."""
    found = {value.name: value for value in values}
    missing = set(dims_by_name) - set(found)
    if missing:
        raise ValueError(f"graph has no values named {sorted(missing)}")
    for name, dims in dims_by_name.items():
        shape = found[name].type.tensor_type.shape
        del shape.dim[:]
        for dim in dims:
            if isinstance(dim, str):
                shape.dim.add().dim_param = dim
            else:
                shape.dim.add().dim_value = dim


def _per_tensor_dequantize(graph: onnx.GraphProto) -> None:
    """Drop ``block_size`` from DequantizeLinear nodes that dequantise a 1-D bias with a single scale.

    Those are per-tensor (a blocked scale would need the data's rank, 2-D weights keep theirs); one scale
    dequantises identically whatever the block size, but ORT insists the attribute is 0 for per-tensor.
    """
    dims = {init.name: list(init.dims) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and dims.get(node.input[1]) == [1]:
            kept = [attr for attr in node.attribute if attr.name != "block_size"]
            del node.attribute[:]
            node.attribute.extend(kept)


def _batch_agnostic_reshapes(graph: onnx.GraphProto) -> None:
    """Turn the heads' ``Reshape(x, [1, -1, k])`` into ``[0, -1, k]`` (0 copies the batch dimension)."""
    shape_inputs = {node.input[1] for node in graph.node if node.op_type == "Reshape"}
    for init in graph.initializer:
        if init.name not in shape_inputs:
            continue
        shape = numpy_helper.to_array(init)
        if shape.ndim == 1 and -1 in shape and shape[0] == 1:
            shape = shape.copy()
            shape[0] = 0
            init.CopyFrom(numpy_helper.from_array(shape, init.name))
