"""Who is asking: protected views, their documentation, and the authenticated user's id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, Final, TypeVar

from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_smorest import Api, Blueprint
from flask_smorest.error_handler import ErrorSchema
from jwt import PyJWTError
from sqlalchemy import select

from api_app.blueprint import abort
from api_app.extensions import db
from api_app.models import User

BEARER_SCHEME: Final = "bearerAuth"
CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}

View = TypeVar("View", bound=Callable[..., Any])


def document_bearer_scheme(api: Api) -> None:
    """Declare the access-token scheme once in the OpenAPI document, whoever asks first."""
    if BEARER_SCHEME not in api.spec.components.security_schemes:
        api.spec.components.security_scheme(
            BEARER_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        )


def protected(blp: Blueprint) -> Callable[[View], View]:
    """Require an access token before anything else runs, and say so in the OpenAPI document.

    Use it as the outermost decorator, so a request without a valid token gets 401 even when its
    body is invalid too. Every token problem (missing, malformed, expired, wrong type or audience)
    answers 401 in the one error shape, where flask-jwt-extended alone would answer {"msg"} and
    422 for some of them.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                verify_jwt_in_request()
            except (JWTExtendedException, PyJWTError) as error:
                abort(401, message=f"access token refused: {error}", headers=CHALLENGE)
            return view(*args, **kwargs)

        answers_401 = blp.alt_response(
            401, schema=ErrorSchema, description="Missing, invalid or expired access token"
        )(guarded)
        documented: View = blp.doc(security=[{BEARER_SCHEME: []}])(answers_401)
        return documented

    return decorate


def current_user_id() -> uuid.UUID:
    """The id of the user the access token names, which must still exist.

    A token outlives a deleted account by up to its lifetime; such a token is refused here. The
    row is locked FOR KEY SHARE, so the account cannot be deleted while this request's transaction
    is writing rows that belong to it.
    """
    try:
        user_id = uuid.UUID(str(get_jwt_identity()))
    except ValueError:
        abort(401, message="access token refused: its subject is not a user id", headers=CHALLENGE)
    found = db.session.scalar(
        select(User.id).where(User.id == user_id).with_for_update(key_share=True)
    )
    if found is None:
        abort(
            401,
            message="access token refused: its account no longer exists",
            headers=CHALLENGE,
        )
    return user_id
