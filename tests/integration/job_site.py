"""A site for the operational jobs' tests: embedded PostgreSQL and Redis, a Milvus server, the real models
in this process, a school with the three people of ``tests.school_faces`` enrolled, and the jobs run as an
operator runs them (``python -m app.jobs ... --json`` in a subprocess, configured by environment only)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import Engine
from sqlmodel import Session

from app.container import build_container
from app.core.config import Settings
from app.core.enums import Role
from app.db.migrate import upgrade_head
from app.db.tables import ClassMember, School, SchoolClass, Student, User
from app.schemas.consent import ConsentCreate
from app.services.biometrics.face_service import FaceService
from app.services.biometrics.stores import BiometricStores, gallery_of
from app.services.enrollment.service import EnrollmentService
from app.services.identity.principal import Principal
from app.services.privacy import consent
from cluster.local.stores import EmbeddedPostgres, EmbeddedRedis
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery
from models.types import FaceEmbedder
from tests.domain.authkit import FAST_HASHING, TEST_SECRETS
from tests.integration.operator_cli import operator_json
from tests.school_faces import PEOPLE
from tests.serving import serving_face_service, serving_pipeline


@dataclass
class Site:
    settings: Settings
    engine: Engine
    client: redis.Redis
    gallery: FaceGallery
    stores: BiometricStores
    face_service: FaceService


@contextlib.contextmanager
def open_site(root: Path, milvus_uri: str, embedder: FaceEmbedder | None = None) -> Iterator[Site]:
    """The stores under ``root``; the face service embeds with ``embedder`` (default: the installed SFace)
    into a collection of its model that this site starts empty (the Milvus server is shared)."""
    with EmbeddedPostgres(root / "pg") as postgres, EmbeddedRedis(root / "redis") as redis_server:
        upgrade_head(postgres.url)
        settings = Settings(
            data_dir=root / "data",
            database_url=postgres.url,
            redis_url=redis_server.url,
            milvus_uri=milvus_uri,
            **FAST_HASHING,
            **TEST_SECRETS,
        )
        embedder = embedder or SfaceEmbedder.load(settings.model_cache)
        gallery = FaceGallery(milvus_uri, embedder.model_id, embedder.dim)
        gallery.drop()
        pipeline = serving_pipeline(load_detector("fast", settings.model_cache), embedder, gallery)
        container = build_container(settings, serving_face_service(pipeline, settings))
        assert container.engine is not None and container.redis is not None and container.school is not None
        engine, client, stores = container.engine, container.redis, container.school.stores
        face_service = container.face_service
        assert face_service is not None
        try:
            yield Site(settings, engine, client, gallery, stores, face_service)
        finally:
            gallery.close()
            client.close()
            engine.dispose()


def job(site: Site, *args: str) -> dict:
    """``python -m app.jobs <args> --json`` as an operator runs it, configured by environment only."""
    secrets = {
        "ROLLCALL_SECRET_KEY": TEST_SECRETS["secret_key"],
        "ROLLCALL_TEMPLATE_KEY": TEST_SECRETS["template_key"],
        "ROLLCALL_ID_HASH_KEY": TEST_SECRETS["id_hash_key"],
    }
    return operator_json("app.jobs", site.settings, *args, env=secrets)


async def identify(site: Site, school_id: uuid.UUID, photo: bytes) -> str | None:
    (found,) = await site.face_service.identify(gallery_of(school_id), photo)
    return found.match.label


async def enrolled_school(
    site: Site, name: str, photos: dict[str, list[bytes]]
) -> tuple[uuid.UUID, Principal, dict[str, uuid.UUID]]:
    """A school with a class of ``PEOPLE``, each consenting and enrolled from their first three photos:
    the school's id, its admin, and the students' ids by person."""
    with Session(site.engine, expire_on_commit=False) as db:
        school = School(name=name)
        db.add(school)
        db.flush()
        user = User(school_id=school.id, email=f"a-{school.id.hex[:8]}@jobs.example.org", full_name="A",
                    role=Role.admin, password_hash="x")  # fmt: skip
        klass = SchoolClass(school_id=school.id, code="9C", name="9C")
        db.add_all([user, klass])
        db.flush()
        students = {}
        for key in PEOPLE:
            student = Student(school_id=school.id, student_number=key, first_name=key, last_name="R",
                              display_name=key)  # fmt: skip
            db.add(student)
            db.flush()
            db.add(ClassMember(class_id=klass.id, student_id=student.id))
            students[key] = student.id
        db.commit()
    admin = Principal("user", user.id, school.id, Role.admin)
    enrollment = EnrollmentService(site.stores, site.face_service, site.settings.enrollment)
    for key, student_id in students.items():
        with Session(site.engine) as db:
            consent.grant_consent(
                db, admin, student_id, ConsentCreate(granted_by_name="G", relation="guardian"),
                current_version=site.settings.consent_version, age_of_majority=18, request_id=None,
            )  # fmt: skip
            db.commit()
        await enrollment.enroll(admin, student_id, photos[key][:3], None)
    return school.id, admin, students
