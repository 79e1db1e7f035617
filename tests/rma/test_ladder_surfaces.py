"""The escalation ladder through the API and its page: everyone reads, admins edit."""

from __future__ import annotations

from tests.conftest import bearer, csrf_token


def test_ladder_is_readable_and_only_admins_change_it(client, api_token):
    ladder = client.get("/api/v1/escalation-ladder", headers=bearer(api_token("engineer")))
    assert ladder.status_code == 200
    rows = {(s["fault_level"], s["step"]): s for s in ladder.get_json()}
    assert rows[("C-1", 2)]["after_hours"] == 8
    body = {"after_hours": 6, "notify_email": "noc-manager@spares.example"}
    refused = client.put(
        "/api/v1/escalation-ladder/C-1/2", json=body, headers=bearer(api_token("supervisor"))
    )
    assert refused.status_code == 403
    admin = bearer(api_token("admin"))
    changed = client.put("/api/v1/escalation-ladder/C-1/2", json=body, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["after_hours"] == 6
    out_of_order = client.put(
        "/api/v1/escalation-ladder/C-1/2", json={"after_hours": 30}, headers=admin
    )
    assert out_of_order.status_code == 422
    assert (
        client.put("/api/v1/escalation-ladder/C-9/2", json=body, headers=admin).status_code == 422
    )


def test_admin_edits_a_rung_on_the_page_and_bad_hours_change_nothing(client, login):
    login("admin")
    page = client.get("/escalations/ladder")
    assert page.status_code == 200 and 'data-testid="step-C-3-1"' in page.get_data(as_text=True)
    token = csrf_token(client, "/escalations/ladder")
    form = {
        "csrf_token": token,
        "fault_level": "C-3",
        "step": "1",
        "after_hours": "2",
        "notify_title": "duty engineer",
        "notify_email": "duty@spares.example",
    }
    assert client.post("/escalations/ladder", data=form).status_code == 302
    bad = client.post("/escalations/ladder", data={**form, "after_hours": "lots"})
    assert bad.status_code == 422
    assert "after_hours must be a number" in bad.get_data(as_text=True)
    assert 'value="2"' in client.get("/escalations/ladder").get_data(as_text=True)


def test_supervisors_see_the_ladder_read_only(client, login):
    login("supervisor")
    html = client.get("/escalations/ladder").get_data(as_text=True)
    assert "Only an administrator can change it." in html
    assert "<button" not in html.split('data-testid="ladder"')[1].split("</table>")[0]
