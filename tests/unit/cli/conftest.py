from status_fixtures import kernel, records  # noqa: F401 - fixtures for the status tests
