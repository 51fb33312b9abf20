"""Run a vendor sandbox as its own process: ``python -m shopbridge.sandbox <system> --port N``.

Sandboxes are part of the product: local servers that speak each vendor's documented API
(auth, paging, rate limits, errors) so the demo and the tests run end to end.
"""
