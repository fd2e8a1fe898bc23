"""Who is asking: protected views, their documentation, and the authenticated user's id."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Final, TypeVar

from flask_jwt_extended import verify_jwt_in_request
from flask_jwt_extended.exceptions import (
    JWTExtendedException,
    NoAuthorizationError,
    UserLookupError,
)
from jwt import ExpiredSignatureError, PyJWTError

from notify_app.auth import (
    BEARER_AUTH,
    RATE_LIMITED,
    TOKEN_NO_LONGER_VALID,
    UNAUTHORIZED,
    current_user_id,
)
from notify_app.blueprint import Blueprint, abort
from notify_app.rate_limits import per_user_writes

__all__ = ["current_user_id", "protected"]

CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}

View = TypeVar("View", bound=Callable[..., Any])

WRITE_METHODS: Final = frozenset({"post", "put", "patch", "delete"})


def protected(blp: Blueprint) -> Callable[[View], View]:
    """Require an access token before anything else runs, and say so in the OpenAPI document.

    Use it as the outermost decorator, so a request without a valid token gets 401 even when its
    body is invalid too. Every token problem answers 401 in the one error shape, in our own
    words (PyJWT's would describe the token's inner workings). Writes (a MethodView's post,
    put, patch and delete) then draw on the user's write budget (WRITE_RATE_LIMIT_PER_USER):
    429 with Retry-After beyond it.
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
                abort(401, message="invalid access token", headers=CHALLENGE)
            return limited(*args, **kwargs)

        answers_401 = blp.alt_response(401, **UNAUTHORIZED)(guarded)
        if is_write:
            answers_401 = blp.alt_response(429, **RATE_LIMITED)(answers_401)
        documented: View = blp.doc(security=BEARER_AUTH)(answers_401)
        return documented

    return decorate
