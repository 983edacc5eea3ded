"""The web app, the REST API and the `sijosku` command line. Business rules live in engine/."""
