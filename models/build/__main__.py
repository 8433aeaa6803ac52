"""``python -m models.build``: build every served graph into the artifact cache and print path and sha256.

Run it in an image build or before starting replicas so no replica pays for a build at start-up. A new
artifact is one more ``BuildStep`` in ``STEPS``: a name and a function from cache dir to the built file.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

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


def main(argv: list[str] | None = None) -> None:
    names = [step.name for step in STEPS]
    parser = argparse.ArgumentParser(prog="python -m models.build", description=__doc__)
    parser.add_argument("--cache-dir", type=Path, help="default: $ROLLCALL_MODEL_CACHE or ~/.cache/rollcall")
    parser.add_argument(
        "steps", nargs="*", metavar="STEP", help=f"only these of {', '.join(names)}; default all"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.steps) - set(names))
    if unknown:
        parser.error(f"unknown steps {', '.join(unknown)}; known: {', '.join(names)}")
    cache_dir = args.cache_dir or default_cache_dir()
    for step in STEPS:
        if not args.steps or step.name in args.steps:
            path = step.build(cache_dir)
            print(f"{step.name}\t{path}\t{sha256_file(path)}")


if __name__ == "__main__":
    main()
