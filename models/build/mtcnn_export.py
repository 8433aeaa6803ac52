"""Export facenet-pytorch's MTCNN nets (P, R, O) to ONNX once, so the `accurate` profile serves without torch.

The three small nets are declared here rather than imported from ``facenet_pytorch``: that package's
``__init__`` imports torchvision (deliberately not installed), requests and PIL, so importing its classes
means planting fake torchvision modules in ``sys.modules`` during the import, process-wide and sensitive to
any change in the package's import graph. A layer table plus ``load_state_dict(strict=True)`` depends on
torch alone, and the strict load fails loudly if the pinned weights ever stop matching these layer names and
shapes; the unit tests also compare these nets with facenet-pytorch's own classes, output for output.

torch is imported only inside the build, so the detector can import this module to locate the built files in
a serving image that has no torch.
"""

from __future__ import annotations

import io
import warnings
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.build.cache import artifact_path, ensure_artifact
from models.errors import ModelFileError
from models.registry import model_file

if TYPE_CHECKING:
    from torch import nn

#: Bump when anything below changes the exported graphs; the new name forces a rebuild.
RECIPE = "mtcnn-onnx-v1"
OPSET = 17

#: Graph input name shared by the three nets.
INPUT = "image"

# Trunk layers in forward order, by the state-dict names of the pinned weights. Conv (in, out, kernel), PReLU
# (channels) and Linear (in, out) shapes are written out so that ``load_state_dict(strict=True)`` checks
# them; pools are (kernel, stride) with ceil_mode. "flatten" is facenet-pytorch's ``permute(0, 3, 2, 1)``
# then flatten, width-major like the original Caffe model the weights come from.
_Layer = tuple[str, tuple[int, ...]]
_TRUNKS: dict[str, tuple[_Layer, ...]] = {
    "pnet": (
        ("conv1", (3, 10, 3)), ("prelu1", (10,)), ("pool1", (2, 2)),
        ("conv2", (10, 16, 3)), ("prelu2", (16,)),
        ("conv3", (16, 32, 3)), ("prelu3", (32,)),
    ),
    "rnet": (
        ("conv1", (3, 28, 3)), ("prelu1", (28,)), ("pool1", (3, 2)),
        ("conv2", (28, 48, 3)), ("prelu2", (48,)), ("pool2", (3, 2)),
        ("conv3", (48, 64, 2)), ("prelu3", (64,)),
        ("flatten", ()), ("dense4", (576, 128)), ("prelu4", (128,)),
    ),
    "onet": (
        ("conv1", (3, 32, 3)), ("prelu1", (32,)), ("pool1", (3, 2)),
        ("conv2", (32, 64, 3)), ("prelu2", (64,)), ("pool2", (3, 2)),
        ("conv3", (64, 64, 3)), ("prelu3", (64,)), ("pool3", (2, 2)),
        ("conv4", (64, 128, 2)), ("prelu4", (128,)),
        ("flatten", ()), ("dense5", (1152, 256)), ("prelu5", (256,)),
    ),
}  # fmt: skip

# Output heads in facenet-pytorch's return order, as (graph output name, layer); "prob" gets a softmax.
_HEADS: dict[str, tuple[tuple[str, _Layer], ...]] = {
    "pnet": (("reg", ("conv4_2", (32, 4, 1))), ("prob", ("conv4_1", (32, 2, 1)))),
    "rnet": (("reg", ("dense5_2", (128, 4))), ("prob", ("dense5_1", (128, 2)))),
    "onet": (
        ("reg", ("dense6_2", (256, 4))),
        ("landmarks", ("dense6_3", (256, 10))),
        ("prob", ("dense6_1", (256, 2))),
    ),
}

# Trace shapes: the crop sizes R and O are trained on; P is fully convolutional and made dynamic in H and W.
_INPUT_SIDE = {"pnet": 12, "rnet": 24, "onet": 48}

NETS = tuple(_TRUNKS)


def build_mtcnn(cache_dir: Path) -> dict[str, Path]:
    """Return the three ONNX graphs keyed "pnet", "rnet", "onet", exporting whichever are missing."""
    return {net: build_mtcnn_net(net, cache_dir) for net in NETS}


def build_mtcnn_net(net: str, cache_dir: Path) -> Path:
    """Return one net's ONNX graph, exporting it first if the cache lacks it (only then is torch needed)."""
    target = artifact_path(cache_dir, f"mtcnn-{net}", model_file(f"mtcnn-{net}").sha256, RECIPE, str(OPSET))
    return ensure_artifact(target, partial(_export, net, cache_dir))


def torch_net(net: str) -> nn.Module:
    """The registry-verified weights of ``net`` in an eval-mode torch module (the export's source)."""
    torch = _import_torch()
    module = _net_class(torch)(net)
    weights = torch.load(model_file(f"mtcnn-{net}").resolve(), map_location="cpu", weights_only=True)
    module.load_state_dict(weights, strict=True)
    return module.eval()


def _export(net: str, cache_dir: Path, target: Path) -> None:
    torch = _import_torch(cache_dir)
    side = _INPUT_SIDE[net]
    outputs = [name for name, _ in _HEADS[net]]
    # P is fully convolutional: any image size, and its output maps shrink with it (hence their own names).
    spatial = net == "pnet"
    in_axes = {0: "batch", 2: "height", 3: "width"} if spatial else {0: "batch"}
    out_axes = {0: "batch", 2: "out_height", 3: "out_width"} if spatial else {0: "batch"}
    buffer = io.BytesIO()
    # The TorchScript exporter on purpose (hence its deprecation warning is silenced): the dynamo exporter
    # needs onnxscript, which is not a dependency, and this one is byte-for-byte reproducible (tested).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(
            torch_net(net),
            (torch.zeros(1, 3, side, side),),
            buffer,
            input_names=[INPUT],
            output_names=outputs,
            dynamic_axes={INPUT: in_axes, **dict.fromkeys(outputs, out_axes)},
            opset_version=OPSET,
            dynamo=False,
        )
    target.write_bytes(buffer.getvalue())


def _import_torch(cache_dir: Path | None = None) -> Any:
    # Imported here, never at module level: serving imports this module and must not load torch.
    try:
        import torch
    except ImportError as exc:
        raise ModelFileError(
            "the accurate profile needs its ONNX export; install the 'export' dependency group "
            f"(torch==2.13.0) or copy the built files into {cache_dir or 'the model cache directory'}"
        ) from exc
    return torch


def _net_class(torch: Any) -> type[nn.Module]:
    """Define the module class once torch is importable (a top-level class would import torch with us)."""

    class MtcnnNet(torch.nn.Module):  # type: ignore[misc]  # torch comes in as Any (imported lazily)
        def __init__(self, net: str) -> None:
            super().__init__()
            self.trunk = [name for name, _ in _TRUNKS[net]]
            self.heads = [(output, layer[0]) for output, layer in _HEADS[net]]
            for name, shape in (*_TRUNKS[net], *(layer for _, layer in _HEADS[net])):
                if name != "flatten":
                    self.add_module(name, _layer(torch.nn, name, shape))

        def forward(self, x: Any) -> tuple[Any, ...]:
            for name in self.trunk:
                x = x.permute(0, 3, 2, 1).flatten(1) if name == "flatten" else self.get_submodule(name)(x)
            return tuple(
                self.get_submodule(layer)(x).softmax(1) if output == "prob" else self.get_submodule(layer)(x)
                for output, layer in self.heads
            )

    return MtcnnNet


def _layer(nn: Any, name: str, shape: tuple[int, ...]) -> Any:
    kind = name.rstrip("0123456789_")
    if kind == "conv":
        return nn.Conv2d(shape[0], shape[1], kernel_size=shape[2])
    if kind == "prelu":
        return nn.PReLU(shape[0])
    if kind == "pool":
        return nn.MaxPool2d(shape[0], shape[1], ceil_mode=True)
    if kind == "dense":
        return nn.Linear(shape[0], shape[1])
    raise ValueError(f"unknown MTCNN layer {name}")
