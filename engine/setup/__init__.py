"""Preparing a database: schema, reference data, default processes, and demo data."""
