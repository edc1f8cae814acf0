"""Declarative Pandera models of every frame recon reads or writes."""
