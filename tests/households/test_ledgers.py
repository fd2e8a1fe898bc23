"""/api/ledgers: personal and shared ledgers, renaming, deleting, and what notify_app is told."""

from __future__ import annotations

from flask import Flask

from tests.households.conftest import (
    Household,
    Sql,
    create_ledger,
    invite,
    join,
    ledger_events,
    members_of,
)
from tests.users import PASSWORD, SignedInUser

NOT_FOUND_PATHS = (
    ("GET", ""),
    ("PATCH", ""),
    ("DELETE", ""),
    ("GET", "/members"),
    ("POST", "/invitations"),
    ("PATCH", "/members/{member}"),
    ("DELETE", "/members/{member}"),
)


def test_sign_up_makes_a_personal_ledger_with_the_default_categories(anna: SignedInUser) -> None:
    [personal] = anna.expect(200, "GET", "/api/ledgers")
    assert personal == {
        "id": personal["id"],
        "name": "Personal",
        "kind": "personal",
        "role": "owner",
        "member_count": 1,
        "default_split": None,
    }
    assert anna.expect(200, "GET", f"/api/ledgers/{personal['id']}") == personal
    [me] = anna.expect(200, "GET", f"/api/ledgers/{personal['id']}/members")
    assert (me["user_id"], me["email"], me["role"]) == (str(anna.id), anna.email, "owner")
    assert len(anna.expect(200, "GET", "/api/categories?page_size=100")) == 9


def test_a_shared_ledger_is_owned_by_its_maker_and_told_to_notify_app(
    api: Flask, anna: SignedInUser
) -> None:
    created = anna.created("/api/ledgers", {"name": "Home"})
    assert created == {
        "id": created["id"],
        "name": "Home",
        "kind": "shared",
        "role": "owner",
        "member_count": 1,
        "default_split": None,
    }
    listed = anna.expect(200, "GET", "/api/ledgers")
    assert [ledger["kind"] for ledger in listed] == ["personal", "shared"]
    assert listed[1] == created
    [event] = ledger_events(api, created["id"])
    assert (event.type, event.user_id) == ("ledger.membership_changed", str(anna.id))
    assert event.payload["version"] == 1
    assert event.payload["kind"] == "shared"
    assert members_of(event) == {str(anna.id): "owner"}


def test_the_owner_renames_and_every_change_raises_the_version(
    api: Flask, household: Household
) -> None:
    path = f"/api/ledgers/{household.ledger_id}"
    renamed = household.owner.expect(200, "PATCH", path, json={"name": "Flat"})
    assert (renamed["name"], renamed["member_count"]) == ("Flat", 3)
    assert household.member.expect(200, "GET", path)["name"] == "Flat"
    assert household.member.expect(200, "GET", path)["role"] == "member"
    events = ledger_events(api, household.ledger_id)
    # Created, Boris joined, Vera joined, renamed.
    assert [event.payload["version"] for event in events] == [1, 2, 3, 4]
    assert events[-1].payload["name"] == "Flat"
    assert len(events[-1].payload["members"]) == 3


def test_only_the_owner_renames_deletes_or_invites(household: Household) -> None:
    path = f"/api/ledgers/{household.ledger_id}"
    for person in (household.member, household.viewer):
        assert person.patch(path, json={"name": "Mine"}).status_code == 403
        assert person.delete(path).status_code == 403
        answer = person.post(f"{path}/invitations", json={"role": "member"})
        assert answer.status_code == 403
        assert answer.get_json()["message"] == "only the ledger's owner may do this"


def test_a_non_member_gets_404_on_every_path_of_a_ledger(
    household: Household, outsider: SignedInUser
) -> None:
    for method, suffix in NOT_FOUND_PATHS:
        path = f"/api/ledgers/{household.ledger_id}" + suffix.format(member=household.member.id)
        body = {"name": "x"} if suffix == "" else {"role": "member"}
        answer = outsider.request(method, path, json=body if method != "GET" else None)
        assert answer.status_code == 404, (method, path, answer.get_json())


def test_a_personal_ledger_cannot_be_deleted_shared_or_left(anna: SignedInUser) -> None:
    [personal] = anna.expect(200, "GET", "/api/ledgers")
    path = f"/api/ledgers/{personal['id']}"
    assert anna.delete(path).status_code == 409
    assert anna.post(f"{path}/invitations", json={"role": "member"}).status_code == 409
    assert anna.delete(f"{path}/members/{anna.id}").status_code == 409
    assert anna.patch(path, json={"name": "Mine"}).status_code == 200


def test_deleting_a_shared_ledger_takes_everything_in_it(
    api: Flask, household: Household, api_sql: Sql
) -> None:
    path = f"/api/ledgers/{household.ledger_id}"
    household.owner.expect(204, "DELETE", path)
    assert household.owner.get(path).status_code == 404
    assert household.member.get(path).status_code == 404
    assert [ledger["kind"] for ledger in household.member.expect(200, "GET", "/api/ledgers")] == [
        "personal"
    ]
    for table in ("categories", "ledger_members", "ledger_invitations"):
        rows = api_sql(f"SELECT count(*) FROM {table} WHERE ledger_id = %s", (household.ledger_id,))  # noqa: S608
        assert rows == [(0,)], table
    last = ledger_events(api, household.ledger_id)[-1]
    assert (last.type, last.user_id) == ("ledger.deleted", str(household.owner.id))
    assert last.payload == {"ledger_id": household.ledger_id, "version": 4}


def test_names_are_validated(anna: SignedInUser) -> None:
    for body in ({}, {"name": ""}, {"name": "x" * 65}, {"name": 5}):
        assert anna.post("/api/ledgers", json=body).status_code == 422, body


def test_deleting_an_account_hands_its_ledgers_over_and_keeps_their_rows(
    api: Flask, anna: SignedInUser, boris: SignedInUser, vera: SignedInUser, api_sql: Sql
) -> None:
    home = create_ledger(anna)
    join(vera, invite(anna, home, "viewer"))
    join(boris, invite(anna, home, "member"))
    alone = create_ledger(anna, "Anna's own")
    anna.expect(204, "DELETE", "/api/users/me", json={"password": PASSWORD})

    # Boris, the member who joined first after her, owns it now (a viewer only if no member).
    members = boris.expect(200, "GET", f"/api/ledgers/{home}/members")
    assert {member["user_id"]: member["role"] for member in members} == {
        str(boris.id): "owner",
        str(vera.id): "viewer",
    }
    # The categories Anna's ledger was made with stay, made by nobody now.
    assert api_sql("SELECT DISTINCT user_id FROM categories WHERE ledger_id = %s", (home,)) == [
        (None,)
    ]
    assert api_sql("SELECT count(*) FROM ledgers WHERE id = %s", (alone,)) == [(0,)]
    handed_over = ledger_events(api, home)[-1]
    assert handed_over.type == "ledger.membership_changed"
    assert members_of(handed_over) == {str(boris.id): "owner", str(vera.id): "viewer"}
    assert ledger_events(api, alone)[-1].type == "ledger.deleted"
