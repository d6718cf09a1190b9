"""Several worker processes on one batch-job run, as Celery workers share it (bench scripts' --workers).

`run_in_workers` starts N children of the calling bench script, each `--join <job id>`: each
executes the run with the job framework (job_run_execute, claiming the chunks no other worker holds)
and prints its own peak RSS. The parent times them from the first start to the last exit.
"""

import json
import os
import subprocess
import sys
import time

from common import peak_rss_mib


def join(job_id: int) -> None:
    """The child: execute (its share of) the run; print its status and peak RSS as JSON."""
    from backoffice.core.jobs.services import job_run_execute

    job = job_run_execute(job_id=job_id)
    print(json.dumps({"status": job.status, "error": job.error, "peak_rss": peak_rss_mib()}))


def run_in_workers(script: str, job_id: int, workers: int) -> tuple[float, list[float]]:
    """Run the job in `workers` child processes of script at once; return (seconds, each one's peak RSS).

    Exits with the children's errors when one fails or the run does not complete.
    """
    started = time.monotonic()
    children = [subprocess.Popen([sys.executable, script, "--join", str(job_id)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=os.environ) for _ in range(workers)]
    outcomes = [child.communicate() for child in children]
    seconds = time.monotonic() - started
    peaks = []
    for child, (stdout, stderr) in zip(children, outcomes, strict=True):
        if child.returncode != 0:
            sys.exit(f"a worker failed:\n{stderr}")
        outcome = json.loads(stdout.strip().splitlines()[-1])
        if outcome["status"] != "COMPLETED":
            sys.exit(f"job {job_id} is {outcome['status']}: {outcome['error']}")
        peaks.append(outcome["peak_rss"])
    return seconds, peaks
