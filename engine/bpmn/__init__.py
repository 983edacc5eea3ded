"""BPMN processes run by SpiffWorkflow: the only package that imports it.

Definitions are validated and versioned, expressions run in a sandbox, state is stored with a
revision, human tasks are materialised in the inbox table, timers fire without polling.
"""
