"""Data quality: record checks, checks over short yearly series, cross-agency comparison.

Every flag says in plain Indonesian what was seen and what was expected; see docs/data-quality.md.
"""
