"""Seeded sample data for recon: the generator, its renderers, and the committed sample week."""
