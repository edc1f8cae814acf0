"""Pure functions on frames: parse, normalise, match, classify, settle, report.

Nothing here touches the filesystem, the clock, the environment or Prefect (STYLE point 1).
"""
