"""Logging filters that keep a console readable.

A routine task that runs every few seconds (the audit seal) would print three lines a run, beat's
"Sending due task", the worker's "Received task" and "succeeded", whether it did anything or not.
`QuietRoutine` drops those lines for the tasks it names unless the run changed something (a
non-zero return value), so what remains on the console is what happened.
"""

import logging

_NOTHING_DONE = {"0", "[]", "None", "()", "{}"}


class QuietRoutine(logging.Filter):
    def __init__(self, tasks=()):
        super().__init__()
        self.tasks = frozenset(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict):  # the worker's received/succeeded lines
            if args.get("name") not in self.tasks:
                return True
            return "return_value" in args and str(args["return_value"]) not in _NOTHING_DONE
        if isinstance(args, tuple) and len(args) >= 2 and record.name == "celery.beat":
            return args[1] not in self.tasks
        return True
