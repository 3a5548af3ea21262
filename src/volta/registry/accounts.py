"""The accounts role: users, the vehicles assigned to drivers, signing in and refreshing."""

from __future__ import annotations

from volta.errors import AuthError, BadRequest, Conflict, NotFound
from volta.registry import sessions
from volta.registry.database import BUMP, Core, Row, Statements, Taken
from volta.registry.model import USER_ROLES, Role, Session, User, check_name, new_user_id

USER_COLUMNS = "id, name, role, organisation, created_ms, disabled_ms"


class AccountBook(Core):
    """`Accounts` over a `Database`."""

    def add_user(
        self, name: str, role: Role, password: str, organisation: str | None = None
    ) -> User:
        """A person who signs in. Technicians need an organisation; operators have none."""
        check_name("user name", name)
        if role not in USER_ROLES:
            raise BadRequest(f"a user is an operator, technician or driver, not {role.value}")
        if role is Role.TECHNICIAN and organisation is None:
            raise BadRequest("a technician needs an organisation (--org)")
        if role is Role.OPERATOR and organisation is not None:
            raise BadRequest("an operator sees the whole fleet and has no organisation")
        if organisation is not None:
            check_name("organisation", organisation)
        hashed = sessions.hash_password(password)
        now = self._clock()
        user = User(
            id=new_user_id(), name=name, role=role, organisation=organisation, created_ms=now
        )
        try:
            with self._db.connection() as c:
                c.execute(
                    "INSERT INTO users (id, name, password_hash, role, organisation, created_ms)"
                    " VALUES (?,?,?,?,?,?)",
                    (user.id, name, hashed, role.value, organisation, now),
                )
        except Taken:
            raise Conflict(f"user {name} already exists") from None
        return user

    def get_user(self, name: str) -> User:
        with self._db.connection() as c:
            row = c.one(f"SELECT {USER_COLUMNS} FROM users WHERE name = ?", (name,))
            if row is None:
                raise NotFound(f"no user {name}")
            return user_of(c, row)

    def list_users(self, limit: int = 1000, after: str | None = None) -> list[User]:
        with self._db.connection() as c:
            rows = c.rows(
                f"SELECT {USER_COLUMNS} FROM users WHERE name > ? ORDER BY name LIMIT ?",
                (after or "", limit),
            )
            return [user_of(c, r) for r in rows]

    def set_password(self, name: str, password: str) -> None:
        hashed = sessions.hash_password(password)
        with self._db.connection() as c:
            changed = c.execute("UPDATE users SET password_hash = ? WHERE name = ?", (hashed, name))
        if changed == 0:
            raise NotFound(f"no user {name}")

    def disable_user(self, name: str) -> None:
        """The user can no longer sign in, and their session tokens stop working at once."""
        with self._db.transaction() as tx:
            changed = tx.execute(
                "UPDATE users SET disabled_ms = ? WHERE name = ? AND disabled_ms IS NULL",
                (self._clock(), name),
            )
            tx.execute(BUMP)
        if changed == 0:
            raise NotFound(f"no active user {name}")

    def assign(self, name: str, vin: str) -> User:
        """Let a driver see a vehicle."""
        user = self.get_user(name)
        if user.role is not Role.DRIVER:
            raise BadRequest(
                f"{name} is a {user.role.value}: vehicles are assigned to drivers"
                " (technicians see their organisation's vehicles, operators every vehicle)"
            )
        with self._db.transaction() as tx:
            if tx.one("SELECT 1 FROM vehicles WHERE vin = ?", (vin,)) is None:
                raise NotFound(f"vehicle {vin} is not registered")
            tx.execute(
                "INSERT INTO assignments (user_id, vin, created_ms) VALUES (?,?,?)"
                " ON CONFLICT DO NOTHING",
                (user.id, vin, self._clock()),
            )
            tx.execute(BUMP)
        return self.get_user(name)

    def unassign(self, name: str, vin: str) -> User:
        user = self.get_user(name)
        with self._db.transaction() as tx:
            changed = tx.execute(
                "DELETE FROM assignments WHERE user_id = ? AND vin = ?", (user.id, vin)
            )
            tx.execute(BUMP)
        if changed == 0:
            raise NotFound(f"vehicle {vin} is not assigned to {name}")
        return self.get_user(name)

    def sign_in(self, name: str, password: str, ttl_s: int = sessions.DEFAULT_TTL_S) -> Session:
        """A session token for a user's name and password. The same AuthError whether the name
        is unknown, the user disabled or the password wrong (and as slow)."""
        with self._db.connection() as c:
            row = c.one("SELECT password_hash, disabled_ms FROM users WHERE name = ?", (name,))
        hashed: str | None = row[0] if row is not None and row[1] is None else None
        if not sessions.verify_password(hashed, password) or hashed is None:
            raise AuthError("invalid user name or password")
        if sessions.needs_rehash(hashed):  # parameters were raised since it was stored
            self.set_password(name, password)
        user = self.get_user(name)
        token, expires_ms = sessions.issue(
            self._signing_key, user.id, user.role.value, self._clock(), ttl_s
        )
        return Session(token=token, user=user, expires_ms=expires_ms)

    def refresh(self, token: str, ttl_s: int = sessions.DEFAULT_TTL_S) -> Session:
        """A new session token for a valid one, while the user is active and the password was
        checked less than `sessions.MAX_SESSION_S` ago. AuthError otherwise."""
        if not sessions.looks_like_jwt(token):
            raise BadRequest("only sign-in tokens are refreshed; API tokens do not expire")
        now = self._clock()
        claims = sessions.verify(self._signing_key, token, now)
        if now // 1000 - claims.auth_time_s > sessions.MAX_SESSION_S:
            raise AuthError("session too old: sign in again")
        with self._db.connection() as c:
            row = c.one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (claims.user_id,))
            if row is None or row[5] is not None:
                raise AuthError("this user no longer exists or was disabled")
            user = user_of(c, row)
        new, expires_ms = sessions.issue(
            self._signing_key, user.id, user.role.value, now, ttl_s, claims.auth_time_s
        )
        return Session(token=new, user=user, expires_ms=expires_ms)


def user_of(c: Statements, row: Row) -> User:
    """A user from a row of USER_COLUMNS, with its assigned vehicles."""
    vins = tuple(
        r[0]
        for r in c.rows("SELECT vin FROM assignments WHERE user_id = ? ORDER BY vin", (row[0],))
    )
    return User(
        id=row[0],
        name=row[1],
        role=Role(row[2]),
        organisation=row[3],
        created_ms=row[4],
        disabled_ms=row[5],
        vins=vins,
    )
