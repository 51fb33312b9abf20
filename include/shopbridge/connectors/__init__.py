"""One folder per system: client, translate, sandbox, hook. Vendor quirks stay inside."""
