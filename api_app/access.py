"""Who is asking: protected views, their documentation, and the authenticated user's id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, Final, TypeVar

from flask_jwt_extended import current_user, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException, UserLookupError
from flask_smorest import Blueprint
from jwt import PyJWTError

from api_app.auth.openapi import BEARER_AUTH, UNAUTHORIZED
from api_app.blueprint import abort

CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}

View = TypeVar("View", bound=Callable[..., Any])


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
            except UserLookupError:
                # A token outlives a deleted account by up to its lifetime.
                abort(
                    401,
                    message="access token refused: its account no longer exists",
                    headers=CHALLENGE,
                )
            except (JWTExtendedException, PyJWTError) as error:
                abort(401, message=f"access token refused: {error}", headers=CHALLENGE)
            return view(*args, **kwargs)

        answers_401 = blp.alt_response(401, **UNAUTHORIZED)(guarded)
        documented: View = blp.doc(security=BEARER_AUTH)(answers_401)
        return documented

    return decorate


def current_user_id() -> uuid.UUID:
    """The id of the user the access token names.

    verify_jwt_in_request has loaded that user already (api_app.auth.access_tokens), locked FOR
    KEY SHARE, and refused a token whose account no longer exists.
    """
    user_id: uuid.UUID = current_user.id
    return user_id
