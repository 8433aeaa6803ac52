"""The error-code registry (app/core/error_codes.py) is the whole list: every code the code base can answer
with is in it, every code in it is still raised somewhere, and the OpenAPI document lists exactly them."""

from __future__ import annotations

import ast
from pathlib import Path

from app.api.openapi import document
from app.core.error_codes import ERROR_CODES
from tests.conftest import REPO_ROOT

#: Where codes are written: the app, the model errors it passes on (image decoding, the index), and the
#: Ingress deployment (a deployment that does not answer).
SOURCES = [
    *(REPO_ROOT / "app").rglob("*.py"),
    *(REPO_ROOT / "models").glob("*.py"),
    *(REPO_ROOT / "deployments").glob("*.py"),
    *(REPO_ROOT / "cluster" / "local").glob("*.py"),
]
#: Tables whose values are codes (errors by exception type, by HTTP status).
CODE_TABLES = {"DEPENDENCY_DOWN", "_CODE_BY_STATUS"}


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _names(node: ast.expr, *names: str) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def _is_error_class(node: ast.ClassDef) -> bool:
    """An exception class (``AppError``'s categories, ``GalleryError``'s kinds): its ``code`` is one."""
    return any(isinstance(base, ast.Name) and base.id.endswith(("Error", "Exception")) for base in node.bases)


def raised_codes() -> dict[str, Path]:
    """Each literal code of the sources: ``code=`` arguments, ``default_code``s, error classes' ``code``,
    ``ImageError``'s first argument, ``error_json``'s second, the code tables' values, and the fallback."""
    found: dict[str, Path] = {}

    def add(value: str | None, path: Path) -> None:
        if value:
            found.setdefault(value, path)

    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "code":
                add(_literal(node.value), path)
            elif isinstance(node, ast.ClassDef) and _is_error_class(node):
                for item in node.body:
                    if isinstance(item, ast.Assign) and _names(item.targets[0], "code", "default_code"):
                        add(_literal(item.value), path)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if name == "ImageError" and node.args:
                    add(_literal(node.args[0]), path)
                elif name == "error_json" and len(node.args) > 1:
                    add(_literal(node.args[1]), path)
                elif name == "in_school" and node.args:  # code=f"{what}_not_found"
                    add(f"{_literal(node.args[-1])}_not_found" if _literal(node.args[-1]) else None, path)
                elif name in ("check_name", "validate_name") and len(node.args) > 1:  # f"invalid_{field}"
                    add(f"invalid_{_literal(node.args[1])}" if _literal(node.args[1]) else None, path)
            elif isinstance(node, ast.AnnAssign | ast.Assign):
                target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
                if (
                    isinstance(target, ast.Name)
                    and target.id in CODE_TABLES
                    and isinstance(node.value, ast.Dict)
                ):
                    for value in node.value.values:
                        add(_literal(value), path)
    add("http_error", REPO_ROOT / "app" / "api" / "errors.py")  # _CODE_BY_STATUS's fallback
    return found


def test_every_raised_code_is_registered() -> None:
    missing = {code: str(path.relative_to(REPO_ROOT)) for code, path in raised_codes().items()}
    for code in ERROR_CODES:
        missing.pop(code, None)
    assert not missing, f"add these to app/core/error_codes.py: {missing}"


def test_every_registered_code_is_still_raised() -> None:
    unused = set(ERROR_CODES) - set(raised_codes())
    assert not unused, f"nothing raises these any more: {sorted(unused)}"


def test_the_openapi_document_lists_the_registry() -> None:
    code = document()["components"]["schemas"]["ErrorInfo"]["properties"]["code"]
    assert code["enum"] == list(ERROR_CODES)
    assert all(f"`{name}`" in code["description"] for name in ERROR_CODES)
