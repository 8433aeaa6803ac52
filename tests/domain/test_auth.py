"""The auth service on real PostgreSQL and Redis: sign-in, throttling, MFA, refresh rotation, users."""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from prometheus_client import REGISTRY
from sqlmodel import select

from app.core.enums import Role
from app.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from app.core.redis import RateLimiter, make_redis
from app.core.security import TokenType, issue_token, totp_code, verify_token
from app.db.session import transaction
from app.db.tables import AuditEvent, User
from app.schemas.auth import MfaSetupRequired, TokenPair, UserCreate, UserUpdate
from app.schemas.common import PageParams
from app.services.identity.auth import AuthService
from cluster.local.stores import free_port
from tests.domain.authkit import PASSWORD, World

IP = "192.0.2.10"


def login(auth_services, email: str, password: str = PASSWORD, code: str | None = None, ip: str = IP):
    return auth_services.auth.login(email, password, code, ip, "req-1")


def reload(auth_services, user: User) -> User:
    with transaction(auth_services.auth.engine) as session:
        fresh = session.get(User, user.id)
    assert fresh is not None
    return fresh


def test_teacher_signs_in_and_the_token_names_them(auth_services, auth_world: World) -> None:
    pair = login(auth_services, "Teacher@North.example.org ")  # emails are case- and space-insensitive
    assert isinstance(pair, TokenPair)
    principal, claims = auth_services.auth.principal_from_token(pair.access_token)
    assert (principal.id, principal.role, principal.school_id) == (
        auth_world.teacher.id,
        Role.teacher,
        auth_world.school.id,
    )
    assert claims.type is TokenType.access and claims.family


def test_wrong_password_and_unknown_email_look_the_same(auth_services, auth_world: World) -> None:
    """Status, code, message and Retry-After agree for a known and an unknown email, try after try, past
    the point where the tries are slowed (the throttle keys on the email, never on the user)."""
    free = auth_services.auth.policy.throttle.free_failures
    answers = {}
    for email, ip in (
        ("teacher@north.example.org", "198.51.100.7"),
        ("nobody@north.example.org", "198.51.100.8"),
    ):
        seen = []
        for _ in range(free + 2):
            with pytest.raises((Unauthenticated, RateLimited)) as caught:
                login(auth_services, email, "wrong password!", ip=ip)
            error = caught.value
            seen.append(
                (type(error).__name__, error.code, error.message, getattr(error, "retry_after_s", None))
            )
        answers[email] = seen
    known, unknown = answers.values()
    assert known == unknown
    assert [code for _, code, _, _ in known] == ["invalid_credentials"] * free + ["sign_in_throttled"] * 2


def test_failures_slow_the_failing_address_and_never_lock_the_account(
    auth_services, auth_world: World
) -> None:
    """A stranger's wrong passwords slow the stranger: the teacher signs in from their own address at once,
    the stranger waits longer after each failure, and an admin's unlock clears the account everywhere."""
    throttle = auth_services.auth.policy.throttle
    stranger, teacher = "203.0.113.66", "192.0.2.44"
    for _ in range(throttle.free_failures):
        with pytest.raises(Unauthenticated):
            login(auth_services, auth_world.teacher.email, "wrong password!", ip=stranger)
    with pytest.raises(RateLimited) as caught:
        login(auth_services, auth_world.teacher.email, ip=stranger)  # even the right password waits
    assert caught.value.code == "sign_in_throttled"
    assert caught.value.retry_after_s == throttle.base_s
    assert isinstance(login(auth_services, auth_world.teacher.email, ip=teacher), TokenPair)

    # Each failure past the free ones doubles the wait (up to the longest): slept through with a clock.
    slow = auth_services.auth.throttle
    now = datetime.now(UTC).timestamp()
    waits = []
    for step in range(3):
        moment = now + 10_000 * (step + 1)  # well past the wait: this try is allowed, and fails
        assert slow.wait_s(auth_world.teacher.email, stranger, now=moment) == 0
        slow.fail(auth_world.teacher.email, stranger, now=moment)
        waits.append(slow.wait_s(auth_world.teacher.email, stranger, now=moment))
    assert waits == [throttle.base_s * 2, throttle.base_s * 4, throttle.base_s * 8]

    with transaction(auth_services.auth.engine) as session:
        auth_services.auth.update_user(
            session,
            auth_world.principal(auth_world.admin),
            auth_world.teacher.id,
            UserUpdate(unlock=True),
            None,
        )
    assert isinstance(login(auth_services, auth_world.teacher.email, ip=stranger), TokenPair)
    with transaction(auth_services.auth.engine) as session:
        details = session.exec(select(AuditEvent.details).where(AuditEvent.action == "auth.login")).all()
        unlocked = session.exec(select(AuditEvent.details).where(AuditEvent.action == "user.update")).all()
    assert sum(1 for d in details if d.get("reason") == "bad_password") == throttle.free_failures
    assert sum(1 for d in details if d.get("reason") == "throttled") == 1
    assert [d.get("unlock") for d in unlocked] == [True]


def test_one_address_failing_across_accounts_is_slowed(auth_services, auth_world: World) -> None:
    """Credential stuffing: one address, many emails, one failure each, is slowed at the address's own,
    larger allowance; another address is not."""
    throttle = auth_services.auth.policy.throttle
    stuffer = "203.0.113.90"
    for n in range(throttle.address_free_failures):  # counted as login() counts (the per-address request
        auth_services.auth.throttle.fail(f"guess{n}@north.example.org", stuffer)  # limit would come first)
    with pytest.raises(RateLimited) as caught:
        login(auth_services, "guess-next@north.example.org", "wrong password!", ip=stuffer)
    assert caught.value.code == "sign_in_throttled"
    assert isinstance(login(auth_services, auth_world.teacher.email, ip="192.0.2.45"), TokenPair)


def test_a_distributed_guess_raises_one_alert_and_locks_nothing(auth_services, auth_world: World) -> None:
    throttle = auth_services.auth.policy.throttle
    before = REGISTRY.get_sample_value("rollcall_sign_in_alerts_total") or 0.0
    for n in range(throttle.alert_failures + 3):  # each address fails once: none is slowed
        with pytest.raises(Unauthenticated):
            login(auth_services, auth_world.teacher.email, "wrong password!", ip=f"198.18.0.{n}")
    assert (REGISTRY.get_sample_value("rollcall_sign_in_alerts_total") or 0.0) - before == 1
    with transaction(auth_services.auth.engine) as session:
        alerts = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_alert")).all()
    assert len(alerts) == 1
    assert alerts[0].school_id == auth_world.school.id
    assert alerts[0].target == f"user:{auth_world.teacher.id}"
    assert alerts[0].details["failures"] == throttle.alert_failures
    assert isinstance(login(auth_services, auth_world.teacher.email, ip="198.18.1.1"), TokenPair)


def test_known_and_unknown_emails_take_the_same_time(auth_services, auth_world: World) -> None:
    """Timing: interleaved wrong-password tries for a known and an unknown email (fresh addresses, so
    neither is slowed); their median durations agree within the noise (no wall-clock bound)."""
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(24):
        for kind, email in (("known", auth_world.teacher.email), ("unknown", "ghost@north.example.org")):
            started = time.perf_counter()
            with pytest.raises(Unauthenticated):
                login(auth_services, email, "wrong password!", ip=f"198.19.{n}.{len(kind)}")
            timings[kind].append(time.perf_counter() - started)
    known, unknown = (statistics.median(values[4:]) for values in timings.values())  # past the warm-up
    assert 0.6 < known / unknown < 1.67, timings


def test_login_rate_limit_per_ip(auth_services, auth_world: World) -> None:
    limiter = auth_services.limiter
    limiter.hit("2/minute", "login", "203.0.113.5", fail_open=False)
    limiter.hit("2/minute", "login", "203.0.113.5", fail_open=False)
    with pytest.raises(RateLimited) as caught:
        limiter.hit("2/minute", "login", "203.0.113.5", fail_open=False)
    assert 1 <= caught.value.retry_after_s <= 60
    limiter.hit("2/minute", "login", "203.0.113.6", fail_open=False)  # another address has its own count


def test_admin_without_mfa_must_enrol_before_getting_a_session(auth_services, auth_world: World) -> None:
    outcome = login(auth_services, "admin@south.example.org")
    assert isinstance(outcome, MfaSetupRequired)
    principal, claims = auth_services.auth.principal_from_token(outcome.setup_token, allow_setup=True)
    assert claims.type is TokenType.mfa_setup and principal.id == auth_world.other_admin.id
    with pytest.raises(Unauthenticated):  # the setup token is no access token
        auth_services.auth.principal_from_token(outcome.setup_token)
    with transaction(auth_services.auth.engine) as session:
        setup = auth_services.auth.mfa_setup(session, principal, "req")
    assert setup.otpauth_uri.startswith("otpauth://totp/")
    with pytest.raises(Unauthenticated), transaction(auth_services.auth.engine) as session:
        auth_services.auth.mfa_activate(session, principal, "000000", IP, "req")
    with transaction(auth_services.auth.engine) as session:
        pair = auth_services.auth.mfa_activate(session, principal, totp_code(setup.secret), IP, "req")
    assert isinstance(pair, TokenPair)
    assert reload(auth_services, auth_world.other_admin).mfa_enabled
    with pytest.raises(Unauthenticated) as caught:  # from now on a code is required
        login(auth_services, "admin@south.example.org")
    assert caught.value.code == "mfa_required"


def test_mfa_code_is_checked_and_not_replayable(auth_services, auth_world: World) -> None:
    with pytest.raises(Unauthenticated) as caught:
        login(
            auth_services,
            auth_world.admin.email,
            code="123456" if totp_code(auth_world.admin_totp) != "123456" else "654321",
        )
    assert caught.value.code == "invalid_mfa_code"
    code = totp_code(auth_world.admin_totp)
    assert isinstance(login(auth_services, auth_world.admin.email, code=code), TokenPair)
    with pytest.raises(Unauthenticated) as caught:
        login(auth_services, auth_world.admin.email, code=code)
    assert caught.value.code == "invalid_mfa_code"


def test_totp_secret_is_stored_encrypted(auth_services, auth_world: World) -> None:
    stored = reload(auth_services, auth_world.admin).totp_secret_enc
    assert stored is not None and auth_world.admin_totp.encode() not in stored


def test_refresh_rotates_and_a_reused_token_ends_the_family(auth_services, auth_world: World) -> None:
    first = auth_services.auth.issue_tokens(auth_world.teacher)
    second = auth_services.auth.refresh(first.refresh_token, IP, "r1")
    assert second.refresh_token != first.refresh_token
    auth_services.auth.principal_from_token(second.access_token)  # valid
    with pytest.raises(Unauthenticated) as caught:
        auth_services.auth.refresh(first.refresh_token, IP, "r2")  # the spent token again: theft assumed
    assert caught.value.code == "refresh_token_reused"
    for token in (second.refresh_token,):
        with pytest.raises(Unauthenticated):
            auth_services.auth.refresh(token, IP, "r3")
    with pytest.raises(Unauthenticated) as caught:
        auth_services.auth.principal_from_token(second.access_token)
    assert caught.value.code == "sign_in_revoked"
    with transaction(auth_services.auth.engine) as session:
        actions = session.exec(select(AuditEvent.action)).all()
    assert "auth.refresh_reuse" in actions


def test_garbage_refresh_tokens(auth_services, auth_world: World) -> None:
    pair = auth_services.auth.issue_tokens(auth_world.teacher)
    family = pair.refresh_token.partition(".")[0]
    for token in ("", "x", "not.a.token", f"{family}.guessed", "0" * 32 + ".x"):
        with pytest.raises(Unauthenticated):
            auth_services.auth.refresh(token, IP, None)
    assert auth_services.auth.refresh(
        pair.refresh_token, IP, None
    )  # a guess does not spend or revoke the family


def test_logout_ends_access_and_refresh(auth_services, auth_world: World) -> None:
    pair = auth_services.auth.issue_tokens(auth_world.teacher)
    principal, claims = auth_services.auth.principal_from_token(pair.access_token)
    other = auth_services.auth.issue_tokens(auth_world.teacher)
    auth_services.auth.logout(principal, claims.family)
    with pytest.raises(Unauthenticated):
        auth_services.auth.principal_from_token(pair.access_token)
    with pytest.raises(Unauthenticated):
        auth_services.auth.refresh(pair.refresh_token, IP, None)
    auth_services.auth.principal_from_token(other.access_token)  # other sessions go on


def test_deactivation_and_role_change_end_sessions(auth_services, auth_world: World) -> None:
    admin = auth_world.principal(auth_world.admin)
    pair = auth_services.auth.issue_tokens(auth_world.teacher)
    with transaction(auth_services.auth.engine) as session:
        auth_services.auth.update_user(
            session, admin, auth_world.teacher.id, UserUpdate(role=Role.admin), None
        )
    with pytest.raises(Unauthenticated):
        auth_services.auth.principal_from_token(pair.access_token)
    pair = auth_services.auth.issue_tokens(auth_world.teacher)
    with transaction(auth_services.auth.engine) as session:
        public = auth_services.auth.deactivate_user(session, admin, auth_world.teacher.id, None)
    assert not public.is_active
    with pytest.raises(Unauthenticated):
        auth_services.auth.principal_from_token(pair.access_token)
    with pytest.raises(Unauthenticated):
        login(auth_services, auth_world.teacher.email)


def test_the_last_admin_stays(auth_services, auth_world: World) -> None:
    admin = auth_world.principal(auth_world.admin)
    with pytest.raises(Conflict) as caught, transaction(auth_services.auth.engine) as session:
        auth_services.auth.update_user(
            session, admin, auth_world.admin.id, UserUpdate(role=Role.teacher), None
        )
    assert caught.value.code == "last_admin"
    with pytest.raises(Conflict), transaction(auth_services.auth.engine) as session:
        auth_services.auth.deactivate_user(session, admin, auth_world.admin.id, None)
    with transaction(auth_services.auth.engine) as session:  # with a second admin, the first may step down
        auth_services.auth.update_user(
            session, admin, auth_world.teacher.id, UserUpdate(role=Role.admin), None
        )
        auth_services.auth.update_user(
            session, admin, auth_world.admin.id, UserUpdate(role=Role.teacher), None
        )


def test_users_crud_stays_in_the_school(auth_services, auth_world: World) -> None:
    admin = auth_world.principal(auth_world.admin)
    with transaction(auth_services.auth.engine) as session:
        created = auth_services.auth.create_user(
            session, admin, UserCreate(email="New@North.example.org", full_name="New", role=Role.teacher,
                                       password="long enough pass"), "req",
        )  # fmt: skip
        assert created.email == "new@north.example.org" and created.school_id == auth_world.school.id
        page = auth_services.auth.list_users(session, admin, PageParams(q="north"))
        assert auth_world.other_admin.id not in {user.id for user in page.items} and page.total == 4
        with pytest.raises(NotFound):
            auth_services.auth.get_user(session, admin, auth_world.other_admin.id)
        with pytest.raises(NotFound):
            auth_services.auth.update_user(
                session, admin, auth_world.other_admin.id, UserUpdate(is_active=False), None
            )
        with pytest.raises(Forbidden):
            auth_services.auth.list_users(session, auth_world.principal(auth_world.teacher), PageParams())

    def new(email: str, role: Role, password: str = "x" * 12, **extra) -> UserCreate:
        return UserCreate(email=email, full_name="Someone", role=role, password=password, **extra)

    cases = [
        (new("new@north.example.org", Role.teacher), Conflict),  # the email is taken
        (new("s@north.example.org", Role.student), InvalidInput),  # a student account needs its student
        (new("t@north.example.org", Role.teacher, "short"), InvalidInput),  # weak password
        (new("u@north.example.org", Role.student, student_id=uuid.uuid4()), NotFound),
    ]
    for data, error in cases:
        with pytest.raises(error), transaction(auth_services.auth.engine) as session:
            auth_services.auth.create_user(session, admin, data, None)


def test_change_password_ends_every_session(auth_services, auth_world: World) -> None:
    pair = auth_services.auth.issue_tokens(auth_world.teacher)
    principal = auth_world.principal(auth_world.teacher)
    with pytest.raises(InvalidInput), transaction(auth_services.auth.engine) as session:
        auth_services.auth.change_password(session, principal, "not it at all", "a new long password", None)
    with transaction(auth_services.auth.engine) as session:
        auth_services.auth.change_password(session, principal, PASSWORD, "a new long password", None)
    with pytest.raises(Unauthenticated):
        auth_services.auth.principal_from_token(pair.access_token)
    assert isinstance(login(auth_services, auth_world.teacher.email, "a new long password"), TokenPair)


def test_redis_down_fails_login_closed(auth_services, auth_world: World, auth_settings) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    client = make_redis(dead, timeout_s=0.5)
    auth = AuthService(
        auth_settings.sign_in,
        auth_settings.keyring(),
        auth_services.auth.engine,
        client,
        RateLimiter(client, dead),
    )
    with pytest.raises(Unavailable):
        auth.login(auth_world.teacher.email, PASSWORD, None, IP, None)
    token = auth_services.auth.issue_tokens(auth_world.teacher).access_token
    with pytest.raises(redis.ConnectionError):  # the API answers this with 503 (app.api.errors)
        auth.principal_from_token(token)


def test_fail_open_limiter_lets_requests_through_when_redis_is_down() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RateLimiter(make_redis(dead, timeout_s=0.5), dead)
    limiter.hit("1/minute", "user", "u", fail_open=True)
    limiter.hit("1/minute", "user", "u", fail_open=True)
    with pytest.raises(Unavailable):
        limiter.hit("1/minute", "login", "ip", fail_open=False)


def test_access_tokens_expire(auth_services, auth_world: World) -> None:
    tokens = auth_services.auth.policy.tokens
    teacher = auth_world.teacher
    token, _ = issue_token(
        tokens, TokenType.access, user_id=teacher.id, school_id=teacher.school_id, role=Role.teacher,
        ttl_s=60, now=datetime.now(UTC) - timedelta(minutes=5),
    )  # fmt: skip
    with pytest.raises(Unauthenticated) as caught:
        verify_token(tokens, token, TokenType.access)
    assert caught.value.code == "token_expired"


def test_bootstrap_command_creates_the_first_admin_once(clean_db, pg_url, tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from app.bootstrap import cli
    from app.core.config import ensure_dev_secrets, get_settings

    ensure_dev_secrets(tmp_path)  # a local run's, as `python -m cluster.local up` leaves them
    monkeypatch.setenv("ROLLCALL_DATABASE_URL", pg_url)
    monkeypatch.setenv("ROLLCALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ROLLCALL_BOOTSTRAP_PASSWORD", "first admin password")
    get_settings.cache_clear()
    try:
        args = ["--school", "Lake School", "--email", "Head@Lake.example.org", "--no-migrate"]
        weak = CliRunner().invoke(cli, args, env={"ROLLCALL_BOOTSTRAP_PASSWORD": "short"})
        assert weak.exit_code == 1 and "weak_password" in weak.output
        first = CliRunner().invoke(cli, args)
        assert first.exit_code == 0, first.output
        again = CliRunner().invoke(cli, args)
        assert again.exit_code == 1 and "already_bootstrapped" in again.output
    finally:
        get_settings.cache_clear()
    with transaction(clean_db) as session:
        (admin,) = session.exec(select(User)).all()
        events = session.exec(select(AuditEvent.action)).all()
    assert admin.email == "head@lake.example.org" and admin.role is Role.admin and not admin.mfa_enabled
    assert "first admin password" not in admin.password_hash and events == ["bootstrap"]
