"""The spam and swindler gate (policy §8): blocklists, keyword and pattern rules.

"We keep track of spam and swindler accounts, which may be blocked through filtering at the
server level. Requests containing words which may be treated as spam-related … are filtered at
the server level, as well as by company employees manually." A submission that matches is not
dropped: it is quarantined for a person to release or reject (see
:class:`privacyops.intake.quarantine.Quarantine`).

:class:`SpamFilter` is the in-memory form of the lists (one database read per batch);
:func:`load_filter` builds it and :func:`add_block`, :func:`add_rule` and friends manage the
lists, each change audited as a configuration change.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog
from privacyops.errors import InvalidInput, NotFound
from privacyops.identities import normalise_identity
from privacyops.intake.fields import FieldProblem, validate_value
from privacyops.intake.models import BLOCK_KINDS, RULE_KINDS, Block, SpamRule
from privacyops.store import KeyRing

__all__ = [
    "SpamFilter",
    "add_block",
    "add_rule",
    "list_blocks",
    "list_rules",
    "load_filter",
    "remove_block",
    "remove_rule",
]

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NET = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_PATTERN = 500


def _index(keyring: KeyRing, kind: str, value: str) -> str:
    # Its own namespace ("block:…"), so a blocklist hash never equals a registry identity hash.
    return keyring.blind_index(f"block:{kind}", value).hex()


def _mask(value: str) -> str:
    """``ann.smith@example.com`` -> ``a***@example.com``; ``live:ann`` -> ``l***n``."""
    if "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"[:128]
    return f"{value[:1]}***{value[-1:]}" if len(value) > 2 else "***"


def _account_form(value: str) -> str:
    """The identity normal form a blocked account is compared in: a phone number in E.164, a
    LinkedIn URL without scheme and ``www.``, anything else case-folded."""
    try:
        return str(validate_value("phone", value))
    except FieldProblem:
        pass
    if "linkedin." in value.lower():
        return normalise_identity("linkedin", value)
    return normalise_identity("skype", value)


@dataclass
class SpamFilter:
    """A snapshot of the blocklists and active rules, ready to match submissions."""

    keyring: KeyRing
    emails: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    domains: dict[str, int] = field(default_factory=dict)
    networks: list[tuple[_NET, int]] = field(default_factory=list)
    keywords: list[tuple[str, int]] = field(default_factory=list)
    patterns: list[tuple[re.Pattern[str], int]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.emails
            or self.accounts
            or self.domains
            or self.networks
            or self.keywords
            or self.patterns
        )

    def match(
        self,
        identities: Iterable[tuple[str, str]],
        texts: Iterable[str],
        client_ip: str | None = None,
    ) -> list[str]:
        """What of the lists a submission matches, as ``"blocklist:<kind>#<id>"`` and
        ``"rule:<kind>#<id>"`` reasons (no personal data); empty when it is clean."""
        if self.empty:
            return []
        reasons: list[str] = []
        for kind, value in identities:
            if kind == "email":
                if self.emails:
                    hit = self.emails.get(_index(self.keyring, "email", value.lower()))
                    if hit is not None:
                        reasons.append(f"blocklist:email#{hit}")
                domain = value.rpartition("@")[2].lower()
                labels = domain.split(".")
                for i in range(len(labels) - 1):
                    hit = self.domains.get(".".join(labels[i:]))
                    if hit is not None:
                        reasons.append(f"blocklist:domain#{hit}")
                        break
            elif self.accounts and kind != "name_company":
                form = normalise_identity(kind, value).casefold()
                hit = self.accounts.get(_index(self.keyring, "account", form))
                if hit is not None:
                    reasons.append(f"blocklist:account#{hit}")
        if client_ip and self.networks:
            address: _IP | None
            try:
                address = ipaddress.ip_address(client_ip)
            except ValueError:  # an unparsable peer address: nothing to match
                address = None
            if address is not None:
                for net, nid in self.networks:
                    if address.version == net.version and address in net:
                        reasons.append(f"blocklist:ip_range#{nid}")
                        break
        if self.keywords or self.patterns:
            folded = [t.casefold() for t in texts]
            for word, rid in self.keywords:
                if any(word in t for t in folded):
                    reasons.append(f"rule:keyword#{rid}")
            for pattern, rid in self.patterns:
                if any(pattern.search(t) for t in folded):
                    reasons.append(f"rule:regex#{rid}")
        return reasons


def load_filter(session: Session, keyring: KeyRing) -> SpamFilter:
    """Read the blocklists and active rules into a :class:`SpamFilter`."""
    found = SpamFilter(keyring)
    for block in session.scalars(sa.select(Block)):
        if block.kind == "email":
            found.emails[block.match_key] = block.id
        elif block.kind == "account":
            found.accounts[block.match_key] = block.id
        elif block.kind == "domain":
            found.domains[block.match_key] = block.id
        elif block.kind == "ip_range":
            found.networks.append((ipaddress.ip_network(block.match_key), block.id))
    for rule in session.scalars(sa.select(SpamRule).where(SpamRule.active.is_(True))):
        if rule.kind == "keyword":
            found.keywords.append((rule.pattern.casefold(), rule.id))
        else:
            found.patterns.append((re.compile(rule.pattern, re.IGNORECASE), rule.id))
    return found


def _block_key(kind: str, value: str, keyring: KeyRing) -> tuple[str, str]:
    """The match key and display form of a blocklist entry; raises InvalidInput."""
    if kind not in BLOCK_KINDS:
        raise InvalidInput(
            f"Unknown blocklist kind '{kind[:32]}'; use one of {', '.join(BLOCK_KINDS)}."
        )
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > 320:
        raise InvalidInput("A blocklist value must be 1 to 320 characters.")
    if kind == "email":
        try:
            email = validate_value("email", text)
        except FieldProblem:
            raise InvalidInput("The blocklist value is not a valid e-mail address.") from None
        return _index(keyring, "email", email.lower()), _mask(email)
    if kind == "account":
        form = _account_form(text)
        return _index(keyring, "account", form), _mask(form)
    if kind == "domain":
        domain = text.lower().lstrip("@").rstrip(".")
        if not re.fullmatch(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}", domain):
            raise InvalidInput("The blocklist value is not a domain name like example.com.")
        return domain, domain
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput(
            "The blocklist value is not an IP address or network like 203.0.113.0/24."
        ) from None
    return str(net), str(net)


def add_block(
    session: Session,
    audit: AuditLog,
    keyring: KeyRing,
    kind: str,
    value: str,
    *,
    actor: str,
    note: str | None = None,
) -> Block:
    """Add a blocklist entry (idempotent: an existing equal entry is returned).

    Raises:
        InvalidInput: unknown kind or a malformed value.
    """
    key, display = _block_key(kind, value, keyring)
    existing = session.scalar(sa.select(Block).where(Block.kind == kind, Block.match_key == key))
    if existing is not None:
        return existing
    block = Block(kind=kind, match_key=key, display=display, note=_note(note), created_by=actor)
    session.add(block)
    session.flush()
    audit.append(
        "config.change",
        actor=actor,
        reason="spam gate (policy §8): blocklist entry added",
        details={"object": "intake.block", "id": block.id, "kind": kind},
        session=session,
    )
    return block


def remove_block(session: Session, audit: AuditLog, block_id: int, *, actor: str) -> None:
    """Delete a blocklist entry. Raises NotFound when there is none with this id."""
    block = session.get(Block, block_id)
    if block is None:
        raise NotFound(f"No blocklist entry {block_id}.")
    session.delete(block)
    audit.append(
        "config.change",
        actor=actor,
        reason="spam gate (policy §8): blocklist entry removed",
        details={"object": "intake.block", "id": block_id, "kind": block.kind},
        session=session,
    )


def add_rule(
    session: Session,
    audit: AuditLog,
    kind: str,
    pattern: str,
    *,
    actor: str,
    note: str | None = None,
) -> SpamRule:
    """Add a keyword or regular-expression rule.

    Raises:
        InvalidInput: unknown kind, an empty or too long pattern, or a regex that does not
            compile.
    """
    if kind not in RULE_KINDS:
        raise InvalidInput(f"Unknown rule kind '{kind[:32]}'; use one of {', '.join(RULE_KINDS)}.")
    text = pattern.strip() if isinstance(pattern, str) else ""
    if not text or len(text) > MAX_PATTERN:
        raise InvalidInput(f"A rule pattern must be 1 to {MAX_PATTERN} characters.")
    if kind == "regex":
        try:
            re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise InvalidInput(
                f"The pattern is not a valid regular expression: {exc.msg}."
            ) from None
    rule = SpamRule(kind=kind, pattern=text, note=_note(note), created_by=actor, active=True)
    session.add(rule)
    session.flush()
    audit.append(
        "config.change",
        actor=actor,
        reason="spam gate (policy §8): rule added",
        details={"object": "intake.rule", "id": rule.id, "kind": kind},
        session=session,
    )
    return rule


def remove_rule(session: Session, audit: AuditLog, rule_id: int, *, actor: str) -> None:
    """Delete a rule. Raises NotFound when there is none with this id."""
    rule = session.get(SpamRule, rule_id)
    if rule is None:
        raise NotFound(f"No spam rule {rule_id}.")
    session.delete(rule)
    audit.append(
        "config.change",
        actor=actor,
        reason="spam gate (policy §8): rule removed",
        details={"object": "intake.rule", "id": rule_id, "kind": rule.kind},
        session=session,
    )


def list_blocks(session: Session) -> list[dict[str, Any]]:
    """The blocklist, oldest first, as display rows (e-mails and accounts masked)."""
    return [
        {
            "id": b.id,
            "kind": b.kind,
            "value": b.display,
            "note": b.note,
            "created_by": b.created_by,
            "created_at": b.created_at.isoformat(),
        }
        for b in session.scalars(sa.select(Block).order_by(Block.id))
    ]


def list_rules(session: Session) -> list[dict[str, Any]]:
    """The rules, oldest first."""
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "pattern": r.pattern,
            "active": r.active,
            "note": r.note,
            "created_by": r.created_by,
            "created_at": r.created_at.isoformat(),
        }
        for r in session.scalars(sa.select(SpamRule).order_by(SpamRule.id))
    ]


def _note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    return note.strip()[:300]
