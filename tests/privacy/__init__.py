"""Personal data stays out of logs, XCom and the ledger; retention purges the rest."""
