"""Staff accounts, API tokens and signed-in browser sessions; secrets are stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fulfilment.store.models import ApiToken, User, WebSession, utcnow

ROLES = ("packer", "reviewer", "admin")
"""Roles in rising order: each may do everything the ones before it may."""

SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so both cases take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user cannot be added or found; the message says why."""


@dataclass(frozen=True, slots=True)
class Staff:
    """Who is acting: a signed-in user (with the session's CSRF token) or a script's API token (none)."""

    id: int
    name: str
    role: str
    csrf_token: str | None = None

    def may(self, role: str) -> bool:
        """True if this user's role is `role` or above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_user(session: Session, name: str, role: str, password: str) -> User:
    """Create a user with an argon2 hash of the password; refuses an unknown role, a taken name or a short password."""
    name = name.strip()
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of: {', '.join(ROLES)}")
    if not name:
        raise UserError("the user name is empty")
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserError(f"a user named {name!r} exists already")
    user = User(name=name, role=role, password_hash=_hasher.hash(password), active=True)
    session.add(user)
    session.flush()
    return user


def check_password(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, or None (taking the same time for an unknown name)."""
    user = session.scalar(select(User).where(User.name == name.strip(), User.active.is_(True)))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def issue_token(session: Session, name: str) -> str:
    """A new API token for the user (returned once; only its hash is stored)."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise UserError(f"no user named {name!r}")
    token = "ful_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token)))
    return token


def staff_for_token(session: Session, token: str) -> Staff | None:
    """The active user an API token belongs to (recording its use), or None."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _digest(token), User.active.is_(True))
    ).first()
    if row is None:
        return None
    row.ApiToken.last_used_at = utcnow()
    return Staff(row.User.id, row.User.name, row.User.role)


def open_session(session: Session, user: User) -> str:
    """Start a browser session for the user; returns the cookie value (only its hash is stored)."""
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.add(
        WebSession(
            id=_digest(cookie),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return cookie


def staff_for_session(session: Session, cookie: str) -> Staff | None:
    """The active user of an unexpired browser session, with its CSRF token, or None."""
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id == _digest(cookie), WebSession.expires_at > utcnow(), User.active.is_(True))
    ).first()
    if row is None:
        return None
    return Staff(row.User.id, row.User.name, row.User.role, row.WebSession.csrf_token)


def close_session(session: Session, cookie: str) -> None:
    """Sign a browser session out."""
    session.execute(delete(WebSession).where(WebSession.id == _digest(cookie)))


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.name)))
