from django.core.management.base import BaseCommand, CommandError

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.jobs.models import JobRun
from backoffice.core.jobs.registry import JOB_KINDS
from backoffice.core.jobs.services import job_run_execute, job_run_now, job_start


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CommandError(f"--param takes key=value, not {text!r}.")
    return key, value


class Command(BaseCommand):
    help = "Start a batch job: queue it to a worker, or with --now run it in this process. Prints the run's id."

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?",
                            help="The kind of job, e.g. audit-verify, daily-exports, retention-purge.")
        parser.add_argument("--job", type=int, metavar="ID",
                            help="Run an existing run here instead (one left QUEUED when the broker refused it, "
                                 "or RUNNING when its worker died), continuing from its last committed chunk.")
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                            help="A parameter of the job (repeatable), e.g. --param business_date=2026-11-30.")
        parser.add_argument("--now", action="store_true", help="Run it here and wait, instead of queueing it.")

    def handle(self, *args, kind, param, now, job, **options):
        if job is not None:
            if kind or param:
                raise CommandError("--job runs an existing run: give no kind and no --param.")
            if not JobRun.objects.filter(pk=job).exists():
                raise CommandError(f"No job run {job}.")
            return self._report(job_run_execute(job_id=job))
        if not kind:
            raise CommandError("Give the kind of job to start, or --job ID.")
        params = dict(_param(text) for text in param)
        try:
            if now:
                job = job_run_now(kind=kind, params=params, started_by="command:run_job")
            else:
                job = job_start(kind=kind, params=params, started_by="command:run_job")
        except BusinessRuleError as exc:
            raise CommandError(f"{exc.message} (kinds: {', '.join(sorted(JOB_KINDS))})") from exc
        self._report(job)

    def _report(self, job: JobRun) -> None:
        self.stdout.write(f"job {job.pk} {job.kind} {job.status}" + (f": {job.error}" if job.error else ""))
        if job.status == job.Status.FAILED:
            raise CommandError(f"job {job.pk} failed")
