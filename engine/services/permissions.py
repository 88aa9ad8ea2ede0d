"""Who may do what (权限): the one role type and the one authorization rule.

The CLI and the dashboard both ask here, and the services ask again when they
run, so there is no second copy of a rule to drift. The CLI has no login: it
runs as the trusted :attr:`Role.OPERATOR` (whoever can run it can edit the
database anyway) and records the ``--actor`` name it is given. The dashboard
passes the logged-in account's role and, for a clerk, the ids of its units.

==========  ===================================================================
operator    the CLI on the server: a supervisor's powers
admin       everything, including the user list (系统管理员)
supervisor  the 督查室: records events, completes, waives, decides extensions,
            reads the audit log
clerk       a unit's contact clerk (联络员), bound to units: completes and asks
            for extensions only on its own units' obligations; records events
            only for plans of the directory whose supervising office (督查室)
            it acts for
viewer      a leader or observer (领导/观察员): reads, downloads reports
==========  ===================================================================

Every clerk right is scoped to the plan's units directory: units belong to one
directory, and a plan supervises only units of its own, so a 督查室 clerk of
one city cannot start another city's deadlines (issue 14, row 4).

Nobody decides their own extension request (不得自批): names are compared
after trimming, collapsing inner white space and case folding, so "林瑜" cannot
approve "林瑜 ".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...errors import DubanError
from ...store.models import Obligation, Plan, Unit


class PermissionDenied(DubanError, PermissionError):
    """The caller's role (or units) does not allow this action."""


class Role(StrEnum):
    """The roles of duban; ``operator`` is the CLI's, the others are dashboard accounts'."""

    OPERATOR = "operator"
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    VIEWER = "viewer"


OPERATOR = Role.OPERATOR
#: The roles a dashboard account can hold (the operator is the CLI, never an account).
ACCOUNT_ROLES: tuple[Role, ...] = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.VIEWER)
ROLE_LABELS: Mapping[Role, str] = {
    Role.OPERATOR: "运维（命令行）", Role.ADMIN: "系统管理员", Role.SUPERVISOR: "督查室",
    Role.CLERK: "单位联络员", Role.VIEWER: "查看",
}

Action = Literal["event", "complete", "waive", "extend.request", "extend.decide"]
_TRUSTED = frozenset({Role.OPERATOR, Role.ADMIN, Role.SUPERVISOR})
_CLERK_OWN_UNITS = frozenset({"complete", "extend.request"})
_ACTION_ZH: Mapping[str, str] = {"event": "登记触发事件", "complete": "报告完成", "waive": "免予督办",
                                 "extend.request": "申请延期", "extend.decide": "审批延期"}


def as_role(role: str) -> Role:
    """``role`` as a :class:`Role`; an unknown name is a refusal, never a default."""
    try:
        return Role(role)
    except ValueError:
        raise PermissionDenied(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}") from None


def same_person(a: str, b: str) -> bool:
    """Whether two actor names are the same person for 不得自批 (white space and case ignored)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def refuse_own_decision(actor: str, requested_by: str, extension_id: int | None = None) -> None:
    """Raise :class:`PermissionDenied` when ``actor`` asked for the extension it would decide."""
    if same_person(actor, requested_by):
        what = f"extension {extension_id!r}" if extension_id is not None else "it"
        raise PermissionDenied(f"{actor!r} requested {what} and may not decide it (cannot decide one's own "
                               f"request): another supervisor must (不得自批)")


def _directory(session: Session, plan_id: str) -> str | None:
    return session.scalar(select(Plan.units_directory).where(Plan.id == plan_id))


def authorize(session: Session, action: Action, *, role: str, unit_ids: Collection[int] | None = None,
              obligation: Obligation | None = None, plan_id: str | None = None) -> None:
    """Refuse ``action`` unless ``role`` (with ``unit_ids`` for a clerk) allows it here.

    ``obligation`` is the object of an obligation action; ``plan_id`` the plan
    of an event. A clerk may complete, or ask for an extension on, its own
    units' obligations, and may record events only on plans of a directory
    whose supervising office it acts for. Without ``plan_id`` (the dashboard
    deciding whether to show a form at all) any supervising unit counts; the
    service always passes the plan and decides again.
    """
    role_ = as_role(role)
    if role_ in _TRUSTED:
        return
    what = _ACTION_ZH[action]
    if role_ is Role.CLERK:
        units = set(unit_ids or ())
        if action in _CLERK_OWN_UNITS and obligation is not None:
            if obligation.unit_id in units:
                return
            unit = session.get(Unit, obligation.unit_id)
            raise PermissionDenied(f"a clerk may {action} ({what}) only for its own units; obligation "
                                   f"{obligation.id!r} belongs to {unit.name if unit else obligation.unit_id!r}")
        if action == "event" and units:
            stmt = select(func.count()).select_from(Unit).where(Unit.id.in_(units), Unit.is_supervisor.is_(True))
            if plan_id is not None:
                directory = _directory(session, plan_id)
                stmt = stmt.where(Unit.directory == directory)
                if session.scalar(stmt):
                    return
                raise PermissionDenied(f"a clerk may {action} ({what}) only for plans of the directory whose "
                                       f"supervising office it acts for; plan {plan_id!r} is in directory "
                                       f"{directory!r}")
            if session.scalar(stmt):
                return
    raise PermissionDenied(f"role {role_.value!r} may not {action} ({what})")


# --------------------------------------------------------------------------- the dashboard's actions


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """Who may do a dashboard action.

    ``service`` names the action in :func:`authorize` when the action changes
    state (the services decide those, for the CLI and the web alike); read-only
    actions are decided by ``roles``.
    """

    label: str
    roles: frozenset[Role] = frozenset()
    service: Action | None = None


_EVERYONE = frozenset(ACCOUNT_ROLES) | {Role.OPERATOR}
_SUPERVISING = frozenset({Role.OPERATOR, Role.ADMIN, Role.SUPERVISOR})

RULES: Mapping[str, Rule] = {
    "view": Rule(label="查看看板", roles=_EVERYONE),
    "report.download": Rule(label="下载报表", roles=_EVERYONE),
    "audit.view": Rule(label="查看审计日志", roles=_SUPERVISING),
    "users.view": Rule(label="查看账号", roles=frozenset({Role.OPERATOR, Role.ADMIN})),
    "event.record": Rule(label="登记触发事件", service="event"),
    "event.correct": Rule(label="更正事件", service="event"),
    "event.retract": Rule(label="撤销事件", service="event"),
    "obligation.complete": Rule(label="登记完成", service="complete"),
    "obligation.waive": Rule(label="免予督办", service="waive"),
    "extension.request": Rule(label="申请延期", service="extend.request"),
    "extension.decide": Rule(label="审批延期", service="extend.decide"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    allowed: bool
    reason: str


def decide(session: Session, *, name: str, role: str, unit_ids: Collection[int], action: str,
           obligation: Obligation | None = None, plan_id: str | None = None,
           requested_by: str | None = None) -> Decision:
    """May the account ``name`` (``role``, ``unit_ids``) do the dashboard ``action``? Deny by default.

    ``requested_by`` is the requester of an extension, who may not decide it.
    """
    rule = RULES.get(action)
    if rule is None:
        return Decision(allowed=False, reason=f"unknown action {action!r}")
    try:
        role_ = as_role(role)
        if rule.service is None:
            if role_ not in rule.roles:
                raise PermissionDenied(f"role {role_.value!r} may not {action}")
        else:
            if obligation is not None and plan_id is None:
                plan_id = obligation.plan_id
            authorize(session, rule.service, role=role_, unit_ids=unit_ids, obligation=obligation, plan_id=plan_id)
        if requested_by is not None:
            refuse_own_decision(name, requested_by)
    except PermissionDenied as exc:
        return Decision(allowed=False, reason=str(exc))
    return Decision(allowed=True, reason="ok")
