"""Classes in the run store: a teacher's join code, the students who joined it, the runs they posted.

:class:`Classroom` works on a :class:`~rnn_demo.store.store.RunStore`'s
engine, so classes are shared by every app replica on PostgreSQL. The teacher
is the visitor (owner hash) who created the class; only that owner manages
it. A student's runs are posted by :meth:`Classroom.collect`: every training
or Compare set the student stored after joining, while the class is open and
under the posts limit, unless the student unposted it or the teacher removed
it. The board calls it on every poll, so nothing in the training path needs
to know about classes. Limits: :class:`ClassLimits`.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, delete, func, insert, select, true, update

from rnn_demo.config import ConfigError, positive_setting
from rnn_demo.errors import UserError
from rnn_demo.store.runs import check_run_id
from rnn_demo.store.schema import CLASS_CODE_LENGTH, NICKNAME_MAX, classes, posts, runs, students
from rnn_demo.store.settings import check_owner
from rnn_demo.store.store import RunStore

# Letters that cannot be misheard or misread for one another (no B/D/E/P, I/L, O/Q, S/F, U/V, Z/C).
CODE_LETTERS = "ACFGHJKMNRTWXY"
POSTED_KINDS = ("training", "compare")  # what a student's runs post (not uploads)


class ClassNotFound(UserError, LookupError):
    """A code names no open class: mistyped, expired, or closed (the message says which)."""


@dataclass(frozen=True)
class ClassLimits:
    """What one host allows: classes on the server, students per class, posts per student, days a class lives."""

    max_classes: int = 100
    max_students: int = 200
    max_posts: int = 20
    class_days: float = 7.0

    def __post_init__(self) -> None:
        for name in ("max_classes", "max_students", "max_posts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number from 1; got {value!r}")
        if not isinstance(self.class_days, (int, float)) or not self.class_days > 0:
            raise ConfigError(f"class_days must be a number above 0; got {self.class_days!r}")

    @classmethod
    def from_env(cls) -> ClassLimits:
        """``RNN_DEMO_MAX_CLASSES``, ``RNN_DEMO_MAX_STUDENTS``, ``RNN_DEMO_MAX_POSTS``, ``RNN_DEMO_CLASS_DAYS``."""
        defaults = cls()
        return cls(
            max_classes=positive_setting("RNN_DEMO_MAX_CLASSES", int, defaults.max_classes),
            max_students=positive_setting("RNN_DEMO_MAX_STUDENTS", int, defaults.max_students),
            max_posts=positive_setting("RNN_DEMO_MAX_POSTS", int, defaults.max_posts),
            class_days=positive_setting("RNN_DEMO_CLASS_DAYS", float, defaults.class_days),
        )


@dataclass(frozen=True)
class ClassInfo:
    """One class. ``expires``: when its code stops working; ``closed``: when the teacher closed it."""

    code: str
    teacher: str
    created: datetime
    expires: datetime
    closed: datetime | None
    assignment: dict | None

    @property
    def is_open(self) -> bool:
        return self.closed is None


@dataclass(frozen=True)
class BoardRow:
    """A posted run as the board shows it (curves: the run's ``val_iterations`` and ``val_accuracy``)."""

    run_id: str
    nickname: str
    owner: str
    kind: str
    status: str
    arch: str
    config: dict
    iterations: int
    val_accuracy: float | None
    finished: datetime
    posted: datetime
    val_iterations: list
    val_accuracies: list


def normalise_code(code: object) -> str:
    """``code`` as stored (upper case, spaces and dashes dropped); a :class:`ClassNotFound` if it cannot be one."""
    text = "".join(str(code or "").split()).replace("-", "").upper()
    if len(text) != CLASS_CODE_LENGTH or any(letter not in CODE_LETTERS for letter in text):
        raise ClassNotFound(f"“{text[:12]}” is not a class code: a code is {CLASS_CODE_LENGTH} letters, "
                            "as the teacher's board shows it.")
    return text


def clean_nickname(nickname: object) -> str:
    """One line of printable text, at most :data:`NICKNAME_MAX` characters; a :class:`UserError` if empty."""
    text = " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in str(nickname or "")).split())
    text = text[:NICKNAME_MAX].strip()
    if not text:
        raise UserError("Pick a nickname of at least one letter (no real name needed).")
    return text


def new_code() -> str:
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CLASS_CODE_LENGTH))


class Classroom:
    """Every class of one store; ``limits`` default to :meth:`ClassLimits.from_env`."""

    def __init__(self, store: RunStore, limits: ClassLimits | None = None):
        self.store = store
        self.limits = limits or ClassLimits.from_env()
        # The store package's own transactions (one writer at a time, failures as StoreError).
        self._write, self._read = store._write, store._read

    def create_class(self, teacher: str) -> ClassInfo:
        """A new open class managed by ``teacher`` (an owner hash), with a fresh join code."""
        teacher, now = check_owner(teacher), _now()
        with self._write("create a class") as connection:
            live = connection.scalar(select(func.count()).select_from(classes).where(self._live(now)))
            if live >= self.limits.max_classes:
                raise UserError(f"This server already runs {live} classes, its limit; try again when one "
                                "has expired, or ask its host.")
            taken = set(connection.scalars(select(classes.c.code)))
            code = new_code()
            while code in taken:
                code = new_code()
            connection.execute(insert(classes).values(code=code, teacher=teacher, created_at=now))
        return self.get_class(code)

    def get_class(self, code: str) -> ClassInfo:
        """The class ``code`` names (open or closed); :class:`ClassNotFound` if wrong or expired."""
        code = normalise_code(code)
        with self._read("read a class") as connection:
            row = connection.execute(select(classes).where(classes.c.code == code)).first()
        if row is None:
            raise ClassNotFound(f"No class has the code {code}: check the letters on the teacher's board.")
        info = self._info(row)
        if info.expires <= _now():
            raise ClassNotFound(f"The class {code} has ended: classes last {self.limits.class_days:g} days.")
        return info

    def teacher_classes(self, teacher: str) -> list[ClassInfo]:
        """The live classes ``teacher`` created, newest first."""
        teacher = check_owner(teacher)
        with self._read("list your classes") as connection:
            rows = connection.execute(select(classes).where(classes.c.teacher == teacher, self._live(_now()))
                                      .order_by(classes.c.created_at.desc())).all()
        return [self._info(row) for row in rows]

    def student_classes(self, owner: str) -> list[tuple[ClassInfo, str]]:
        """The live classes ``owner`` joined, newest first, each with the nickname used there."""
        owner = check_owner(owner)
        with self._read("list your classes") as connection:
            rows = connection.execute(
                select(classes, students.c.nickname).join(students, students.c.class_code == classes.c.code)
                .where(students.c.owner == owner, self._live(_now())).order_by(students.c.joined_at.desc())
            ).all()
        return [(self._info(row), row.nickname) for row in rows]

    def nickname(self, code: str, owner: str) -> str | None:
        """``owner``'s nickname in class ``code``, or ``None`` if they have not joined it."""
        code, owner = normalise_code(code), check_owner(owner)
        with self._read("read a class") as connection:
            return connection.scalar(select(students.c.nickname).where(
                students.c.class_code == code, students.c.owner == owner))

    def join(self, code: str, nickname: str, owner: str) -> str:
        """Join ``owner`` to the open class ``code`` as ``nickname`` (or rename them); the nickname kept."""
        info, nickname, owner = self.get_class(code), clean_nickname(nickname), check_owner(owner)
        if not info.is_open:
            raise ClassNotFound(f"The class {info.code} is closed: its teacher takes no more students.")
        with self._write("join a class") as connection:
            self._lock(connection, info.code)
            here = connection.execute(select(students.c.owner, students.c.nickname)
                                      .where(students.c.class_code == info.code)).all()
            if any(row.nickname.casefold() == nickname.casefold() and row.owner != owner for row in here):
                raise UserError(f"Someone in this class is already “{nickname}”: pick another nickname.")
            if any(row.owner == owner for row in here):
                connection.execute(update(students).where(students.c.class_code == info.code,
                                                          students.c.owner == owner).values(nickname=nickname))
                return nickname
            if len(here) >= self.limits.max_students:
                raise UserError(f"The class {info.code} is full: it has {len(here)} students, the most this "
                                "server allows.")
            connection.execute(insert(students).values(class_code=info.code, owner=owner, nickname=nickname,
                                                       joined_at=_now()))
        return nickname

    def leave(self, code: str, owner: str) -> None:
        """Take ``owner`` out of class ``code``, and their posts off its board."""
        code, owner = normalise_code(code), check_owner(owner)
        with self._write("leave a class") as connection:
            connection.execute(delete(posts).where(posts.c.class_code == code, posts.c.owner == owner))
            connection.execute(delete(students).where(students.c.class_code == code, students.c.owner == owner))

    def collect(self, code: str) -> int:
        """Post the runs the students of open class ``code`` stored since joining; how many were posted."""
        code, now = normalise_code(code), _now()
        seen = select(posts.c.run_id).where(posts.c.class_code == code)
        waiting = (
            select(runs.c.id, runs.c.owner, runs.c.created_at)
            .join(students, and_(students.c.owner == runs.c.owner, students.c.class_code == code))
            .join(classes, classes.c.code == code)
            .where(runs.c.kind.in_(POSTED_KINDS), runs.c.created_at >= students.c.joined_at,
                   classes.c.closed_at.is_(None), self._live(now), self.store._current(),
                   runs.c.id.not_in(seen))
            .order_by(runs.c.created_at, runs.c.id)
        )
        with self._read("read a class") as connection:
            if connection.execute(waiting.limit(1)).first() is None:
                return 0  # the usual poll: nothing new, no write
        with self._write("post runs to a class") as connection:
            self._lock(connection, code)
            counts = dict(connection.execute(
                select(posts.c.owner, func.count()).where(posts.c.class_code == code, posts.c.state == "posted")
                .group_by(posts.c.owner)).all())
            new = []
            for row in connection.execute(waiting).all():
                if counts.get(row.owner, 0) < self.limits.max_posts:
                    counts[row.owner] = counts.get(row.owner, 0) + 1
                    new.append({"class_code": code, "run_id": row.id, "owner": row.owner, "state": "posted",
                                "posted_at": now})
            if new:
                connection.execute(insert(posts), new)
        return len(new)

    def version(self, code: str) -> tuple:
        """What changes whenever the board of ``code`` would (after :meth:`collect`): one light query."""
        code = normalise_code(code)
        self.collect(code)
        with self._read("read a class") as connection:
            row = connection.execute(
                select(func.count(), func.count().filter(posts.c.state == "posted"), func.max(posts.c.posted_at),
                       select(classes.c.closed_at).where(classes.c.code == code).scalar_subquery())
                .select_from(posts).where(posts.c.class_code == code)
            ).one()
        return tuple(row)

    def unpost(self, code: str, owner: str, run_id: str) -> None:
        """Take one of ``owner``'s runs off the board of ``code`` (it is not posted again)."""
        self._set_state(code, run_id, "unposted", posts.c.owner == check_owner(owner), "unpost a run")

    def remove_post(self, code: str, teacher: str, run_id: str) -> None:
        """The teacher of ``code`` takes a run off its board."""
        self._check_teacher(code, teacher)
        self._set_state(code, run_id, "removed", true(), "remove a post")

    def close(self, code: str, teacher: str) -> None:
        """Close the class: no more joins, no more posts; its board stays readable until it expires."""
        info = self._check_teacher(code, teacher)
        with self._write("close a class") as connection:
            connection.execute(update(classes).where(classes.c.code == info.code, classes.c.closed_at.is_(None))
                               .values(closed_at=_now()))

    def set_assignment(self, code: str, teacher: str, assignment: dict | None) -> None:
        """The teacher's preset for the class (recipe and hyperparameters, each pinned or free), or none."""
        info = self._check_teacher(code, teacher)
        with self._write("set the assignment") as connection:
            connection.execute(update(classes).where(classes.c.code == info.code).values(assignment=assignment))

    def board(self, code: str) -> list[BoardRow]:
        """The runs posted to ``code`` (after :meth:`collect`), oldest first."""
        code = self.get_class(code).code
        self.collect(code)
        query = (
            select(posts.c.run_id, posts.c.owner, posts.c.posted_at, students.c.nickname, runs.c.kind,
                   runs.c.status, runs.c.arch, runs.c.config, runs.c.iterations, runs.c.val_accuracy,
                   runs.c.created_at, runs.c.curves["val_iterations"].label("val_iterations"),
                   runs.c.curves["val_accuracy"].label("val_accuracies"))  # not the long training loss
            .join(runs, runs.c.id == posts.c.run_id)
            .join(students, and_(students.c.owner == posts.c.owner, students.c.class_code == posts.c.class_code))
            .where(posts.c.class_code == code, posts.c.state == "posted", self.store._current())
            .order_by(posts.c.posted_at, runs.c.created_at, posts.c.run_id)
        )
        with self._read("read a class board") as connection:
            rows = connection.execute(query).all()
        return [BoardRow(
            run_id=row.run_id, nickname=row.nickname, owner=row.owner, kind=row.kind, status=row.status,
            arch=row.arch, config=row.config or {}, iterations=row.iterations, val_accuracy=row.val_accuracy,
            finished=row.created_at, posted=row.posted_at,
            val_iterations=list(row.val_iterations or []), val_accuracies=list(row.val_accuracies or []),
        ) for row in rows]

    def purge_expired(self) -> int:
        """Delete the classes past their days (students and posts with them); how many went."""
        with self._write("remove expired classes") as connection:
            return connection.execute(delete(classes).where(~self._live(_now()))).rowcount

    def _check_teacher(self, code: str, teacher: str) -> ClassInfo:
        info = self.get_class(code)
        if info.teacher != check_owner(teacher):
            raise UserError(f"Only the teacher who created the class {info.code} can manage it.")
        return info

    def _set_state(self, code: str, run_id: str, state: str, who, action: str) -> None:
        code, run_id = normalise_code(code), check_run_id(run_id)
        with self._write(action) as connection:
            changed = connection.execute(update(posts).where(posts.c.class_code == code, posts.c.run_id == run_id,
                                                             who).values(state=state)).rowcount
        if not changed:
            raise UserError(f"The run {run_id} is not on the board of the class {code}.")

    def _lock(self, connection, code: str) -> None:
        """Serialise the class's joins and posts (PostgreSQL; SQLite writers are one at a time already)."""
        connection.execute(select(classes.c.code).where(classes.c.code == code).with_for_update())

    def _live(self, now: datetime):
        return classes.c.created_at >= now - timedelta(days=self.limits.class_days)

    def _info(self, row) -> ClassInfo:
        return ClassInfo(code=row.code, teacher=row.teacher, created=row.created_at,
                         expires=row.created_at + timedelta(days=self.limits.class_days), closed=row.closed_at,
                         assignment=row.assignment)


def _now() -> datetime:
    return datetime.now(timezone.utc)
