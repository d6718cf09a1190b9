"""The end-of-day pipeline: one run per settlement date composing the apps' batch jobs (docs/eod.md).

It sits above every app (it may import them all; none imports it) and below the project package.
"""
