"""The operator's command line: setup wizard, replay, dry run and mapping tryout."""
