"""Unit tests import the collection as ansible_collections.remote_desktop.licensing (pytest.ini's
pythonpath has build/collections, which `make collections` links to this checkout)."""
