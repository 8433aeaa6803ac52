from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from models.build import onnx_fixups
from models.build.__main__ import STEPS, main
from models.build.onnx_fixups import build_sface, build_yunet
from models.registry import model_file, sha256_file
from models.runtime import RuntimeOptions, create_session
from tests.cli import typer_app

OPTIONS = RuntimeOptions(intra_op_threads=1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("models")
    return {"yunet": build_yunet(cache_dir), "sface": build_sface(cache_dir)}


def _dims(value):
    return [dim.dim_param or dim.dim_value for dim in value.type.tensor_type.shape.dim]


@pytest.mark.parametrize(("key", "build"), [("yunet", build_yunet), ("sface", build_sface)])
def test_building_twice_gives_identical_bytes(key, build, built, tmp_path):
    again = build(tmp_path)
    assert again.name == built[key].name
    assert again.read_bytes() == built[key].read_bytes()


def test_recipe_is_part_of_the_artifact_name(built, monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_fixups, "SFACE_RECIPE", "sface-fixups-test")
    assert build_sface(tmp_path).name != built["sface"].name


def test_sface_keeps_one_input_with_dynamic_batch(built):
    graph = onnx.load(built["sface"]).graph
    assert [value.name for value in graph.input] == ["data"]
    assert _dims(graph.input[0]) == ["N", 3, 112, 112]
    assert _dims(graph.output[0]) == ["N", 128]


def test_sface_fixup_leaves_the_numbers_unchanged(built):
    """The shipped graph needs its unused inputs fed; with them, batch 1 must match the fixed graph."""
    crop = np.random.default_rng(0).uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)
    original = create_session(model_file("sface").resolve(), OPTIONS)
    feed = {
        value.name: np.zeros(value.shape, np.float32)
        for value in original.get_inputs()
        if value.name != "data"
    }
    expected = original.run(None, {"data": crop, **feed})[0]
    fixed = create_session(built["sface"], OPTIONS)
    np.testing.assert_allclose(fixed.run(None, {"data": crop})[0], expected, rtol=1e-5, atol=1e-5)
    batch = fixed.run(None, {"data": np.repeat(crop, 3, axis=0)})[0]
    np.testing.assert_allclose(batch, np.repeat(expected, 3, axis=0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("batch", "height", "width"), [(1, 256, 256), (2, 320, 480)])
def test_yunet_runs_any_batch_and_multiple_of_32(built, batch, height, width):
    session = create_session(built["yunet"], OPTIONS)
    blob = np.zeros((batch, 3, height, width), np.float32)
    outputs = dict(
        zip([o.name for o in session.get_outputs()], session.run(None, {"input": blob}), strict=True)
    )
    for stride in (8, 16, 32):
        anchors = (height // stride) * (width // stride)
        assert outputs[f"cls_{stride}"].shape == (batch, anchors, 1)
        assert outputs[f"kps_{stride}"].shape == (batch, anchors, 10)


def test_yunet_block_size_dropped_only_from_per_tensor_biases(built):
    graph = onnx.load(built["yunet"]).graph
    dims = {init.name: list(init.dims) for init in graph.initializer}
    for node in graph.node:
        if node.op_type != "DequantizeLinear":
            continue
        has_block_size = any(attr.name == "block_size" for attr in node.attribute)
        assert has_block_size == (dims[node.input[1]] != [1]), node.name


def test_build_command_prints_path_and_checksum(tmp_path):
    result = CliRunner().invoke(typer_app(main), ["--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [name for name, _, _ in lines] == [step.name for step in STEPS]
    for _, path, digest in lines:
        assert Path(path).parent == tmp_path
        assert sha256_file(Path(path)) == digest


def test_build_command_rejects_unknown_steps(tmp_path):
    result = CliRunner().invoke(typer_app(main), ["--cache-dir", str(tmp_path), "nope"])
    assert result.exit_code == 2 and "unknown steps nope" in result.output
