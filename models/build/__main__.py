"""``python -m models.build``: build every served graph into the artifact cache and print path and sha256.

Run it in an image build or before starting replicas so no replica pays for a build at start-up. A new
artifact is one more ``BuildStep`` in ``STEPS``: a name and a function from cache dir to the built file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from models.build.mtcnn_export import NETS, build_mtcnn_net
from models.build.onnx_fixups import build_sface, build_yunet
from models.registry import default_cache_dir, sha256_file


@dataclass(frozen=True, slots=True)
class BuildStep:
    name: str
    build: Callable[[Path], Path]


STEPS: list[BuildStep] = [
    BuildStep("yunet", build_yunet),
    BuildStep("sface", build_sface),
    *(BuildStep(f"mtcnn-{net}", partial(build_mtcnn_net, net)) for net in NETS),
]


NAMES = [step.name for step in STEPS]


def main(
    steps: Annotated[
        list[str] | None,
        typer.Argument(metavar="STEP", help=f"Only these of {', '.join(NAMES)}; default all."),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Default: $ROLLCALL_MODEL_CACHE or ~/.cache/rollcall.")
    ] = None,
) -> None:
    """Build every served graph into the artifact cache; print each one's path and sha256."""
    unknown = sorted(set(steps or ()) - set(NAMES))
    if unknown:
        raise typer.BadParameter(f"unknown steps {', '.join(unknown)}; known: {', '.join(NAMES)}")
    cache = cache_dir or default_cache_dir()
    for step in STEPS:
        if not steps or step.name in steps:
            path = step.build(cache)
            typer.echo(f"{step.name}\t{path}\t{sha256_file(path)}")


if __name__ == "__main__":
    typer.run(main)
