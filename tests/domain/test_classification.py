"""Data classification: every column of every table is classified in code, and docs/PRIVACY.md shows exactly
that classification (generated from it, so the two cannot drift); it quotes the consent texts in code."""

from __future__ import annotations

from sqlalchemy import LargeBinary
from sqlmodel import SQLModel

import app.db.tables  # noqa: F401 - registers every table
from app.core import classification
from app.core.classification import CLASSIFICATION, Ferpa, Level
from app.core.config import Settings
from app.schemas.students import StudentPublic
from app.services.operations.keyrotation import SEALED
from app.services.privacy.consent_texts import CONSENT_TEXTS
from tests.conftest import REPO_ROOT
from tests.domain.authkit import TEST_SECRETS

PRIVACY_MD = REPO_ROOT / "docs" / "PRIVACY.md"


def test_every_column_of_every_table_is_classified() -> None:
    assert classification.problems(SQLModel.metadata) == []


def test_the_check_catches_an_unclassified_column() -> None:
    from sqlalchemy import Column, MetaData, String, Table

    metadata = MetaData()
    columns = [Column(name, String) for name in [*CLASSIFICATION["student"], "x"]]
    Table("student", metadata, *columns)
    assert "student.x is not classified" in classification.problems(metadata)


def test_docs_show_exactly_the_classification_in_code() -> None:
    document = PRIVACY_MD.read_text(encoding="utf-8")
    assert classification.with_table(document) == document, (
        "docs/PRIVACY.md is out of date: run `python -m app.core.classification --write`"
    )


def test_binary_columns_are_restricted_and_rotated_with_the_keyring() -> None:
    binary = {
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, LargeBinary)
    }
    for name in binary:
        table, column = name.split(".")
        assert CLASSIFICATION[table][column].level is Level.restricted, name
    assert {sealed.name for sealed in SEALED} == binary


def test_student_fields_are_sorted_into_directory_or_not() -> None:
    student = CLASSIFICATION["student"]
    for field in StudentPublic.model_fields:
        if field in student and student[field].personal:
            assert student[field].ferpa is not None, field
    withheld = classification.STUDENT_WITHHELD_FROM_LIMITED
    assert withheld == frozenset({"birth_date", "guardian_email"})
    assert all(student[name].ferpa is Ferpa.non_directory for name in withheld)


def test_secrets_and_biometrics_are_restricted() -> None:
    for table, column in [
        ("face_template", "ciphertext"),
        ("app_user", "password_hash"),
        ("app_user", "totp_secret_enc"),
        ("kiosk_key", "key_hash"),
        ("review_frame", "ciphertext"),
        ("checkin_code", "code_hash"),
    ]:
        assert CLASSIFICATION[table][column].level is Level.restricted


def test_the_current_consent_text_exists_and_the_docs_quote_every_text(tmp_path) -> None:
    current = Settings(**TEST_SECRETS, data_dir=tmp_path).consent_version
    assert current in CONSENT_TEXTS
    document = PRIVACY_MD.read_text(encoding="utf-8")
    for text in CONSENT_TEXTS.values():
        assert f"Version {text.version}" in document
        for paragraph in text.body.split("\n"):
            assert paragraph.strip() in document, paragraph[:60]
