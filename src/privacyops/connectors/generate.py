"""Draft a dataset file from a live database's schema.

Tables, columns, primary keys and foreign keys come from the database; data categories,
identity fields, the timestamp column and masking are *guessed* from column names and types,
so the draft says so at the top and a person reviews it before use (then ``dataset lint``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from privacyops.errors import DependencyUnavailable

__all__ = ["generate_dataset", "guess_category"]

# (pattern on the lower-case column name, category, identity type) — first match wins.
_RULES: list[tuple[str, str, str | None]] = [
    (r"(^|_)e_?mail(_address)?$|^mail$", "user.contact.email", "email"),
    (r"phone|mobile|(^|_)tel(ephone)?$|msisdn", "user.contact.phone_number", "phone"),
    (r"first_?name|given_?name|forename", "user.name.first", None),
    (r"last_?name|sur_?name|family_?name", "user.name.last", None),
    (r"^(full_?)?name$|display_?name|contact_?name", "user.name", None),
    (r"user_?name|login_?name|^login$|nick", "user.account.username", None),
    (r"pass(word)?(_?hash)?$|pwd", "user.authorization.password", None),
    (r"(^|_)ip(_?addr(ess)?)?$", "user.device.ip_address", None),
    (r"user_?agent|device", "user.device.device_id", None),
    (r"cookie", "user.device.cookie_id", None),
    (r"street|address|addr_?line|^addr", "user.contact.address.street", None),
    (r"city|town", "user.contact.address.city", None),
    (r"zip|postal|post_?code", "user.contact.address.postal_code", None),
    (r"country", "user.contact.address.country", None),
    (r"(^|_)state$|province|region", "user.contact.address.state", None),
    (r"birth|dob", "user.demographic.date_of_birth", None),
    (r"gender|(^|_)sex$", "user.demographic.gender", None),
    (r"(^|_)lang(uage)?$|locale", "user.demographic.language", None),
    (
        r"ssn|national_?id|tax_?id|(^|_)nin$",
        "user.government_id.national_identification_number",
        None,
    ),
    (r"passport", "user.government_id.passport_number", None),
    (r"card_?(number|no)|credit_?card|(^|_)pan$", "user.financial.credit_card", None),
    (r"iban|bank_?account|account_?number", "user.financial.bank_account", None),
    (r"company|organi[sz]ation|employer", "user.contact.organization", None),
    (r"job_?title|position", "user.job_title", None),
    (r"website|url|homepage", "user.contact.url", None),
    (r"latitude|longitude|(^|_)lat$|(^|_)lng$|(^|_)lon$|geo", "user.location.precise", None),
    (r"note|comment|message|body|text", "user.content.private", None),
]
_PERSON_TABLE = re.compile(r"customer|user|client|member|person|people|contact|account|patient")
_TIMESTAMP = re.compile(r"^(created|inserted|registered|signed_up)(_at|_on|_date)?$|^date_created$")


def guess_category(column: str) -> tuple[str | None, str | None]:
    """(data category, identity type) guessed from a column name; (None, None) when no rule
    matches."""
    low = column.lower()
    for pattern, category, identity in _RULES:
        if re.search(pattern, low):
            return category, identity
    return None, None


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML scalar


def generate_dataset(engine: Engine | str, *, name: str, schema: str | None = None) -> str:
    """YAML text of a draft dataset for every table of ``schema`` in the database."""
    own = isinstance(engine, str)
    eng = sa.create_engine(engine) if isinstance(engine, str) else engine
    try:
        inspector = sa.inspect(eng)
        tables = sorted(inspector.get_table_names(schema=schema))
        out = [
            f"# Draft dataset generated from the schema of {eng.dialect.name} database.",
            "# Categories, identities and masking are GUESSED from column names: review every",
            "# line, then run `privacyops dataset lint FILE --url URL`.",
            "dataset:",
            f"  name: {_q(name)}",
            "  collections:",
        ]
        for table in tables:
            out.extend(_table_yaml(inspector, table, schema))
    except sa.exc.OperationalError:
        raise DependencyUnavailable("The database did not answer.") from None
    finally:
        if own:
            eng.dispose()
    return "\n".join(out) + "\n"


def _table_yaml(inspector: Any, table: str, schema: str | None) -> list[str]:
    columns = inspector.get_columns(table, schema=schema)
    pk = set(inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or [])
    fks: dict[str, list[str]] = {}
    for fk in inspector.get_foreign_keys(table, schema=schema):
        for col, ref in zip(fk["constrained_columns"], fk["referred_columns"], strict=False):
            fks.setdefault(col, []).append(f"{fk['referred_table']}.{ref}")
    person_table = bool(_PERSON_TABLE.search(table.lower()))
    lines = [f"    - name: {_q(table)}"]
    stamp = next(
        (
            c["name"]
            for c in columns
            if _TIMESTAMP.match(c["name"].lower()) and isinstance(c["type"], sa.DateTime | sa.Date)
        ),
        None,
    )
    if stamp:
        lines.append(f"      timestamp: {_q(stamp)}")
    lines.append("      fields:")
    for c in columns:
        col = c["name"]
        lines.append(f"        - name: {_q(col)}")
        category, identity = (None, None)
        if col in pk or col in fks:
            category = "system.operations"
            if col in pk and person_table and len(pk) == 1 and not fks.get(col):
                identity = "customer_id"
                category = "user.unique_id"
        elif isinstance(c["type"], sa.DateTime | sa.Date) and col == stamp:
            category = "system.operations"
        else:
            category, identity = guess_category(col)
        if category:
            lines.append(f"          categories: [{category}]")
        else:
            lines.append("          categories: []  # no guess: review")
        if identity:
            lines.append(f"          identity: {identity}")
        if col in pk:
            lines.append("          primary_key: true")
        if col in fks:
            refs = ", ".join(fks[col])
            lines.append(f"          references: [{refs}]")
        if category and category.startswith("user.") and col not in pk and col not in fks:
            is_text = isinstance(c["type"], sa.String | sa.Text)
            if c.get("nullable", True):
                lines.append("          masking: nullify")
            elif is_text:
                length = getattr(c["type"], "length", None)
                if length and length < 64:
                    lines.append(f"          masking: {{strategy: hash, length: {length}}}")
                else:
                    lines.append("          masking: hash")
            else:
                lines.append("          # masking: NOT NULL and not text; choose a strategy")
    return lines
