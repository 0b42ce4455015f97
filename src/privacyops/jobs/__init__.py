"""Durable background work: the in-process runner of ``serve`` and the Celery tasks.

The database, not the queue, holds the truth: every unit of work (a data-subject request's
steps, the outbox of messages) is a row with a state, and each pass of the runner takes what
is runnable. :class:`BackgroundRunner` runs the passes in a daemon thread of the service;
``privacyops.jobs.celery_app`` runs the same functions as Celery tasks on workers.
"""

from privacyops.jobs.runner import BackgroundRunner, lifespan, rights_pass

__all__ = ["BackgroundRunner", "lifespan", "rights_pass"]
