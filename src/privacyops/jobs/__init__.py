"""Durable background work: the in-process runner of ``privacyops serve`` and its jobs.

from privacyops.jobs import JobContext, Runner, default_jobs

runner = Runner(default_jobs(JobContext(settings, db, policy)))
runner.start()      # a daemon thread; runner.stop() at shutdown
"""

from privacyops.jobs.defaults import BUILDERS, JobContext, default_jobs
from privacyops.jobs.runner import Job, JobRun, Runner

__all__ = ["BUILDERS", "Job", "JobContext", "JobRun", "Runner", "default_jobs"]
