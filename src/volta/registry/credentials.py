"""The credentials role: API tokens, and who any token (API or session) stands for."""

from __future__ import annotations

from volta.errors import AuthError, BadRequest, NotFound
from volta.registry import sessions
from volta.registry.accounts import USER_COLUMNS, user_of
from volta.registry.database import BUMP, GENERATION, Core, Statements
from volta.registry.model import (
    Credential,
    IssuedToken,
    Principal,
    Role,
    new_credential_id,
    new_token,
    token_digest,
)

_CACHED = 10_000  # principals kept per cache before it starts over


class CredentialBook(Core):
    """`Credentials` over a `Database`."""

    def issue_token(self, role: Role, vin: str | None = None) -> IssuedToken:
        if role not in (Role.VEHICLE, Role.OPERATOR):
            raise BadRequest("API tokens are for operators (machines) and vehicles")
        if (role is Role.VEHICLE) != (vin is not None):
            raise BadRequest("a vehicle token needs a VIN; an operator token must not have one")
        with self._db.transaction() as tx:
            if vin is not None and tx.one("SELECT 1 FROM vehicles WHERE vin = ?", (vin,)) is None:
                raise NotFound(f"vehicle {vin} is not registered")
            return insert_credential(tx, self._key, role, vin, self._clock())

    def authenticate(self, token: str) -> Principal | None:
        if sessions.looks_like_jwt(token):
            return self._session_principal(token)
        # Look-up by HMAC: the compared value is derived from the secret, so an equality
        # index lookup leaks nothing useful about stored tokens through timing.
        digest = token_digest(self._key, token)
        with self._db.connection() as c:
            generation = _generation(c)
            cached = self._token_principals.get(digest)
            if cached is not None and cached[0] == generation:
                return cached[1]
            row = c.one(
                "SELECT id, role, vin FROM credentials WHERE digest = ? AND revoked_ms IS NULL",
                (digest,),
            )
        if row is None:
            return None
        principal = Principal(role=Role(row[1]), credential_id=row[0], vin=row[2])
        if len(self._token_principals) > _CACHED:
            self._token_principals.clear()
        self._token_principals[digest] = (generation, principal)
        return principal

    def _session_principal(self, token: str) -> Principal:
        claims = sessions.verify(self._signing_key, token, self._clock())
        with self._db.connection() as c:
            generation = _generation(c)
            cached = self._principals.get(claims.user_id)
            if cached is not None and cached[0] == generation:
                return cached[1]
            principal = _load_principal(c, claims.user_id)
        if len(self._principals) > _CACHED:
            self._principals.clear()
        self._principals[claims.user_id] = (generation, principal)
        return principal

    def list_credentials(self, limit: int = 1000, after: str | None = None) -> list[Credential]:
        """Issued API tokens (ids, never secrets), by id."""
        with self._db.connection() as c:
            rows = c.rows(
                "SELECT id, role, vin, created_ms, revoked_ms FROM credentials"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (after or "", limit),
            )
        return [Credential(r[0], Role(r[1]), r[2], r[3], r[4]) for r in rows]

    def revoke(self, credential_id: str) -> None:
        with self._db.transaction() as tx:
            changed = tx.execute(
                "UPDATE credentials SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
                (self._clock(), credential_id),
            )
            tx.execute(BUMP)  # a cached principal of this credential is no longer valid
        if changed == 0:
            raise NotFound(f"no active credential {credential_id}")


def insert_credential(
    c: Statements, key: bytes, role: Role, vin: str | None, now: int
) -> IssuedToken:
    """Store a new token's HMAC (under `key`) and return the token, shown once."""
    token = new_token(role)
    cred_id = new_credential_id()
    c.execute(
        "INSERT INTO credentials (id, digest, role, vin, created_ms) VALUES (?,?,?,?,?)",
        (cred_id, token_digest(key, token), role.value, vin, now),
    )
    return IssuedToken(
        token=token, principal=Principal(role=role, credential_id=cred_id, vin=vin), created_ms=now
    )


def _generation(c: Statements) -> int:
    row = c.one(GENERATION)
    return int(row[0]) if row is not None else 0


def _load_principal(c: Statements, user_id: str) -> Principal:
    """A user's principal with the vehicles it sees."""
    row = c.one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
    if row is None or row[5] is not None:
        raise AuthError("this user no longer exists or was disabled")
    user = user_of(c, row)
    vins: frozenset[str] = frozenset()
    if user.role is Role.DRIVER:
        vins = frozenset(user.vins)
    elif user.role is Role.TECHNICIAN:
        rows = c.rows("SELECT vin FROM vehicles WHERE organisation = ?", (user.organisation,))
        vins = frozenset(r[0] for r in rows)
    return Principal(
        role=user.role,
        credential_id=user.id,
        user=user.name,
        organisation=user.organisation,
        vins=vins,
    )
