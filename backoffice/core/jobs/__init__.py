"""The batch-job framework: job runs made of steps, steps of chunks, each chunk committed once.

A kind of job is registered (registry.job_kind_register) by the app that owns the work; the kernel
runs it (services.job_run_execute) without importing that app.
"""
