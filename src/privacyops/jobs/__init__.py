"""Background work: one registry of jobs, run in-process by ``privacyops serve`` or by Celery.

from privacyops.jobs import JobContext, Scheduler, default_jobs

scheduler = Scheduler(default_jobs(JobContext(settings, db, policy)))
scheduler.start()   # a daemon thread; scheduler.stop() at shutdown

Scaled out, ``privacyops.jobs.celery_app`` runs the same jobs as Celery tasks, its beat schedule
built from the same registry (:data:`privacyops.jobs.registry.JOBS`).
"""

from privacyops.jobs.registry import JOBS, JobContext, JobSpec, default_jobs
from privacyops.jobs.scheduler import Job, JobRun, Scheduler

__all__ = ["JOBS", "Job", "JobContext", "JobRun", "JobSpec", "Scheduler", "default_jobs"]
