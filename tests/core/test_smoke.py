def test_token_round_trip(client, api_token):
    token = api_token("planner")
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["role"] == "planner"


def test_postgres_migrates(pg_engine):
    from sqlalchemy import text

    with pg_engine.connect() as c:
        assert c.execute(text("select count(*) from calendar")).scalar() == 0
