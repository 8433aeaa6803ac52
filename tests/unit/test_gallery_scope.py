"""Raw gallery routes work inside the caller's school only, never in another school's or the consented one."""

import uuid

from app.api.routes.galleries import scoped
from app.core.enums import Role
from app.services.biometrics.stores import gallery_of
from app.services.identity.principal import Principal


def admin_of(school: uuid.UUID) -> Principal:
    return Principal(kind="user", id=uuid.uuid4(), school_id=school, role=Role.admin)


def test_the_same_name_is_a_different_gallery_in_each_school():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert scoped("class-7b", admin_of(a)) != scoped("class-7b", admin_of(b))
    assert scoped("class-7b", admin_of(a)).startswith(str(a))


def test_an_admin_cannot_name_another_school_or_the_enrollment_gallery():
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    assert scoped(gallery_of(theirs), admin_of(mine)) != gallery_of(theirs)
    assert scoped(gallery_of(mine), admin_of(mine)) != gallery_of(mine)
