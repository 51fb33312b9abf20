"""Vendor sandboxes, each run as its own process (``python -m shopbridge_dev.sandboxes``).

Sandboxes are part of the product: local servers that speak each vendor's documented API
(auth, paging, rate limits, errors) so the demo and the tests run end to end.
"""
