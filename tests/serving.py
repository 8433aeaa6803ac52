"""In-process face pipelines and services at serve_config.yaml's operating points (its ``user_config``s), so
a test runs at the thresholds, detector score and quality limits the cluster serves, not at copies of them."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.config import Settings
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.face_service import FaceService, ImageLimits
from app.services.biometrics.in_process import InProcessPipeline
from app.services.biometrics.stores import BiometricStores
from deployments.ingress import IngressConfig
from deployments.serve_file import user_config
from models.gallery import FaceGallery
from models.types import FaceDetector, FaceEmbedder


def serving_pipeline(
    detector: FaceDetector, embedder: FaceEmbedder, gallery: FaceGallery, **changes: float
) -> InProcessPipeline:
    """The file's Detector and Matcher points; ``changes`` replace some of them (a test about one)."""
    found, matcher = user_config("Detector"), user_config("Matcher")
    points = {
        "min_score": found["min_score"],
        "top_k": matcher["top_k"],
        "threshold": matcher["threshold"],
        "roster_threshold": matcher["roster_threshold"],
        **changes,
    }
    return InProcessPipeline(detector, embedder, gallery, **points)  # type: ignore[arg-type]


def serving_face_service(pipeline: InProcessPipeline, settings: Settings) -> FaceService:
    """A face service with the Ingress's verify threshold and quality limits, over the in-process pipeline
    (its models and its index)."""
    ingress = IngressConfig.model_validate(user_config("Ingress"))
    return FaceService(
        pipeline,
        FaceIndex(pipeline),
        ImageLimits(settings.max_upload_bytes, settings.max_pixels),
        verify_threshold=ingress.verify_threshold,
        quality=ingress.quality_policy(),
    )


@dataclass(frozen=True, slots=True)
class StoresWithFaces(BiometricStores):
    """The biometric stores and the face service whose index they use: what a domain test hands the flows
    (``EnrollmentService(stores, stores.face_service, settings.enrollment)``) and checks faces with."""

    face_service: FaceService
