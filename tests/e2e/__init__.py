"""End-to-end tests. A package, so that their module names (test_license_server, ...) do not clash
with the unit tests of the same planners."""
