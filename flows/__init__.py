"""Thin Prefect orchestration and the ``recon`` command line."""
