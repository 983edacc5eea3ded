"""The process engine and the use cases of SIJOSKU; never imports Flask.

Sub-packages, lowest layer first (see docs/architecture.md):
- `core`: config, clock, errors, actors, unit of work, registry, events, audit chain, periods,
  tables, the scheduled-job runner;
- `people`: users, sign-in, administration, privacy and the one access `Scope`;
- `bpmn`: the only package that imports SpiffWorkflow: definitions, sandbox, state, runtime,
  human tasks, timers, bulk start, diagrams;
- `quality`: record rules, series rules, agency comparison, flags, the dashboard;
- `verification`: submissions and their status, items, imports, decisions, inbox, task page,
  service-task handlers, records, cycles, processes, the auditor's trail;
- `setup`: initialising a database, reference data, demo data;
- `bootstrap`: the composition root that registers handlers, jobs and subscribers.
"""
