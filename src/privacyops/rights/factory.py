"""Building the rights service from the settings (the embedded default needs none)."""

from __future__ import annotations

from collections.abc import Sequence

from privacyops.connectors import Connector, load_connectors
from privacyops.mail import SmtpEmailSender
from privacyops.policy import load_configured_policy
from privacyops.rights.identity import EmailSender, PhoneSender, load_phone_sender
from privacyops.rights.registry_adapter import StoreRegistry
from privacyops.rights.service import RightsService
from privacyops.settings import Settings
from privacyops.store import Database, open_database
from privacyops.store.registry import Registry

__all__ = ["build_service"]


def build_service(
    settings: Settings,
    *,
    db: Database | None = None,
    email: EmailSender | None = None,
    phone: PhoneSender | None = None,
    connectors: Sequence[Connector] | None = None,
) -> RightsService:
    """The rights service on the configured database, policy, SMTP server and phone sender.

    ``connectors`` default to the files of ``PRIVACYOPS_CONNECTORS_DIR`` (none when unset).
    """
    db = db or open_database(settings)
    if connectors is None:
        connectors = load_connectors(settings, db)
    return RightsService(
        db,
        settings,
        load_configured_policy(settings),
        email=email or SmtpEmailSender(settings),
        phone=phone or load_phone_sender(settings),
        registry=StoreRegistry(Registry(db)),
        connectors=connectors,
    )
