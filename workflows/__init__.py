"""The BPMN process definitions SIJOSKU ships and `sijosku init` deploys (in `bpmn/`)."""
