"""`/api/users/{userId}/activities`: daily counts per platform; private platforms hidden."""

from __future__ import annotations

from datetime import date

from tributary_common.ledger import records

from .conftest import Api


def test_public_view_leaves_out_private_platforms(api: Api) -> None:
    # Given a user with public GitHub activity and private Instagram activity, and another user
    github = api.connect("u1", "github")
    insta = api.connect("u1", "instagram", private=True)
    stranger = api.connect("u2", "github")
    for conn, day, count in [(github, 1, 3), (github, 2, 4), (insta, 2, 7), (stranger, 1, 99)]:
        records.set_activity(
            api.pool,
            connection_id=conn["id"],
            user_id=conn["user_id"],
            platform=conn["provider"],
            day=date(2024, 3, day),
            count=count,
        )
    window = {"from": "2024-03-01", "to": "2024-03-31"}

    # When the public view is asked for (the default)
    public = api.get("/api/users/u1/activities", params=window).json

    # Then only GitHub shows, and nothing of the other user
    assert public["visibility"] == "public" and public["hiddenPlatforms"] == ["instagram"]
    assert public["days"] == [
        {"date": "2024-03-01", "platforms": {"github": 3}, "total": 3},
        {"date": "2024-03-02", "platforms": {"github": 4}, "total": 4},
    ]
    # And the full view includes the private platform
    full = api.get("/api/users/u1/activities", params={**window, "visibility": "all"}).json
    assert full["days"][1] == {
        "date": "2024-03-02",
        "platforms": {"github": 4, "instagram": 7},
        "total": 11,
    }
    assert full["hiddenPlatforms"] == []

    # When the user makes GitHub private too, the public view is empty
    api.patch(f"/api/connections/{github['id']}", json={"private": True})
    assert api.get("/api/users/u1/activities", params=window).json["days"] == []


def test_activity_parameter_errors(api: Api) -> None:
    base = "/api/users/u1/activities"
    assert api.get(base, params={"from": "2024-02-30"}).status_code == 400
    assert api.get(base, params={"from": "2024-03-02", "to": "2024-03-01"}).status_code == 400
    assert api.get(base, params={"from": "2020-01-01", "to": "2024-01-01"}).status_code == 400
    assert api.get(base, params={"visibility": "friends"}).status_code == 400
    assert api.get(base).json["days"] == []
