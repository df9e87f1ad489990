"""`schedule`: a long-running APScheduler process firing `full` weekly and `prices` on weekday evenings.

Each firing runs `mycfa-engine run --job J` as a child process, exactly what an EventBridge rule
starts in AWS, so a scheduled run behaves like any other (own lock, own exit code, resumable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from engine.config import EngineSettings
from engine.exitcodes import ExitCode
from engine.runs.datasets import Job

log = logging.getLogger("engine.schedule")

CHILD_STOP_S = 28.0  # ECS kills 30 s after SIGTERM: the child run needs ~20 s to stop cleanly
MISFIRE_GRACE_S = 3600  # a firing missed by under an hour (process restarted) still runs


def triggers(settings: EngineSettings) -> dict[Job, CronTrigger]:
    """The cron trigger of each scheduled job, in the configured time zone.

    Raises:
        ValueError: a schedule setting is not a valid crontab expression.
    """
    return {
        Job.FULL: CronTrigger.from_crontab(settings.schedule_full, timezone=settings.schedule_timezone),
        Job.PRICES: CronTrigger.from_crontab(settings.schedule_prices, timezone=settings.schedule_timezone),
    }


class Scheduler:
    """Runs each scheduled job as a child `run`, one child at a time, and stops it cleanly on SIGTERM."""

    def __init__(self, settings: EngineSettings, *, command: Sequence[str] | None = None) -> None:
        self.settings = settings
        self.command = tuple(command or (sys.executable, "-m", "engine"))
        self.child: asyncio.subprocess.Process | None = None
        self.stopping = asyncio.Event()
        self.lock = asyncio.Lock()

    async def fire(self, job: Job) -> int:
        """Run `job` to its end; returns the child's exit code (LOCKED if a run is already going)."""
        if self.stopping.is_set():
            return int(ExitCode.INTERRUPTED)
        async with self.lock:
            log.info("starting scheduled %s run", job, extra={"event": "scheduled_start", "job": str(job)})
            self.child = await asyncio.create_subprocess_exec(*self.command, "run", "--job", str(job))
            code = await self.child.wait()
            self.child = None
        log.info("scheduled %s run exited %d", job, code, extra={"event": "scheduled_end", "exit_code": code})
        return code

    async def stop_child(self) -> None:
        child = self.child
        if child is None or child.returncode is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.wait(), timeout=CHILD_STOP_S)
        except TimeoutError:
            child.kill()
            await child.wait()

    async def serve(self) -> int:
        """Schedule the jobs and wait for SIGTERM/SIGINT; returns the exit code of the process."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        scheduler = AsyncIOScheduler(timezone=self.settings.schedule_timezone)
        for job, trigger in triggers(self.settings).items():
            scheduler.add_job(
                self.fire,
                trigger,
                args=[job],
                id=f"mycfa-{job}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_S,
            )
        scheduler.start()
        for job in scheduler.get_jobs():
            log.info("scheduled %s: next at %s", job.id, job.next_run_time, extra={"event": "scheduled"})
        await self.stopping.wait()
        log.info("stopping the scheduler")
        scheduler.shutdown(wait=False)
        await self.stop_child()
        with contextlib.suppress(RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)
        return int(ExitCode.OK)
