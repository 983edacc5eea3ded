"""Tiered verification: a desa's submission, its items and imports, the decisions of each tier,
the inbox and task page, the service tasks of the process, records and their versions, update
cycles, process administration and the auditor's trail."""
