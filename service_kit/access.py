"""Who is asking: protected views, their documentation, and the authenticated user's id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, Final, TypeVar

from flask_jwt_extended import current_user, verify_jwt_in_request
from flask_jwt_extended.exceptions import (
    JWTExtendedException,
    NoAuthorizationError,
    UserLookupError,
)
from flask_smorest import Blueprint
from jwt import ExpiredSignatureError, PyJWTError

from service_kit.blueprint import abort
from service_kit.openapi import BEARER_AUTH, RATE_LIMITED, UNAUTHORIZED

TOKEN_NO_LONGER_VALID: Final = "access token no longer valid: sign in again"  # noqa: S105 - a message
CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}

View = TypeVar("View", bound=Callable[..., Any])
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

WRITE_METHODS: Final = frozenset({"post", "put", "patch", "delete"})


def protection(per_user_writes: Decorator) -> Callable[[Blueprint], Callable[[View], View]]:
    """The service's `protected`, whose writes draw on its `per_user_writes` limit."""

    def protected(blp: Blueprint) -> Callable[[View], View]:
        """Require an access token before anything else runs, and say so in the OpenAPI document.

        Use it as the outermost decorator, so a request without a valid token gets 401 even when
        its body is invalid too. Every token problem (missing, malformed, expired, wrong type or
        audience) answers 401 in the one error shape, where flask-jwt-extended alone would answer
        {"msg"} and 422 for some of them. Writes (a MethodView's post, put, patch and delete) then
        draw on the user's write budget (WRITE_RATE_LIMIT_PER_USER): 429 with Retry-After beyond
        it.
        """

        def decorate(view: View) -> View:
            is_write = view.__name__ in WRITE_METHODS
            limited = per_user_writes(view) if is_write else view

            @wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    verify_jwt_in_request()
                except UserLookupError:
                    # The account was deleted, or the user signed out everywhere since.
                    abort(401, message=TOKEN_NO_LONGER_VALID, headers=CHALLENGE)
                except NoAuthorizationError:
                    abort(401, message="missing access token", headers=CHALLENGE)
                except ExpiredSignatureError:
                    abort(401, message="access token expired", headers=CHALLENGE)
                except (JWTExtendedException, PyJWTError):
                    # Our own words: PyJWT's text describes the token's inner workings.
                    abort(401, message="invalid access token", headers=CHALLENGE)
                return limited(*args, **kwargs)

            answers_401 = blp.alt_response(401, **UNAUTHORIZED)(guarded)
            if is_write:
                answers_401 = blp.alt_response(429, **RATE_LIMITED)(answers_401)
            documented: View = blp.doc(security=BEARER_AUTH)(answers_401)
            return documented

        return decorate

    return protected


def current_user_id() -> uuid.UUID:
    """The id of the user the access token names.

    verify_jwt_in_request has loaded that user already (the service's user_lookup_loader), and
    refused a token whose account no longer exists or whose epoch is past.
    """
    user_id: uuid.UUID = current_user.id
    return user_id
