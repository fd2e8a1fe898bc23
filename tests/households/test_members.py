"""Invitations, joining, roles and leaving a shared ledger."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

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
from tests.users import SignedInUser

NO_INVITATION = "no such invitation, or it was used or has expired"


def roles(person: SignedInUser, ledger_id: str) -> dict[str, str]:
    members = person.expect(200, "GET", f"/api/ledgers/{ledger_id}/members")
    return {member["user_id"]: member["role"] for member in members}


def test_an_invitation_is_a_single_use_code_with_a_link_for_seven_days(
    anna: SignedInUser, boris: SignedInUser, api_sql: Sql
) -> None:
    home = create_ledger(anna)
    before = datetime.now(UTC)
    invitation = anna.created(f"/api/ledgers/{home}/invitations", {"role": "viewer"})
    code = invitation["code"]
    assert invitation["role"] == "viewer"
    assert invitation["ledger_id"] == home
    assert invitation["link"] == f"http://localhost/join?code={code}"
    expires_at = datetime.fromisoformat(invitation["expires_at"])
    assert before + timedelta(days=7) <= expires_at <= datetime.now(UTC) + timedelta(days=7)
    # Only the code's SHA-256 digest is kept.
    [(digest,)] = api_sql(
        "SELECT code_digest FROM ledger_invitations WHERE ledger_id = %s", (home,)
    )
    assert digest == hashlib.sha256(code.encode()).hexdigest()

    joined = join(boris, code)
    assert joined == {
        "ledger_id": home,
        "ledger_name": "Home",
        "user_id": str(boris.id),
        "role": "viewer",
        "joined_at": joined["joined_at"],
    }
    assert roles(boris, home) == {str(anna.id): "owner", str(boris.id): "viewer"}


def test_unknown_used_and_expired_codes_answer_one_and_the_same_404(
    anna: SignedInUser, boris: SignedInUser, vera: SignedInUser, api_sql: Sql
) -> None:
    home = create_ledger(anna)
    used = invite(anna, home)
    join(boris, used)
    expired = invite(anna, home)
    api_sql(
        "UPDATE ledger_invitations SET expires_at = now() - interval '1 second'"
        " WHERE code_digest = %s",
        (hashlib.sha256(expired.encode()).hexdigest(),),
    )
    for code in ("no-such-code", used, expired):
        answer = vera.post("/api/ledgers/join", json={"code": code})
        assert answer.status_code == 404, code
        assert answer.get_json()["message"] == NO_INVITATION
    assert vera.post("/api/ledgers/join", json={}).status_code == 422


def test_joining_twice_is_a_conflict_and_keeps_the_code(
    anna: SignedInUser, boris: SignedInUser, vera: SignedInUser
) -> None:
    home = create_ledger(anna)
    join(boris, invite(anna, home))
    code = invite(anna, home)
    assert boris.post("/api/ledgers/join", json={"code": code}).status_code == 409
    assert join(vera, code)["role"] == "member"


def test_invitations_give_member_or_viewer_only(anna: SignedInUser) -> None:
    home = create_ledger(anna)
    for role in ("owner", "admin", None):
        answer = anna.post(f"/api/ledgers/{home}/invitations", json={"role": role})
        assert answer.status_code == 422, role


def test_the_members_list_names_each_member_with_their_role(
    household: Household, api_sql: Sql
) -> None:
    api_sql("UPDATE users SET display_name = 'Boris' WHERE id = %s", (str(household.member.id),))
    members = household.viewer.expect(200, "GET", f"/api/ledgers/{household.ledger_id}/members")
    assert [
        (member["user_id"], member["email"], member["display_name"], member["role"])
        for member in members
    ] == [
        (str(household.owner.id), household.owner.email, None, "owner"),
        (str(household.member.id), household.member.email, "Boris", "member"),
        (str(household.viewer.id), household.viewer.email, None, "viewer"),
    ]
    assert all(member["joined_at"] for member in members)


def test_the_owner_changes_roles_and_giving_owner_hands_ownership_over(
    api: Flask, household: Household
) -> None:
    ledger = household.ledger_id
    owner, member, viewer = household.owner, household.member, household.viewer
    changed = owner.expect(
        200, "PATCH", f"/api/ledgers/{ledger}/members/{viewer.id}", json={"role": "member"}
    )
    assert (changed["user_id"], changed["role"]) == (str(viewer.id), "member")
    owner.expect(200, "PATCH", f"/api/ledgers/{ledger}/members/{member.id}", json={"role": "owner"})
    assert roles(owner, ledger) == {
        str(owner.id): "member",
        str(member.id): "owner",
        str(viewer.id): "member",
    }
    last = ledger_events(api, ledger)[-1]
    assert (last.user_id, last.payload["version"]) == (str(owner.id), 5)
    assert members_of(last)[str(member.id)] == "owner"
    # The former owner is a member now: roles are no longer theirs to give.
    answer = owner.patch(f"/api/ledgers/{ledger}/members/{viewer.id}", json={"role": "viewer"})
    assert answer.status_code == 403


def test_role_changes_that_would_leave_no_owner_or_name_no_member_are_refused(
    household: Household, outsider: SignedInUser
) -> None:
    ledger, owner = household.ledger_id, household.owner
    path = f"/api/ledgers/{ledger}/members"
    assert owner.patch(f"{path}/{owner.id}", json={"role": "member"}).status_code == 409
    assert owner.patch(f"{path}/{outsider.id}", json={"role": "member"}).status_code == 404
    assert owner.patch(f"{path}/{owner.id}", json={"role": "king"}).status_code == 422
    member = household.member
    assert member.patch(f"{path}/{member.id}", json={"role": "owner"}).status_code == 403


def test_the_owner_removes_anyone_and_anyone_leaves(api: Flask, household: Household) -> None:
    ledger = household.ledger_id
    owner, member, viewer = household.owner, household.member, household.viewer
    path = f"/api/ledgers/{ledger}/members"
    assert member.delete(f"{path}/{viewer.id}").status_code == 403
    viewer.expect(204, "DELETE", f"{path}/{viewer.id}")
    assert viewer.get(f"/api/ledgers/{ledger}").status_code == 404
    owner.expect(204, "DELETE", f"{path}/{member.id}")
    assert roles(owner, ledger) == {str(owner.id): "owner"}
    assert owner.delete(f"{path}/{member.id}").status_code == 404
    left = ledger_events(api, ledger)[-2:]
    assert [event.user_id for event in left] == [str(viewer.id), str(owner.id)]
    assert members_of(left[-1]) == {str(owner.id): "owner"}


def test_the_owner_leaves_only_once_alone_and_the_ledger_goes_with_them(
    api: Flask, household: Household
) -> None:
    ledger = household.ledger_id
    owner = household.owner
    path = f"/api/ledgers/{ledger}/members"
    answer = owner.delete(f"{path}/{owner.id}")
    assert answer.status_code == 409
    assert "cannot leave while others remain" in answer.get_json()["message"]
    household.member.expect(204, "DELETE", f"{path}/{household.member.id}")
    household.viewer.expect(204, "DELETE", f"{path}/{household.viewer.id}")
    owner.expect(204, "DELETE", f"{path}/{owner.id}")
    assert owner.get(f"/api/ledgers/{ledger}").status_code == 404
    assert ledger_events(api, ledger)[-1].type == "ledger.deleted"
