"""Users, passwords and API tokens through the service layer and the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core import auth, clock
from core.db import UnitOfWork
from core.errors import Conflict, Invalid, Unauthorized
from tests.conftest import TEST_PASSWORD, bearer


def test_create_user_stores_a_scrypt_hash_not_the_password(engine):
    auth.create_user(UnitOfWork(engine), "li.na", "correct horse battery", "planner")
    with engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT password_hash FROM app_user WHERE username = 'li.na'"
        ).scalar_one()
    assert stored.startswith("scrypt:")
    assert "correct horse" not in stored


@pytest.mark.parametrize(
    ("username", "password", "role", "depot", "message"),
    [
        ("ok-name", "short", "planner", None, "at least 10"),
        ("ok-name", "long-enough-pw", "wizard", None, "unknown role"),
        ("ok-name", "long-enough-pw", "depot_staff", None, "bound to a depot"),
        ("ok-name", "long-enough-pw", "planner", "BJ", "only depot staff"),
        ("ok-name", "long-enough-pw", "depot_staff", "XX", "unknown depot"),
        ("bad name!", "long-enough-pw", "planner", None, "username"),
        ("", "long-enough-pw", "planner", None, "username"),
    ],
)
def test_create_user_rejects_bad_values_and_writes_nothing(
    engine, username, password, role, depot, message
):
    with pytest.raises(Invalid, match=message):
        auth.create_user(UnitOfWork(engine), username, password, role, depot_code=depot)
    assert auth.list_users(UnitOfWork(engine)) == []


def test_duplicate_username_is_a_conflict(engine):
    auth.create_user(UnitOfWork(engine), "wang", TEST_PASSWORD, "engineer")
    with pytest.raises(Conflict):
        auth.create_user(UnitOfWork(engine), "wang", TEST_PASSWORD, "planner")


def test_depot_staff_is_bound_to_their_depot(engine):
    actor = auth.create_user(
        UnitOfWork(engine), "staff", TEST_PASSWORD, "depot_staff", depot_code="sh"
    )
    assert actor.depot_code == "SH"
    assert actor.can_act_for_depot("SH")
    assert not actor.can_act_for_depot("BJ")


def test_authenticate_gives_the_same_answer_for_unknown_user_and_wrong_password(engine):
    auth.create_user(UnitOfWork(engine), "wang", TEST_PASSWORD, "engineer")
    with pytest.raises(Unauthorized) as wrong_password:
        auth.authenticate(UnitOfWork(engine), "wang", "not-the-password")
    with pytest.raises(Unauthorized) as unknown_user:
        auth.authenticate(UnitOfWork(engine), "nobody", TEST_PASSWORD)
    assert wrong_password.value.detail == unknown_user.value.detail


def test_token_is_issued_for_valid_credentials_and_identifies_the_user(client, make_user):
    actor = make_user("depot_staff", depot="GZ")
    response = client.post(
        "/api/v1/auth/token", json={"username": actor.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["role"] == "depot_staff" and body["depot"] == "GZ"
    me = client.get("/api/v1/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json()["username"] == actor.username


def test_token_is_stored_hashed(client, engine, api_token):
    token = api_token("planner")
    with engine.connect() as connection:
        hashes = connection.exec_driver_sql("SELECT token_hash FROM api_token").scalars().all()
    assert token not in hashes
    assert auth.hash_token(token) in hashes


@pytest.mark.parametrize(
    "body",
    [
        {"username": "nobody", "password": "whatever-long"},
        {"username": "", "password": "x"},
        {"password": "x"},
        ["not", "an", "object"],
    ],
)
def test_token_request_with_bad_credentials_is_refused_with_json(client, body):
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code in (401, 422)
    assert set(response.get_json()) >= {"error", "detail"}


def test_malformed_json_body_is_a_400_with_json(client):
    response = client.post(
        "/api/v1/auth/token", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert "error" in response.get_json()


def test_revoked_token_is_refused(client, api_token):
    token = api_token("engineer")
    assert client.delete("/api/v1/auth/token", headers=bearer(token)).status_code == 204
    response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["detail"] == "token revoked"


def test_expired_token_is_refused(client, api_token):
    token = api_token("engineer")
    with clock.frozen(datetime.now(UTC) + timedelta(hours=13)):
        response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["detail"] == "token expired"


@pytest.mark.parametrize(
    "header", ["Bearer not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer", "token-without-scheme"]
)
def test_bad_authorization_headers_are_401(client, header):
    response = client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_token_endpoint_is_rate_limited(engine, make_user):
    from tests.conftest import make_test_app

    client = make_test_app(engine, login_rate_limit="3 per minute").test_client()
    statuses = [
        client.post(
            "/api/v1/auth/token", json={"username": "x", "password": "y-long-enough"}
        ).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]


def test_workers_share_the_login_limit_through_redis(engine):
    """Two app instances (as two gunicorn workers would be) count one limit in Redis."""
    import uuid

    from tests.conftest import make_test_app

    workers = [
        make_test_app(
            engine,
            login_rate_limit="3 per minute",
            ratelimit_storage_uri="redis://127.0.0.1:6379/15",
        ).test_client()
        for _ in range(2)
    ]
    client_address = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"}
    statuses = [
        workers[i % 2]
        .post(
            "/api/v1/auth/token",
            json={"username": "x", "password": "y-long"},
            environ_base=client_address,
        )
        .status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_token_check_gives_the_actor_and_refuses_a_disabled_user_on_both_databases(any_engine):
    uow = UnitOfWork(any_engine)
    actor = auth.create_user(
        uow, "keeper-sh", TEST_PASSWORD, "depot_staff", depot_code="SH", full_name="Keeper"
    )
    token, _ = auth.issue_token(uow, actor, 12)

    found = auth.actor_for_token(uow, token)

    assert found == actor
    with pytest.raises(Unauthorized, match="unknown token"):
        auth.actor_for_token(uow, token + "x")
    with any_engine.begin() as connection:
        connection.execute(
            text("UPDATE app_user SET active = :no WHERE id = :id"), {"no": False, "id": actor.id}
        )
    with pytest.raises(Unauthorized, match="user disabled"):
        auth.actor_for_token(uow, token)


def test_a_write_after_the_token_check_still_rolls_back_as_a_whole(any_engine):
    # On PostgreSQL the check reads in autocommit; the pooled connection it gives back
    # must be transactional again for the next use case.
    uow = UnitOfWork(any_engine)
    actor = auth.create_user(uow, "rolls-back", TEST_PASSWORD, "planner")
    token, _ = auth.issue_token(uow, actor, 12)
    auth.actor_for_token(uow, token)

    with pytest.raises(Conflict), uow.transaction() as session:
        session.add(auth.User(username="half-made", password_hash="x", role="planner"))
        session.flush()
        raise Conflict("changed my mind")

    with any_engine.connect() as connection:
        made = connection.execute(
            text("SELECT count(*) FROM app_user WHERE username = 'half-made'")
        ).scalar()
    assert made == 0
