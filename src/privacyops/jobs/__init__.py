<<<<<<< HEAD
"""Durable background work: the in-process runner of ``serve`` and the Celery tasks.

The database, not the queue, holds the truth: every unit of work (a data-subject request's
steps, the outbox of messages) is a row with a state, and each pass of the runner takes what
is runnable. :class:`BackgroundRunner` runs the passes in a daemon thread of the service;
``privacyops.jobs.celery_app`` runs the same functions as Celery tasks on workers.
"""

from privacyops.jobs.runner import BackgroundRunner, lifespan, rights_pass

__all__ = ["BackgroundRunner", "lifespan", "rights_pass"]
=======
"""Durable background work: the in-process runner of ``privacyops serve`` and its jobs.

from privacyops.jobs import JobContext, Runner, default_jobs

runner = Runner(default_jobs(JobContext(settings, db, policy)))
runner.start()      # a daemon thread; runner.stop() at shutdown
"""

from privacyops.jobs.defaults import BUILDERS, JobContext, default_jobs
from privacyops.jobs.runner import Job, JobRun, Runner

__all__ = ["BUILDERS", "Job", "JobContext", "JobRun", "Runner", "default_jobs"]
>>>>>>> main
