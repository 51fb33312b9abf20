-- Runs once, when the postgres volume is first created: the shopbridge sync ledger gets
-- a database of its own next to Airflow's metadata (SHOPBRIDGE_LEDGER_URL), so Airflow's
-- `db migrate` / `db reset` never meet tables they do not know.
CREATE DATABASE shopbridge;
