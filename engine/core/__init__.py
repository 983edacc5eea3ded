"""The plumbing every use case stands on: settings, clock, refusals, actors, the unit of work,
the registry, domain events, the audit chain, periods, reading tables and running scheduled jobs."""
